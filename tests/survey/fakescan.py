"""A fast, real scan function for engine tests (the real scan is exercised end-to-end elsewhere).

It reads the image file and decides from its bytes: ``CORAL n`` → done with n square regions,
``KILL`` → the worker process dies, ``BROKEN`` → RasterError (a corrupt image), anything else →
empty; ``SLOW`` anywhere adds half a second (a scan that is still running when another ends). Outputs (summary.json, regions.json) go to ``out_dir/<id>/`` like the real scan's.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from areoscan.errors import RasterError


class Summary(dict):
    """Stands in for ScanSummary: a dict with to_dict()."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


def fake_scan(source: str | Path, out_dir: Path, **kwargs: Any) -> Summary:
    path = Path(source)
    data = path.read_bytes()
    obs = path.name[:15]
    if b"SLOW" in data:
        time.sleep(0.5)
    if b"KILL" in data:
        os._exit(17)
    if b"BROKEN" in data:
        raise RasterError(f"{path}: corrupt JPEG 2000 codestream")
    match = re.search(rb"CORAL (\d+)", data)
    n = int(match.group(1)) if match else 0
    folder = Path(out_dir) / obs
    folder.mkdir(parents=True, exist_ok=True)
    regions = [
        {
            "region_id": i + 1,
            "area_m2": 100.0 * (i + 1),
            "centroid_lat": 40.0 + i,
            "centroid_lon": 10.0,
            "mean_prob": 0.5 + 0.1 * i,
            "max_prob": 0.9,
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[10, 40], [10.1, 40], [10, 40.1], [10, 40]]],
            },
        }
        for i in range(n)
    ]
    (folder / "regions.json").write_text(json.dumps(regions))
    summary = Summary(
        observation_id=obs,
        status="done" if n else "empty",
        scale=0.25,
        flagged_tiles=3 * n,
        regions=n,
        total_area_m2=sum(r["area_m2"] for r in regions),
        percent=1.5 * n,
        centre_lat=40.0,
        centre_lon=-170.0,
        output_dir=str(folder),
        kwargs=sorted(kwargs),
    )
    (folder / "summary.json").write_text(json.dumps(summary))
    return summary


def fake_regions(out_dir: Path) -> list[dict[str, Any]]:
    return json.loads((Path(out_dir) / "regions.json").read_text())

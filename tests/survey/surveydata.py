"""A small survey catalogue for report and vetting tests: four images (two with candidates, one
empty, one failed with an HTML-looking error), three candidate regions, one quick-look (200 x 300
px for a 2000 x 3000 px image, its two regions with pixel boxes)."""

from pathlib import Path

import numpy as np
from PIL import Image

from areoscan.survey.catalogue import Catalogue
from areoscan.survey.jobs import Job


def region(i, area, prob, lat, lon, box=None):
    """A catalogue region; box = its level-0 pixel bounding box (row0, col0, row1, col1)."""
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat]]
    return {
        "region_id": i,
        "area_m2": area,
        "mean_prob": prob,
        "max_prob": min(1.0, prob + 0.1),
        "centroid_lat": lat,
        "centroid_lon": lon,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": dict(zip(("row0", "col0", "row1", "col1"), box, strict=True)) if box else {},
    }


def make_survey(tmp_path: Path) -> Path:
    out = tmp_path / "survey"
    jobs = [Job(f"ESP_0112{i:02d}_2200", f"http://h/{i}", True) for i in range(4)]
    with Catalogue(out) as cat:
        cat.add_jobs(jobs)
        a, b, c, d = (j.observation_id for j in jobs)
        ql = out / "observations" / a
        ql.mkdir(parents=True)
        Image.fromarray((np.arange(200 * 300) % 251).astype(np.uint8).reshape(200, 300)).save(
            ql / "quicklook.png"
        )
        cat.record_result(
            {
                "observation_id": a,
                "status": "done",
                "lat": 40.0,
                "lon": 350.0,
                "scale": 0.25,
                "output_dir": str(ql),
                "region_count": 2,
                "summary": {"image": {"shape": [2000, 3000]}},  # the quick-look is 1:10
                "regions": [
                    region(1, 5000.0, 0.6, 40.0, 350.0, box=(100, 200, 600, 900)),
                    region(2, 1000.0, 0.95, 40.1, 350.0, box=(1200, 2000, 1500, 2600)),
                ],
            }
        )
        cat.record_result(
            {
                "observation_id": b,
                "status": "done",
                "lat": -35.0,
                "lon": 120.0,
                "region_count": 1,
                "regions": [region(1, 4000.0, 0.9, -35.0, 120.0)],
            }
        )
        cat.record_result({"observation_id": c, "status": "empty", "lat": 10.0, "lon": 20.0})
        cat.record_result(
            {
                "observation_id": d,
                "status": "failed",
                "lat": 12.0,
                "lon": 22.0,
                "error": "FetchError: <script>alert('x')</script> 404",
            }
        )
    return out

"""Check areoscan's PDS3 label parser and georeference against the real HiRISE labels.

Usage:
    python benchmarks/check_labels.py [--labels /work/shared/data/pds-labels]

Reads every *_RED.LBL / *_COLOR.LBL in the folder (real archive labels; not part of the test suite,
which must not depend on /work/shared) and checks:
  * ESP_013951_1955_RED gives GDAL's expected geotransform (-6139197.5, 0.5, 0, 936003.0, 0, -0.5);
  * MAP_RESOLUTION (pixels/degree) agrees with the sphere radius areoscan uses (local radius for
    equirectangular, polar radius for polar stereographic), i.e. the CRS matches the label's scale;
  * for equirectangular labels, the latitude/longitude range of the image frame matches the label's
    MINIMUM/MAXIMUM_LATITUDE and EASTERNMOST/WESTERNMOST_LONGITUDE (to 1e-5 degrees);
  * for polar labels (whose bounds describe the valid footprint, not the frame), the label's bounds
    lie inside the frame's range.
Exit 0 if all checks pass, 1 otherwise, 2 if the folder is missing.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from areoscan.io.georef import Georef
from areoscan.io.label import read_label

DEFAULT = Path("/work/shared/data/pds-labels")
GDAL_EXPECTED = {"ESP_013951_1955_RED.LBL": (-6139197.5, 0.5, 0.0, 936003.0, 0.0, -0.5)}


def _map_resolution(path: Path) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pvl

        module = pvl.load(str(path))
    for key, value in module.items():
        if key == "IMAGE_MAP_PROJECTION":
            res = value.get("MAP_RESOLUTION")
            return float(getattr(res, "value", res)) if res is not None else None
    return None


def frame_bounds(
    g: Georef, lines: int, samples: int, n: int = 400
) -> tuple[float, float, float, float]:
    """(min lat, max lat, west lon, east lon) over the outer edges of the frame (pixel corners)."""
    top = np.full(n, -0.5)
    bottom = np.full(n, lines - 0.5)
    across = np.linspace(-0.5, samples - 0.5, n)
    down = np.linspace(-0.5, lines - 0.5, n)
    rows = np.concatenate([top, bottom, down, down])
    cols = np.concatenate([across, across, np.full(n, -0.5), np.full(n, samples - 0.5)])
    lon, lat = g.pixel_to_lonlat(rows, cols)
    return float(lat.min()), float(lat.max()), float(lon.min()), float(lon.max())


def check(path: Path) -> list[str]:
    """Return a list of failures for one label (empty = all good); print what was checked."""
    failures: list[str] = []
    lab = read_label(path)
    g = Georef.from_label(lab)
    gt = g.transform.to_gdal()
    print(
        f"{path.name}: {lab.projection}, {lab.lines} x {lab.line_samples}, {lab.map_scale} m/px, "
        f"{lab.bit_depth}-bit, bands {lab.bands}"
    )
    print(f"  geotransform {tuple(round(v, 4) for v in gt)}")
    if path.name in GDAL_EXPECTED and gt != GDAL_EXPECTED[path.name]:
        failures.append(f"{path.name}: geotransform {gt} != GDAL's {GDAL_EXPECTED[path.name]}")
    res = _map_resolution(path)
    if res is not None:
        radius_m = g.crs.ellipsoid.semi_major_metre
        implied = res * lab.map_scale * 180.0 / math.pi
        print(
            f"  MAP_RESOLUTION {res} px/deg -> radius {implied:.1f} m; CRS sphere {radius_m:.1f} m"
        )
        if abs(implied - radius_m) > 1.0:
            failures.append(
                f"{path.name}: CRS radius {radius_m} m disagrees with MAP_RESOLUTION ({implied:.1f} m)"
            )
    lat0, lat1, west, east = frame_bounds(g, lab.lines, lab.line_samples)
    print(f"  frame lat {lat0:.6f}..{lat1:.6f}  lon {west:.6f}..{east:.6f}")
    print(
        f"  label lat {lab.minimum_latitude}..{lab.maximum_latitude}  "
        f"lon {lab.westernmost_longitude}..{lab.easternmost_longitude}"
    )
    assert lab.minimum_latitude is not None and lab.maximum_latitude is not None
    assert lab.westernmost_longitude is not None and lab.easternmost_longitude is not None
    if lab.projection == "EQUIRECTANGULAR":
        for name, ours, theirs in (
            ("min lat", lat0, lab.minimum_latitude),
            ("max lat", lat1, lab.maximum_latitude),
            ("west lon", west, lab.westernmost_longitude),
            ("east lon", east, lab.easternmost_longitude),
        ):
            if abs(ours - theirs) > 1e-5:
                failures.append(f"{path.name}: {name} {ours:.7f} vs label {theirs:.7f}")
    else:
        inside = (
            lat0 <= lab.minimum_latitude <= lab.maximum_latitude <= lat1
            and west <= lab.westernmost_longitude <= lab.easternmost_longitude <= east
        )
        if not inside:
            failures.append(f"{path.name}: label bounds fall outside the frame")
    centre_lon, centre_lat = g.pixel_to_lonlat((lab.lines - 1) / 2, (lab.line_samples - 1) / 2)
    print(f"  centre lon/lat {centre_lon:.6f} {centre_lat:.6f}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--labels", type=Path, default=DEFAULT, help="folder of real HiRISE .LBL files"
    )
    args = parser.parse_args()
    if not args.labels.is_dir():
        print(
            f"check_labels: {args.labels} not found; this check needs the real HiRISE labels "
            "(see /work/shared/data/README.md) and is skipped",
            file=sys.stderr,
        )
        return 2
    paths = sorted(p for p in args.labels.glob("*.LBL") if "CUMINDEX" not in p.name.upper())
    failures: list[str] = []
    for path in paths:
        failures += check(path)
    print()
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"all checks passed on {len(paths)} labels")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Screenshots of `areoscan report` for docs/img, from a generated demo survey, in headless Chromium.

    PYTHONPATH=src .venv/bin/python scripts/report_screenshots.py [--out docs/img]

The demo survey is made up (no real survey or vetting data): 60 observations at random places in
the mid-latitude bands, three of them with a synthetic scene (areoscan.synth) as quick-look and its
coral patches as regions, the others with random candidates; a few verdicts stored. The basemap is
../shared/data/basemap's MOLA/HRSC map (USGS) when present (--basemap), else none. Writes report-page.png (the
interactive page with a candidate selected) and report-viewer.png (a per-scan viewer).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from areoscan.survey.catalogue import Catalogue
from areoscan.survey.jobs import Job
from areoscan.survey.report import write_report
from areoscan.survey.vetting import Verdict, store_verdicts

ROOT = Path(__file__).resolve().parents[1]
BASEMAP = ROOT.parent / "shared/data/basemap/Mars_HRSC_MOLA_BlendDEM_Global_200mp_1024.jpeg"
SELECT = """
(async function run() {
  const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
  if (!doc || !doc.get_model_by_name("download")) { setTimeout(run, 50); return; }
  const src = doc.get_model_by_name("candidates");
  const i = src.data.ql_url.findIndex((u) => u !== "");  // the best candidate with a quick-look
  src.selected.indices = [Math.max(i, 0)];
})();
"""


def _scene_regions(seed: int, lat: float, lon: float, folder: Path) -> tuple[list[dict], list[int]]:
    """A synthetic scene's quick-look (coral outlined in red) and its coral patches as regions."""
    from scipy import ndimage

    from areoscan.synth import Terrain, render_array

    dn, lab, _ = render_array((600, 900), seed=seed, scale=1.0, coral_fraction=0.3)
    valid = dn > 0
    lo, hi = np.percentile(dn[valid], [1, 99])
    grey = (np.clip((dn - lo) / max(hi - lo, 1), 0, 1) * 255).astype(np.uint8)
    coral = lab == Terrain.BRAIN_CORAL
    edge = coral & ~ndimage.binary_erosion(coral, iterations=2)
    rgb = np.dstack([grey, grey, grey])
    rgb[edge] = (255, 40, 40)
    folder.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(rgb)
    labels, n = ndimage.label(coral)
    regions = []
    rng = np.random.default_rng(seed)
    boxes = ndimage.find_objects(labels)
    for k, box in enumerate(boxes, start=1):
        area = int((labels[box] == k).sum())
        if area < 400:
            continue
        r, c = box
        regions.append(
            {
                "region_id": len(regions) + 1,
                "area_m2": float(area),
                "mean_prob": float(rng.uniform(0.55, 0.97)),
                "max_prob": 0.99,
                "centroid_lat": lat + (r.start + r.stop) / 2 * 1e-5,
                "centroid_lon": lon + (c.start + c.stop) / 2 * 1e-5,
                "properties": {"row0": r.start, "col0": c.start, "row1": r.stop, "col1": c.stop},
            }
        )
    ImageDraw.Draw(im)  # outlines are already in the pixels
    im.save(folder / "quicklook.png")
    return regions, list(dn.shape)


def demo_survey(folder: Path, seed: int = 7) -> Path:
    """Write the demo survey's catalogue (and three quick-looks) into folder."""
    rng = np.random.default_rng(seed)
    n = 60
    lats = rng.choice([-1, 1], n) * rng.uniform(28, 52, n)
    lons = rng.uniform(0, 360, n)
    ids = [f"ESP_{12000 + 37 * i:06d}_{int(2200 + lat * 10):04d}" for i, lat in enumerate(lats)]
    with Catalogue(folder) as cat:
        cat.add_jobs([Job(i, f"file:///demo/{i}.JP2", False) for i in ids])
        for k, (obs, lat, lon) in enumerate(zip(ids, lats, lons, strict=True)):
            result: dict = {"observation_id": obs, "lat": lat, "lon": lon, "scale": 0.25}
            if k < 3:
                out = folder / "observations" / obs
                regions, shape = _scene_regions(seed + k, lat, lon, out)
                result |= {"output_dir": str(out), "summary": {"image": {"shape": shape}}}
            elif k % 4 == 0:
                regions = []
            else:
                regions = [
                    {
                        "region_id": j + 1,
                        "area_m2": float(rng.lognormal(9, 1.2)),
                        "mean_prob": float(rng.beta(5, 2)),
                        "max_prob": 0.99,
                        "centroid_lat": lat + rng.normal(0, 0.02),
                        "centroid_lon": lon + rng.normal(0, 0.02),
                    }
                    for j in range(int(rng.integers(1, 4)))
                ]
            status = "done" if regions else ("failed" if k % 8 == 0 else "empty")
            result |= {"status": status, "regions": regions, "region_count": len(regions)}
            if status == "failed":
                result["error"] = "FetchError: HTTP 404"
            cat.record_result(result)
        rows = cat.conn.execute("SELECT observation_id, region_id FROM regions").fetchall()
        picks = rng.choice(len(rows), size=min(25, len(rows)), replace=False)
        verdicts = [
            Verdict(
                rows[i][0], rows[i][1], str(rng.choice(["yes", "no", "maybe"], p=[0.6, 0.25, 0.15]))
            )
            for i in picks
        ]
        store_verdicts(cat, verdicts, source="demo")
    return folder


def shoot(page: Path, png: Path, work: Path, size: tuple[int, int], script: str = "") -> None:
    """Screenshot a page in headless Chromium (network off), optionally after a script."""
    if script:
        html = page.read_text(encoding="utf-8")
        end = html.rfind("</body>")
        page = page.with_name("shot-" + page.name)
        page.write_text(html[:end] + f"<script>{script}</script>" + html[end:], encoding="utf-8")
    subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={work / 'profile'}",
            f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=6000", "--hide-scrollbars",
            f"--screenshot={png}", page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    with Image.open(png) as im:
        im.convert("RGB").quantize(256).save(png, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--basemap", type=Path, default=BASEMAP, help=f"default {BASEMAP}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        survey = demo_survey(work / "survey")
        paths = write_report(survey, basemap=args.basemap if args.basemap.is_file() else None)
        args.out.mkdir(parents=True, exist_ok=True)
        shoot(paths.html, args.out / "report-page.png", work, (1300, 1180), SELECT)
        viewer = next(iter(paths.viewers.values()))
        shoot(viewer, args.out / "report-viewer.png", work, (960, 900))
    for name in ("report-page.png", "report-viewer.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()

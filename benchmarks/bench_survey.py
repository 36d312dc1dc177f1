"""Survey throughput: images per hour with 1 and 2 Dask workers on small synthetic scenes.

Goal: 2 workers >= 1.7x the images/hour of 1 worker. Writes a small PDS-layout archive of
synthetic scenes once (cached in ~/.cache/areoscan/bench/survey-archive), then surveys it from
scratch with each worker count using the real scan (shipped models), one thread per worker.
Workers are warmed up (torch and the scan imported) before the clock starts, as they would be
after the first few images of a long survey; cluster start-up is reported separately.

Models: the shipped ``brain-coral-screen`` + ``brain-coral-unet``, or --screen-model/--segment-model;
if neither exists, untrained models of the production architectures (MobileNetV3-small screen at
128 px / 1 m/px, slim U-Net at 512 px / 0.25 m/px) so that the compute per image is real (what they
flag is arbitrary: the flagged share is printed). The output says which models ran.

Also checks the index reader against the real HiRISE RDRCUMINDEX.LBL/.TAB excerpt in
../shared/data/pds-labels when it exists (it says so when it does not).

    .venv/bin/python benchmarks/bench_survey.py [--images 12] [--size 1024 1536] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("AREOSCAN_BENCH_CACHE", Path.home() / ".cache/areoscan/bench"))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pds-labels"


def make_archive(root: Path, n: int, size: tuple[int, int]) -> list[Path]:
    """n scenes in PDS layout (every other one with brain coral), generated once and cached.

    Each scene is filed under the observation id its label carries (``SYN_…``), as the archive does.
    """
    from areoscan.synth import generate_scene

    stamp = root / "scenes.json"
    if stamp.exists() and json.loads(stamp.read_text()) == {"n": n, "size": list(size)}:
        return sorted(root.glob("RDR/*/*/*/*_RED.JP2"))
    shutil.rmtree(root, ignore_errors=True)
    paths = []
    for i in range(n):
        tmp = root / "generated" / f"scene{i}.JP2"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        info = generate_scene(
            tmp, size=size, seed=100 + i, scale=0.25, coral_fraction=0.25 if i % 2 == 0 else 0.0
        )
        obs = info.observation_id
        orbit = int(obs[4:10]) // 100 * 100
        path = root / f"RDR/{obs[:3]}/ORB_{orbit:06d}_{orbit + 99:06d}/{obs}/{obs}_RED.JP2"
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)
        os.replace(tmp.with_suffix(".LBL"), path.with_suffix(".LBL"))
        paths.append(path)
    shutil.rmtree(root / "generated")
    stamp.write_text(json.dumps({"n": n, "size": list(size)}))
    return paths


SHIPPED = ("brain-coral-screen", "brain-coral-unet")


def stand_in_models(folder: Path) -> tuple[str, str]:
    """Untrained production-architecture models (real compute, arbitrary outputs)."""
    import torch

    from areoscan.models import ModelCard, build_module, save_model
    from areoscan.models.segmenters import segmenter_kwargs

    torch.manual_seed(0)
    common = {
        "classes": ["background", "brain_coral"],
        "threshold": 0.5,
        "positive_class": "brain_coral",
    }
    cards = [
        ModelCard(
            name="stand-in-screen",
            task="classification",
            arch="mobilenetv3_small",
            tile_size=128,
            level=2,
            scale_m_per_px=1.0,
            normalisation={"kind": "tile"},
            **common,
        ),
        ModelCard(
            name="stand-in-unet",
            task="segmentation",
            arch="slim-unet",
            tile_size=512,
            level=0,
            scale_m_per_px=0.25,
            arch_kwargs=segmenter_kwargs("slim-unet"),
            **common,
        ),
    ]
    paths = [str(save_model(build_module(c).eval(), c, folder / c.name)[1]) for c in cards]
    return paths[0], paths[1]


def choose_models(screen: str | None, segment: str | None) -> tuple[str, str, str]:
    """(screen, segment, description) following the rules in the module docstring."""
    from areoscan.models.registry import shipped_models

    if screen and segment:
        return screen, segment, f"{screen} + {segment}"
    missing = [m for m in SHIPPED if m not in shipped_models()]
    if not missing:
        return SHIPPED[0], SHIPPED[1], "shipped " + " + ".join(SHIPPED)
    s, g = stand_in_models(CACHE / "survey-stand-in-models")
    return s, g, f"stand-in untrained MobileNetV3-small + slim U-Net (shipped missing: {missing})"


def _cpu_seconds() -> float:
    """CPU time (user + system, all threads) of this worker process so far."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def _warm() -> str:
    import torch

    import areoscan.scan  # noqa: F401

    torch.set_num_threads(1)
    return "ok"


def survey_once(archive: Path, workers: int, models: tuple[str, str]) -> dict[str, float]:
    """Survey the archive into a fresh folder with ``workers`` workers; return timings."""
    from areoscan.survey.catalogue import Catalogue
    from areoscan.survey.engine import SurveyOptions, open_client, process_on_cluster
    from areoscan.survey.jobs import Selection
    from areoscan.survey.sources import collect_jobs

    out = Path(tempfile.mkdtemp(prefix=f"bench-survey-{workers}w-"))
    try:
        _, jobs = collect_jobs(str(archive), Selection(), work_dir=out)
        t0 = time.perf_counter()
        with (
            Catalogue(out) as cat,
            open_client(workers, dashboard_address=":0", say=lambda m: None) as client,
        ):
            client.wait_for_workers(workers)
            client.run(_warm)
            startup = time.perf_counter() - t0
            cat.add_jobs(jobs)
            cpu0 = sum(client.run(_cpu_seconds).values())
            load0 = os.getloadavg()[0]
            options = SurveyOptions(
                scan_kwargs={
                    "threads": 1,
                    "progress": False,
                    "screen_model": models[0],
                    "segment_model": models[1],
                }
            )
            result = process_on_cluster(cat, cat.todo(), client, out, options, say=lambda m: None)
            cpu = sum(client.run(_cpu_seconds).values()) - cpu0
            load = (load0 + os.getloadavg()[0]) / 2
            counts = cat.counts()
            rows = cat.images()
        flagged = sum(r["flagged_tiles"] or 0 for r in rows)
        screened = sum(json.loads(r["summary"] or "{}").get("screened_tiles", 0) for r in rows)
        if counts["failed"]:
            raise SystemExit(f"{counts['failed']} images failed: see {out}/catalogue.sqlite")
        return {
            "workers": workers,
            "images": result.processed,
            "wall_s": result.wall_s,
            "images_per_hour": result.images_per_hour,
            "startup_s": startup,
            "done": counts["done"],
            "empty": counts["empty"],
            "flagged_share": flagged / max(screened, 1),
            "worker_cpu_s": cpu,
            "load": load,
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)


def check_real_index() -> None:
    """Read the real cumulative index label and its 2-row excerpt (outside the test suite)."""
    from areoscan.survey.indexsource import INDEX_COLUMNS, jobs_from_index
    from areoscan.survey.jobs import HIRISE_PDS_URL, Selection
    from areoscan.survey.pdsindex import iter_rows, read_index_label

    label, table = SHARED / "RDRCUMINDEX.LBL", SHARED / "RDRCUMINDEX.TAB"
    if not label.exists():
        print(f"real index check: {SHARED} not found, skipped")
        return
    layout = read_index_label(label)
    rows = list(iter_rows(table, layout, INDEX_COLUMNS))
    jobs = jobs_from_index(
        table,
        Selection(bbox=(-15, -13, -121, -119)),
        base_url=HIRISE_PDS_URL,
        max_image_bytes=4096 << 20,
    )
    print(
        f"real index: {len(layout.columns)} columns, ROW_BYTES {layout.row_bytes}, "
        f"ROWS {layout.rows}; excerpt rows {len(rows)}; RED in box: "
        f"{[(j.observation_id, round(j.lat or 0, 4), round(j.lon or 0, 4)) for j in jobs]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--size", type=int, nargs=2, default=(1024, 1536), metavar=("H", "W"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--screen-model")
    parser.add_argument("--segment-model")
    args = parser.parse_args(argv)
    screen, segment, described = choose_models(args.screen_model, args.segment_model)
    print(f"models: {described}")
    check_real_index()
    archive = CACHE / f"survey-archive-{args.size[0]}x{args.size[1]}"
    t0 = time.perf_counter()
    make_archive(archive, args.images, tuple(args.size))
    print(
        f"archive: {args.images} scenes {args.size[0]}x{args.size[1]} in {archive} "
        f"({time.perf_counter() - t0:.1f} s incl. generation if not cached)"
    )
    results = []
    for w in args.workers:
        r = survey_once(archive, w, (screen, segment))
        results.append(r)
        print(
            f"{w} worker(s): {r['images']} images in {r['wall_s']:.1f} s = "
            f"{r['images_per_hour']:.0f} images/h (cluster start + warm-up {r['startup_s']:.1f} s; "
            f"{r['done']} done, {r['empty']} empty, {100 * r['flagged_share']:.0f}% of tiles flagged); "
            f"workers used {r['worker_cpu_s'] / r['wall_s']:.2f} cores, "
            f"{r['worker_cpu_s'] / max(r['images'], 1):.1f} CPU s/image; machine load {r['load']:.1f}",
            flush=True,
        )
    if len(results) >= 2:
        speedup = results[-1]["images_per_hour"] / results[0]["images_per_hour"]
        goal = "meets" if speedup >= 1.7 else "misses"
        print(
            f"speed-up {results[-1]['workers']} vs {results[0]['workers']} workers: "
            f"{speedup:.2f}x ({goal} the 1.7x goal); cpu count {os.cpu_count()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

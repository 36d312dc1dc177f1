"""``scan --detector`` end to end on a generated scene whose objects are known: AP of the scan's output.

Run:  /work/coord/cpu .venv/bin/python benchmarks/scan_detect_eval.py --detector MODEL --out DIR
            [--detector-scale 0.5] [--size 4096] [--seed 7] [--scale 0.25]
            [--classes crater pit boulder] [--detect-overlap PX] [--min-score P] [--agnostic]
            [--threads 1] [--json OUT]

Renders one large HiRISE-like scene with labelled craters, pits and boulders
(:func:`areoscan.synth.instances.render_instance_crop`, exact masks), writes it as an 8-bit JP2
with a PDS label (so the scan georeferences it), scans it with ``--detector MODEL`` (tiles at the
detector's scale, cross-tile merge; the screen's threshold is set to 1 so that only the detector
runs) and scores the published detections (their level-0 pixel
boxes from detections.geojson) against the scene's objects with the same COCO evaluation as
``areoscan evaluate detector`` (boxes; AP50, F1 at IoU 0.5, per class). It also checks the
georeference: each detection's centroid lat/lon against the lat/lon of its box centre computed
from the label (exact for box detectors; a Mask R-CNN centroid is its mask's, which may sit a few
pixels off the box centre). The detector must know the scene's classes (e.g. one pretrained on
``areoscan synth instances``). --detector-scale: the m/px the detector was trained at, for a card
without ``scale_m_per_px`` (a copy of the card with it is scanned; ``train detector`` does not know
its crops' scale); a 0.25 m/px scene and a 0.5 m/px detector exercise the level choice. Use
--detect-overlap 0 to see what the cross-tile merge is worth
when no tile sees the objects on its edges whole.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance
from areoscan.data.detection import detection_metrics
from areoscan.io import label_centred_on, open_raster, write_jp2, write_label
from areoscan.scan import read_detections, scan_image
from areoscan.synth.instance_config import InstanceConfig
from areoscan.synth.instances import crop_annotations, render_instance_crop

PRODUCT = "ESP_000021_1900_RED"


def make_scene(out: Path, size: int, seed: int, scale: float, classes: list[str]) -> AnnotationSet:
    """Write ``out/PRODUCT.JP2`` + ``.LBL`` (centred on 10 N 200 E); return its true objects."""
    cfg = InstanceConfig(size=size, scale=scale, classes=tuple(classes))
    cfg.check()
    crop = render_instance_crop(cfg, seed)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{PRODUCT}.JP2"
    write_jp2(path, crop.pixels, bit_depth=8, threads=1)
    label = label_centred_on(10.0, 200.0, size, size, map_scale=scale, product_id=PRODUCT,
                             sample_bits=8, sample_bit_mask=255)  # fmt: skip
    write_label(path.with_suffix(".LBL"), label)
    return AnnotationSet(list(classes), [crop_annotations(crop, path, group=PRODUCT)])


def agnostic(truth: AnnotationSet) -> AnnotationSet:
    """The truth with every object of one class ``object`` (for a detector of other classes)."""
    images = [AnnotatedImage(im.path, im.height, im.width,
                             [Instance("object", i.box, i.mask) for i in im.instances], im.group)
              for im in truth.images]  # fmt: skip
    return AnnotationSet(["object"], images)


def as_annotations(truth: AnnotationSet, records: list[dict[str, Any]]) -> AnnotationSet:
    """The scan's detections as detector output on the truth's one image (boxes, scores); any
    class when the truth is class-agnostic."""
    image = truth.images[0]
    anyclass = truth.classes == ["object"]
    found = [
        Instance("object" if anyclass else r["class_name"],
                 (r["col0"], r["row0"], r["col1"], r["row1"]), score=r["score"])
        for r in records
        if anyclass or r["class_name"] in truth.classes
    ]  # fmt: skip
    return AnnotationSet(truth.classes, [AnnotatedImage(image.path, image.height, image.width,
                                                        found, image.group)])  # fmt: skip


def georeference_error_m(path: Path, records: list[dict[str, Any]]) -> float | None:
    """Largest distance (m) between a detection's centroid lat/lon and its box centre's."""
    if not records:
        return None
    with open_raster(path) as raster:
        georef = raster.georef
        assert georef is not None
        rows = np.array([(r["row0"] + r["row1"]) / 2 - 0.5 for r in records])
        cols = np.array([(r["col0"] + r["col1"]) / 2 - 0.5 for r in records])
        x, y = georef.pixel_to_xy(rows, cols)
        lon = np.array([r["centroid_lon"] for r in records])
        lat = np.array([r["centroid_lat"] for r in records])
        gx, gy = georef.lonlat_to_xy(lon, lat)
    return float(np.hypot(np.asarray(gx) - x, np.asarray(gy) - y).max())


def with_scale(model: str, scale: float, folder: Path) -> Path:
    """A copy of ``model`` (card + weights) in ``folder`` whose card says ``scale`` m/px."""
    import dataclasses
    import shutil

    from areoscan.models.registry import load_card, resolve

    card_path, weights = resolve(model)
    card = dataclasses.replace(load_card(model), scale_m_per_px=scale)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, folder / weights.name)
    out = folder / card_path.name
    out.write_text(card.to_json())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", required=True, help="detector model (name, folder or .json)")
    ap.add_argument("--out", type=Path, required=True, help="work folder (scene, scan)")
    ap.add_argument("--detector-scale", type=float, metavar="M",
                    help="m/px the detector was trained at (for a card without it)")  # fmt: skip
    ap.add_argument("--size", type=int, default=4096, help="scene side, px (4096)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.25, help="m/px of the scene (0.25)")
    ap.add_argument("--classes", nargs="+", default=["crater", "pit", "boulder"])
    ap.add_argument("--detect-overlap", type=int, default=None, metavar="PX")
    ap.add_argument("--min-score", type=float, default=None, metavar="P",
                    help="publish detections scoring >= P (default: the card's, else 0.5)")  # fmt: skip
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--agnostic", action="store_true",
                    help="score every detection against every object, whatever the class "
                         "(a detector trained on other class names, e.g. hirise-pits' 1..5)")  # fmt: skip
    ap.add_argument("--json", type=Path, metavar="OUT")
    args = ap.parse_args()
    t0 = time.perf_counter()
    truth = make_scene(args.out / "scene", args.size, args.seed, args.scale, args.classes)
    made = time.perf_counter() - t0
    detector = args.detector
    if args.detector_scale:
        detector = str(with_scale(detector, args.detector_scale, args.out / "detector"))
    summary = scan_image(truth.images[0].path, args.out / "scan", detector=detector,
                         backend="torch", threads=args.threads, detect_overlap=args.detect_overlap,
                         detect_min_score=args.min_score, screen_threshold=1.0,
                         progress=True)  # fmt: skip
    records = read_detections(summary.output_dir)
    scored = agnostic(truth) if args.agnostic else truth
    dets = as_annotations(scored, records)
    res = detection_metrics(scored, dets, iou_type="bbox", max_dets=max(100, len(records)))
    report = {
        "command": "benchmarks/scan_detect_eval.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "scene_px": args.size,
        "true_objects": truth.counts(),
        "detections": len(records),
        "detect": summary.detect,
        "timings_s": summary.timings,
        "render_s": round(made, 1),
        "ap50": res["ap50"],
        "ap": res["ap"],
        "f1_50": res["f1_50"],
        "macro_f1_50": res["macro_f1_50"],
        "per_class": {
            k: {m: v[m] for m in ("ap50", "f1_50", "n_true", "n_detected", "threshold")}
            for k, v in res["per_class"].items()
        },  # fmt: skip
        "max_georeference_error_m": georeference_error_m(truth.images[0].path, records),
    }
    print(json.dumps(report, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()

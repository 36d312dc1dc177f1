"""Detection metrics from two :class:`AnnotationSet` (truth, detections), scored by pycocotools.

Use :func:`detection_metrics` for any detector, learnt or classical, so every figure in a table comes
from the same code: COCO AP@[.5:.95], AP50 and AP75 per class and their mean (``COCOeval``, not
re-implemented), F1 at IoU 0.5 at each class's best score threshold (from ``COCOeval``'s own
matches) with its macro mean, precision-recall curves at IoU 0.5, and an image-level "contains the
feature" confusion matrix at those thresholds. Masks are compared when both sides have them
(``segm``), else boxes (``bbox``). Classes with no true instance get no AP or F1 (``None``) and are
left out of the means. :func:`detect_all` runs a :class:`Detector` over the truth's images to get
the detections side; training (validation AP) and ``evaluate detector`` both use the two.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any, Protocol

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from areoscan.annotations.coco_out import coco_dict
from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance
from areoscan.annotations.pixels import load_gray

# COCO's recall grid (101 points) on which precision is interpolated.
RECALL_GRID = np.linspace(0.0, 1.0, 101)


class Detector(Protocol):
    """Anything that finds instances in one ``(H, W)`` float32 [0, 1] image."""

    name: str
    classes: list[str]

    def detect(self, image: np.ndarray) -> list[Instance]: ...

    def describe(self) -> dict[str, object]: ...


def detect_all(detector: Detector, truth: AnnotationSet, progress: bool = True) -> AnnotationSet:
    """The detector's instances on every image of ``truth`` (classes outside the truth's dropped).

    Use it to get the detections :func:`detection_metrics` scores against ``truth``.
    """
    from tqdm import tqdm

    wanted = set(truth.classes)
    images: list[AnnotatedImage] = []
    for im in tqdm(truth.images, desc="detect", unit="img", disable=not progress, leave=False):
        found = detector.detect(load_gray(im.path, (im.height, im.width)))
        kept = [i for i in found if i.label in wanted]
        images.append(AnnotatedImage(im.path, im.height, im.width, kept, im.group))
    return AnnotationSet(list(truth.classes), images)


def iou_type_for(truth: AnnotationSet, dets: AnnotationSet) -> str:
    """``"segm"`` when every true and detected instance has a mask, else ``"bbox"``."""
    instances = [i for s in (truth, dets) for im in s.images for i in im.instances]
    return "segm" if instances and all(i.mask is not None for i in instances) else "bbox"


def _coco_pair(truth: AnnotationSet, dets: AnnotationSet) -> tuple[COCO, COCO]:
    if truth.classes != dets.classes or len(truth.images) != len(dets.images):
        raise ValueError("detections must use the truth's classes and images, in the same order")
    gt_doc = coco_dict(truth)
    dt_doc = coco_dict(dets)
    for ann in dt_doc["annotations"]:
        ann.setdefault("score", 1.0)
        ann["iscrowd"] = 0
    coco_gt, coco_dt = COCO(), COCO()
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt.dataset = gt_doc
        coco_gt.createIndex()
        coco_dt.dataset = {**dt_doc, "images": gt_doc["images"]}
        coco_dt.createIndex()
    return coco_gt, coco_dt


def run_cocoeval(
    truth: AnnotationSet, dets: AnnotationSet, iou_type: str | None = None, max_dets: int = 100
) -> COCOeval:
    """Evaluated and accumulated ``COCOeval`` (quiet); ``max_dets`` detections kept per image."""
    iou_type = iou_type or iou_type_for(truth, dets)
    coco_gt, coco_dt = _coco_pair(truth, dets)
    ev = COCOeval(coco_gt, coco_dt, iouType=iou_type)
    ev.params.maxDets = [1, 10, max_dets]
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    return ev


def _mean_valid(values: np.ndarray) -> float | None:
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else None


def _matches(
    ev: COCOeval, cat_id: int
) -> tuple[np.ndarray, np.ndarray, int, dict[int, np.ndarray]]:
    """(scores, is_tp at IoU 0.5, true count, image id -> its detections' scores) of one class."""
    area_all = ev.params.areaRng[0]
    scores, tps, per_image = [], [], {}
    n_true = 0
    for e in ev.evalImgs:
        if e is None or e["category_id"] != cat_id or e["aRng"] != area_all:
            continue
        keep = ~np.asarray(e["dtIgnore"], dtype=bool).reshape(len(ev.params.iouThrs), -1)[0]
        s = np.asarray(e["dtScores"], dtype=float)[keep]
        scores.append(s)
        tps.append(np.asarray(e["dtMatches"]).reshape(len(ev.params.iouThrs), -1)[0][keep] > 0)
        n_true += int(np.count_nonzero(~np.asarray(e["gtIgnore"], dtype=bool)))
        per_image[e["image_id"]] = s
    if not scores:
        return np.zeros(0), np.zeros(0, bool), 0, {}
    return np.concatenate(scores), np.concatenate(tps), n_true, per_image


def best_f1(scores: np.ndarray, is_tp: np.ndarray, n_true: int) -> dict[str, Any]:
    """F1 at the score threshold that maximises it (detections with score >= threshold are kept).

    Returns ``f1``, ``threshold`` (None when nothing is detected), ``precision``, ``recall``, and
    the counts ``tp``, ``fp``, ``fn`` at that threshold. F1 is None when there is no true instance.
    """
    if n_true == 0:
        return {"f1": None, "threshold": None, "precision": None, "recall": None,
                "tp": 0, "fp": int(len(scores)), "fn": 0}  # fmt: skip
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], is_tp[order]
    tp = np.cumsum(t)
    fp = np.cumsum(~t)
    # Only cut where the next score differs: a threshold keeps every tie.
    cut = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if s.size else np.zeros(0, int)
    if cut.size == 0:
        return {"f1": 0.0, "threshold": None, "precision": 0.0, "recall": 0.0,
                "tp": 0, "fp": 0, "fn": n_true}  # fmt: skip
    f1 = 2 * tp[cut] / (2 * tp[cut] + fp[cut] + (n_true - tp[cut]))
    k = int(cut[int(np.argmax(f1))])
    n_tp, n_fp = int(tp[k]), int(fp[k])
    return {
        "f1": float(f1.max()),
        "threshold": float(s[k]),
        "precision": n_tp / (n_tp + n_fp),
        "recall": n_tp / n_true,
        "tp": n_tp,
        "fp": n_fp,
        "fn": n_true - n_tp,
    }


def _image_confusion(
    truth: AnnotationSet, dets: AnnotationSet, thresholds: dict[str, float | None]
) -> dict[str, dict[str, int]]:
    """Per class and for "any": images that contain the feature vs images a detection says do."""
    out: dict[str, dict[str, int]] = {}
    for name in [*truth.classes, "any"]:
        cells = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        for t_img, d_img in zip(truth.images, dets.images, strict=True):
            has = any(i.label == name or name == "any" for i in t_img.instances)
            said = any(
                (i.label == name or name == "any")
                and thresholds.get(i.label) is not None
                and (i.score if i.score is not None else 1.0) >= float(thresholds[i.label] or 0)
                for i in d_img.instances
            )
            cells[("t" if has == said else "f") + ("p" if said else "n")] += 1
        out[name] = cells
    return out


def detection_metrics(
    truth: AnnotationSet, dets: AnnotationSet, iou_type: str | None = None, max_dets: int = 100
) -> dict[str, Any]:
    """Every detection figure of a run (see the module docstring); JSON-ready.

    Keys: ``ap``, ``ap50``, ``ap75`` (means over classes with true instances), ``f1_50`` (pooled
    over classes, each at its best threshold), ``macro_f1_50``, ``per_class`` (``ap``, ``ap50``,
    ``ap75``, ``f1_50``, ``threshold``, ``precision``, ``recall``, ``n_true``, ``n_detected``,
    ``pr_curve``: precision on :data:`RECALL_GRID` at IoU 0.5), ``image_confusion``, ``iou_type``.
    """
    iou_type = iou_type or iou_type_for(truth, dets)
    ev = run_cocoeval(truth, dets, iou_type, max_dets)
    prec = ev.eval["precision"]  # [T, R, K, A, M]
    thrs = ev.params.iouThrs
    i50, i75 = int(np.argmin(abs(thrs - 0.5))), int(np.argmin(abs(thrs - 0.75)))
    per_class: dict[str, Any] = {}
    pooled = {"tp": 0, "fp": 0, "fn": 0}
    for k, name in enumerate(truth.classes):
        p = prec[:, :, k, 0, -1]
        scores, is_tp, n_true, _ = _matches(ev, ev.params.catIds[k])
        f1 = best_f1(scores, is_tp, n_true)
        for key in pooled:
            pooled[key] += f1[key]
        per_class[name] = {
            "ap": _mean_valid(p),
            "ap50": _mean_valid(p[i50]),
            "ap75": _mean_valid(p[i75]),
            "f1_50": f1["f1"],
            "threshold": f1["threshold"],
            "precision": f1["precision"],
            "recall": f1["recall"],
            "n_true": n_true,
            "n_detected": int(
                sum(1 for im in dets.images for i in im.instances if i.label == name)
            ),
            "pr_curve": [round(float(v), 4) for v in np.maximum(p[i50], 0.0)],
        }
    scored = [c for c in per_class.values() if c["n_true"] > 0]

    def mean(key: str) -> float | None:
        vals = [c[key] for c in scored if c[key] is not None]
        return float(np.mean(vals)) if vals else None

    denom = 2 * pooled["tp"] + pooled["fp"] + pooled["fn"]
    thresholds = {n: c["threshold"] for n, c in per_class.items()}
    return {
        "iou_type": iou_type,
        "images": len(truth.images),
        "ap": mean("ap"),
        "ap50": mean("ap50"),
        "ap75": mean("ap75"),
        "f1_50": 2 * pooled["tp"] / denom if denom else None,
        "macro_f1_50": mean("f1_50"),
        "per_class": per_class,
        "image_confusion": _image_confusion(truth, dets, thresholds),
    }


def format_detection_report(name: str, res: dict[str, Any]) -> str:
    """The metrics as an aligned text table (one row per class, then the means)."""

    def f(v: float | None) -> str:
        return "   -  " if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:6.3f}"

    lines = [
        f"{name}: {res['images']} images, IoU on {res['iou_type']}",
        f"{'class':<16} {'AP':>6} {'AP50':>6} {'AP75':>6} {'F1@.5':>6} {'thr':>6} "
        f"{'true':>5} {'det':>6}",
    ]
    for cls, c in res["per_class"].items():
        lines.append(
            f"{cls[:16]:<16} {f(c['ap'])} {f(c['ap50'])} {f(c['ap75'])} {f(c['f1_50'])} "
            f"{f(c['threshold'])} {c['n_true']:>5} {c['n_detected']:>6}"
        )
    lines.append(
        f"{'mean':<16} {f(res['ap'])} {f(res['ap50'])} {f(res['ap75'])} {f(res['macro_f1_50'])}"
        f"   (macro-F1 at IoU 0.5; pooled F1 {f(res['f1_50']).strip()})"
    )
    any_ = res["image_confusion"]["any"]
    lines.append(
        "images with any feature: "
        + ", ".join(f"{k.upper()} {v}" for k, v in any_.items())
        + " (at each class's best threshold)"
    )
    return "\n".join(lines)

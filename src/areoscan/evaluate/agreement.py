"""Annotator agreement: several people's annotations of the same images, compared mask by mask.

Use :func:`read_raters` to load one VIA file per rater, :func:`agreement` for every figure, and
:func:`consensus` for the majority-vote annotations (a pixel belongs to a class when more than half
of the raters marked it; connected regions become instances). Figures per class, pooled over all
images: pixel IoU and pixel F1 (Dice) for every rater pair, and for each rater against the
consensus of all raters and against the consensus of the *others* (leave-one-out: the fair
yardstick for a model, which is not part of any consensus), plus instance F1 at IoU 0.5 scored by
:func:`~areoscan.data.detection.detection_metrics` (one side as truth, the other as detections).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from skimage import measure

from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance, box_of_mask
from areoscan.annotations.via import ViaOptions, read_via
from areoscan.errors import AnnotationError


def rater_name(path: Path, common: str) -> str:
    """A rater's name from the file stem, without the prefix all files share (``common_core_``)."""
    return path.stem[len(common) :] or path.stem


def read_raters(
    folder: Path, images: Path | None = None, options: ViaOptions | None = None
) -> dict[str, AnnotationSet]:
    """One :class:`AnnotationSet` per VIA file in ``folder``, on one shared image list and classes."""
    files = sorted(Path(folder).glob("*.json"))
    if len(files) < 2:
        raise AnnotationError(f"{folder}: agreement needs at least 2 VIA files (one per rater)")
    stems = [f.stem for f in files]
    common = stems[0][: len(_common_prefix(stems))]
    sets = {rater_name(f, common): read_via(f, images=images, options=options) for f in files}
    classes: list[str] = []
    sizes: dict[str, tuple[Path, int, int]] = {}
    for ann in sets.values():
        classes += [c for c in ann.classes if c not in classes]
        for im in ann.images:
            sizes.setdefault(im.path.name, (im.path, im.height, im.width))
    names = sorted(sizes)
    out = {}
    for rater, ann in sets.items():
        have = {im.path.name: im for im in ann.images}
        images_out = []
        for name in names:
            path, h, w = sizes[name]
            found = have.get(name)
            instances = found.instances if found is not None else []
            images_out.append(AnnotatedImage(path, h, w, instances, name))
        out[rater] = AnnotationSet(list(classes), images_out)
    return out


def _common_prefix(stems: list[str]) -> str:
    prefix = stems[0]
    for s in stems[1:]:
        while not s.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def _class_masks(im: AnnotatedImage, classes: list[str]) -> np.ndarray:
    """``(classes, H, W)`` bool: the union of each class's instance masks in one image."""
    out = np.zeros((len(classes), im.height, im.width), bool)
    for inst in im.instances:
        if inst.mask is None:
            x0, y0, x1, y1 = (int(round(v)) for v in inst.box)
            out[classes.index(inst.label), y0:y1, x0:x1] = True
        else:
            out[classes.index(inst.label)] |= inst.mask
    return out


def consensus(raters: dict[str, AnnotationSet], only: list[str] | None = None) -> AnnotationSet:
    """Majority-vote annotations of the raters in ``only`` (default all): instances = components."""
    names = only if only is not None else list(raters)
    first = raters[names[0]]
    images = []
    for k, im in enumerate(first.images):
        votes = sum(
            _class_masks(raters[r].images[k], first.classes).astype(np.int16) for r in names
        )
        majority = np.asarray(votes) * 2 > len(names)
        instances = []
        for c, name in enumerate(first.classes):
            labelled = measure.label(majority[c], connectivity=2)
            for region in range(1, int(labelled.max()) + 1):
                mask = labelled == region
                box = box_of_mask(mask)
                if box is not None:
                    instances.append(Instance(name, box, mask, None, {"shape": "consensus"}))
        images.append(AnnotatedImage(im.path, im.height, im.width, instances, im.group))
    return AnnotationSet(list(first.classes), images)


def _pixel_scores(a: AnnotationSet, b: AnnotationSet) -> dict[str, dict[str, float | None]]:
    """Pooled pixel IoU and F1 per class between two sets on the same images."""
    inter = np.zeros(len(a.classes))
    union = np.zeros(len(a.classes))
    total = np.zeros(len(a.classes))
    for ia, ib in zip(a.images, b.images, strict=True):
        ma, mb = _class_masks(ia, a.classes), _class_masks(ib, a.classes)
        inter += (ma & mb).sum(axis=(1, 2))
        union += (ma | mb).sum(axis=(1, 2))
        total += ma.sum(axis=(1, 2)) + mb.sum(axis=(1, 2))
    return {
        c: {
            "iou": float(inter[k] / union[k]) if union[k] else None,
            "f1": float(2 * inter[k] / total[k]) if total[k] else None,
        }
        for k, c in enumerate(a.classes)
    }


def _instance_f1(truth: AnnotationSet, other: AnnotationSet) -> dict[str, float | None]:
    """Instance F1 at mask IoU 0.5 per class, ``other``'s instances all scored 1 (no threshold)."""
    from areoscan.data.detection import detection_metrics

    dets = AnnotationSet(
        list(truth.classes),
        [
            AnnotatedImage(im.path, im.height, im.width,
                           [Instance(i.label, i.box, i.mask, 1.0) for i in im.instances], im.group)
            for im in other.images
        ],
    )  # fmt: skip
    res = detection_metrics(truth, dets, iou_type="segm")
    return {c: v["f1_50"] for c, v in res["per_class"].items()}


def score_pair(
    truth: AnnotationSet, other: AnnotationSet, instances: bool = True
) -> dict[str, Any]:
    """Class -> ``iou``, ``f1`` (pooled pixels) and ``instance_f1_50`` of ``other`` against ``truth``.

    Use it to score anything (a rater, a model's masks) against a reference on the same images
    with the agreement figures' own metric; ``other``'s instances all count (no score threshold).
    """
    pix = _pixel_scores(truth, other)
    inst = _instance_f1(truth, other) if instances else {}
    return {c: {**pix[c], "instance_f1_50": inst.get(c)} for c in truth.classes}


def agreement(raters: dict[str, AnnotationSet], instances: bool = True) -> dict[str, Any]:
    """Every agreement figure (see the module docstring) as a JSON-ready dict.

    Keys: ``raters``, ``classes``, ``images``, ``pairwise`` (class -> metric -> rater x rater
    matrix, symmetric), ``vs_consensus`` / ``vs_others_consensus`` (rater -> class ->
    ``iou``, ``f1``, ``instance_f1_50``), ``summary`` (per class: mean pairwise IoU / F1 and the
    min / median / max of the raters against the others' consensus).
    """
    names = list(raters)
    classes = raters[names[0]].classes
    pairwise: dict[str, dict[str, list[list[float | None]]]] = {
        c: {m: [[None] * len(names) for _ in names] for m in ("iou", "f1", "instance_f1_50")}
        for c in classes
    }
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):  # every figure is symmetric: fill both halves
            s = score_pair(raters[a], raters[names[j]], instances)
            for c in classes:
                for m, v in s[c].items():
                    pairwise[c][m][i][j] = pairwise[c][m][j][i] = v
    everyone = consensus(raters)
    vs_all = {r: score_pair(everyone, raters[r], instances) for r in names}
    vs_others = {
        r: score_pair(consensus(raters, [o for o in names if o != r]), raters[r], instances)
        for r in names
    }
    return {
        "raters": names,
        "classes": list(classes),
        "images": len(raters[names[0]].images),
        "pairwise": pairwise,
        "vs_consensus": vs_all,
        "vs_others_consensus": vs_others,
        "summary": _summary(pairwise, vs_others, classes),
    }


def _summary(pairwise: dict[str, Any], vs_others: dict[str, Any], classes: list[str]) -> Any:
    out: dict[str, Any] = {}
    for c in classes:
        row: dict[str, Any] = {}
        for m in ("iou", "f1", "instance_f1_50"):
            vals = [v for line in pairwise[c][m] for v in line if v is not None]
            row[f"pairwise_{m}_mean"] = float(np.mean(vals)) if vals else None
            loo = [s[c][m] for s in vs_others.values() if s[c][m] is not None]
            row[f"vs_others_{m}"] = (
                {"min": float(min(loo)), "median": float(np.median(loo)), "max": float(max(loo))}
                if loo
                else None
            )
        out[c] = row
    return out


def quiet_read_raters(
    folder: Path, images: Path | None, options: ViaOptions
) -> tuple[Any, list[str]]:
    """:func:`read_raters` with its repair warnings returned as lines instead of emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raters = read_raters(folder, images, options)
    return raters, [str(w.message) for w in caught]

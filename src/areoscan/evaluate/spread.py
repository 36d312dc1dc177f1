"""Is a model inside the human spread? Model and raters scored against the same consensus.

Use it when several people annotated the same images (des-ghosts-via ``common_core``: 8 raters) and
a model trained on their consensus should be judged by how people score, not against one person:
:func:`split_images` holds out images, :func:`spread` scores every rater on the held-out images
against the leave-one-out majority consensus of the *others* (the fair yardstick: nobody is scored
against a consensus they voted in), scores the model against each of those same consensuses, and
ranks it among the raters per class and metric (pooled pixel IoU and F1, instance F1 at IoU 0.5:
:func:`~areoscan.evaluate.agreement.score_pair`, the agreement figures' own metric). The paired
comparison (model vs consensus-without-r next to rater r vs the same consensus) is the headline:
it removes the differences between the eight references. ``benchmarks/ghost_spread.py`` trains the
model and calls this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from areoscan.annotations.model import AnnotationSet
from areoscan.errors import AnnotationError
from areoscan.evaluate.agreement import consensus, score_pair

METRICS = ("iou", "f1", "instance_f1_50")


def split_images(
    names: Iterable[str], test_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """(train, test) image names: a seeded draw of ``test_fraction`` of the sorted names (>= 1 each).

    The draw depends only on the names and the seed, so the rater-only figures (no images at hand)
    and the full run with a model hold out the same images.
    """
    ordered = sorted(set(names))
    if len(ordered) < 2:
        raise AnnotationError(f"{len(ordered)} image(s): need at least 2 to hold some out")
    if not 0.0 < test_fraction < 1.0:
        raise AnnotationError(f"test fraction must be in (0, 1), not {test_fraction}")
    n_test = min(max(1, round(test_fraction * len(ordered))), len(ordered) - 1)
    order = np.random.default_rng(seed).permutation(len(ordered))
    test = sorted(ordered[k] for k in order[:n_test])
    return [n for n in ordered if n not in set(test)], test


def subset(ann: AnnotationSet, names: Iterable[str]) -> AnnotationSet:
    """The images of ``ann`` whose file name is in ``names`` (in ``ann``'s order)."""
    keep = set(names)
    return AnnotationSet(list(ann.classes), [im for im in ann.images if im.path.name in keep])


def raters_on(raters: dict[str, AnnotationSet], names: Iterable[str]) -> dict[str, AnnotationSet]:
    """Every rater's annotations restricted to the images ``names``."""
    keep = list(names)
    return {r: subset(a, keep) for r, a in raters.items()}


def spread(
    raters: dict[str, AnnotationSet], model: AnnotationSet | None = None, instances: bool = True
) -> dict[str, Any]:
    """Raters (and the model, if given) against the leave-one-out consensus, on these images.

    ``raters`` and ``model`` must cover the same images in the same order (use :func:`raters_on` and
    :func:`subset`); the model's instances all count (threshold its scores before). Keys:
    ``raters``, ``classes``, ``images``, ``humans`` (rater -> class -> metric: rater vs the others'
    consensus), ``model`` (rater -> class -> metric: model vs that same consensus), ``model_vs_all``
    (model vs everyone's consensus) and ``summary`` (:func:`spread_summary`).
    """
    names = list(raters)
    if len(names) < 3:
        raise AnnotationError("the human spread needs at least 3 raters (2 left in each consensus)")
    classes = raters[names[0]].classes
    if model is not None:
        order = [im.path.name for im in raters[names[0]].images]
        if [im.path.name for im in model.images] != order:
            raise AnnotationError("the model's detections do not cover the raters' images")
        model = AnnotationSet(list(classes), model.images)
    humans: dict[str, Any] = {}
    vs_model: dict[str, Any] = {}
    for r in names:
        loo = consensus(raters, [o for o in names if o != r])
        humans[r] = score_pair(loo, raters[r], instances)
        if model is not None:
            vs_model[r] = score_pair(loo, model, instances)
    out: dict[str, Any] = {
        "raters": names,
        "classes": list(classes),
        "images": [im.path.name for im in raters[names[0]].images],
        "humans": humans,
        "model": vs_model or None,
        "model_vs_all": score_pair(consensus(raters), model, instances) if model else None,
    }
    out["summary"] = spread_summary(humans, vs_model or None, list(classes))
    return out


def spread_summary(
    humans: dict[str, Any], model: dict[str, Any] | None, classes: list[str]
) -> dict[str, Any]:
    """Per class and metric: the raters' min / median / max, and for the model its mean over the
    references, its rank among the raters (1 = best), whether it lies inside [min, max], and the
    paired wins (raters r whose own score vs consensus-without-r the model's score matches or beats).
    """
    out: dict[str, Any] = {}
    for c in classes:
        row: dict[str, Any] = {}
        for m in METRICS:
            people = {r: s[c][m] for r, s in humans.items() if s[c][m] is not None}
            if not people:
                row[m] = None
                continue
            vals = sorted(people.values())
            entry: dict[str, Any] = {
                "humans": {"min": vals[0], "median": float(np.median(vals)), "max": vals[-1]},
            }
            if model is not None:
                mine = {r: model[r][c][m] for r in people if model[r][c][m] is not None}
                mean = float(np.mean(list(mine.values()))) if mine else 0.0
                entry["model"] = {
                    "mean": mean,
                    "rank": 1 + sum(v > mean for v in vals),
                    "of": len(vals) + 1,
                    "inside": vals[0] <= mean <= vals[-1],
                    "paired_wins": sum(mine.get(r, 0.0) >= v for r, v in people.items()),
                }
            row[m] = entry
        out[c] = row
    return out


def format_spread(res: dict[str, Any]) -> str:
    """The summary as a table: one line per class and metric, humans then the model."""
    lines = [
        f"{len(res['raters'])} raters, {len(res['images'])} held-out images; every score is "
        "against the majority consensus of the other raters",
        f"{'class':<10} {'metric':<15} {'humans min / median / max':>26}   model (rank, inside, paired wins)",
    ]
    for c, row in res["summary"].items():
        for m, e in row.items():
            if e is None:
                lines.append(f"{c:<10} {m:<15} {'(no instances)':>26}")
                continue
            h = e["humans"]
            text = f"{c:<10} {m:<15} {h['min']:>8.3f} / {h['median']:.3f} / {h['max']:.3f}"
            if "model" in e:
                mo = e["model"]
                text += (
                    f"   {mo['mean']:.3f} (rank {mo['rank']} of {mo['of']}, "
                    f"{'inside' if mo['inside'] else 'outside'}, "
                    f"beats or ties {mo['paired_wins']} of {mo['of'] - 1} paired)"
                )
            lines.append(text)
    return "\n".join(lines)

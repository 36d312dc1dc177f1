"""Model vs human spread: raters and a model scored against the leave-one-out consensus."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.annotations import AnnotationSet, ViaOptions
from areoscan.errors import AnnotationError
from areoscan.evaluate.agreement import consensus, read_raters, score_pair
from areoscan.evaluate.spread import raters_on, split_images, spread, subset

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("Bright", "Faint")
RATERS = ("ann", "bob", "cleo", "dan")  # jitter grows from ann to dan


def _write_raters(root: Path, n_images: int = 8, n_raters: int = 4, size: int = 64) -> Path:
    """Generated images with one bright disc and one faint ring each, and one VIA file per rater:
    every rater circles both objects with a jittered centre / radius; rater k also misses an
    object on some images, so the raters disagree by a known, rater-dependent amount."""
    rng = np.random.default_rng(7)
    (root / "images").mkdir(parents=True)
    truth = []
    yy, xx = np.mgrid[:size, :size] + 0.5
    for k in range(n_images):
        img = 0.1 + 0.02 * rng.standard_normal((size, size))
        (by, bx), (fy, fx) = rng.uniform(12, 24, 2), rng.uniform(40, 52, 2)
        img[(yy - by) ** 2 + (xx - bx) ** 2 <= 36] = 0.9
        ring = np.abs(np.hypot(yy - fy, xx - fx) - 8) < 2
        img[ring] += 0.25
        name = f"ghost_{k:02d}.png"
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(root / "images" / name)
        truth.append((name, (bx, by, 6.0), (fx, fy, 10.0)))
    via = root / "via"
    via.mkdir()
    for r in range(n_raters):
        entries = []
        for k, (name, bright, faint) in enumerate(truth):
            regions = []
            for cls, (cx, cy, rad) in zip(CLASSES, (bright, faint), strict=True):
                if (k + r) % (r + 3) == 0 and cls == "Faint":
                    continue  # this rater missed it
                jitter = rng.normal(0, 0.4 + 0.5 * r, 3)
                shape = {"name": "circle", "cx": float(cx + jitter[0]), "cy": float(cy + jitter[1]),
                         "r": float(max(2.0, rad + jitter[2]))}  # fmt: skip
                regions.append({"shape_attributes": shape, "region_attributes": {"Type": cls}})
            entries.append({"filename": name, "regions": regions})
        (via / f"core_{RATERS[r]}.json").write_text(json.dumps(entries))
    return root


def test_split_is_seeded_disjoint_and_refuses_too_few():
    names = [f"im{k}.png" for k in range(10)]
    train, test = split_images(names, 0.3, seed=2)
    assert len(test) == 3 and set(train) | set(test) == set(names) and not set(train) & set(test)
    assert split_images(reversed(names), 0.3, seed=2) == (train, test)  # order does not matter
    with pytest.raises(AnnotationError):
        split_images(["a.png"], 0.3, seed=0)
    with pytest.raises(AnnotationError):
        split_images(names, 1.0, seed=0)


def test_humans_are_scored_against_the_others_consensus(tmp_path):
    root = _write_raters(tmp_path)
    raters = read_raters(root / "via", images=root / "images", options=ViaOptions())
    names = [im.path.name for im in next(iter(raters.values())).images]
    held = raters_on(raters, names[:5])
    res = spread(held)
    assert res["raters"] == list(raters) and len(res["images"]) == 5 and res["model"] is None
    loo = consensus(held, [r for r in held if r != "dan"])
    assert res["humans"]["dan"] == score_pair(loo, held["dan"])
    bright = res["summary"]["Bright"]["iou"]["humans"]
    assert 0 < bright["min"] <= bright["median"] <= bright["max"] <= 1
    # the least careful rater (largest jitter) agrees least with the others on the outline
    ious = {r: s["Bright"]["iou"] for r, s in res["humans"].items()}
    assert min(ious, key=ious.__getitem__) == "dan"


def test_a_model_copying_one_rater_ties_that_rater(tmp_path):
    root = _write_raters(tmp_path)
    raters = read_raters(root / "via", images=root / "images", options=ViaOptions())
    names = [im.path.name for im in next(iter(raters.values())).images]
    held = raters_on(raters, names)
    copy = held["bob"]
    res = spread(held, AnnotationSet(list(copy.classes), copy.images))
    assert res["model"]["bob"] == res["humans"]["bob"]
    # the everyone-consensus as a "model" is at least as good as the median person on every class
    best = spread(held, consensus(held))
    for c in CLASSES:
        e = best["summary"][c]["iou"]
        assert e["model"]["mean"] >= e["humans"]["median"] and e["model"]["rank"] <= 3
    with pytest.raises(AnnotationError, match="cover"):
        spread(held, subset(copy, names[:2]))


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "ghost_spread", ROOT / "benchmarks" / "ghost_spread.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_trains_on_consensus_and_ranks_the_model(tmp_path, capsys):
    root = _write_raters(tmp_path / "d")
    bench = _benchmark()
    out = tmp_path / "out"
    base = ["--via", str(root / "via"), "--out", str(out), "--test-fraction", "0.25", "--seed", "1"]
    tiny = ["--size", "64", "--channels", "16", "--head", "32", "--epochs", "1", "--iterations",
            "2", "--batch-size", "1", "--threads", "1", "--quiet", "--min-score", "0.0"]  # fmt: skip
    assert bench.main([*base, "--images", str(root / "images"), *tiny]) == 0
    res = json.loads((out / "spread.json").read_text())
    assert len(res["split"]["test"]) == 2 and len(res["split"]["train"]) == 6
    assert res["training"]["train_images"] == 6 and (out / "models").is_dir()
    assert set(res["model"]) == set(res["raters"]) == set(RATERS)
    for c in CLASSES:
        m = res["summary"][c]["iou"]["model"]
        assert 1 <= m["rank"] <= 5 and m["of"] == 5 and 0 <= m["paired_wins"] <= 4
    assert "rank" in capsys.readouterr().out
    # the human half alone: same split, no images needed
    assert (
        bench.main([*base, "--raters-only", "--image-size", "64x64", "--out", str(tmp_path / "h")])
        == 0
    )
    human = json.loads((tmp_path / "h" / "spread.json").read_text())
    assert human["split"] == res["split"] and human["humans"] == res["humans"]
    assert human["model"] is None
    # bad input: one line, exit 2
    assert bench.main([*base, "--raters-only", "--test-fraction", "1.5"]) == 2
    assert capsys.readouterr().err.count("\n") == 1

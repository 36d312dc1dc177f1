"""Detection metrics (pycocotools), the LoG-blob baseline and ``evaluate detector``, on generated data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.annotations import AnnotatedImage, AnnotationSet, Instance
from areoscan.cli import main
from areoscan.data.detection import best_f1, detection_metrics
from areoscan.evaluate.blobs import LogBlobs


def _box_set(boxes_per_image: list[list[tuple[str, tuple, float | None]]]) -> AnnotationSet:
    images = [
        AnnotatedImage(
            Path(f"im{k}.png"),
            100,
            100,
            [Instance(label, box, None, score) for label, box, score in boxes],
            f"g{k}",
        )
        for k, boxes in enumerate(boxes_per_image)
    ]
    return AnnotationSet(["pit", "crater"], images)


def test_perfect_detections_score_one():
    truth = _box_set([[("pit", (10, 10, 30, 30), None)], [("crater", (50, 50, 80, 90), None)]])
    dets = _box_set([[("pit", (10, 10, 30, 30), 0.9)], [("crater", (50, 50, 80, 90), 0.8)]])
    res = detection_metrics(truth, dets)
    assert res["iou_type"] == "bbox"
    assert res["ap"] == pytest.approx(1.0) and res["ap50"] == pytest.approx(1.0)
    assert res["macro_f1_50"] == pytest.approx(1.0) and res["f1_50"] == pytest.approx(1.0)
    assert res["image_confusion"]["pit"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    assert res["per_class"]["crater"]["pr_curve"][-1] == pytest.approx(1.0)


def test_one_hit_one_false_alarm_one_miss():
    truth = _box_set([[("pit", (10, 10, 30, 30), None), ("pit", (60, 60, 80, 80), None)], []])
    dets = _box_set([[("pit", (11, 10, 31, 30), 0.9)], [("pit", (5, 5, 20, 20), 0.8)]])
    res = detection_metrics(truth, dets)
    pit = res["per_class"]["pit"]
    # precision 1 up to recall 0.5 (51 of COCO's 101 recall points), then nothing
    assert pit["ap50"] == pytest.approx(51 / 101)
    assert pit["f1_50"] == pytest.approx(2 / 3) and pit["threshold"] == pytest.approx(0.9)
    assert (pit["precision"], pit["recall"]) == (1.0, 0.5)
    assert res["per_class"]["crater"]["ap"] is None  # no true crater: left out of the means
    assert res["macro_f1_50"] == pytest.approx(2 / 3)
    assert res["image_confusion"]["pit"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    assert set(res) >= {"ap", "ap50", "ap75", "f1_50", "macro_f1_50", "per_class"}


def test_best_f1_keeps_ties_together():
    out = best_f1(np.array([0.5, 0.5, 0.4]), np.array([True, False, True]), 2)
    # cutting between the two 0.5s is not a threshold: either both stay or both go
    assert out["threshold"] == pytest.approx(0.4) and out["f1"] == pytest.approx(0.8)
    assert best_f1(np.zeros(0), np.zeros(0, bool), 3)["f1"] == 0.0
    assert best_f1(np.array([0.3]), np.array([False]), 0)["f1"] is None


def _pits(root: Path, n: int = 3, seed: int = 0) -> Path:
    """YOLO set of 96 x 96 bright noisy images with dark discs (pits), boxes labelled."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    yy, xx = np.mgrid[:96, :96]
    for k in range(n):
        img = 0.7 + 0.03 * rng.standard_normal((96, 96))
        lines = []
        for cy, cx, r in ((25, 30, 6), (65, 60, 9)):
            cy, cx = cy + int(rng.integers(-5, 5)), cx + int(rng.integers(-5, 5))
            img[(yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2 <= r * r] = 0.2
            lines.append(f"0 {cx / 96} {cy / 96} {2 * r / 96} {2 * r / 96}")
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(
            root / "images" / f"p{k}.png"
        )
        (root / "labels" / f"p{k}.txt").write_text("\n".join(lines) + "\n")
    (root / "classes.txt").write_text("pit\n")
    return root


def test_log_blobs_find_dark_discs(tmp_path):
    from areoscan.annotations import read_annotations
    from areoscan.data.detection import detect_all

    truth = read_annotations(_pits(tmp_path / "d"), "yolo")
    blobs = LogBlobs.fit(truth)
    assert blobs.polarity == "dark" and blobs.label == "pit"
    assert 3.0 < blobs.min_sigma < blobs.max_sigma < 8.0
    res = detection_metrics(truth, detect_all(blobs, truth, progress=False))
    assert res["ap50"] > 0.9 and res["macro_f1_50"] > 0.9


def test_cli_scores_baseline_and_results_file(tmp_path, capsys):
    data = _pits(tmp_path / "d")
    out = tmp_path / "r" / "blobs.json"
    argv = ["evaluate", "detector", "--data", str(data), "--format", "yolo"]
    assert main([*argv, "--model", "log-blobs", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["model"] == "log-blobs" and res["ap50"] > 0.9
    assert (tmp_path / "r" / "blobs_pr.png").stat().st_size > 1000
    assert "pit" in capsys.readouterr().out
    dets = tmp_path / "dets.json"
    dets.write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 1}])
    )
    assert main([*argv, "--detections", str(dets), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["ap50"] == pytest.approx(0.0)
    assert main([*argv, "--model", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err

"""The classifiers shipped in areoscan/weights load, verify, run and stay small."""

import numpy as np
import pytest

from areoscan.models.export import make_runner
from areoscan.models.registry import load_card, shipped_dir, shipped_models

CLASSIFIERS = ["brain-coral-screen", "hirise-landmarks"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_shipped_classifier_loads_and_runs(name):
    assert name in shipped_models()
    assert (shipped_dir() / f"{name}.safetensors").stat().st_size <= 10 * 1024 * 1024
    runner, card = make_runner(name)  # verifies the sha256 against the card
    assert card.task == "classification" and "test" in card.metrics
    assert card.training.get("command", "").startswith("areoscan train classifier")
    x = np.random.default_rng(0).random((2, 1, card.tile_size, card.tile_size), dtype=np.float32)
    out = runner(x)
    assert out.shape == (2, card.n_classes) and np.isfinite(out).all()


def test_screen_card_says_where_it_reads():
    assert "brain-coral-screen" in shipped_models()
    card = load_card("brain-coral-screen")
    assert card.positive_class == "brain_coral" and 0 < card.threshold < 1
    assert card.tile_size == 128 and card.level == 2 and card.scale_m_per_px == 1.0
    assert card.normalisation["kind"] == "tile"  # texture, not brightness
    # issue 19 point 5: salience.tif is a calibrated probability (temperature fitted on validation)
    assert card.calibration is not None and card.calibration["method"] == "temperature"


@pytest.mark.slow
def test_shipped_pits_detector_loads_lists_and_detects(capsys):
    """hirise-pits: a Faster R-CNN under 30 MB that finds something on a generated pit scene."""
    assert "hirise-pits" in shipped_models()
    from areoscan.cli import main
    from areoscan.models.detectors import load_detector

    assert (shipped_dir() / "hirise-pits.safetensors").stat().st_size <= 30 * 1024 * 1024
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    assert "hirise-pits  (detection, fasterrcnn" in listed and "held-out in CV (" in listed
    detector = load_detector("hirise-pits", threads=1)  # verifies the sha256 against the card
    card = detector.card
    assert card.classes == ["1", "2", "3", "4", "5"]
    # session 14 recipe: the stride-8/16/32 MobileNet pyramid (a format-2 card), RPN positives from
    # IoU 0.5, each crop standardised on its own
    kwargs = card.arch_kwargs
    assert kwargs["mobilenet_layers"] == [6, 12, 16] and kwargs["format_version"] == 2
    assert kwargs["rpn_fg_iou"] == 0.5 and kwargs["norm"] == "image"
    assert len(kwargs["anchors"]) == 12 and kwargs["anchors"][-1] < 200  # 4 levels x 3 sizes
    assert card.metrics["cv"]["folds"] >= 1 and "log-blobs" in card.metrics["cv"]["baseline"]
    # session 15: 30 epochs as three chunks of 10, the third (seed 2) from the 20-epoch weights
    assert card.training["init"]["model"] == "hirise-pits" and card.training["config"]["seed"] == 2
    assert card.training["init"]["weights_sha256"].startswith("837bd867ec59")
    # a rough lit plain with three dark, shadowed bowls of 60-120 px in a 900 px crop (the real
    # crops' size; their pits are 30-460 px): the model standardises each image, so the plain
    # needs the crops' grain (noise 0.1), not a flat 0.03, or the noise is all it sees
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:900, 0:900] + 0.5
    image = 0.62 + 0.1 * rng.standard_normal((900, 900))
    pits = ((250, 300, 120), (620, 560, 80), (420, 760, 60))
    for cx, cy, r in pits:
        d = np.hypot(xx - cx, yy - cy) / r
        image[d < 1] = 0.15 + 0.35 * np.clip(xx - cx + r, 0, 2 * r)[d < 1] / (2 * r)
    found = detector.detect(np.clip(image, 0, 1).astype(np.float32))
    assert found and all(i.label in card.classes and 0 < (i.score or 0) <= 1 for i in found)
    best = found[0].box  # on a pit: its centre within the largest bowl's radius of some bowl
    centre = ((best[0] + best[2]) / 2, (best[1] + best[3]) / 2)
    assert min(np.hypot(centre[0] - cx, centre[1] - cy) / r for cx, cy, r in pits) < 1
    assert all(i.mask is None for i in found)  # a box detector


def test_shipped_unet_is_calibrated_and_marks_what_its_raw_logits_mark():
    """The card's temperature divides the logits; its moved threshold keeps every decision."""
    from areoscan.models.segmenters import load_segmenter

    pred = load_segmenter("brain-coral-unet")
    temperature = pred.card.calibration["temperature"]
    assert pred.card.calibration["method"] == "temperature" and temperature > 1  # over-confident
    x = np.random.default_rng(0).uniform(0.2, 0.8, (1, 1, 64, 64)).astype(np.float32)
    x[..., 20:40, :] = np.where(np.arange(64) % 8 < 4, 0.3, 0.7)  # a ridge-like band
    z = pred.logits(x)
    assert np.allclose(pred(x), 1 / (1 + np.exp(-z / temperature)), atol=1e-5)
    raw_cut = np.log(pred.threshold / (1 - pred.threshold)) * temperature  # the logit it meant
    assert np.array_equal(pred.labels(x)[0], (z[0, 0] >= raw_cut).astype(np.uint8))

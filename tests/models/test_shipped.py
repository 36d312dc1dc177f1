"""The classifiers shipped in areoscan/weights load, verify, run and stay small."""

import numpy as np
import pytest

from areoscan.models.export import make_runner
from areoscan.models.registry import load_card, shipped_dir, shipped_models

CLASSIFIERS = ["brain-coral-screen", "hirise-landmarks"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_shipped_classifier_loads_and_runs(name):
    if name not in shipped_models():
        pytest.skip(f"{name} is not shipped in this checkout")
    assert (shipped_dir() / f"{name}.safetensors").stat().st_size <= 10 * 1024 * 1024
    runner, card = make_runner(name)  # verifies the sha256 against the card
    assert card.task == "classification" and "test" in card.metrics
    assert card.training.get("command", "").startswith("areoscan train classifier")
    x = np.random.default_rng(0).random((2, 1, card.tile_size, card.tile_size), dtype=np.float32)
    out = runner(x)
    assert out.shape == (2, card.n_classes) and np.isfinite(out).all()


def test_screen_card_says_where_it_reads():
    if "brain-coral-screen" not in shipped_models():
        pytest.skip("brain-coral-screen is not shipped in this checkout")
    card = load_card("brain-coral-screen")
    assert card.positive_class == "brain_coral" and 0 < card.threshold < 1
    assert card.tile_size == 128 and card.level == 2 and card.scale_m_per_px == 1.0
    assert card.normalisation["kind"] == "tile"  # texture, not brightness

import numpy as np

from areoscan.data.samples import SampleSet
from areoscan.train.loop import FitConfig
from areoscan.train.mining import HARD_SOURCE, false_positives, mining_fit, with_hard_negatives


def _samples() -> SampleSet:
    labels = np.array([0, 0, 0, 1, 1, 0])
    return SampleSet(
        np.arange(6 * 4, dtype=np.float32).reshape(6, 2, 2),
        labels,
        ["background", "coral"],
        ["a", "a", "b", "c", "c", "d"],
        [f"k{i}" for i in range(6)],
        sources=["real", "synth", "real", "real", "synth", "pits"],
    )


def test_false_positives_are_negatives_at_or_above_the_threshold():
    s = _samples()
    p = np.array([0.9, 0.2, 0.5, 0.99, 0.1, 0.7])
    hard = false_positives(s, p, positive=1, threshold=0.5)
    assert hard.indices.tolist() == [0, 2, 5]  # never the positives 3 and 4
    assert hard.summary["false_positives"] == 3 and hard.summary["negatives_scored"] == 4
    assert hard.summary["per_source"] == {"real": 2, "pits": 1}


def test_hard_negatives_are_added_as_their_own_source_and_not_mined_twice():
    s = _samples()
    more = with_hard_negatives(s, np.array([0, 5]))
    assert len(more) == 8 and more.sources[-2:] == [HARD_SOURCE, HARD_SOURCE]
    assert more.groups[-2:] == ["a", "d"] and more.keys[-1] == "k5#hard"
    assert np.array_equal(more.images[-1], s.images[5]) and more.labels[-2:].tolist() == [0, 0]
    again = false_positives(more, np.ones(8), positive=1, threshold=0.5)
    assert again.indices.tolist() == [0, 1, 2, 5]  # the copies are not mined again


def test_mining_fit_goes_on_at_half_the_learning_rate():
    cfg = mining_fit(FitConfig(epochs=20, lr=2e-3, patience=8), 4)
    assert cfg.epochs == 4 and cfg.lr == 1e-3 and cfg.patience == 8 and cfg.warmup_epochs == 0.5

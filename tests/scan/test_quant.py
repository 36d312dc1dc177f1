import numpy as np

from areoscan.scan.quant import LEVELS, NO_VALUE, NODATA, dequantise, quantise, threshold_code


def test_round_trip_within_half_a_step():
    p = np.linspace(0, 1, 1001, dtype=np.float32)
    q = quantise(p)
    assert q.dtype == np.uint8 and q.max() == LEVELS
    assert np.abs(dequantise(q) - p).max() <= 0.5 / LEVELS + 1e-6


def test_clipping_and_markers():
    assert quantise(np.array([-1.0, 2.0])).tolist() == [0, LEVELS]
    d = dequantise(np.array([NODATA, NO_VALUE, 125], dtype=np.uint8))
    assert np.isnan(d[:2]).all() and d[2] == 0.5


def test_threshold_code_matches_probabilities():
    for t in (0.0, 0.3, 0.5, 0.55, 0.999, 1.0):
        code = threshold_code(t)
        p = np.linspace(0, 1, 2001, dtype=np.float32)
        above = quantise(p) >= code
        # agrees with p >= t except within one quantisation step of the threshold
        wrong = above != (p >= t)
        assert np.all(np.abs(p[wrong] - t) <= 1.0 / LEVELS)

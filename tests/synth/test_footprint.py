import numpy as np
import pytest

from areoscan.synth.footprint import CCD_COLUMNS, Footprint, column_gains


def test_rotated_strip_touches_every_edge_and_leaves_corners_empty():
    fp = Footprint(400, 300, 6.0)
    m = fp.mask(0, 0, 400, 300)
    assert m[0].any() and m[-1].any() and m[:, 0].any() and m[:, -1].any()
    assert not m[0, 0] and not m[-1, -1] and not m[0, -1] and not m[-1, 0]
    assert 0.8 < m.mean() < 0.98


def test_windows_agree_with_the_whole_mask():
    fp = Footprint(200, 260, -5.0)
    m = fp.mask(0, 0, 200, 260)
    assert np.array_equal(fp.mask(50, 70, 60, 80), m[50:110, 70:150])


def test_disabled_footprint_is_all_data():
    assert Footprint(50, 60, 8.0, enabled=False).mask(0, 0, 50, 60).all()


def test_too_much_rotation_for_the_shape_is_refused():
    with pytest.raises(ValueError):
        Footprint(1000, 100, 40.0)


def test_column_gains_step_at_ccd_borders_and_stay_near_one():
    g = column_gains(1, 3 * CCD_COLUMNS, 0.003)
    assert abs(g.mean() - 1) < 0.01 and g.std() < 0.02
    ccd_means = [g[i * CCD_COLUMNS : (i + 1) * CCD_COLUMNS].mean() for i in range(3)]
    assert len({round(float(x), 5) for x in ccd_means}) == 3

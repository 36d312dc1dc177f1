import numpy as np
import pytest

from areoscan.synth.classes import Terrain
from areoscan.synth.layout import Layout
from areoscan.synth.params import SceneParams


@pytest.fixture(scope="module")
def layout():
    return Layout.build(SceneParams.from_seed((600, 800), 11, scale=0.5, coral_fraction=0.3))


def test_coral_field_hits_the_target_fraction(layout):
    f = layout.window(["coral"], 0, 0, 600, 800)["coral"]
    inside = layout.footprint.mask(0, 0, 600, 800)
    assert abs((f[inside] > 0).mean() - 0.3) < 0.08


def test_background_weights_sum_to_one(layout):
    names = [f"w_{k.slug}" for k in layout.kinds]
    f = layout.window(names, 100, 100, 50, 70)
    total = sum(f[n] for n in names)
    assert np.allclose(total, 1.0, atol=1e-3)


def test_window_interpolation_is_position_exact(layout):
    a = layout.window(["relief", "albedo"], 0, 0, 300, 300)
    b = layout.window(["relief", "albedo"], 120, 90, 100, 100)
    for n in a:
        assert np.allclose(a[n][120:220, 90:190], b[n], atol=1e-4)


def test_points_agree_with_window(layout):
    w = layout.window(["albedo"], 0, 0, 200, 200)["albedo"]
    rows = np.array([10.5, 100.5, 150.5])
    cols = np.array([20.5, 60.5, 180.5])
    pts = layout.points("albedo", rows, cols)
    assert np.allclose(pts, w[rows.astype(int), cols.astype(int)], atol=2e-3)


def test_support_bounds_where_a_field_is_present(layout):
    assert layout.support(["coral"], (0, 0, 600, 800), 0.0) is not None
    assert layout.support(["coral"], (0, 0, 600, 800), 1e9) is None


def test_forced_kind_covers_the_whole_scene():
    p = SceneParams.from_seed((128, 128), 1, scale=1.0, coral_fraction=0.0, footprint=False)
    lay = Layout.build(p, force_kind=Terrain.DUNES)
    assert lay.kinds == (Terrain.DUNES,)
    assert lay.window(["w_dunes"], 0, 0, 128, 128)["w_dunes"].min() > 0.99
    assert lay.window(["coral"], 0, 0, 128, 128)["coral"].max() < 0

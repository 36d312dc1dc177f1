import numpy as np

from areoscan.tiling import Blender, TileGrid, Window, blend_weights


def test_weights_are_smooth_positive_and_peak_in_the_centre():
    w = blend_weights(64)
    assert w.shape == (64, 64) and w.dtype == np.float32
    assert w.min() > 0
    assert w[31:33, 31:33].min() > 0.99
    assert np.abs(np.diff(w, axis=0)).max() < 0.1


def test_blending_a_constant_field_reproduces_it_without_seams():
    shape = (300, 420)
    truth = np.fromfunction(lambda r, c: (r + 2 * c) / 1000.0, shape, dtype=np.float32)
    region = Window(0, 0, *shape)
    blender = Blender(region)
    for win in TileGrid(shape, tile=128, overlap=32):
        blender.add(win, truth[win.slices])
    out = blender.result()[0]
    assert blender.covered().all()
    np.testing.assert_allclose(out, truth, atol=1e-5)


def test_tiles_are_clipped_to_the_region():
    region = Window(50, 50, 100, 100)
    blender = Blender(region, channels=2)
    blender.add(Window(0, 0, 128, 128), np.ones((2, 128, 128), dtype=np.float32))
    cov = blender.covered()
    assert cov[:78, :78].all() and not cov[78:, :].any()
    assert np.allclose(blender.result()[:, :78, :78], 1.0)

import numpy as np

from areoscan.synth.classes import Terrain
from areoscan.synth.craters import LABEL_MIN_D_M, Craters, draw_craters
from areoscan.synth.params import SceneParams
from areoscan.synth.surfaces import boulders, dunes, polygons, tars


def _params(**kw):
    return SceneParams.from_seed((128, 128), 3, scale=0.5, footprint=False, **kw)


def test_polygons_are_troughs_along_cell_borders_and_window_independent():
    p = _params()
    a = polygons(p, (0, 0, 200, 200))
    b = polygons(p, (50, 60, 100, 100))
    assert np.allclose(a[50:150, 60:160], b, atol=1e-5)
    assert a.max() <= 0.0 and a.min() < -0.3  # troughs up to ~0.4 m deep
    assert (a < -0.2).mean() < 0.4  # narrow troughs, not everywhere


def test_dunes_are_periodic_and_oriented():
    y, x = np.mgrid[0:128, 0:128].astype(np.float32)
    lam = 40.0
    ph = 2 * np.pi * x * 0.5 / lam
    h = dunes(ph, np.ones_like(x), ph * 0, np.zeros_like(x), (lam, 10.0))
    assert np.allclose(h[0], h[64], atol=1e-6)  # constant along the crest
    spec = np.abs(np.fft.rfft(h[0] - h[0].mean()))
    assert abs(np.argmax(spec) - 128 * 0.5 / lam) <= 1


def test_tars_are_symmetric_broad_crested_ridges_at_their_spacing():
    y, x = np.mgrid[0:64, 0:256].astype(np.float32)
    lam = 32.0  # px here (1 m/px)
    h = tars(2 * np.pi * x / lam, np.ones_like(x), lam)
    assert np.allclose(h[0], h[40], atol=1e-6)  # constant along the crest
    spec = np.abs(np.fft.rfft(h[0] - h[0].mean()))
    assert np.argmax(spec) == 256 // 32
    row = h[0, :32]
    assert np.argmax(row) == 0 and np.allclose(row[1:16], row[31:16:-1], atol=1e-4)  # symmetric
    mid = 0.5 * (row.max() + row.min())
    assert 0.5 < np.mean(row > mid) < 0.7  # a ridge fills a little over half the spacing
    assert 5.0 < h.max() - h.min() < 6.5  # ~0.18 of the spacing


def test_boulders_follow_density_and_are_positive():
    p = _params()
    none = boulders(p, (0, 0, 64, 64), lambda r, c: np.zeros((len(r), len(c)), np.float32))
    many = boulders(p, (0, 0, 64, 64), lambda r, c: np.ones((len(r), len(c)), np.float32))
    assert np.abs(none).max() < 1e-6
    assert many.max() > 0.2 and many.min() > -0.01  # tiny spectral ringing only


def test_craters_dig_bowls_and_label_only_large_ones():
    h = np.zeros((200, 200), np.float32)
    lab = np.full((200, 200), int(Terrain.MANTLE), np.uint8)
    big = LABEL_MIN_D_M * 1.5
    c = Craters(
        np.array([60.0, 150.0]), np.array([60.0, 150.0]), np.array([big, 5.0]), np.array([1.0, 1.0])
    )
    draw_craters(h, (0, 0), 0.5, c, lab, (0, 0), int(Terrain.CRATERS))
    assert h[60, 60] < -0.15 * big and h[150, 150] < 0  # bowls
    assert lab[60, 60] == Terrain.CRATERS and lab[150, 150] == Terrain.MANTLE
    assert h[60, 60 + int(big / 2 / 0.5)] > 0  # raised rim


def test_half_resolution_polygons_agree_across_windows():
    p = SceneParams.from_seed((128, 128), 3, scale=0.25, footprint=False)
    a = polygons(p, (-7, 3, 150, 140))
    b = polygons(p, (40, 51, 61, 77))
    assert np.allclose(a[47:108, 48:125], b, atol=1e-5)

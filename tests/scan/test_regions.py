"""The disk-backed probability store and striped cleaning (regions joined across stripe edges)."""

import numpy as np
import pytest

from areoscan.scan.clean import CleanParams, clean_regions
from areoscan.scan.quant import NO_VALUE, NODATA, quantise
from areoscan.scan.regions import clean_group
from areoscan.scan.store import GroupStore
from areoscan.tiling import Window


def test_store_round_trip_windows_and_unwritten_bytes(tmp_path):
    boxes = [Window(10, 20, 30, 40), Window(100, 0, 5, 7)]
    store = GroupStore(tmp_path / "p.u8", boxes)
    codes = np.arange(30 * 40, dtype=np.int64).reshape(30, 40) % 251
    store.write(0, Window(10, 20, 30, 40), codes.astype(np.uint8))
    part = np.full((2, 7), NODATA, dtype=np.uint8)
    store.write(1, Window(101, 0, 2, 7), part)
    assert np.array_equal(store.read(0, 10, 40), codes)
    assert np.array_equal(store.read(0, 12, 15, 25, 30), codes[2:5, 5:10])
    g1 = store.read(1, 100, 105)
    assert (g1[1:3] == NODATA).all() and (g1[[0, 3, 4]] == NO_VALUE).all()
    outside = store.read(0, 0, 12, 15, 25)  # partly outside the box
    assert (outside[:10] == NO_VALUE).all() and (outside[10:, :5] == NO_VALUE).all()
    assert np.array_equal(outside[10:, 5:], codes[:2, :5])
    store.close()
    assert not (tmp_path / "p.u8").exists()


def _scene(shape=(700, 300), seed=0):
    rng = np.random.default_rng(seed)
    m = np.zeros(shape, dtype=bool)
    m[30:650, 40:90] = True  # a tall region crossing every stripe
    m[100:140, 150:200] = True  # a small one (dropped)
    m[300:420, 150:260] = True
    m[350:360, 200:210] = False  # small hole (filled)
    m |= rng.random(shape) < 0.01  # speckle (opened away)
    return quantise(np.where(m, 0.9, 0.1))


@pytest.mark.parametrize(("memory_mb", "threads"), [(0.1, 1), (0.1, 2), (1000, 1)])
def test_striped_cleaning_matches_one_piece(tmp_path, memory_mb, threads):
    q = _scene()
    params = CleanParams(threshold=0.5, opening_px=2, max_hole_px=200, min_area_px=3000)
    box = Window(5, 7, *q.shape)
    store = GroupStore(tmp_path / "p.u8", [box])
    store.write(0, box, q)
    cg = clean_group(store, 0, params, memory_mb=memory_mb, threads=threads)
    if memory_mb < 1:
        assert len(cg.stripes) > 3  # really striped
    ref, n = clean_regions(q, params)
    assert cg.n == n == 2
    got = cg.labels(box.row, box.row + box.height)
    # the same regions, numbered the same way (raster order of their first pixel)
    assert np.array_equal(got, ref)
    assert np.array_equal(cg.mask_rows(box.row + 100, box.row + 400), ref[100:400] > 0)
    store.close()

import numpy as np
import pytest

from areoscan.scan.bands import plan_bands
from areoscan.scan.quant import LEVELS, NO_VALUE, NODATA, dequantise
from areoscan.scan.segment import segment_groups
from areoscan.scan.store import GroupStore
from areoscan.scan.windows import plan_segmentation
from areoscan.tiling import Window


class ArrayRaster:
    """The part of areoscan.io.Raster the segmenter uses, over an in-memory level-0 array."""

    nodata = 0
    bit_depth = 10

    def __init__(self, raw: np.ndarray) -> None:
        self.raw = raw
        self.reads: list[tuple[int, int, int, int]] = []

    def read_raw(self, level, window):
        assert level == 0
        r, c, h, w = window
        self.reads.append(window)
        return self.raw[r : r + h, c : c + w].copy()


def pointwise(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x, dtype=np.float32) * 0.9 + 0.05).astype(np.float32)


def blended(raw, flagged, memory_mb, store_path, tile=64, overlap=16, prefetch=True):
    plan = plan_segmentation(flagged, 2, 0, raw.shape, tile=tile, overlap=overlap, margin=8)
    bands = plan_bands(plan, memory_mb=memory_mb, prefetch=prefetch)
    raster = ArrayRaster(raw)
    store = GroupStore(store_path, [g.bbox for g in plan.groups])
    stats = segment_groups(raster, pointwise, plan, bands, store, batch=3, prefetch=prefetch)
    full = np.full(raw.shape, NO_VALUE, dtype=np.uint8)
    for g in plan.groups:
        q = store.read(g.index, g.bbox.row, g.bbox.row + g.bbox.height)
        view = full[g.bbox.slices]
        seen = q != NO_VALUE
        view[seen] = q[seen]
    store.close()
    assert not store_path.exists()
    return full, stats, bands, raster


@pytest.fixture
def raw():
    rng = np.random.default_rng(3)
    img = rng.integers(1, 1024, size=(400, 520)).astype(np.uint16)
    img[:, :12] = 0  # no data
    return img


def test_blend_equals_pointwise_everywhere_and_bands_do_not_matter(raw, tmp_path):
    flagged = [Window(10, 10, 16, 16), Window(60, 80, 16, 16), Window(70, 20, 16, 16)]
    one, s1, b1, _ = blended(raw, flagged, 1000, tmp_path / "a.u8")
    many, s2, b2, r2 = blended(raw, flagged, 0.05, tmp_path / "b.u8")  # one tile row per band
    assert len(b1) < len(b2)
    # identical up to float summation order (one code at a rounding boundary)
    assert np.array_equal(one == NO_VALUE, many == NO_VALUE)
    assert np.abs(one.astype(int) - many.astype(int)).max() <= 1
    assert s1.tiles == s2.tiles  # no tile predicted twice
    # the tiles' vertical overlap is decoded once: later bands reuse the rows the reader kept
    windows = [r.window for b in b2 for r in b.reads]
    assert any(r.reuse for b in b2 for r in b.reads)
    assert sum(w[2] * w[3] for w in r2.reads) == s2.decoded_px
    assert s2.decoded_px < sum(w.height * w.width for w in windows)
    seen = (one != NO_VALUE) & (one != NODATA)
    expect = pointwise(raw.astype(np.float32) / 1023)
    assert np.abs(dequantise(one)[seen] - expect[seen]).max() <= 0.5 / LEVELS + 1e-6
    # the flagged areas (level 2 -> level 0, x4) are covered; no-data columns are marked
    assert seen[40:104, 40:104].all() and seen[240:304, 320:384].all()
    assert (one[:, :12][one[:, :12] != NO_VALUE] == NODATA).all()


@pytest.mark.parametrize("seg_px", [37, 64, 100])
def test_blend_kept_in_column_segments_equals_one_blend(raw, tmp_path, monkeypatch, seg_px):
    import areoscan.scan.segment as seg

    flagged = [Window(10, 10, 16, 16), Window(60, 80, 16, 16), Window(70, 20, 16, 16),
               Window(30, 100, 16, 20)]  # fmt: skip
    whole, s1, _, _ = blended(raw, flagged, 0.05, tmp_path / "a.u8")  # segments wider than a band
    monkeypatch.setattr(seg, "BLEND_SEGMENT_PX", seg_px)  # tiles (64 px) straddle segment edges
    parts, s2, bands, _ = blended(raw, flagged, 0.05, tmp_path / "b.u8")
    assert any(len(b.reads) > 1 for b in bands)  # segments are flushed between reads of a band
    assert s1.tiles == s2.tiles
    assert np.array_equal(whole == NO_VALUE, parts == NO_VALUE)
    assert np.abs(whole.astype(int) - parts.astype(int)).max() <= 1


def test_bands_partition_rows_and_respect_the_budget(raw):
    flagged = [Window(r, c, 16, 16) for r in (0, 40, 80) for c in (0, 100)]
    plan = plan_segmentation(flagged, 2, 0, raw.shape, tile=64, overlap=16, margin=0)
    bands = plan_bands(plan, memory_mb=0.3, bytes_per_px=25.5)
    assert bands[0].final[0] == 0 and bands[-1].final[1] == raw.shape[0]
    for a, b in zip(bands, bands[1:], strict=False):
        assert a.final[1] == b.final[0]
    budget = 0.3 * 2**20 / 25.5
    for band in bands:
        for read in band.reads:
            assert read.window.height * read.window.width <= max(budget, 64 * 64)
    tiles = sorted(t for band in bands for read in band.reads for _, t in read.tiles)
    assert tiles == plan.tiles


def test_far_apart_tiles_are_read_separately():
    raw = np.ones((128, 2000), dtype=np.uint16)
    flagged = [Window(0, 0, 16, 16), Window(0, 480, 16, 16)]
    plan = plan_segmentation(flagged, 2, 0, raw.shape, tile=64, overlap=16, margin=0)
    bands = plan_bands(plan, memory_mb=100)
    assert len(bands) == 1 and len(bands[0].reads) == 2
    width = sum(r.window.width for r in bands[0].reads)
    assert width < 600  # not the 2000-px span between them


def test_prefetching_gives_the_same_probabilities(raw, tmp_path):
    flagged = [Window(10, 10, 16, 16), Window(60, 80, 16, 16)]
    a, _, _, ra = blended(raw, flagged, 0.05, tmp_path / "a.u8", prefetch=True)
    b, _, _, rb = blended(raw, flagged, 0.05, tmp_path / "b.u8", prefetch=False)
    assert np.array_equal(a, b)
    assert len(ra.reads) > 2


def test_every_chunk_of_a_band_reuses_the_rows_above(raw, tmp_path):
    """A band read in column chunks (one tile each here) that overlap by the tiles' overlap: every
    chunk finds the previous band's last rows in the reader (the earlier chunk of a band leaves the
    columns it shares with the next one to it), and the probabilities are exactly those of decoding
    every window whole."""
    import copy

    flagged = [Window(r, c, 16, 16) for r in range(0, 80, 16) for c in range(16, 112, 16)]
    plan = plan_segmentation(flagged, 2, 0, raw.shape, tile=64, overlap=16, margin=8)
    bands = plan_bands(plan, memory_mb=0.05)
    assert all(len(b.reads) > 2 for b in bands)
    stride = plan.tile - plan.overlap
    tiles = {t for b in bands for r in b.reads for _, t in r.tiles}
    for band in bands[1:]:
        for read in band.reads:
            (_, t), *_ = read.tiles
            above = Window(t.row - stride, t.col, t.height, t.width) in tiles
            assert read.reuse == (plan.overlap if above else 0), (read.window, read.reuse)
    whole = copy.deepcopy(bands)
    for read in (r for b in whole for r in b.reads):
        read.reuse, read.keep = 0, None
    out, decoded = [], []
    for i, bs in enumerate((bands, whole)):
        store = GroupStore(tmp_path / f"{i}.u8", [g.bbox for g in plan.groups])
        decoded.append(segment_groups(ArrayRaster(raw), pointwise, plan, bs, store).decoded_px)
        out.append([store.read(g.index, g.bbox.row, g.bbox.row + g.bbox.height)
                    for g in plan.groups])  # fmt: skip
        store.close()
    assert all(np.array_equal(a, b) for a, b in zip(*out, strict=True))
    reused = sum(r.reuse * r.window.width for b in bands for r in b.reads)
    assert decoded[0] == decoded[1] - reused and reused > 0

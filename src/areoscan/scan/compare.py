"""Mask tools: score a predicted mask against a reference, and turn a prediction into a training mask.

Use :func:`compare_masks` to measure a scan's ``mask.tif`` (or any 0/1 mask GeoTIFF/PNG) against a
reference mask — IoU, F1, precision, recall and the reference's TP/TN/FP/FN percentages — with an
overlay PNG (green hits, red false alarms, blue misses). Use :func:`to_training_mask` to reduce a
full-resolution prediction to the mask of a coarser resolution level (majority per block), the
form training samples take. Both stream the masks in row bands, so gigapixel masks are fine.

Mask convention (as ``areoscan scan`` and ``areoscan synth`` write them): 0 background, any other
value brain coral, the file's nodata value (255 for areoscan masks) no data.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.errors import DataError, OutputError
from areoscan.scan.config import MASK_TOOLS_GDAL_CACHE_MB

OVERLAY_COLOURS = {
    "tn": (55, 55, 55),
    "tp": (40, 200, 60),
    "fp": (240, 60, 50),
    "fn": (60, 120, 255),
    "nodata": (0, 0, 0),
}


def _open(path: str | Path) -> Any:
    import rasterio

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: mask file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = rasterio.open(path)
    except Exception as exc:  # rasterio raises several error types for unreadable files
        raise DataError(f"{path}: not a readable mask image ({str(exc).splitlines()[0]})") from None
    if ds.count != 1:
        ds.close()
        raise DataError(f"{path}: a mask has one band; this file has {ds.count}")
    return ds


def _classes(values: np.ndarray, nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(positive, valid) booleans of mask values."""
    valid = np.ones(values.shape, dtype=bool) if nodata is None else values != nodata
    return (values != 0) & valid, valid


def _read(ds: Any, r0: int, r1: int, out_shape: tuple[int, int], height: int) -> np.ndarray:
    """Rows of ``ds`` matching rows r0:r1 of a grid ``height`` rows tall, resampled to out_shape."""
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    f = ds.height / height
    win = Window(0, r0 * f, ds.width, (r1 - r0) * f)  # type: ignore[call-arg]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(
            ds.read(1, window=win, out_shape=out_shape, resampling=Resampling.nearest)
        )


def compare_masks(
    pred: str | Path,
    ref: str | Path,
    overlay: str | Path | None = None,
    *,
    band_rows: int = 2048,
    overlay_side: int = 1600,
) -> dict[str, Any]:
    """Pixel scores of ``pred`` against ``ref`` over pixels valid in both.

    A mask of another size is resampled (nearest) onto the reference grid. Returns n (valid pixels),
    iou, f1, precision, recall, tp_pct / tn_pct / fp_pct / fn_pct, pred_px, ref_px and the overlay
    path (if written).
    """
    import rasterio

    from areoscan.data.metrics import binary_rates

    cm = np.zeros((2, 2), dtype=np.int64)
    with rasterio.Env(GDAL_CACHEMAX=MASK_TOOLS_GDAL_CACHE_MB), _open(pred) as dp, _open(ref) as dr:
        h, w = dr.height, dr.width
        if abs(dp.height / h - dp.width / w) > 0.02 * max(1.0, dp.width / w):
            raise DataError(
                f"{pred}: {dp.height} x {dp.width} px does not have the shape of {ref} "
                f"({h} x {w}); are they masks of the same image?"
            )
        for r0 in range(0, h, band_rows):
            r1 = min(h, r0 + band_rows)
            rv = np.asarray(dr.read(1, window=((r0, r1), (0, w))))
            pv = _read(dp, r0, r1, (r1 - r0, w), h)
            rpos, rok = _classes(rv, dr.nodata)
            ppos, pok = _classes(pv, dp.nodata)
            ok = rok & pok
            t, p = rpos[ok], ppos[ok]
            cm += np.bincount(t.astype(np.int64) * 2 + p, minlength=4).reshape(2, 2)
        out_path = None
        if overlay is not None:
            out_path = _write_overlay(Path(overlay), dp, dr, overlay_side)
    tp, fn, fp = int(cm[1, 1]), int(cm[1, 0]), int(cm[0, 1])
    rates = binary_rates(cm)
    return {
        "pred": str(pred),
        "ref": str(ref),
        "n": int(cm.sum()),
        "iou": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
        "f1": rates["f1"] if tp + fp + fn else 1.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "tp_pct": rates["tp_pct"],
        "tn_pct": rates["tn_pct"],
        "fp_pct": rates["fp_pct"],
        "fn_pct": rates["fn_pct"],
        "pred_px": tp + fp,
        "ref_px": tp + fn,
        "overlay": str(out_path) if out_path else None,
    }


def _write_overlay(path: Path, dp: Any, dr: Any, side: int) -> Path:
    """Colour-coded agreement map at most ``side`` px on its long side."""
    from PIL import Image, ImageDraw

    from areoscan.io import atomic_output

    k = max(1, int(np.ceil(max(dr.height, dr.width) / side)))
    shape = (max(1, dr.height // k), max(1, dr.width // k))
    rv = _read(dr, 0, dr.height, shape, dr.height)
    pv = _read(dp, 0, dr.height, shape, dr.height)
    rpos, rok = _classes(rv, dr.nodata)
    ppos, pok = _classes(pv, dp.nodata)
    rgb = np.zeros((*shape, 3), dtype=np.uint8)
    ok = rok & pok
    for name, sel in (
        ("tn", ok & ~rpos & ~ppos),
        ("tp", ok & rpos & ppos),
        ("fp", ok & ~rpos & ppos),
        ("fn", ok & rpos & ~ppos),
    ):
        rgb[sel] = OVERLAY_COLOURS[name]
    im = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(im)
    x = 4
    for name, label in (("tp", "hit"), ("fp", "false alarm"), ("fn", "miss")):
        draw.rectangle((x, 4, x + 10, 14), fill=OVERLAY_COLOURS[name])
        draw.text((x + 14, 3), label, fill=(255, 255, 255))
        x += 24 + 7 * len(label)
    try:
        with atomic_output(path) as tmp:
            im.save(tmp, format="PNG")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the overlay ({exc})") from None
    return path


def to_training_mask(
    pred: str | Path, level: int, out: str | Path, *, band_rows: int = 4096
) -> Path:
    """Reduce a full-resolution mask to resolution ``level`` (blocks of 2**level px) and write it.

    Each output pixel is 255 (no data) when most of its block is no data, else 1 when at least half
    of its valid pixels are coral, else 0 — the majority rule training tiles use. The grid is that of
    the JPEG2000 level (``ceil(H / 2**level)`` rows); the transform is scaled accordingly.
    """
    from affine import Affine

    from areoscan.io import write_geotiff

    if level < 0 or level > 12:
        raise DataError(f"level must be in 0..12, not {level}")
    import rasterio

    f = 2**level
    with rasterio.Env(GDAL_CACHEMAX=MASK_TOOLS_GDAL_CACHE_MB), _open(pred) as ds:
        h, w = ds.height, ds.width
        oh, ow = -(-h // f), -(-w // f)
        out_arr = np.empty((oh, ow), dtype=np.uint8)
        rows = max(f, band_rows - band_rows % f)
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            v = np.asarray(ds.read(1, window=((r0, r1), (0, w))))
            pos, ok = _classes(v, ds.nodata)
            bh, pad_r, pad_c = -(-(r1 - r0) // f), (-(r1 - r0)) % f, (-w) % f

            def blocks(a: np.ndarray, pr: int = pad_r, pc: int = pad_c, bh: int = bh) -> np.ndarray:
                return np.pad(a, ((0, pr), (0, pc))).reshape(bh, f, ow, f).sum(axis=(1, 3))

            size = blocks(np.ones(v.shape, dtype=bool))
            pos, ok = blocks(pos), blocks(ok)
            block = np.where(2 * pos >= ok, 1, 0).astype(np.uint8)
            block[(2 * ok < size) | (ok == 0)] = 255
            out_arr[r0 // f : r0 // f + bh] = block
        crs = ds.crs
        transform = ds.transform @ Affine.scale(f) if not ds.transform.is_identity else None
    return write_geotiff(out, out_arr, crs=crs.to_wkt() if crs else None, transform=transform,
                         nodata=255, resampling="nearest")  # fmt: skip

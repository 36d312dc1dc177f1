"""Classify image tiles with a trained model: read, resize by the model's rule, predict, write CSV.

Use :func:`classify_paths` for files and folders (what ``areoscan classify`` runs) and
:func:`predict_tiles` for arrays already in memory. Files are read by
:func:`areoscan.io.tilefile.read_tile` and resized by :func:`resize_tile`, the same two steps training
uses (so both see identical pixels).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.errors import DataError, OutputError
from areoscan.io.tilefile import IMAGE_SUFFIXES, read_tile
from areoscan.models.calibration import calibrate_logits
from areoscan.models.card import ModelCard, write_bytes_atomic

RESIZE_RULES = ("area", "bilinear")


def resize_tile(img: np.ndarray, size: int, rule: str = "area") -> np.ndarray:
    """Resize a whole (H, W) float tile to (size, size).

    ``area``: box filter when shrinking (each output pixel = mean of the input pixels it covers,
    like a JPEG2000 reduced level), bilinear when enlarging. ``bilinear``: always bilinear.
    Non-square tiles are stretched to a square, not cropped.
    """
    from PIL import Image

    if rule not in RESIZE_RULES:
        raise DataError(f"unknown resize rule {rule!r}; choose one of {RESIZE_RULES}")
    img = np.asarray(img, dtype=np.float32)
    if img.shape == (size, size):
        return img.copy()
    shrink = img.shape[0] >= size and img.shape[1] >= size
    method = Image.Resampling.BOX if (rule == "area" and shrink) else Image.Resampling.BILINEAR
    out = np.asarray(Image.fromarray(img).resize((size, size), method), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 for stability, returned as float32."""
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def decide(probs: np.ndarray, card: ModelCard) -> np.ndarray:
    """Class indices: argmax, except a screen's positive class wins whenever p >= its threshold."""
    labels = probs.argmax(axis=1)
    if card.threshold is not None and card.positive_class is not None:
        pos = card.classes.index(card.positive_class)
        is_pos = probs[:, pos] >= card.threshold
        others = probs.copy()
        others[:, pos] = -1.0
        labels = np.where(is_pos, pos, others.argmax(axis=1))
    return labels


def predict_tiles(
    runner: Callable[[np.ndarray], np.ndarray],
    tiles: np.ndarray,
    batch_size: int = 32,
    progress: bool = False,
    calibration: dict[str, Any] | None = None,
) -> np.ndarray:
    """Class probabilities (N, n_classes) for tiles (N, S, S) float32 in [0, 1] at the model's size.

    Pass the card's ``calibration`` whenever the decision uses the card's threshold (it is on the
    calibrated scale); None gives the raw softmax.
    """
    out = []
    from areoscan.progress import progress_bar

    starts = range(0, len(tiles), batch_size)
    for i in progress_bar(starts, unit="batch", desc="classify", enabled=progress):
        out.append(softmax(calibrate_logits(runner(tiles[i : i + batch_size]), calibration)))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def expand_inputs(items: Iterable[str | Path]) -> list[Path]:
    """Files as given plus every image file under given folders (sorted); DataError if none."""
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or folder")
    if not files:
        raise DataError(
            f"no image tiles ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, items))}"
        )
    return files


def classify_paths(
    inputs: Sequence[str | Path],
    model: str | Path,
    backend: str = "torch",
    batch_size: int = 32,
    progress: bool = False,
) -> tuple[list[dict[str, object]], ModelCard]:
    """Rows ``{"file", "label", "p_<class>"...}`` for every tile in ``inputs``, and the model card."""
    from areoscan.models.export import make_runner

    runner, card = make_runner(model, backend=backend)
    if card.task != "classification":
        raise DataError(f"model {card.name!r} is a {card.task} model; classify needs a classifier")
    files = expand_inputs(inputs)
    rows: list[dict[str, object]] = []
    for i in range(0, len(files), 256):  # bounded memory for large folders
        chunk = files[i : i + 256]
        tiles = np.stack([resize_tile(read_tile(f), card.tile_size, card.resize) for f in chunk])
        probs = predict_tiles(runner, tiles, batch_size, progress, card.calibration)
        labels = decide(probs, card)
        for f, p, y in zip(chunk, probs, labels, strict=True):
            row: dict[str, object] = {"file": str(f), "label": card.classes[int(y)]}
            row.update({f"p_{c}": f"{float(v):.6f}" for c, v in zip(card.classes, p, strict=True)})
            rows.append(row)
    return rows, card


def write_csv(rows: list[dict[str, object]], card: ModelCard, out: str | Path | None) -> str:
    """Write rows as CSV to ``out`` atomically (or return the text when ``out`` is None)."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=["file", "label", *(f"p_{c}" for c in card.classes)], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    text = buf.getvalue()
    if out is not None:
        try:
            write_bytes_atomic(Path(out), text.encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"{out}: cannot write predictions ({exc.strerror or exc})") from None
    return text

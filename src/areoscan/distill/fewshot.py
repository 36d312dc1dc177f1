"""Train the light decoder on cached embeddings and a few masks; predict class maps with it.

Use :func:`load_examples` to pair a cache with a folder of class-map PNGs (``areoscan label``'s
``masks/``), :func:`fit_decoder` to train one decoder (the encoder stays frozen: it is not even
loaded), and :func:`predict_maps` / :func:`predict_probs` to apply it. Masks are brought to the
decoder's output grid (8 x the embedding grid, i.e. half the encoder's input side) by nearest
neighbour; that is the resolution decoders are trained and scored at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from areoscan.distill.cache import EmbeddingCache
from areoscan.errors import DataError

UPSAMPLE = 8  # three stride-2 stages


@dataclass
class Examples:
    """Embeddings ``x`` (N, C, g, g) float16 and class maps ``y`` (N, 8g, 8g) uint8, with names.

    classes: class names, background first (index = value in ``y``). groups: split group per example.
    """

    stems: list[str]
    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    groups: list[str]

    def subset(self, idx: list[int] | np.ndarray) -> Examples:
        idx = list(idx)
        return Examples(
            [self.stems[i] for i in idx],
            self.x[idx],
            self.y[idx],
            self.classes,
            [self.groups[i] for i in idx],
        )


def mask_classes(masks: Path, classes: list[str] | None) -> list[str]:
    """Class names with background first: ``classes``, else ``annotations.json`` beside ``masks``."""
    if classes:
        return ["background", *classes]
    doc_path = masks.parent / "annotations.json"
    if doc_path.is_file():
        try:
            cats = json.loads(doc_path.read_text())["categories"]
            by_id = {int(c["id"]): str(c["name"]) for c in cats}
            return ["background", *(by_id[k] for k in range(1, len(by_id) + 1))]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{doc_path}: cannot read its categories ({exc})") from None
    raise DataError(f"{masks}: no annotations.json beside it; give --classes")


def _read_mask(path: Path, side: int, n_classes: int) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.resize((side, side), Image.Resampling.NEAREST))
    except OSError as exc:
        raise DataError(f"{path}: unreadable mask ({exc})") from None
    if arr.ndim != 2 or int(arr.max(initial=0)) >= n_classes:
        raise DataError(
            f"{path}: expected a class map with values 0..{n_classes - 1}, got max {arr.max()}"
        )
    return arr.astype(np.uint8)


def load_examples(
    cache: EmbeddingCache, masks: Path, classes: list[str] | None = None, merge: str | None = None
) -> Examples:
    """Every cached image that has ``masks/<stem>.png``, loaded into memory (sorted by name).

    merge: one name for every foreground class (a binary decoder from multi-class masks, e.g. the
    pits data's five morphology types as one ``pit`` class).
    """
    names = mask_classes(masks, classes)
    stems = sorted(s for s in cache.images if (masks / f"{s}.png").is_file())
    if not stems:
        raise DataError(f"{masks}: no mask PNG matches an image of the cache {cache.folder}")
    side = cache.grid * UPSAMPLE
    x = np.stack([np.asarray(cache.load(s)) for s in stems])
    y = np.stack([_read_mask(masks / f"{s}.png", side, len(names)) for s in stems])
    if merge:
        y, names = (y > 0).astype(np.uint8), ["background", merge]
    return Examples(stems, x, y, names, [cache.group(s) for s in stems])


def n_outputs(classes: list[str]) -> int:
    """Decoder output channels: 1 for one foreground class (sigmoid), else one per class."""
    return 1 if len(classes) == 2 else len(classes)


def fit_decoder(
    data: Examples,
    *,
    epochs: int = 100,
    lr: float = 1e-3,
    batch: int = 4,
    seed: int = 0,
    widths: tuple[int, int, int] = (128, 64, 32),
):
    """A :class:`~areoscan.models.lightdecoder.LightDecoder` trained on ``data`` (eval mode).

    Binary: BCE + soft Dice on the foreground; multi-class: cross-entropy + the mean soft Dice of
    the foreground classes (without Dice, a few images of rare objects teach all-background). Adam, cosine
    learning-rate decay, shuffled mini-batches; deterministic for a seed.
    """
    import torch
    import torch.nn.functional as F

    from areoscan.models.lightdecoder import LightDecoder

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    out = n_outputs(data.classes)
    net = LightDecoder(data.x.shape[1], out, widths)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
    n = len(data.stems)
    steps = epochs * int(np.ceil(n / batch))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    net.train()
    for _ in range(epochs):
        order = rng.permutation(n)
        for k in range(0, n, batch):
            idx = np.sort(order[k : k + batch])
            x = torch.from_numpy(data.x[idx].astype(np.float32))
            y = torch.from_numpy(data.y[idx].astype(np.int64))
            logits = net(x)
            if out == 1:
                t = (y > 0).float()
                p = torch.sigmoid(logits[:, 0])
                dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
                loss = F.binary_cross_entropy_with_logits(logits[:, 0], t) + dice
            else:
                p = torch.softmax(logits, dim=1)[:, 1:]
                t = F.one_hot(y, out).permute(0, 3, 1, 2)[:, 1:].float()
                dice = 1 - (2 * (p * t).sum(dim=(0, 2, 3)) + 1) / (
                    p.sum(dim=(0, 2, 3)) + t.sum(dim=(0, 2, 3)) + 1
                )
                loss = F.cross_entropy(logits, y) + dice.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


def predict_probs(net, x: np.ndarray, batch: int = 8) -> np.ndarray:
    """Class probabilities ``(N, K, 8g, 8g)`` float32; K = 2 for a binary decoder (background, fg)."""
    import torch

    outs = []
    with torch.inference_mode():
        for k in range(0, len(x), batch):
            logits = net(torch.from_numpy(np.asarray(x[k : k + batch], np.float32)))
            if logits.shape[1] == 1:
                p = torch.sigmoid(logits)
                probs = torch.cat([1 - p, p], dim=1)
            else:
                probs = torch.softmax(logits, dim=1)
            outs.append(probs.numpy())
    return np.concatenate(outs)


def predict_maps(net, x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class maps ``(N, 8g, 8g)`` uint8: the most probable class (binary: p(fg) >= threshold)."""
    probs = predict_probs(net, x)
    if probs.shape[1] == 2:
        return (probs[:, 1] >= threshold).astype(np.uint8)
    return probs.argmax(axis=1).astype(np.uint8)

"""Choose what to label next: the unlabelled images a trained decoder is least sure about.

Use :func:`uncertainty` (mean per-pixel entropy of the decoder's class probabilities, normalised to
[0, 1]) to rank images, :func:`suggest` for ``areoscan label suggest`` (embeds the candidates with
the decoder's own encoder, or reads them from a cache), and :func:`active_curve` to measure active
choice against random choice on the N-shot curve (``benchmarks/bench_distill.py active``): from N0
random images, each step trains on the chosen set and adds the pool images it is least sure about.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.distill.curve import random_chooser, trained_row
from areoscan.distill.fewshot import Examples, predict_probs
from areoscan.errors import DataError


def uncertainty(probs: np.ndarray) -> np.ndarray:
    """Mean pixel entropy / log K per image of probabilities ``(N, K, H, W)`` (0 sure .. 1 unsure)."""
    p = np.clip(probs.astype(np.float64), 1e-7, 1.0)
    ent = -(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])
    return ent.reshape(len(p), -1).mean(axis=1)


def _decoder_and_encoder(model: str | Path) -> tuple[Any, Any, Any]:
    from areoscan.distill.decoder_card import decoder_encoder, decoder_of
    from areoscan.distill.encoders import UnetEncoder, make_encoder
    from areoscan.models.registry import load_model

    module, card = load_model(model)
    net = decoder_of(module)
    spec, size = decoder_encoder(card)
    encoder = make_encoder(spec) if spec.startswith("sam:") else UnetEncoder(spec, size)
    return net, card, encoder


def suggest(
    model: str | Path,
    images: list[Path],
    k: int,
    *,
    labelled: set[str] | None = None,
    embeddings: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[Path, float]]:
    """The ``k`` most uncertain images among ``images`` not in ``labelled`` (stems) nor among the
    decoder's training images, most uncertain first, with their scores."""
    from areoscan.distill.cache import open_cache
    from areoscan.distill.label import read_image_u8

    net, card, encoder = _decoder_and_encoder(model)
    skip = set(labelled or ()) | set(card.training.get("stems", []))
    todo = [p for p in images if p.stem not in skip]
    if not todo:
        raise DataError("every image given is already labelled: nothing to suggest")
    cache = open_cache(embeddings) if embeddings else None
    if cache and cache.encoder != encoder.spec:
        raise DataError(
            f"{embeddings}: holds {cache.encoder} embeddings; the model needs {encoder.spec}"
        )
    scored = []
    for i, path in enumerate(todo):
        if progress:
            progress(f"{i + 1}/{len(todo)} {path.name}")
        if cache and path.stem in cache.images:
            emb = np.asarray(cache.load(path.stem))
        else:
            emb = encoder.embed(read_image_u8(path))
        scored.append((path, float(uncertainty(predict_probs(net, emb[None]))[0])))
    scored.sort(key=lambda t: -t[1])
    return scored[:k]


def active_curve(
    data: Examples,
    ns: list[int],
    draws: int,
    pool: np.ndarray,
    test: np.ndarray,
    *,
    epochs: int = 100,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """N-shot rows like :func:`~areoscan.distill.curve.nshot_curve`, the sets grown by uncertainty.

    Each draw starts from the same random ``ns[0]`` images as the random curve's draw, so the two
    curves differ only in how the later images were chosen.
    """
    held_out = data.subset(test)
    rows = []
    for draw in range(draws):
        chosen = list(random_chooser(ns[0], draw, pool))
        net: Any = None
        for n in ns:
            if n > len(pool):
                raise DataError(f"--n {n}: only {len(pool)} images outside the held-out groups")
            if len(chosen) < n and net is not None:
                rest = np.array([i for i in pool if i not in set(chosen)])
                unsure = uncertainty(predict_probs(net, data.x[rest]))
                chosen += list(rest[np.argsort(-unsure, kind="stable")[: n - len(chosen)]])
            row, net = trained_row(data, chosen, held_out, draw, epochs)
            rows.append(row)
            if progress:
                progress(f"active N={n} draw {draw + 1}/{draws}: mIoU {row['miou']:.3f}")
    return rows

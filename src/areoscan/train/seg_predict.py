"""Coral probabilities from a torch segmenter, batch by batch.

Use :func:`predict_probs` wherever a module in training (not a saved model: see
:func:`areoscan.models.segmenters.load_segmenter` for those) must be run on tiles: validation
during training, hard-negative mining (:mod:`areoscan.train.seg_mining`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def predict_probs(model: Any, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Probabilities ``(N, K, H, W)`` from a torch segmenter (K = 1 binary, else classes)."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            logits = model(torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size, None])))
            p = torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, 1)
            out.append(p.numpy())
    return np.concatenate(out) if out else np.zeros((0, 1) + images.shape[1:], np.float32)

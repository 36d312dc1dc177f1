"""sha256 of every shipped model's raw output on fixed tiles: proof that a refactor changed nothing.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/shipped_output_hashes.py``

Each model gets three tiles of its own size built from seed 0: random texture, the same with its
top third set to 0 (no data), and a flat tile (0.4). The module runs in eval mode with one thread
(threads can change float summation order) and the sha256 of the float32 output bytes is printed
as JSON. Run it before and after a change: equal hashes mean byte-identical outputs.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def output_hashes() -> dict[str, str]:
    """{model name: sha256 of its float32 output on the three fixed tiles}."""
    import torch

    from areoscan.models.registry import load_model, shipped_models

    torch.set_num_threads(1)
    out = {}
    for name in sorted(shipped_models()):
        module, card = load_model(name)
        module.eval()
        s = card.tile_size
        x = np.random.default_rng(0).random((3, 1, s, s), dtype=np.float32)
        x[1, :, : s // 3] = 0.0
        x[2] = 0.4
        with torch.no_grad():
            if card.task == "detection":  # a list of images in, boxes / scores / labels out
                found = module(list(torch.from_numpy(x)))
                y = np.concatenate(
                    [np.concatenate([f["boxes"].numpy().ravel(), f["scores"].numpy(),
                                     f["labels"].numpy().astype(np.float32)]) for f in found]
                ).astype(np.float32)  # fmt: skip
            else:
                y = module(torch.from_numpy(x)).numpy()
        out[name] = hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()
    return out


if __name__ == "__main__":
    print(json.dumps(output_hashes(), indent=1))

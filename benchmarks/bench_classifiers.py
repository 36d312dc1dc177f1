"""Inference speed of the tile classifiers on this machine (tiles/s and 1K×1K level-0 areas/s).

Run: ``.venv/bin/python benchmarks/bench_classifiers.py [--threads 2] [--seconds 3]``

For every architecture × input mode × tile size it times eager torch (channels_last) and
onnxruntime on random tiles, batch 32 (128 px) or 8 (256 px), after a warm-up, and prints a
Markdown table. "1K×1K/s" = level-0 area of 1024×1024 px classified per second when the model
reads level 2 (the screen's setting: one 128-px tile at level 2 covers 512×512 level-0 px).
Decoding is not included. The numbers depend on the load of the machine: run it when idle.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _rate(fn, x: np.ndarray, seconds: float) -> float:
    fn(x)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(x)
        n += len(x)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--archs", default="small_cnn,mobilenetv3_small,mobilenetv3_large,resnet18")
    ap.add_argument("--level", type=int, default=2)
    args = ap.parse_args()

    import torch

    from areoscan.models.card import ModelCard
    from areoscan.models.export import OnnxRunner, TorchRunner, onnx_bytes
    from areoscan.models.registry import build_module

    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, torch {torch.__version__}\n")
    level = args.level
    print(
        f"| arch | mode | size | batch | torch tiles/s | onnx tiles/s | onnx 1K×1K/s (level {level}) | weights MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for arch in args.archs.split(","):
        for mode in ("spatial", "dct"):
            for size in (128, 256):
                card = ModelCard(
                    name="b",
                    task="classification",
                    arch=arch,
                    mode=mode,
                    classes=["a", "b"],
                    tile_size=size,
                    level=args.level,
                )
                module = build_module(card).eval()
                mb = sum(p.numel() for p in module.state_dict().values()) * 4 / 1e6
                batch = 32 if size == 128 else 8
                x = np.random.default_rng(0).random((batch, 1, size, size), dtype=np.float32)
                t = _rate(TorchRunner(module, card), x, args.seconds)
                o = _rate(
                    OnnxRunner(onnx_bytes(module, card), card, threads=args.threads),
                    x,
                    args.seconds,
                )
                area = o * (size * 2**args.level) ** 2 / 1024**2
                print(
                    f"| {arch} | {mode} | {size} | {batch} | {t:.0f} | {o:.0f} | {area:.0f} | {mb:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

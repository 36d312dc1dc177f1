"""Segmenter throughput on this machine's CPU: 512-px tiles/s in torch and onnxruntime.

Run:  .venv/bin/python benchmarks/bench_segment.py [--model brain-coral-unet] [--all] [--threads 2]
            [--slim ENCODER:C1,C2,C3[,C4] ...]

Times the shipped ``brain-coral-unet`` (or any model given with --model; with --all also untrained
smp peers of the same size) on batches of 512×512 float32 tiles with 2 intra-op threads:
eager torch, channels_last, channels_last with batch norm folded (what ``load_segmenter`` uses),
and onnxruntime; prints tiles/s, Mpx/s and the ONNX parity (max |Δ| of probabilities).
--slim also times untrained slim U-Nets of other sizes, e.g. ``mobilenetv3_small_100:64,32,24,16``
(four decoder stages, output at 1/2) against ``mobilenetv3_small_100:64,32,24`` (three, at 1/4).
Goal: ≥ 26 tiles/s (6.5 Mpx/s, the reference's published GPU figure) for the shipped U-Net.
Speed does not depend on the weights, so the architecture is what is measured.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch


def _bench(fn, x, repeats: int) -> float:
    fn(x)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return x.shape[0] * repeats / (time.perf_counter() - t0)


def measure(
    module: torch.nn.Module, card, batch: int, repeats: int, threads: int
) -> dict[str, float]:
    from areoscan.models.export import OnnxRunner, onnx_bytes
    from areoscan.models.segmenters import fuse_conv_bn

    torch.set_num_threads(threads)
    module = module.eval()
    x = np.random.default_rng(0).uniform(0.2, 0.8, (batch, 1, 512, 512)).astype(np.float32)
    xt = torch.from_numpy(x)
    xc = xt.contiguous(memory_format=torch.channels_last)
    out: dict[str, float] = {}
    with torch.inference_mode():
        out["torch eager"] = _bench(module, xt, repeats)
        cl = copy.deepcopy(module).to(memory_format=torch.channels_last)
        out["torch channels_last"] = _bench(cl, xc, repeats)
        fused = fuse_conv_bn(module).to(memory_format=torch.channels_last)
        out["torch channels_last + folded BN"] = _bench(fused, xc, repeats)
        ref = torch.sigmoid(module(xt)).numpy()
    try:
        runner = OnnxRunner(onnx_bytes(module, card), card, threads=threads)
    except Exception as exc:  # e.g. PSPNet: adaptive pooling over a dynamic tile size
        print(f"note: {card.name}: no ONNX export ({str(exc).splitlines()[0][:120]})")
        out["onnxruntime"] = float("nan")
        out["onnx max |dp|"] = float("nan")
        return out
    out["onnxruntime"] = _bench(runner, x, repeats)
    onnx_p = 1 / (1 + np.exp(-runner(x)))
    out["onnx max |dp|"] = float(np.max(np.abs(onnx_p - ref)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model", default="brain-coral-unet", help="model name or path (default brain-coral-unet)"
    )
    ap.add_argument(
        "--all", action="store_true", help="also time untrained smp peers (unet/fpn/linknet/pspnet)"
    )
    ap.add_argument(
        "--slim",
        action="append",
        default=[],
        metavar="ENCODER:C1,C2,C3[,C4]",
        help="also time an untrained slim-unet with this encoder and decoder channels",
    )
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from areoscan.errors import ModelError
    from areoscan.models.card import ModelCard
    from areoscan.models.registry import load_model
    from areoscan.models.segmenters import build_segmenter, segmenter_kwargs

    def untrained(label: str, arch: str, **overrides: object) -> None:
        kw = segmenter_kwargs(arch, **overrides)
        card = ModelCard(
            name=arch,
            task="segmentation",
            arch=arch,
            classes=["background", "brain_coral"],
            tile_size=512,
            arch_kwargs=kw,
        )
        models.append((label.format(**kw), build_segmenter(arch, **kw), card))

    models = []
    try:
        module, card = load_model(args.model)
        models.append((card.name, module, card))
    except ModelError as exc:
        print(f"note: {exc}; timing an untrained slim-unet of the default size instead")
        untrained("slim-unet (untrained)", "slim-unet")
    for spec in args.slim:
        enc, _, chans = spec.partition(":")
        extra = {"decoder_channels": [int(c) for c in chans.split(",")]} if chans else {}
        untrained("slim-unet {encoder} {decoder_channels} (untrained)", "slim-unet",
                  encoder=enc, **extra)  # fmt: skip
    if args.all:
        for arch in ("unet", "fpn", "linknet", "pspnet"):
            untrained(f"smp {arch} ({{encoder}})", arch)
    print(
        f"512x512 tiles, batch {args.batch}, {args.threads} threads, {args.repeats} timed batches"
    )
    cols = ["torch eager", "torch channels_last", "torch channels_last + folded BN", "onnxruntime"]
    print("| model | params | " + " | ".join(cols) + " | onnx max abs diff |")
    print("|---|---|" + "---|" * (len(cols) + 1))
    for name, module, c in models:
        r = measure(module, c, args.batch, args.repeats, args.threads)
        n = sum(p.numel() for p in module.parameters())
        cells = [f"{r[k]:.1f} ({r[k] * 512 * 512 / 1e6:.1f} Mpx/s)" for k in cols]
        print(
            f"| {name} | {n / 1e6:.2f} M | " + " | ".join(cells) + f" | {r['onnx max |dp|']:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

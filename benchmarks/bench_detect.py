"""Detector throughput on this CPU: 1K×1K tiles/s per arch × backbone, torch and onnxruntime.

Run:  /work/coord/cpu .venv/bin/python benchmarks/bench_detect.py --threads 1 [--archs fasterrcnn ...]
            [--backbones mobilenet_v3_large ...] [--model NAME ...] [--repeats 3] [--json OUT]

Times each detector of ``areoscan train detector`` (torchvision Faster / Mask R-CNN, slim FPN 128
and box head 256 as trained here, 5 classes, untrained: speed does not depend on the weights,
except that Mask R-CNN's mask head runs on every detection kept, so the detections per tile are
printed) on 1024 × 1024 float32 tiles at the model's own input size (no resize), one tile per
call, with the network's score threshold at --min-score (0.5, as the scan), as the scan's detect
stage calls it (:class:`areoscan.models.tile_detector.TileDetector`). --model adds trained detectors
(e.g. a shipped ``hirise-pits``), timed at their card's tile and expressed per
1024² by pixel count. onnxruntime: each model is exported with the TorchScript exporter
(``torch.onnx.export``, opset 17, one image per call, torchvision's own ONNX path for detection
models); when the export or the session fails, the reason is printed instead of a figure; when
it works, the parity with torch (detection counts, and the largest distance from an ONNX box to
its nearest torch box on the same tile, px) is printed too. The shipped brain-coral U-Net's figure
is printed beside them (torch and onnx, 512-px tiles, per 1024² by pixel count): the segmenter the
detectors sit beside in a scan.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from areoscan.models.card import ModelCard
from areoscan.models.detectors import BACKBONES, DETECTOR_ARCHS, MOBILENET_LAYERS, DetectorSpec
from areoscan.models.tile_detector import TileDetector

SIDE = 1024


def _time(fn: Any, x: Any, repeats: int) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) per call, after one warm-up call.

    On a shared machine the wall time depends on the neighbours; with one thread the CPU time is
    what a free core would take (it still pays for cache and memory-bandwidth contention).
    """
    fn(x)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn(x)
    return (time.perf_counter() - t0) / repeats, (time.process_time() - c0) / repeats


def _tile(side: int) -> np.ndarray:
    """A terrain-like tile in [0, 1]: smooth relief plus noise (what the network sees in a scan)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:side, :side] / side
    img = (
        0.5 + 0.15 * np.sin(9 * xx + 3 * np.sin(7 * yy)) + 0.05 * rng.standard_normal((side, side))
    )
    return np.clip(img, 0, 1).astype(np.float32)[None, None]


def onnx_detector(module: torch.nn.Module, side: int) -> tuple[bytes | None, str | None]:
    """(ONNX bytes, None) of a torchvision detector taking one (1, side, side) image, or (None, why)."""
    buf = io.BytesIO()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, ([torch.rand(1, side, side)],), buf, opset_version=17,
                              input_names=["image"], dynamo=False)  # fmt: skip
    except Exception as exc:  # torch.onnx raises many kinds
        return None, f"export failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return buf.getvalue(), None


def _onnx(
    module: torch.nn.Module, x: np.ndarray, ref: Any, repeats: int, threads: int
) -> dict[str, Any]:
    """onnxruntime figures of one detector (or why there are none)."""
    import onnxruntime as ort

    t0 = time.perf_counter()
    blob, why = onnx_detector(module, x.shape[-1])
    if blob is None:
        return {"onnx_note": why}
    out: dict[str, Any] = {"onnx_export_s": round(time.perf_counter() - t0, 1)}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        sess = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x[0]}
        got = sess.run(None, feed)
        s, cpu = _time(lambda f: sess.run(None, f), feed, repeats)
    except Exception as exc:  # onnxruntime raises its own classes
        return {**out, "onnx_note": f"onnxruntime failed: {str(exc).splitlines()[0][:160]}"}
    boxes = np.asarray(got[0])
    out["onnx_tiles_per_s"] = 1.0 / s
    out["onnx_tiles_per_cpu_s"] = 1.0 / cpu
    out["onnx_detections"] = int(len(boxes))
    if len(boxes) and len(ref.boxes):  # each ONNX box's distance to its nearest torch box
        gap = np.abs(boxes[:, None, :] - np.asarray(ref.boxes)[None, :, :]).max(axis=2)
        out["onnx_max_box_diff_px"] = round(float(gap.min(axis=1).max()), 4)
    return out


def measure(module: torch.nn.Module, card: ModelCard, repeats: int, threads: int,
            onnx: bool, min_score: float) -> dict[str, Any]:  # fmt: skip
    """tiles/s (per 1024² tile) of one detector in torch and, if asked, onnxruntime.

    min_score: the network's score threshold, as the scan sets it (:class:`TileDetector`).
    """
    torch.set_num_threads(threads)
    side = int(card.tile_size)
    det = TileDetector(module, card, min_score)
    x = _tile(side)
    ref = det.detect(x)[0]
    per_1k = side * side / SIDE**2
    s, cpu = _time(det.detect, x, repeats)
    params = sum(p.numel() for p in module.parameters())
    out: dict[str, Any] = {
        "model": card.name,
        "arch": card.arch,
        "backbone": card.arch_kwargs.get("backbone"),
        "tile": side,
        "params_m": round(params / 1e6, 2),
        "detections": len(ref),
        "min_score": min_score,
        "torch_tiles_per_s": per_1k / s,
        "torch_tiles_per_cpu_s": per_1k / cpu,
    }
    if onnx:
        res = _onnx(module, x, ref, repeats, threads)
        for key in ("onnx_tiles_per_s", "onnx_tiles_per_cpu_s"):
            if key in res:
                res[key] *= per_1k
        out.update(res)
    return out


def untrained(arch: str, backbone: str, side: int = SIDE) -> tuple[torch.nn.Module, ModelCard]:
    """A from-scratch detector as ``train detector`` builds it (5 classes, ``side``-px input)."""
    torch.manual_seed(0)
    kwargs: dict[str, Any] = {"backbone": backbone, "min_size": side, "max_size": side}
    if backbone.startswith("mobilenet"):
        kwargs["mobilenet_layers"] = list(MOBILENET_LAYERS)  # as ``train detector`` writes it
    card = ModelCard(name=f"{arch}-{backbone}", task="detection", arch=arch,
                     classes=[str(k) for k in range(5)], tile_size=side, arch_kwargs=kwargs)  # fmt: skip
    return DetectorSpec.from_card(card).build().eval(), card


def segmenter_figure(name: str, threads: int, repeats: int) -> dict[str, Any]:
    """The shipped segmenter's 1K×1K tiles/s (torch and onnx), for comparison."""
    from areoscan.models.segmenters import load_segmenter

    out: dict[str, Any] = {"model": name}
    for backend in ("torch", "onnx"):
        torch.set_num_threads(threads)
        pred = load_segmenter(name, backend=backend, threads=threads)
        side = int(pred.tile_size)
        x = np.random.default_rng(0).uniform(0.2, 0.8, (2, 1, side, side)).astype(np.float32)
        s, cpu = _time(pred, x, repeats)  # a batch of 2, as the scan's segment stage
        out["tile"] = side
        out[f"{backend}_tiles_per_s"] = 2 / s * side * side / SIDE**2
        out[f"{backend}_tiles_per_cpu_s"] = 2 / cpu * side * side / SIDE**2
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", nargs="*", default=list(DETECTOR_ARCHS), choices=DETECTOR_ARCHS)
    ap.add_argument("--backbones", nargs="*", default=list(BACKBONES), choices=BACKBONES)
    ap.add_argument("--model", action="append", default=[], metavar="NAME",
                    help="also time this trained detector (name, folder or .json)")  # fmt: skip
    ap.add_argument("--segmenter", default="brain-coral-unet", help="segmenter to compare with")
    ap.add_argument("--no-onnx", action="store_true", help="torch only")
    ap.add_argument("--min-score", type=float, default=0.5,
                    help="network score threshold (0.5: the scan's default; an untrained network "
                         "then keeps nothing, 0.05 keeps 100 per tile: Mask R-CNN's worst case)")  # fmt: skip
    ap.add_argument("--side", type=int, default=SIDE,
                    help="untrained detectors' input side (1024; smaller for a quick smoke run, "
                         "figures are still per 1024² by pixel count)")  # fmt: skip
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, metavar="OUT", help="also write the rows as JSON")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    jobs: list[Any] = [(a, b) for a in args.archs for b in args.backbones] + list(args.model)
    for job in jobs:
        if isinstance(job, tuple):
            module, card = untrained(*job, side=args.side)
        else:
            from areoscan.models.registry import load_model

            module, card = load_model(job)
        rows.append(measure(module.eval(), card, args.repeats, args.threads, not args.no_onnx,
                            args.min_score))  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    seg = segmenter_figure(args.segmenter, args.threads, args.repeats) if args.segmenter else None
    print(
        f"\n1K×1K tiles/s, {args.threads} thread(s), one 1024² tile per call (detectors), "
        f"score threshold {args.min_score}"
    )
    print("(wall: tiles per second of wall time; cpu: per second of this process's CPU time)")
    print(f"{'model':40} {'params M':>8} {'dets':>5} {'torch':>8} {'cpu':>8} {'onnx':>8} "
          f"{'cpu':>8}  note")  # fmt: skip
    for r in rows:
        onnx = r.get("onnx_tiles_per_s")
        onnx_cpu = r.get("onnx_tiles_per_cpu_s")
        note = r.get("onnx_note") or (f"onnx dets {r.get('onnx_detections')}, max box gap "
                                      f"{r.get('onnx_max_box_diff_px')} px" if onnx else "")  # fmt: skip
        print(f"{r['model']:40} {r['params_m']:8.2f} {r['detections']:5d} "
              f"{r['torch_tiles_per_s']:8.3f} {r['torch_tiles_per_cpu_s']:8.3f} "
              f"{'' if onnx is None else f'{onnx:8.3f}':>8} "
              f"{'' if onnx_cpu is None else f'{onnx_cpu:8.3f}':>8}  {note}")  # fmt: skip
    if seg:
        print(f"{seg['model'] + ' (segmenter)':40} {'':8} {'':5} {seg['torch_tiles_per_s']:8.3f} "
              f"{seg['torch_tiles_per_cpu_s']:8.3f} {seg['onnx_tiles_per_s']:8.3f} "
              f"{seg['onnx_tiles_per_cpu_s']:8.3f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "detectors": rows,
                                         "segmenter": seg}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()

"""Reliability diagram and expected calibration error of screens, raw vs calibrated, held out.

Use it to check that a screen's probabilities (what ``salience.tif`` shows) mean what they say:
each ``--model`` scores the tiles of ``--data`` from observations it never saw (its card lists the
training and validation ones, as ``areoscan evaluate classifier`` does), and the scores of all the
models are pooled — pass the K fold models of ``benchmarks/cv_classifier.py`` to score every real
tile once, by a model that did not see its observation. For each tile, p(positive) is taken from the
raw softmax and from the card's calibration (``areoscan.models.calibration``, fitted on the
model's validation split); the table gives the ECE of both, per data source and pooled, and
``--png`` draws both reliability diagrams.

Run::

    .venv/bin/python benchmarks/calibration_report.py --model /tmp/cv/fold0/brain-coral-screen.json \
        --model /tmp/cv/fold1/brain-coral-screen.json --data ../shared/data/hirise-landmarks-v3 \
        --data ../shared/data/brain-coral-tiles@brain_coral --data synth:800 --synth-all \
        --png docs/img/screen-reliability.png --json /tmp/calibration.json

``synth:N`` tiles are drawn with seed 12345 (never a training seed); ``--synth-all`` makes them from
every coral family, the regions layout and every hard-negative kind, like the screen's recipe.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _load(specs: list[str], card, synth_all: bool):  # noqa: ANN001, ANN202
    from areoscan.data.samples import SynthMix, concat, load_source
    from areoscan.synth import EXTRA_KINDS
    from areoscan.synth.params import FAMILIES

    mix = SynthMix(tuple(FAMILIES), "regions", tuple(t.slug for t in EXTRA_KINDS))
    scale = card.scale_m_per_px or 1.0
    sets = [
        load_source(
            s,
            card.tile_size,
            card.resize,
            card.level,
            scale,
            12345 + 1000 * i,
            mix if synth_all else SynthMix(),
        )  # fmt: skip
        for i, s in enumerate(specs)
    ]
    return concat(sets)


def score(models: list[str], specs: list[str], synth_all: bool) -> dict[str, np.ndarray]:
    """Pooled held-out raw logits' p(positive), calibrated p(positive), outcome and source."""
    from areoscan.evaluate.classifier import held_out, map_labels
    from areoscan.models.calibration import calibrate_logits
    from areoscan.models.export import make_runner
    from areoscan.models.predictor import softmax

    out: dict[str, list] = {"raw": [], "calibrated": [], "outcome": [], "source": []}
    data = None
    for m in models:
        runner, card = make_runner(m, "torch")
        if card.positive_class is None or card.calibration is None:
            sys.exit(
                f"calibration_report: {m} is not a calibrated screen (positive class + calibration)"
            )
        data = data if data is not None else _load(specs, card, synth_all)
        samples, _ = held_out(data, card)
        pos = card.classes.index(card.positive_class)
        logits = np.concatenate(
            [runner(samples.images[i : i + 128]) for i in range(0, len(samples), 128)]
        )
        out["raw"].append(softmax(logits)[:, pos])
        out["calibrated"].append(softmax(calibrate_logits(logits, card.calibration))[:, pos])
        out["outcome"].append((map_labels(samples, card) == pos).astype(np.float64))
        out["source"].append(np.array(samples.sources))
    return {k: np.concatenate(v) for k, v in out.items()}


def report(s: dict[str, np.ndarray], bins: int) -> dict:
    """ECE raw / calibrated, pooled and per source, and the reliability bins of both."""
    from areoscan.models.calibration import expected_calibration_error, reliability

    doc: dict = {"n": len(s["outcome"]), "bins": bins, "per_source": {}}
    for kind in ("raw", "calibrated"):
        doc[f"ece_{kind}"] = expected_calibration_error(s[kind], s["outcome"], bins)
        doc[f"reliability_{kind}"] = reliability(s[kind], s["outcome"], bins)
    for src in sorted(set(s["source"].tolist())):
        sel = s["source"] == src
        doc["per_source"][src] = {
            "n": int(sel.sum()),
            "positives": int(s["outcome"][sel].sum()),
            **{
                f"ece_{k}": expected_calibration_error(s[k][sel], s["outcome"][sel], bins)
                for k in ("raw", "calibrated")
            },
            **{f"mean_p_{k}": float(s[k][sel].mean()) for k in ("raw", "calibrated")},
        }
    return doc


def draw(doc: dict, png: Path, title: str) -> None:
    """Two reliability diagrams (raw, calibrated): observed frequency per probability bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from areoscan.io.atomic import atomic_output

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    for ax, kind in zip(axes, ("raw", "calibrated"), strict=True):
        r = doc[f"reliability_{kind}"]
        lower, width = np.asarray(r["lower"]), 1.0 / doc["bins"]
        freq, count = np.asarray(r["frequency"]), np.asarray(r["count"])
        ax.bar(lower, np.nan_to_num(freq), width=width, align="edge", edgecolor="k", alpha=0.7,
               label="observed frequency")  # fmt: skip
        ax.plot([0, 1], [0, 1], "r--", label="perfect calibration")
        for x, f, c in zip(lower, freq, count, strict=True):
            if c:
                ax.text(x + width / 2, min(np.nan_to_num(f) + 0.02, 0.95), f"{int(c)}",
                        ha="center", fontsize=7)  # fmt: skip
        ax.set_title(f"{kind}: ECE {doc[f'ece_{kind}']:.3f}")
        ax.set_xlabel("predicted p(brain coral)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("fraction that is brain coral (tiles per bin above bars)")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_output(png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--data", action="append", required=True, metavar="SPEC")
    ap.add_argument("--synth-all", action="store_true", help="synth:N from every family and kind")
    ap.add_argument("--bins", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--png", type=Path, default=None)
    ap.add_argument("--title", default="screen on held-out tiles (pooled over the fold models)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    doc = report(score(args.model, args.data, args.synth_all), args.bins)
    print(f"{doc['n']} held-out tiles: ECE raw {doc['ece_raw']:.4f} -> calibrated "
          f"{doc['ece_calibrated']:.4f} ({args.bins} bins)")  # fmt: skip
    print(f"{'source':24s} {'n':>6s} {'coral':>6s} {'ECE raw':>8s} {'ECE cal':>8s} "
          f"{'mean p raw':>10s} {'mean p cal':>10s}")  # fmt: skip
    for src, r in doc["per_source"].items():
        print(f"{src:24s} {r['n']:6d} {r['positives']:6d} {r['ece_raw']:8.4f} "
              f"{r['ece_calibrated']:8.4f} {r['mean_p_raw']:10.4f} {r['mean_p_calibrated']:10.4f}")  # fmt: skip
    if args.png:
        draw(doc, args.png, args.title)
    if args.json:
        from areoscan.models.card import write_bytes_atomic

        doc["models"] = args.model
        doc["data"] = args.data
        write_bytes_atomic(args.json, (json.dumps(doc, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()

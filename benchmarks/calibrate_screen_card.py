"""Calibrate an already-trained screen: temperature fitted on its own validation split, threshold moved.

Use it for a shipped screen trained before ``--calibrate`` existed (``brain-coral-screen`` of
2026-11-30): it rebuilds the training run's samples from the card (the ``--data`` specs of its
recorded command, its size / level / scale / seed), redoes the split by observation exactly (the
rebuilt training manifest must hash to the card's ``training_manifest_sha256``, else it stops),
fits the temperature on the validation logits (:func:`areoscan.models.calibration.fit_calibration`),
moves the threshold with :func:`~areoscan.models.calibration.move_threshold` (the same tiles pass
it, so every recall / FP figure and every scan mask stay the same) and writes the card, beside a
copy of the unchanged weights, to ``--out``.

Run (needs ../shared/data: the data the card was trained on)::

    cd /work/main && .venv/bin/python benchmarks/calibrate_screen_card.py \
        --model brain-coral-screen --data-root ../shared/data --out /tmp/calibrated
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    import torch

    from areoscan.data.samples import concat, load_source
    from areoscan.data.splits import split_by_group
    from areoscan.models.calibration import fit_calibration, move_threshold
    from areoscan.models.card import sha256_lines
    from areoscan.models.export import TorchRunner
    from areoscan.models.registry import load_model, resolve
    from areoscan.train.classifier_splits import force_test

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="brain-coral-screen")
    ap.add_argument("--data-root", type=Path, required=True, help="what ../shared/data was")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    module, card = load_model(args.model)
    if card.positive_class is None or card.threshold is None:
        sys.exit(f"calibrate_screen_card: {args.model} is not a screen (no positive class)")
    if card.calibration is not None:
        sys.exit(f"calibrate_screen_card: {args.model} is already calibrated")
    argv = shlex.split(card.training["command"])
    specs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--data"]
    specs = [s.replace("../shared/data", str(args.data_root)) for s in specs]
    cfg = card.training["config"]
    classes = card.classes
    scale = cfg["scale_m_per_px"] or 1.0
    sets = [
        load_source(s, cfg["size"], level=cfg["level"], scale=scale, seed=cfg["seed"] + 1000 * i)
        for i, s in enumerate(specs)
    ]
    samples = concat(sets, classes)
    parts = split_by_group(samples, tuple(cfg["fractions"]), seed=cfg["seed"])
    if cfg["test_pattern"]:
        parts = force_test(samples, parts, cfg["test_pattern"])
    train, val = samples.subset(parts[0]), samples.subset(parts[1])
    if sha256_lines(train.manifest_lines()) != card.training_manifest_sha256:
        sys.exit("calibrate_screen_card: the rebuilt training split differs from the card's")
    runner = TorchRunner(module, card, channels_last=False)
    logits = np.concatenate([runner(val.images[i : i + 128]) for i in range(0, len(val), 128)])
    pos = card.classes.index(card.positive_class)
    where = (
        f"validation split of its training run, {len(val)} tiles of {len(set(val.groups))} groups"
    )
    cal = fit_calibration(logits, val.labels, pos, where)
    old = float(card.threshold)
    card.calibration = cal.to_dict()
    card.threshold = move_threshold(old, cal.temperature)
    card.training["calibrated_afterwards"] = {
        "script": "benchmarks/calibrate_screen_card.py",
        "raw_threshold": old,
    }
    _card_path, weights = resolve(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, args.out / f"{card.name}.safetensors")
    card.save(args.out / f"{card.name}.json")
    print(f"validation: {len(val)} tiles, T = {cal.temperature:.4f}, ECE {cal.ece_before:.4f} -> "
          f"{cal.ece_after:.4f}; threshold {old:.6f} -> {card.threshold:.6f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""K-fold cross-validation by observation of a classifier training command.

Use it when a fixed held-out split is too small to say anything about rare classes (the HiRISE
landmarks have 2 impact-ejecta tiles and 3 spider observations in all): every observation is held
out exactly once, and the confusion matrices of the K held-out folds are pooled, so every tile of
every class is counted once, by a model that never saw its observation.

Screens (a ``--positive-class`` model) also get a per-fold table of held-out recall, FP rate and
both with brightness/contrast swapped between the groups; ``--eval-data`` scores the folds on other
specs than the training ones (e.g. the landmark sets with their own classes, for the FP rate per
landmark class). ``--only-fold K`` trains and scores one fold (one CPU slot per fold; run it for
each K, the table comes with the last). Synthetic specs are never held out; a tile without an
observation id (the 12 real brain-coral tiles) is its own group, so folds hold out whole tiles.

Run (training arguments after ``--``, without ``--out``, ``--test-pattern`` or ``--fractions``)::

    .venv/bin/python benchmarks/cv_classifier.py --folds 4 --jobs 2 --out /tmp/cv -- \
        --name hirise-landmarks --data ../shared/data/hirise-landmarks-v3 \
        --data ../shared/data/hirise-landmarks-v1 --init MODEL --norm fixed --keep last --size 128 \
        --epochs 14 --tta 8

Folds are whole observations, stratified by class (``data.splits.assign_groups``, rare classes
first). Fold k trains with ``--test-pattern`` = fold k's observations and ``--fractions
0.85,0.15,0`` (the other observations split into training and validation), ``--threads 1``, up to
``--jobs`` folds at a time; then ``areoscan evaluate classifier`` on the same ``--data`` scores
the held-out fold (tiles of training/validation observations are left out by the model card).
Finished folds are reused, so an interrupted run resumes. Prints the pooled table, the
majority-class baseline and the per-fold spread; ``--json`` writes everything. The keys of the
data must contain the observation id (true for the landmark sets and HiRISE-named tiles).

``--tau-report`` (multi-class models trained with logit adjustment) also scores other ways of
choosing the decision offset ``tau`` (``train.classifier.bias_sweep``): each fold's card keeps its
validation sweep, so a rule that picks tau on validation is applied per fold exactly as training
would have, and its pooled held-out score is honest; fixed-tau rows are shown for reference (picking
one of them by this table would be tuning on the test folds).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _data_specs(train_args: list[str]) -> list[str]:
    specs = [train_args[i + 1] for i, a in enumerate(train_args[:-1]) if a == "--data"]
    specs += [a.split("=", 1)[1] for a in train_args if a.startswith("--data=")]
    if not specs:
        sys.exit("cv_classifier: the training arguments after -- need at least one --data SPEC")
    return specs


def _name(train_args: list[str]) -> str:
    for i, a in enumerate(train_args[:-1]):
        if a == "--name":
            return train_args[i + 1]
    return "classifier"


def fold_groups(specs: list[str], folds: int, seed: int) -> list[list[str]]:
    """Observation ids of each fold, stratified by class (rare classes spread first).

    Synthetic sources are left out (they are never held out: every fold trains on them). A tile
    without an observation id is its own group (e.g. the 12 real brain-coral tiles), so it is held
    out alone."""
    from areoscan.data.samples import concat, load_source
    from areoscan.data.splits import assign_groups

    real = [s for s in specs if not s.startswith("synth")]
    samples = concat([load_source(s, 32, "area", 0, 1.0, 0) for s in real])
    part = assign_groups(samples.groups, samples.labels, [1.0 / folds] * folds, seed)
    groups = np.array(samples.groups)
    return [sorted(set(groups[part == k].tolist())) for k in range(folds)]


def key_pattern(groups: list[str]) -> str:
    """``--test-pattern`` of a fold: each group as it appears in sample keys (an observation id,
    or the file stem of a tile that is its own group, e.g. ``brain-coral-tiles/bc_tile_r0c0``)."""
    return "(" + "|".join(re.escape(g.rsplit("/", 1)[-1]) for g in groups) + ")"


def screen_rows(results: list[dict]) -> tuple[list[list], dict]:
    """Per fold and pooled: held-out recall on positives, FP rate on negatives, and both again
    with brightness/contrast swapped between the groups (screens only)."""
    rows, tot = [], np.zeros(6)
    for k, r in enumerate(results):
        cm = np.asarray(r["confusion"], dtype=np.int64)
        pos = list(r["per_class"]).index(next(c for c in r["per_class"] if "coral" in c.lower()))
        n_pos, n_neg = int(cm[pos].sum()), int(cm.sum() - cm[pos].sum())
        tp, fp = int(cm[pos, pos]), int(cm[:, pos].sum() - cm[pos, pos])
        sw = r.get("swapped_brightness", {})
        sw_tp = round(sw.get("recall", float("nan")) * n_pos)
        sw_fp = round(sw.get("fpr", float("nan")) * n_neg)
        tot += [n_pos, tp, n_neg, fp, sw_tp, sw_fp]
        rows.append([k, n_pos, tp / max(n_pos, 1), n_neg, fp / max(n_neg, 1),
                     sw_tp / max(n_pos, 1), sw_fp / max(n_neg, 1)])  # fmt: skip
    n_pos, tp, n_neg, fp, sw_tp, sw_fp = tot
    pooled_row = {
        "positives": int(n_pos), "recall": tp / max(n_pos, 1), "negatives": int(n_neg),
        "fp_rate": fp / max(n_neg, 1), "swapped_recall": sw_tp / max(n_pos, 1),
        "swapped_fp_rate": sw_fp / max(n_neg, 1),
    }  # fmt: skip
    rows.append(["pooled", *pooled_row.values()])
    return rows, pooled_row


def _run_all(cmds: list[tuple[list[str], Path]], jobs: int) -> None:
    """Run commands, ``jobs`` at a time; each writes its output to its log file."""
    running: list[tuple[subprocess.Popen[bytes], Path]] = []
    queue = list(cmds)
    while queue or running:
        while queue and len(running) < jobs:
            cmd, log = queue.pop(0)
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "wb") as fh:
                running.append((subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT), log))
        time.sleep(2)
        still = []
        for proc, log in running:
            rc = proc.poll()
            if rc is None:
                still.append((proc, log))
            elif rc != 0:
                for other, _ in running:
                    if other.poll() is None:
                        other.terminate()
                sys.exit(f"cv_classifier: a fold failed (exit {rc}); see {log}")
        running = still


def pooled(results: list[dict]) -> dict:
    """Scores of the summed confusion matrices of the folds."""
    from areoscan.data.metrics import scores

    classes = list(results[0]["per_class"])
    cm = sum(np.asarray(r["confusion"], dtype=np.int64) for r in results)
    return scores(cm, classes)


def tau_report(model_paths: list[Path], specs: list[str]) -> dict:
    """Pooled held-out scores of several tau rules (see the module docstring)."""
    from areoscan.data.metrics import confusion_matrix, scores
    from areoscan.data.samples import concat, load_source
    from areoscan.evaluate.classifier import held_out, map_labels
    from areoscan.models.export import TorchRunner
    from areoscan.models.registry import load_model
    from areoscan.train.classifier_decision import SWEEP_GRID, choose_tau

    rules = {
        "trained rule: mean(acc, macro-F1) on validation, tau 0..1": lambda sw: choose_tau(sw),
        "mean(acc, macro-F1) on validation, tau -1..1": lambda sw: choose_tau(sw, lowest=-1),
        "macro-F1 on validation, tau -1..1": lambda sw: choose_tau(sw, "macro_f1", -1),
        "macro-F1 on validation, tau 0..1": lambda sw: choose_tau(sw, "macro_f1"),
    }
    rules.update({f"fixed tau {t:+.2f} (reference only)": (lambda sw, t=t: t) for t in SWEEP_GRID})
    pooled_cm: dict[str, np.ndarray] = {}
    chosen: dict[str, list[float]] = {r: [] for r in rules}
    loaded: dict[tuple, Any] = {}  # the data, read once per tile geometry (the same for every fold)
    for path in model_paths:
        module, card = load_model(path)
        decision = card.training.get("decision", {})
        if "validation_sweep" not in decision:
            sys.exit(f"cv_classifier: {path} has no validation sweep; retrain it at this version")
        shift = np.asarray(decision["shift"], dtype=np.float64)
        module.logit_bias.zero_()
        runner = TorchRunner(module, card, channels_last=False)
        key = (card.tile_size, card.resize, card.level, card.scale_m_per_px or 1.0)
        if key not in loaded:
            loaded[key] = concat([load_source(s, *key) for s in specs])
        samples, _ = held_out(loaded[key], card)
        y = map_labels(samples, card)
        logits = np.concatenate(
            [runner(samples.images[i : i + 128]) for i in range(0, len(samples), 128)]
        )
        for name, rule in rules.items():
            tau = rule(decision["validation_sweep"])
            chosen[name].append(tau)
            cm = confusion_matrix(y, (logits + tau * shift).argmax(axis=1), card.n_classes)
            pooled_cm[name] = pooled_cm.get(name, 0) + cm
    classes = card.classes
    return {
        name: {"tau_per_fold": chosen[name], **scores(pooled_cm[name], classes)} for name in rules
    }


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2, help="folds trained at once (1 thread each)")
    ap.add_argument("--seed", type=int, default=0, help="fold assignment seed")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--tau-report", action="store_true", help="also compare decision-offset rules")
    ap.add_argument(
        "--eval-data",
        action="append",
        default=None,
        metavar="SPEC",
        help="score the held-out folds on these specs (default: the training --data specs); e.g. "
        "the landmark sets with their own classes, for the FP rate per class",
    )
    ap.add_argument(
        "--only-fold",
        type=int,
        default=None,
        help="train and evaluate this fold only (one CPU slot per fold); the table is printed "
        "when every fold is done",
    )
    args = ap.parse_args(argv[:split])
    train_args = argv[split + 1 :]
    for bad in ("--out", "--test-pattern", "--fractions"):
        if bad in train_args:
            sys.exit(f"cv_classifier: do not pass {bad} after --; the script sets it per fold")
    specs, name = _data_specs(train_args), _name(train_args)
    eval_specs = args.eval_data or specs
    folds = fold_groups(specs, args.folds, args.seed)
    py = [sys.executable, "-m", "areoscan"]
    todo = []
    for k, obs in enumerate(folds):
        out = args.out / f"fold{k}"
        if (out / f"{name}.json").exists() or args.only_fold not in (None, k):
            continue
        pattern = key_pattern(obs)
        cmd = [*py, "train", "classifier", *train_args, "--test-pattern", pattern]
        cmd += ["--fractions", "0.85,0.15,0", "--threads", "1", "--quiet", "--out", str(out)]
        todo.append((cmd, args.out / f"fold{k}.log"))
    t0 = time.perf_counter()
    _run_all(todo, args.jobs)
    train_s = time.perf_counter() - t0
    results = []
    for k, obs in enumerate(folds):
        out = args.out / f"fold{k}"
        ev = out / "eval.json"
        if args.only_fold not in (None, k):
            if not ev.exists():
                print(f"fold {k} not done yet: run --only-fold {k}")
                return
        elif not ev.exists():
            cmd = [*py, "evaluate", "classifier", "--model", str(out / f"{name}.json")]
            cmd += ["--threads", "1"]
            cmd += [a for s in eval_specs for a in ("--data", s)] + ["--json", str(ev)]
            # exit 1 = collapsed predictions: still a result (the JSON says so)
            subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
        if not ev.exists():
            sys.exit(
                f"cv_classifier: evaluating fold {k} wrote no {ev}; run the command by hand to see why"
            )
        res = json.loads(ev.read_text())
        card = json.loads((out / f"{name}.json").read_text())
        seen = set(card["training"]["groups"]["train"]) | set(
            card["training"]["groups"]["validation"]
        )
        if seen & set(obs):
            sys.exit(f"cv_classifier: fold {k} trained on its own held-out observations; see {out}")
        results.append(res)
    total = pooled(results)
    from areoscan.evaluate.report import format_confusion, table

    print(
        f"{args.folds}-fold cross-validation by observation ({sum(map(len, folds))} observations; "
        f"training {train_s / 60:.1f} min for the folds run now)"
    )
    rows = [
        [k, len(folds[k]), r["n"], r["accuracy"], r["macro_f1"], r["majority_accuracy"]]
        for k, r in enumerate(results)
    ]
    print(table(["fold", "observations", "tiles", "accuracy", "macro-F1", "majority acc"], rows))
    print(
        f"\npooled: {total['n']} tiles  accuracy {total['accuracy']:.3f}  macro-F1 "
        f"{total['macro_f1']:.3f}  majority baseline ('{total['majority_class']}'): accuracy "
        f"{total['majority_accuracy']:.3f}, macro-F1 {total['majority_macro_f1']:.3f}"
    )
    rows = [
        [c, v["precision"], v["recall"], v["f1"], v["support"]]
        for c, v in total["per_class"].items()
    ]
    print(table(["class", "precision", "recall", "F1", "n"], rows))
    print(format_confusion(np.asarray(total["confusion"]), list(total["per_class"])))
    if total.get("collapsed"):
        print(f"!!! {total['collapsed']}")
    doc = {"folds": folds, "per_fold": results, "pooled": total}
    if results[0].get("is_screen"):
        rows, doc["screen"] = screen_rows(results)
        heads = ["fold", "positives", "recall", "negatives", "FP rate", "swapped recall",
                 "swapped FP rate"]  # fmt: skip
        print("\nscreen on held-out observations (swapped: brightness/contrast of the other group)")
        print(table(heads, rows))
    if args.tau_report:
        doc["tau_rules"] = tau_report(
            [args.out / f"fold{k}" / f"{name}.json" for k in range(args.folds)], specs
        )
        rows = [
            [rule, " ".join(f"{t:+.2f}" for t in r["tau_per_fold"]), r["accuracy"], r["macro_f1"]]
            for rule, r in doc["tau_rules"].items()
        ]
        print("\n" + table(["tau rule (pooled held-out folds)", "tau per fold", "accuracy",
                             "macro-F1"], rows))  # fmt: skip
    if args.json:
        from areoscan.models.card import write_bytes_atomic

        write_bytes_atomic(args.json, (json.dumps(doc, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()

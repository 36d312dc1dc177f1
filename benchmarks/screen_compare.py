"""Several screens side by side on the same held-out real tiles: those no model saw in training.

Use it to decide whether a retrained screen replaces the shipped one: ``areoscan evaluate
classifier`` scores each model on the observations *it* did not see, which differ between two
trainings; this keeps only the tiles whose observation none of the ``--model`` cards lists for
training or validation, and scores every model on exactly those (recall on the positives, FP rate on
the rest and per data class, both again with brightness/contrast swapped between the groups).

Run::

    .venv/bin/python benchmarks/screen_compare.py --model brain-coral-screen --model NEW.json \
        --data ../shared/data/hirise-landmarks-v3 --data ../shared/data/hirise-landmarks-v1 \
        --data ../shared/data/brain-coral-tiles@brain_coral --json /tmp/compare.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    import torch

    from areoscan.data.samples import concat, load_source
    from areoscan.evaluate.classifier import evaluate_classifier, held_out
    from areoscan.models.export import make_runner

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--data", action="append", required=True, metavar="SPEC")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    runners = [make_runner(m, "torch") for m in args.model]
    geometry = {(c.tile_size, c.resize, c.level, c.scale_m_per_px or 1.0) for _, c in runners}
    if len(geometry) != 1:
        raise SystemExit(f"screen_compare: the models read different tiles {sorted(geometry)}")
    data = concat([load_source(s, *next(iter(geometry))) for s in args.data])
    for _, card in runners:
        data, _ = held_out(data, card)
    print(f"{len(data)} tiles of {len(set(data.groups))} observations no model saw")
    doc = {}
    for m, (runner, card) in zip(args.model, runners, strict=True):
        res = evaluate_classifier(runner, card, data)
        sw = res["swapped_brightness"]
        doc[m] = res
        fp_class = ", ".join(
            f"{c} {v['predicted_positive']:.3f}"
            for c, v in res["per_data_class"].items()
            if c != card.positive_class
        )
        print(f"\n{m}: recall {res['binary']['recall']:.3f}  FP rate {res['binary']['fpr']:.4f}  "
              f"swapped: recall {sw['recall']:.3f} FP rate {sw['fpr']:.4f}  "
              f"calibrated: {card.calibration is not None}")  # fmt: skip
        print(f"  FP rate per data class: {fp_class}")
        rk = res["ranking"]
        print(f"  ranking: AUC {rk['auc']:.4f}, FP rate flagging every positive "
              f"{rk['fpr_at_full_recall']:.4f} (threshold {rk['lowest_positive']:.4f})")  # fmt: skip
    if args.json:
        from areoscan.models.card import write_bytes_atomic

        write_bytes_atomic(args.json, (json.dumps(doc, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Issue 22 on real data: the hirise-pits-boxes boxes -> teacher masks (TEACHER=rim by default;
# grabcut, ellipse or sam:CKPT) -> shipped U-Net backbone embeddings -> N-shot curve of light
# decoders, scored on held-out observations. The comparison with the hirise-pits Mask R-CNN on the
# detector's cross-validation folds is benchmarks/pits_compare.py (see docs/distill.md).
# Heavy: run under the CPU lock. Outputs go to $OUT (default ~/.cache/areoscan/bench/pits-distill).
#   flock /work/coord/cpu.lock nice -n 10 bash benchmarks/pits_distill.sh [label|embed|train|all]
set -euo pipefail
DATA=${DATA:-$(dirname "$0")/../../shared/data/hirise-pits-boxes}
OUT=${OUT:-$HOME/.cache/areoscan/bench/pits-distill}
N=${N:-5,10,15,20,25,50}
DRAWS=${DRAWS:-3}
EPOCHS=${EPOCHS:-100}
TEACHER=${TEACHER:-rim}
what=${1:-all}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
run() { python -m areoscan "$@"; }
if [[ $what == label || $what == all ]]; then
  # data.yaml lists train and valid: both splits are labelled, then regrouped by observation.
  /usr/bin/time -f "label: %e s wall, %U s user" \
    python -m areoscan label "$DATA/train/images" --boxes "$DATA" --format yolo \
      --teacher "$TEACHER" --out "$OUT/lab" --threads 1
fi
if [[ $what == embed || $what == all ]]; then
  /usr/bin/time -f "embed: %e s wall, %U s user" \
    python -m areoscan embed "$DATA/train/images" "$DATA/valid/images" --out "$OUT/emb" \
      --input-size "${INPUT:-256}" --threads 2
fi
if [[ $what == train || $what == all ]]; then
  # 900 px crops at 0.25 m/px stretched to 256 px: the card records 0.88 m/px.
  /usr/bin/time -f "train: %e s wall, %U s user" \
    python -m areoscan train decoder --embeddings "$OUT/emb" --masks "$OUT/lab/masks" \
      --merge-classes pit --n "$N" --draws "$DRAWS" --epochs "$EPOCHS" --test-fraction 0.3 \
      --scale 0.25 --name hirise-pits-decoder --out "$OUT/dec" --threads 1
fi

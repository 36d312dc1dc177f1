#!/usr/bin/env bash
# Reproduce the shipped brain-coral-screen (MobileNetV3-small, 128 px at ~1 m/px = level 2 of a
# 0.25 m/px image). Needs ../shared/data (real HiRISE landmark tiles and the 12 real brain-coral
# tiles) and areoscan.synth. About 25 min on 2 busy cores with --threads 1.
# Usage: scripts/train_brain_coral_screen.sh [OUT_DIR] [DATA_DIR]
set -euo pipefail
OUT=${1:-models/brain-coral-screen}
DATA=${2:-../shared/data}
for d in "$DATA/hirise-landmarks-v3" "$DATA/hirise-landmarks-v1" "$DATA/brain-coral-tiles"; do
  [ -d "$d" ] || { echo "missing $d: this script needs the shared real data" >&2; exit 2; }
done
areoscan train classifier --name brain-coral-screen \
  --data synth:2400 \
  --data "$DATA/hirise-landmarks-v3@background" \
  --data "$DATA/hirise-landmarks-v1@background" \
  --data "$DATA/brain-coral-tiles@brain_coral" \
  --test-pattern 'bc_tile_r[01]c[45]' \
  --classes background,brain_coral --positive-class brain_coral --min-recall 0.95 \
  --size 128 --level 2 --scale 1.0 --balance 1.0 --balance-sources \
  --epochs 20 --steps-per-epoch 60 --threads 1 --quiet --out "$OUT"
# Held-out report: real landmark tiles of observations not used in training (FP rate per class)
# and the 4 held-out real coral tiles (recall), with the brightness-swap check.
areoscan evaluate classifier --model "$OUT" --threads 1 \
  --data "$DATA/hirise-landmarks-v3" --data "$DATA/brain-coral-tiles@brain_coral"

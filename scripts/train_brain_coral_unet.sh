#!/usr/bin/env bash
# Reproduce the shipped brain-coral-unet (slim U-Net, MobileNetV3-small encoder, one training phase):
# 64 synthetic scenes of 2048 x 2048 px at 0.25 m/px (seeds 100-163, generated into OUT/scenes by
# areoscan.synth at this commit's version), up to 12 tiles of 256 px per scene at level 0 and at
# level 1 (0.5 m/px), up to 40 real HiRISE landmark tiles per class as all-background targets; split by
# observation. About 12 min on one core (11 min 41 s measured on this 2-core machine, 2026-11-30).
# Needs ../shared/data for the landmark negatives. Seeded: the same command gives the same weights.
# Usage: scripts/train_brain_coral_unet.sh [OUT_DIR] [DATA_DIR]
set -euo pipefail
OUT=${1:-models/brain-coral-unet}
DATA=${2:-../shared/data}
[ -d "$DATA/hirise-landmarks-v3" ] || { echo "missing $DATA/hirise-landmarks-v3: this script needs the shared real data" >&2; exit 2; }
areoscan train segmenter --scenes "$OUT/scenes" --synth 64 --synth-seed 100 --synth-size 2048 2048 \
  --levels 0 1 --tile 256 --max-tiles-per-scene 12 \
  --landmarks "$DATA/hirise-landmarks-v3" --landmark-limit 40 \
  --arch slim-unet --schedule one --loss dice+focal --epochs 10 --lr 2e-3 --seed 0 --threads 1 \
  --max-minutes 45 --name brain-coral-unet --out "$OUT" --quiet

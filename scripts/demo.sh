#!/usr/bin/env bash
# The README's first command. Installs everything (idempotent, via scripts/bootstrap.sh), generates a
# HiRISE-like synthetic scene with an exact brain-coral mask, scans it with the shipped models
# (screen at 1 m/px, segment the flagged areas at 0.25 m/px), scores the scan against the truth and
# prints where the outputs are.
#   AREOSCAN_DEMO_DIR  output folder (default: ./demo-out)
#   AREOSCAN_DEMO_SIZE scene size "H W" (default: "4096 6144", 25 Mpx; a real image is ~1 Gpx)
#   AREOSCAN_SCREEN_MODEL / AREOSCAN_SEGMENT_MODEL  other models than the shipped ones
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
venv="${AREOSCAN_VENV:-$root/.venv}"
areoscan="$venv/bin/areoscan"
out="${AREOSCAN_DEMO_DIR:-$root/demo-out}"
read -r height width <<< "${AREOSCAN_DEMO_SIZE:-4096 6144}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

scene="$out/scene/SYN_DEMO_RED.JP2"
if [ ! -f "$scene" ] || [ ! -f "${scene%.JP2}_mask.tif" ]; then
  echo "demo: generating a ${height} x ${width} px HiRISE-like scene (0.25 m/px) in $out/scene" >&2
  "$areoscan" synth scene "$scene" --size "$height" "$width" --seed 42 --scale 0.25 --coral 0.15 --no-classes
fi

echo "demo: scanning it (areoscan scan)" >&2
models=()
[ -n "${AREOSCAN_SCREEN_MODEL:-}" ] && models+=(--screen-model "$AREOSCAN_SCREEN_MODEL")
[ -n "${AREOSCAN_SEGMENT_MODEL:-}" ] && models+=(--segment-model "$AREOSCAN_SEGMENT_MODEL")
"$areoscan" scan "$scene" --out "$out/scans" "${models[@]}" --json > "$out/summary.json"
read -r status folder < <("$venv/bin/python" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["status"], s["output_dir"])' "$out/summary.json")

if [ -f "$folder/mask.tif" ]; then
  echo "demo: scoring the mask against the scene's exact truth mask (areoscan compare)" >&2
  "$areoscan" compare "$folder/mask.tif" "${scene%.JP2}_mask.tif" --overlay "$folder/compare_overlay.png"
else
  echo "demo: the screen flagged nothing (status: $status), so there is no mask to score" >&2
fi

echo
echo "Outputs in $folder:"
ls -1 "$folder" | sed 's/^/  /'
echo "Open quicklook.png (regions outlined in red, flagged screen tiles in cyan) and"
echo "compare_overlay.png (green hits, red false alarms, blue misses); summary.json has the timings."

#!/usr/bin/env bash
# Speed of `avsync check` against plain decoding: 60 s of 1080p30 H.264 with a talking face.
#
#   bash benches/check_speed.sh [CLIP]
#
# Without CLIP, a clip is made from the generated talking sample (examples/talking_sample.rs),
# scaled to 1080 lines, padded to 1920x1080 and looped to 60 s. Prints the wall time of
# `ffmpeg -threads 0 -an -i clip -f null -` and of `avsync check clip` with each face-model
# backend (AVSYNC_FACE_BACKEND=litert, then tract) in RUNS rounds (default 5), and the median
# over the rounds of each round's ratio to its own decode time (the target: at most 1.5).
# LiteRT is skipped when its library does not load (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --release --locked --quiet --bin avsync --example talking_sample
WORK="${TMPDIR:-/tmp}/avsync-check-speed"
mkdir -p "$WORK"
CLIP="${1:-$WORK/talking_1080p30_60s.mp4}"
if [ ! -f "$CLIP" ]; then
  bash testdata/generate.sh
  target/release/examples/talking_sample "$WORK/sample.mp4" >/dev/null
  ffmpeg -hide_banner -loglevel error -y -stream_loop 3 -i "$WORK/sample.mp4" \
    -vf "scale=1080:1080:flags=bicubic,pad=1920:1080:420:0,fps=30" -t 60 \
    -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -c:a aac -b:a 128k "$CLIP"
fi

RUNS="${RUNS:-5}"
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
decode() { ffmpeg -hide_banner -threads 0 -an -i "$CLIP" -f null -; }

printf 'clip: %s (%s)\n' "$CLIP" "$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height,r_frame_rate -of csv=p=0 "$CLIP")"
printf 'cores: %s\n' "$(nproc)"
backends=()
for backend in litert tract; do
  if ! AVSYNC_FACE_BACKEND=$backend target/release/avsync check --quiet "$CLIP" >/dev/null 2>"$WORK/err.txt" &&
    grep -q "face models" "$WORK/err.txt"; then
    printf 'avsync check (%s): not available: %s\n' "$backend" "$(head -1 "$WORK/err.txt")"
  else
    backends+=("$backend")
  fi
done
# Each round times the decode, then check with each backend, back to back: this shared
# machine's speed drifts by a quarter from minute to minute, so each ratio is taken within its
# round and the median round is reported.
: > "$WORK/times.txt"
for round in $(seq "$RUNS"); do
  line="$round decode $(seconds decode)"
  for backend in "${backends[@]}"; do
    line="$line $backend $(seconds env AVSYNC_FACE_BACKEND="$backend" target/release/avsync check --quiet "$CLIP")"
  done
  echo "$line" >> "$WORK/times.txt"
done
# times_of KEY [ratio]: KEY's time in each round, or with "ratio" its time over the round's decode.
times_of() {
  awk -v key="$1" -v ratio="${2:-}" \
    '{for (i = 2; i < NF; i += 2) if ($i == key) print ratio ? $(i + 1) / $3 : $(i + 1)}' "$WORK/times.txt"
}
printf 'ffmpeg -threads 0 -an -f null: %6.2f s (median of %s)\n' "$(times_of decode | median)" "$RUNS"
for backend in "${backends[@]}"; do
  ratios=$(times_of "$backend" ratio)
  printf 'avsync check (%-6s):          %6.2f s (median), ratio %.2f (median of %s rounds, %.2f-%.2f; target <= 1.5)\n' \
    "$backend" "$(times_of "$backend" | median)" "$(echo "$ratios" | median)" "$RUNS" \
    "$(echo "$ratios" | sort -g | head -1)" "$(echo "$ratios" | sort -g | tail -1)"
done

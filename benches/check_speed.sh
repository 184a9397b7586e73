#!/usr/bin/env bash
# Speed of `avsync check` against plain decoding: 60 s of 1080p30 H.264 with a talking face.
#
#   bash benches/check_speed.sh [CLIP]
#
# Without CLIP, a clip is made from the generated talking sample (examples/talking_sample.rs),
# scaled to 1080 lines, padded to 1920x1080 and looped to 60 s. Prints the wall time of
# `ffmpeg -threads 0 -an -i clip -f null -` and of `avsync check clip` with each face-model
# backend (AVSYNC_FACE_BACKEND=litert, then tract), best of RUNS (default 2) each, and each
# ratio to the decode time of the same run (the target: at most 1.5). LiteRT is skipped when
# its library does not load (scripts/install-deps.sh installs it).
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

RUNS="${RUNS:-2}"
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
best() { local best=999999 t; for _ in $(seq "$RUNS"); do t=$(seconds "$@"); best=$(echo "if ($t < $best) $t else $best" | bc -l); done; echo "$best"; }

printf 'clip: %s (%s)\n' "$CLIP" "$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height,r_frame_rate -of csv=p=0 "$CLIP")"
printf 'cores: %s\n' "$(nproc)"
DECODE=$(best ffmpeg -hide_banner -threads 0 -an -i "$CLIP" -f null -)
printf 'ffmpeg -threads 0 -an -f null: %6.2f s (best of %s)\n' "$DECODE" "$RUNS"
for backend in litert tract; do
  if ! AVSYNC_FACE_BACKEND=$backend target/release/avsync check --quiet "$CLIP" >/dev/null 2>"$WORK/err.txt" &&
    grep -q "face models" "$WORK/err.txt"; then
    printf 'avsync check (%s): not available: %s\n' "$backend" "$(head -1 "$WORK/err.txt")"
    continue
  fi
  CHECK=$(best env AVSYNC_FACE_BACKEND=$backend target/release/avsync check --quiet "$CLIP")
  printf 'avsync check (%-6s):          %6.2f s (best of %s), ratio %.2f (target <= 1.5)\n' \
    "$backend" "$CHECK" "$RUNS" "$(echo "$CHECK / $DECODE" | bc -l)"
done

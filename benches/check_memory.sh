#!/usr/bin/env bash
# Peak memory of `avsync check` against clip length: it should stay flat, because content mode
# keeps features (a few numbers per 10 ms and per video frame), not frames or samples.
#
#   bash benches/check_memory.sh
#
# Makes 20 s, 60 s and 180 s clips of 720p30 H.264 and a 60 s clip of 1080p30 with a talking
# face from the generated talking sample (examples/talking_sample.rs), runs `avsync check` on
# each under /usr/bin/time and prints the peak resident memory (max RSS) and the face-model
# backend (AVSYNC_FACE_BACKEND as set, default auto). With CHECK_MEMORY_HOURS=N it also loops
# the 1080p clip to N hours without re-encoding (`-c copy`, cheap to make; about 1.5 GB for 2 h)
# and measures that: memory must not grow with length. A 2-hour run takes tens of minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
[ -x /usr/bin/time ] || { echo "check_memory.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

cargo build --release --locked --quiet --bin avsync --example talking_sample
WORK="${TMPDIR:-/tmp}/avsync-check-memory"
mkdir -p "$WORK"
if [ ! -f "$WORK/sample.mp4" ]; then
  bash testdata/generate.sh
  target/release/examples/talking_sample "$WORK/sample.mp4" >/dev/null
fi
printf 'cores: %s, backend: %s\n' "$(nproc)" "${AVSYNC_FACE_BACKEND:-auto}"
measure() {
  local label=$1 clip=$2 rss_kb wall_s
  read -r rss_kb wall_s <<<"$(/usr/bin/time -f '%M %e' target/release/avsync check --quiet "$clip" 2>&1 >/dev/null | tail -1)"
  printf '%-16s peak RSS %6.1f MB, %7.1f s\n' "$label:" "$(echo "$rss_kb / 1024" | bc -l)" "$wall_s"
}
for seconds in 20 60 180; do
  clip="$WORK/talking_720p30_${seconds}s.mp4"
  if [ ! -f "$clip" ]; then
    ffmpeg -hide_banner -loglevel error -y -stream_loop -1 -i "$WORK/sample.mp4" \
      -vf "scale=720:720:flags=bicubic,pad=1280:720:280:0,fps=30" -t "$seconds" \
      -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -c:a aac -b:a 128k "$clip"
  fi
  measure "720p ${seconds} s" "$clip"
done
hd="$WORK/talking_1080p30_60s.mp4"
if [ ! -f "$hd" ]; then
  ffmpeg -hide_banner -loglevel error -y -stream_loop -1 -i "$WORK/sample.mp4" \
    -vf "scale=1080:1080:flags=bicubic,pad=1920:1080:420:0,fps=30" -t 60 \
    -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -c:a aac -b:a 128k "$hd"
fi
measure "1080p 60 s" "$hd"
if [ -n "${CHECK_MEMORY_HOURS:-}" ]; then
  long="$WORK/talking_1080p30_${CHECK_MEMORY_HOURS}h.mp4"
  if [ ! -f "$long" ]; then
    ffmpeg -hide_banner -loglevel error -y -stream_loop $((CHECK_MEMORY_HOURS * 60 - 1)) \
      -i "$hd" -c copy "$long"
  fi
  measure "1080p ${CHECK_MEMORY_HOURS} h" "$long"
fi

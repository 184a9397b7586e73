#!/usr/bin/env bash
# Time and peak memory on hours-long media (issue 15's bounds):
#
#   bash benches/long_media.sh [MINUTES]     (default 60)
#
# - compare: a MINUTES-long 48 kHz mono WAV (pink noise under a slow tremolo, not periodic)
#   against the same audio delayed by 40 ms; the bound is under 60 s and under 500 MB;
# - check: a MINUTES-long 1080p30 H.264 file (a 20 s clip looped with stream copy);
# - pattern analyze: a MINUTES-long flash/beep capture (avsync pattern generate).
#
# Media is made once under $TMPDIR/avsync-long-media with ffmpeg (stream copy where it can,
# so making it costs little). Prints wall time, peak RSS (from /usr/bin/time) and the offset
# compare found. Release build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
[ -x /usr/bin/time ] || { echo "long_media.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
MINUTES="${1:-60}"
SECONDS_LONG=$((MINUTES * 60))

cargo build --release --locked --quiet --bin avsync
AVSYNC=target/release/avsync
WORK="${TMPDIR:-/tmp}/avsync-long-media"
mkdir -p "$WORK"
FF=(ffmpeg -hide_banner -loglevel error -y -nostdin)

ref="$WORK/ref_${MINUTES}min.wav"
late="$WORK/late40_${MINUTES}min.wav"
if [ ! -f "$late" ]; then
  "${FF[@]}" -f lavfi -i "anoisesrc=c=pink:r=48000:a=0.3:seed=11:d=$SECONDS_LONG,tremolo=f=0.37:d=0.6" \
    -ac 1 -c:a pcm_s16le "$ref"
  "${FF[@]}" -i "$ref" -af "adelay=40" -t "$SECONDS_LONG" -c:a pcm_s16le "$late"
fi
clip="$WORK/1080p30_20s.mp4"
long_clip="$WORK/1080p30_${MINUTES}min.mp4"
if [ ! -f "$long_clip" ]; then
  "${FF[@]}" -f lavfi -i "testsrc2=s=1920x1080:r=30:d=20" -f lavfi -i "anoisesrc=c=pink:r=48000:a=0.2:d=20" \
    -c:v libx264 -preset veryfast -crf 28 -pix_fmt yuv420p -c:a aac -b:a 96k -shortest "$clip"
  "${FF[@]}" -stream_loop -1 -i "$clip" -t "$SECONDS_LONG" -c copy "$long_clip"
fi
pattern="$WORK/pattern_${MINUTES}min.mp4"
if [ ! -f "$pattern" ]; then
  "$AVSYNC" pattern generate "$pattern" --duration "${MINUTES}min" --size 640x360 >/dev/null
fi

# measure LABEL COMMAND...: wall time and peak RSS of one run.
measure() {
  local label=$1; shift
  local wall_s rss_kb
  /usr/bin/time -f 'TIME %e %M' "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || true
  read -r _ wall_s rss_kb <<<"$(grep '^TIME' "$WORK/err.txt" | tail -1)"
  printf '%-34s %7.1f s  peak RSS %7.1f MB\n' "$label" "$wall_s" "$(echo "$rss_kb / 1024" | bc -l)"
}
printf 'cores: %s, %s min of media\n' "$(nproc)" "$MINUTES"
measure "compare (WAV pair, 40 ms late)" "$AVSYNC" compare "$late" --audio-ref "$ref"
grep -E "audio vs reference|warning" "$WORK/out.txt" | sed 's/^/    /'
measure "check (1080p30 H.264)" "$AVSYNC" check --quiet "$long_clip"
measure "pattern analyze (640x360)" "$AVSYNC" pattern analyze --quiet "$pattern"

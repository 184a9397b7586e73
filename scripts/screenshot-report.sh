#!/usr/bin/env bash
# Renders a check, a compare and a pattern HTML report in headless Chromium and keeps the
# screenshots, so that a person can look at what a user sees (overlapping labels, empty plots,
# a grey thumbnail) before a release. The clips are generated: the talking sample
# (examples/talking_sample.rs) tinted into colour with its audio 80 ms late, swelling noise
# played 120 ms late against its reference, and a flash/beep pattern with its audio 40 ms late.
#
# Usage: scripts/screenshot-report.sh [OUT_DIR]   (default target/screenshots)
# Writes OUT_DIR/{check,compare,pattern}.png, and the reports, clips and JSON beside them.
# Builds debug binaries into CARGO_TARGET_DIR (default target/); needs ffmpeg and chromium.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

OUT=${1:-target/screenshots}
TARGET=${CARGO_TARGET_DIR:-target}
# The window is as wide as a laptop screen and tall enough for the plots and the thumbnail.
WINDOW=1200,2400

BROWSER=$(command -v chromium || command -v chromium-browser || true)
[ -n "$BROWSER" ] || { echo "screenshot-report: chromium is not installed" >&2; exit 2; }

cargo build --locked --bin avsync --example talking_sample
bash testdata/generate.sh > /dev/null
AVSYNC=$TARGET/debug/avsync
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

ffmpeg_quiet() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# check: a colour clip (the sample is grey; the tint shows whether the thumbnail keeps colour).
"$TARGET/debug/examples/talking_sample" "$OUT/talk-grey.mp4" --offset-ms=-80 > /dev/null
ffmpeg_quiet -i "$OUT/talk-grey.mp4" -vf "lutrgb=g=val*0.75:b=val*0.45" -c:v libx264 \
  -c:a copy "$OUT/talk.mp4"
# compare: noise that swells and fades, and an output that plays it 120 ms late.
ffmpeg_quiet -f lavfi -i "anoisesrc=d=8:a=0.3:seed=7,aeval='val(0)*(0.6+0.4*sin(2*PI*1.5*t))'" \
  -ar 48000 "$OUT/reference.wav"
ffmpeg_quiet -f lavfi -i testsrc2=d=8:s=320x240:r=25 -itsoffset 0.12 -i "$OUT/reference.wav" \
  -map 0:v -map 1:a -c:v libx264 -c:a aac -shortest "$OUT/output.mp4"
# pattern: flashes and beeps, the audio 40 ms late.
"$AVSYNC" pattern generate "$OUT/pattern.mp4" --duration 10s --audio-offset -40 > /dev/null

# The measuring commands exit 1 when a clip fails a profile: that is expected here.
run() { "$AVSYNC" "$@" --quiet --profile broadcast --profile cinema || [ $? -le 1 ]; }
run check "$OUT/talk.mp4" --html "$OUT/check.html" --json "$OUT/check.json" --json-plots
run compare "$OUT/output.mp4" --audio-ref "$OUT/reference.wav" --html "$OUT/compare.html" \
  --json "$OUT/compare.json" --json-plots
run pattern analyze "$OUT/pattern.mp4" --html "$OUT/pattern.html" --json "$OUT/pattern.json" \
  --json-plots

for page in check compare pattern; do
  "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=$WINDOW \
    --screenshot="$OUT/$page.png" "file://$OUT/$page.html" 2> /dev/null
done
echo "screenshot-report: wrote $OUT/check.png, $OUT/compare.png and $OUT/pattern.png"

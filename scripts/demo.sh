#!/usr/bin/env bash
# Builds avsync (release) and runs its main job on a bundled sample: `avsync check` (content
# mode) on a generated talking-face clip whose audio is 60 ms late (examples/talking_sample.rs,
# from testdata/face/astronaut.png and espeak-ng speech), graded against broadcast and cinema,
# with JSON, JUnit and HTML reports; then `avsync probe` on a generated clip whose video starts
# 0.85 s after its audio. Writes into reports/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --release --locked --bin avsync --example talking_sample
bash testdata/generate.sh
mkdir -p reports

SAMPLE=reports/talking-sample.mp4
target/release/examples/talking_sample "$SAMPLE" --offset-ms=-60 > /dev/null
# check exits 1 here on purpose: the clip fails cinema. The demo goes on.
set +e
target/release/avsync check "$SAMPLE" --profile broadcast --profile cinema --color never \
  --json reports/sample-check.json --junit reports/sample-check.xml --html reports/sample-check.html \
  | tee reports/sample-check.txt
CHECK_EXIT=${PIPESTATUS[0]}
set -e
echo "demo: avsync check exited $CHECK_EXIT (0 pass, 1 fail, 3 inconclusive, 4 error)"

PROBE_SAMPLE=testdata/generated/video_late_085.mp4
target/release/avsync probe "$PROBE_SAMPLE" --json reports/sample-probe.json
target/release/avsync probe "$PROBE_SAMPLE" | tee reports/sample-probe.txt
echo "demo: wrote reports/sample-check.{txt,json,xml,html} and reports/sample-probe.{json,txt}"
[ "$CHECK_EXIT" -le 1 ]

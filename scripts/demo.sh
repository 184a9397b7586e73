#!/usr/bin/env bash
# Builds avsync (release) and runs it on a bundled sample: a clip that testdata/generate.sh makes
# with a flash and a beep at known times. Writes into reports/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --release --locked
bash testdata/generate.sh
SAMPLE=testdata/generated/video_late_085.mp4
mkdir -p reports
target/release/avsync probe --json "$SAMPLE" > reports/sample-probe.json
target/release/avsync probe "$SAMPLE" | tee reports/sample-probe.txt
echo "demo: wrote reports/sample-probe.json and reports/sample-probe.txt"

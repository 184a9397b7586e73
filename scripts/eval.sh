#!/usr/bin/env bash
# Content mode's accuracy on the shared corpus (examples/eval.rs), checked against the figures
# pinned in testdata/content_eval_pins.json. Takes a release build and about 4 minutes on 2 cores (7 with tract), so it is not part
# of scripts/test.sh; run it after any change to features/, correlate/ or estimate/content.rs.
# Usage: bash scripts/eval.sh [CORPUS_DIR]   (default ../shared/corpus)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
corpus="${1:-../shared/corpus}"
if [ ! -f "$corpus/manifest.tsv" ]; then
  echo "scripts/eval.sh: $corpus/manifest.tsv not found (the corpus is not part of the repository)" >&2
  exit 2
fi
bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
exec cargo run --locked --release --example eval -- "$corpus" --check testdata/content_eval_pins.json

#!/usr/bin/env bash
# Quick start, step 2, and what CI runs: installs what is missing, then checks formatting,
# lints (warnings are errors) and runs every test, then lints and tests the optional `phonetic`
# feature. The test fixtures are generated on first use (testdata/generate.sh); tests on the
# shared corpus skip with a message when ../shared/corpus is absent. Under CI (`CI` set) the HTML report test must find chromium instead of skipping.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if [ -n "${CI:-}" ]; then export AVSYNC_REQUIRE_CHROMIUM=1; fi

step() { echo "== $* ($(date +%T))"; "$@"; }
step cargo fmt --check
step cargo clippy --locked --all-targets -- -D warnings
step cargo test --locked
# The optional phone recognition (feature `phonetic`): lints, its unit tests and its own test.
step cargo clippy --locked --all-targets --features phonetic -- -D warnings
step cargo test --locked --features phonetic --lib features::
step cargo test --locked --features phonetic --test phones

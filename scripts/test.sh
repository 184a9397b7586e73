#!/usr/bin/env bash
# Quick start, step 2, and what CI runs: installs what is missing, then checks formatting,
# lints (warnings are errors) and runs every test (the phone recognition of the default
# `phonetic` feature included), then lints and unit-tests the build without default features,
# then lints the Python package (python/), builds it into .venv and runs its tests (pytest:
# the reports against the CLI that `cargo test` built, and the Ray Data example on a local Ray
# cluster).
# Content mode's corpus figures are pinned by scripts/eval.sh (a release build, then about 4 minutes;
# not run here). The test fixtures are generated on first use (testdata/generate.sh); tests on
# the shared corpus skip with a message when ../shared/corpus is absent. Under CI (`CI` set) the
# HTML report test must find chromium instead of skipping.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if [ -n "${CI:-}" ]; then export AVSYNC_REQUIRE_CHROMIUM=1 AVSYNC_REQUIRE_LITERT=1; fi

# One build each, start to finish: incremental caches would only add gigabytes of disk.
export CARGO_INCREMENTAL=0

step() { echo "== $* ($(date +%T))"; "$@"; }
step cargo fmt --all --check
step cargo clippy --locked --all-targets -- -D warnings
step cargo test --locked
# Without the default phone recognition (feature `phonetic`, PocketSphinx): lints and unit tests.
step cargo clippy --locked --all-targets --no-default-features -- -D warnings
step cargo test --locked --no-default-features --lib
# The Python package: its tests compare it with target/debug/avsync and make talking-face clips
# with target/debug/examples/talking_sample, both built by `cargo test` above.
step cargo clippy --locked -p avsync-python --all-targets -- -D warnings
step env VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --locked --quiet -m python/Cargo.toml
step .venv/bin/python -m pytest -q python/tests

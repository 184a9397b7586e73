#!/usr/bin/env bash
# Quick start, step 1: installs what is missing, builds, and runs the demo into reports/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash install-deps.sh
bash demo.sh

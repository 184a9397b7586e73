#!/usr/bin/env bash
# Dumps every corpus video's landmarks and audio for the study scripts (see README.md here).
# Usage: bash tools/content_study/dump.sh [CORPUS] [OUT]   (defaults: ../shared/corpus, target/content-dump)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
CORPUS=${1:-../shared/corpus}
OUT=${2:-target/content-dump}
mkdir -p "$OUT"
cargo build --release --example content_dump
tail -n +2 "$CORPUS/manifest.tsv" | while IFS=$'\t' read -r id file role _origin ref _rest; do
  case "$role" in audio) continue ;; esac
  [ -f "$OUT/$id.json" ] && continue
  if [ "$role" = silent-video ]; then
    reffile=$(awk -F'\t' -v r="$ref" '$1==r {print $2}' "$CORPUS/manifest.tsv")
    target/release/examples/content_dump "$CORPUS/$file" "$OUT/$id" --audio "$CORPUS/$reffile"
  else
    target/release/examples/content_dump "$CORPUS/$file" "$OUT/$id"
  fi
done

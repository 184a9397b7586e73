#!/usr/bin/env bash
# A batch of 50 corpus clips through `avsync check` in one command, interrupted with Ctrl-C
# (SIGINT) part way and then resumed (issue 12's "done when"):
#
#   bash benches/corpus_batch.sh [INTERRUPT_AFTER_S]     (default 20)
#
# The directory holds the shared corpus's talking-face videos that have their own audio
# (symlinks: nothing is copied out of ../shared/corpus), and, to make 50, copies of them with
# the audio moved by a known amount (stream copy, `-itsoffset`). It runs
#
#   avsync check DIR --jobs 2 --summary summary.csv --summary summary.html --report-dir reports
#
# sends SIGINT after INTERRUPT_AFTER_S seconds, counts the rows the summaries kept, then runs
# the same command with --resume and prints the verdict counts, the wall times and the clips a
# minute. Release build; work files under $TMPDIR/avsync-corpus-batch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
CORPUS=../shared/corpus
[ -f "$CORPUS/manifest.tsv" ] || { echo "corpus_batch.sh: needs $CORPUS (see its README)" >&2; exit 1; }
INTERRUPT_AFTER_S="${1:-20}"
CLIPS=50

cargo build --release --locked --quiet --bin avsync
AVSYNC="$PWD/target/release/avsync"
WORK="${TMPDIR:-/tmp}/avsync-corpus-batch"
rm -rf "$WORK"
mkdir -p "$WORK/clips"

# Videos with their own audio track: every role but silent-video and audio.
mapfile -t videos < <(awk -F'\t' 'NR > 1 && $3 != "audio" && $3 != "silent-video" { print $2 }' "$CORPUS/manifest.tsv")
for file in "${videos[@]}"; do
  ln -s "$(realpath "$CORPUS/$file")" "$WORK/clips/$(basename "$file")"
done
# Shifted copies, audio moved by -120..+80 ms in 40 ms steps, until there are 50 clips.
shifts=(-120 -80 -40 40 80)
i=0
while [ "$(ls "$WORK/clips" | wc -l)" -lt "$CLIPS" ]; do
  file=${videos[$((i % ${#videos[@]}))]}
  shift_ms=${shifts[$((i % ${#shifts[@]}))]}
  name="$(basename "$file" .mp4)_audio${shift_ms}ms.mp4"
  # -itsoffset on the audio input delays it (a positive value makes the audio late).
  ffmpeg -hide_banner -loglevel error -nostdin -y -i "$CORPUS/$file" \
    -itsoffset "$(awk -v ms="$shift_ms" 'BEGIN { printf "%.3f", -ms / 1000 }')" -i "$CORPUS/$file" \
    -map 0:v:0 -map 1:a:0 -c copy "$WORK/clips/$name"
  i=$((i + 1))
done
echo "clips: $(ls "$WORK/clips" | wc -l) ($(nproc) cores)"

batch=("$AVSYNC" check "$WORK/clips" --jobs 2 --quiet --summary "$WORK/summary.csv"
  --summary "$WORK/summary.html" --report-dir "$WORK/reports")
rows() { [ -f "$WORK/summary.csv" ] && echo $(($(wc -l <"$WORK/summary.csv") - 1)) || echo 0; }

start=$(date +%s.%N)
# avsync itself in the background (not a shell function: its subshell would take the signal).
"${batch[@]}" &
pid=$!
sleep "$INTERRUPT_AFTER_S"
kill -INT "$pid" 2>/dev/null || true
wait "$pid" && code=0 || code=$?
first_s=$(echo "$(date +%s.%N) - $start" | bc -l)
html_rows=$(grep -c '^<tr><td>' "$WORK/summary.html" || true)
printf 'interrupted after %.0f s (exit %s): summary.csv kept %s rows, summary.html %s rows (complete page: %s), %s reports saved\n' \
  "$first_s" "$code" "$(rows)" "$html_rows" "$(grep -q '</html>' "$WORK/summary.html" && echo yes || echo no)" \
  "$(find "$WORK/reports" -name '*.json' | wc -l)"

start=$(date +%s.%N)
"${batch[@]}" --resume && code=0 || code=$?
second_s=$(echo "$(date +%s.%N) - $start" | bc -l)
printf 'resumed: %.0f s (exit %s), summary.csv %s rows: %s\n' "$second_s" "$code" "$(rows)" \
  "$(grep -o 'inputs: [^<]*' "$WORK/summary.html")"
printf 'throughput: %.1f clips a minute over both runs\n' "$(echo "$CLIPS * 60 / ($first_s + $second_s)" | bc -l)"
echo "summaries: $WORK/summary.csv $WORK/summary.html"

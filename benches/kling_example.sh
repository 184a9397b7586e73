#!/usr/bin/env bash
# The README's worked example: a Kling-style lip-sync output checked with avsync compare.
#
# Kling's lip-sync API takes a video and an audio file, inserts the audio at
# sound_insert_time (here 1 s), mixes it with the video's original track
# (original_audio_volume 1, sound_volume 1) and returns a new video. This script makes such an
# output with ffmpeg (the picture kept, the sound mixed as Kling would), plus a faulty one whose
# audio landed 120 ms late, and runs avsync compare on both.
#
# Usage: benches/kling_example.sh   (files go to target/kling-example)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/target/kling-example"
mkdir -p "$work"
cd "$work"
ff() { ffmpeg -v error -nostdin -y "$@"; }
(cd "$root" && cargo build --release --quiet)
avsync="$root/target/release/avsync"

# The job's inputs: a source video with its own soundtrack, and the driving audio.
espeak-ng -v en+f3 -s 165 -w original.wav "This is the original soundtrack of the source \
video. It keeps talking about something else for the whole length of the clip, so that the new \
speech has to be found underneath it."
espeak-ng -v en -s 150 -w driving.wav "Hello, this is the new speech that the lip sync \
service puts into the video, one second after it starts."
ff -f lavfi -i "testsrc2=size=640x360:rate=25:duration=10" -i original.wav \
  -filter_complex "[1:a]apad[a]" -map 0:v -map "[a]" -t 10 -c:v libx264 -c:a aac source.mp4

# Kling-style output: picture re-encoded, driving audio inserted at 1 s and mixed 1:1 with
# the original track. And a faulty one with the audio at 1.12 s.
for name_delay in "kling-output:1000" "kling-output-late:1120"; do
  name="${name_delay%%:*}"
  delay="${name_delay##*:}"
  ff -i source.mp4 -i driving.wav -filter_complex \
    "[0:a]volume=1[o];[1:a]volume=1,adelay=$delay:all=1[r];[o][r]amix=inputs=2:duration=first:normalize=0[a]" \
    -map 0:v -map "[a]" -c:v libx264 -crf 20 -c:a aac -b:a 128k "$name.mp4"
done

run() { echo "\$ avsync $*"; "$avsync" "$@" || echo "(exit code $?)"; echo; }
run compare kling-output.mp4 --audio-ref driving.wav --video-ref source.mp4 --ref-insert-time 1s
run compare kling-output-late.mp4 --audio-ref driving.wav --video-ref source.mp4 --ref-insert-time 1s
run compare kling-output.mp4 --audio-ref driving.wav
"$avsync" compare kling-output.mp4 --audio-ref driving.wav --video-ref source.mp4 \
  --ref-insert-time 1s --json kling-output.json -q
echo "\$ avsync compare kling-output.mp4 --audio-ref driving.wav --video-ref source.mp4 --ref-insert-time 1s --json kling-output.json"
python3 -c "
import json
r = json.load(open('kling-output.json'))
d = r['reference']
keys = ['audio_offset_ms', 'audio_offset_uncertainty_ms', 'ref_start_s', 'output_start_s',
        'duration_s', 'gain_db', 'video_offset_ms', 'video_matched_frames']
print(json.dumps({'offset_ms': r['offset_ms'], 'verdict': r['verdict'],
                  'reference': {k: d[k] for k in keys}}, indent=2))
"

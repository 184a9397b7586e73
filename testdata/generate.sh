#!/usr/bin/env bash
# Generates the test fixtures: small clips with known timing, made with FFmpeg's lavfi sources.
#
#   testdata/generate.sh [OUT_DIR]      (default: testdata/generated)
#
# Every A/V clip is black video with ONE white frame (the flash) and silent audio with ONE beep:
# a Hann-windowed chirp (BEEP_F0_HZ to BEEP_F1_HZ over BEEP_LEN_S), so that a matched filter finds
# its onset to the sample even after lossy coding. Standalone audio files carry one click (a
# single full-scale sample). OUT_DIR/fixtures.tsv lists every file with its ground truth:
#
#   file  kind  flash_s  beep_s  click_s  note
#
# Times are presentation times in the file (stream start offsets included); "-" where absent.
# speech.wav (kind "speech", no times) is about 25 s of English speech by espeak-ng for the
# talking-face sample (examples/talking_sample.rs); without espeak-ng it is skipped with a
# warning. The output is deterministic (bitexact flags, one encoder thread) and is regenerated
# only when this script or the FFmpeg or espeak-ng version changes. Tests run it on demand; it
# takes a few seconds.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/generated}"
DUR_S=3

# The beep: keep in step with tests/common/mod.rs.
BEEP_F0_HZ=500
BEEP_F1_HZ=3500
BEEP_LEN_S=0.02

command -v ffmpeg >/dev/null || { echo "generate.sh: ffmpeg is not installed" >&2; exit 1; }
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
ESPEAK_VERSION="$(espeak-ng --version 2>/dev/null | head -1 || true)"
STAMP="$(cat "$0" | sha256sum | cut -c1-16) $(ffmpeg -version | head -1) ${ESPEAK_VERSION:-no espeak-ng}"
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ]; then
  exit 0
fi
rm -f "$OUT"/*.* "$OUT/.stamp"
cd "$OUT"

FF=(ffmpeg -hide_banner -loglevel error -y -nostdin)
BITEXACT=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1)
MANIFEST=fixtures.tsv
printf 'file\tkind\tflash_s\tbeep_s\tclick_s\tnote\n' > "$MANIFEST"

calc() { awk "BEGIN { printf \"%.9f\", $1 }"; }

# beep_expr BEEP_S: aevalsrc expression of the beep starting at BEEP_S seconds.
beep_expr() {
  local b=$1 l=$BEEP_LEN_S f0=$BEEP_F0_HZ f1=$BEEP_F1_HZ
  echo "if(between(t,$b,$b+$l),0.5*(1-cos(2*PI*(t-$b)/$l))*sin(2*PI*($f0*(t-$b)+($f1-$f0)/(2*$l)*(t-$b)*(t-$b))),0)"
}

# av NAME RATE FLASH_FRAME BEEP_S AUDIO_RATE LAYOUT VIDEO_ARGS AUDIO_ARGS NOTE
# Black 160x120 video at RATE with a white frame at FLASH_FRAME, and a beep at BEEP_S on every
# channel of LAYOUT (only on FC for 5.1, so that channel selection can be tested).
av() {
  local name=$1 rate=$2 frame=$3 beep=$4 arate=$5 layout=$6 vargs=$7 aargs=$8 note=$9
  local expr channels
  expr=$(beep_expr "$beep")
  case $layout in
    mono) channels="$expr" ;;
    stereo) channels="$expr|$expr" ;;
    5.1) channels="0|0|$expr|0|0|0" ;;
  esac
  # shellcheck disable=SC2086
  "${FF[@]}" \
    -f lavfi -i "color=c=black:s=160x120:r=$rate:d=$DUR_S,format=yuv420p,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n,$frame)'" \
    -f lavfi -i "aevalsrc='$channels':s=$arate:c=$layout:d=$DUR_S" \
    $vargs $aargs -threads 1 "${BITEXACT[@]}" "$name"
  printf '%s\tav\t%s\t%s\t-\t%s\n' "$name" "$(calc "$frame/($rate)")" "$(calc "$beep")" "$note" >> "$MANIFEST"
}

H264="-c:v libx264 -preset veryfast -crf 30 -pix_fmt yuv420p"
AAC="-c:a aac -b:a 96k"

av h264_aac_25.mp4 25 25 1.0 48000 stereo "$H264" "$AAC" "H.264 25 fps, AAC 48 kHz stereo, in sync"
av h264_aac_23976.mp4 24000/1001 24 0.961 44100 mono "$H264" "$AAC" "H.264 23.976 fps, AAC 44.1 kHz mono, audio 40 ms early"
av hevc_mp3_2997.mp4 30000/1001 30 1.101 44100 stereo "-c:v libx265 -preset ultrafast -x265-params log-level=error:pools=1:frame-threads=1 -tag:v hvc1" "-c:a libmp3lame -b:a 96k" "HEVC 29.97 fps, MP3 44.1 kHz, audio 100 ms late"
av vp9_opus_30.webm 30 30 1.0 48000 stereo "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 200k" "-c:a libopus -b:a 64k" "VP9 30 fps, Opus 48 kHz"
av mpeg4_pcm16k_50.mov 50 50 1.0 16000 mono "-c:v mpeg4 -q:v 5" "-c:a pcm_s16le" "MPEG-4 Part 2 50 fps, PCM 16 kHz mono"
av h264_pcm8k_5994.mkv 60000/1001 60 1.0 8000 mono "$H264" "-c:a pcm_s16le" "H.264 59.94 fps, PCM 8 kHz"
av h264_aac51_30.mp4 30 30 1.0 48000 5.1 "$H264" "$AAC" "H.264 30 fps, AAC 5.1 with the beep on FC only"

# Video starting 0.85 s after the audio (-itsoffset on the video, stream copy: MP4 edit list).
"${FF[@]}" -itsoffset 0.85 -i h264_aac_25.mp4 -i h264_aac_25.mp4 -map 0:v -map 1:a -c copy \
  "${BITEXACT[@]}" video_late_085.mp4
printf '%s\tav\t%s\t%s\t-\t%s\n' video_late_085.mp4 1.85 1.0 "video starts 0.85 s after the audio" >> "$MANIFEST"

# Audio starting 0.5 s after the video (Matroska: plain timestamps, no edit list).
"${FF[@]}" -i h264_aac_25.mp4 -itsoffset 0.5 -i h264_aac_25.mp4 -map 0:v -map 1:a -c copy \
  "${BITEXACT[@]}" audio_late_050.mkv
printf '%s\tav\t%s\t%s\t-\t%s\n' audio_late_050.mkv 1.0 1.5 "audio starts 0.5 s after the video" >> "$MANIFEST"

# Variable frame rate: 25 fps for the first second, then 50 fps; the flash is frame 40 (1.3 s).
"${FF[@]}" \
  -f lavfi -i "color=c=black:s=160x120:r=50:d=2.5,format=yuv420p,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n,40)',setpts='if(lt(N,25),N/25,1+(N-25)/50)/TB'" \
  -f lavfi -i "aevalsrc='$(beep_expr 1.3)':s=48000:c=mono:d=2.5" \
  -fps_mode vfr $H264 $AAC -threads 1 "${BITEXACT[@]}" vfr_h264.mp4
printf '%s\tav\t%s\t%s\t-\t%s\n' vfr_h264.mp4 1.3 1.3 "variable frame rate: 25 then 50 fps" >> "$MANIFEST"

# Standalone audio files with a click at CLICK_S, one per format symphonia reads, and Opus,
# which goes through FFmpeg.
# click NAME RATE LAYOUT ENCODER_ARGS NOTE [PRESENTED_LATE_SAMPLES]
# The click is on every channel (only on FC for 5.1). PRESENTED_LATE_SAMPLES: priming samples
# that the format has no way to declare, so that players present them (raw ADTS AAC).
CLICK_S=1
click() {
  local name=$1 rate=$2 layout=$3 args=$4 note=$5 late=${6:-0} expr
  expr="if(eq(n,$CLICK_S*$rate),1,0)"
  case $layout in
    stereo) expr="$expr|$expr" ;;
    5.1) expr="0|0|$expr|0|0|0" ;;
  esac
  # shellcheck disable=SC2086
  "${FF[@]}" -f lavfi -i "aevalsrc='$expr':s=$rate:c=$layout:d=$DUR_S" $args "${BITEXACT[@]}" "$name"
  printf '%s\taudio\t-\t-\t%s\t%s\n' "$name" "$(calc "$CLICK_S+$late/$rate")" "$note" >> "$MANIFEST"
}
click click_s16.wav 48000 stereo "-c:a pcm_s16le" "WAV 16-bit integer"
click click_f32.wav 44100 mono "-c:a pcm_f32le" "WAV 32-bit float"
click click.mp3 44100 stereo "-c:a libmp3lame -b:a 128k" "MP3 (LAME encoder delay and padding)"
click click.flac 48000 stereo "-c:a flac" "FLAC"
click click.ogg 48000 stereo "-c:a libvorbis -q:a 4" "Ogg Vorbis"
click click.m4a 48000 stereo "-c:a aac -b:a 128k" "AAC in M4A (edit list skips 1024 priming samples)"
click click_16k.m4a 16000 mono "-c:a aac -b:a 48k" "AAC in M4A at 16 kHz"
click click.aac 48000 stereo "-c:a aac -b:a 128k" "raw AAC (ADTS): its 1024 priming samples are presented" 1024
click click51.wav 48000 5.1 "-c:a pcm_s16le" "WAV 5.1 with the click on FC only"
click click.opus 48000 stereo "-c:a libopus -b:a 96k" "Opus (FFmpeg fallback)"

# Speech: Aesop's "The North Wind and the Sun" (the public-domain English text of the IPA's
# 1912 Principles), first three sentences, at 165 words a minute, then 16 kHz mono 16-bit with
# 1 s of silence before the speech and 0.5 s after it.
SPEECH_TEXT="The North Wind and the Sun were disputing which was the stronger, when a traveler \
came along wrapped in a warm cloak. They agreed that the one who first succeeded in making the \
traveler take his cloak off should be considered stronger than the other. Then the North Wind \
blew as hard as he could, but the more he blew the more closely did the traveler fold his cloak \
around him; and at last the North Wind gave up the attempt."
if [ -n "$ESPEAK_VERSION" ]; then
  espeak-ng -v en-us -s 165 --stdout "$SPEECH_TEXT" \
    | "${FF[@]}" -f wav -i - -af "aresample=16000,adelay=1000:all=1,apad=pad_dur=0.5" \
      -ac 1 -ar 16000 -c:a pcm_s16le "${BITEXACT[@]}" speech.wav
  printf '%s\tspeech\t-\t-\t-\t%s\n' speech.wav "espeak-ng English speech (25 s), 16 kHz mono 16-bit, 1 s of silence first" >> "$MANIFEST"
else
  echo "generate.sh: warning: espeak-ng is not installed; speech.wav is not made" >&2
fi

echo "$STAMP" > .stamp

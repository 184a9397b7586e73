#!/usr/bin/env bash
# avsync compare against syncstart (PyPI) on the same pairs: time and error of both.
#
# Pairs with known truth:
#  - generated: espeak-ng speech shifted by whole and fractional samples and by seconds, and a
#    Kling-style output (reference inserted at 1 s, mixed under the original track), all muxed
#    into MP4 with AAC audio;
#  - corpus (../shared/corpus, skipped if absent): each generated clip against its driving
#    audio, as is and with its audio shifted by a known amount (relative error: the estimate on
#    the shifted copy minus the estimate on the original, against the shift).
#
# syncstart is installed into target/bench-venv; avsync is built in release. Times are per
# pair, including decoding and process start: wall clock, and CPU (user + system, children
# included), which depends less on whatever else the machine is doing.
#
# Usage: benches/compare_vs_syncstart.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/bench-venv"
work="$root/target/bench-compare"
corpus="$root/../shared/corpus"
syncstart_version="1.1.1"

if [ ! -x "$venv/bin/syncstart" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "syncstart==$syncstart_version"
fi
(cd "$root" && cargo build --release --quiet)
mkdir -p "$work"

ff() { ffmpeg -v error -nostdin -y "$@"; }

# Generated pairs: name|truth_ms|output|reference
pairs="$work/pairs.txt"
: > "$pairs"
ref="$work/speech.wav"
ref16="$work/speech16.wav"
orig="$work/original.wav"
if [ ! -f "$ref16" ]; then
  espeak-ng -v en -s 150 -w "$work/speech22.wav" "Reference comparison finds where the audio \
that went into a pipeline sits in what came out. The quick brown fox jumps over the lazy dog, \
and the five boxing wizards jump quickly. Pack my box with five dozen liquor jugs."
  ff -i "$work/speech22.wav" -ar 48000 -ac 1 "$ref"
  espeak-ng -v en+f3 -s 170 -w "$work/original22.wav" "This is the original soundtrack of the \
source video. It talks about something else entirely, at another pitch, for long enough to \
cover the clip from its first frame to its last, and then a little more."
  ff -i "$work/original22.wav" -ar 48000 -ac 1 "$orig"
  ff -i "$work/speech22.wav" -ar 16000 -ac 1 "$ref16"
fi
gen() { # name truth_ms filter_complex(with [1:a] = reference, [2:a] = original, out [a]) [reference]
  local out="$work/$1.mp4" reference="${4:-$ref}"
  [ -f "$out" ] || ff -f lavfi -i "testsrc2=size=160x90:rate=25:duration=12" -i "$reference" -i "$orig" \
    -filter_complex "$3" -map 0:v -map "[a]" -t 12 -c:v libx264 -preset ultrafast \
    -c:a aac -b:a 128k "$out"
  echo "$1|$2|$out|$reference" >> "$pairs"
}
gen early-40ms 40 "[1:a]atrim=start_sample=1920,asetpts=PTS-STARTPTS[a]"
gen late-1500ms -1500 "[1:a]adelay=delays=72000S:all=1[a]"
gen late-7-samples-48k -0.145833 "[1:a]adelay=delays=7S:all=1[a]"
gen late-7-samples-to-16k -0.145833 "[1:a]adelay=delays=7S:all=1,aresample=16000[a]"
gen early-5-samples-to-44k1 0.104167 "[1:a]atrim=start_sample=5,asetpts=PTS-STARTPTS,aresample=44100[a]"
# Shifts by a fraction of a sample at 16 kHz (made at 160 kHz): no rate holds them whole.
gen late-0.5-samples-16k -0.03125 "[1:a]aresample=160000,adelay=delays=5S:all=1,aresample=16000[a]" "$ref16"
gen early-0.3-samples-16k 0.01875 "[1:a]aresample=160000,atrim=start_sample=3,asetpts=PTS-STARTPTS,aresample=16000[a]" "$ref16"
gen late-40.7-samples-16k -2.54375 "[1:a]aresample=160000,adelay=delays=407S:all=1,aresample=16000[a]" "$ref16"
gen kling-insert-1s-mixed -1000 "[2:a]volume=1.0,apad[o];[1:a]adelay=1000:all=1[r];[o][r]amix=inputs=2:duration=first:normalize=0[a]"
gen kling-insert-1s-mixed-loud -1000 "[2:a]volume=2.0,apad[o];[1:a]adelay=1000:all=1[r];[o][r]amix=inputs=2:duration=first:normalize=0[a]"

# Corpus pairs: as is (truth unknown, reported only) and shifted by 1234 samples of the
# track's rate, re-encoded (truth: the original's estimate minus the shift).
if [ -f "$corpus/manifest.tsv" ]; then
  # id, file and reference columns (awk keeps empty fields, which read would merge).
  while read -r id file reference; do
    case "$id" in geneface-zozo|synctalk-demo|vasa-3|vasa-10|emo-*|wav2lip-mona-out) ;; *) continue ;; esac
    audio="$corpus/$(awk -F'\t' -v id="$reference" '$1==id{print $2}' "$corpus/manifest.tsv")"
    echo "corpus:$id|orig|$corpus/$file|$audio" >> "$pairs"
    shifted="$work/$id-late1234.mp4"
    [ -f "$shifted" ] || ff -i "$corpus/$file" -af "adelay=delays=1234S:all=1" -c:v copy -c:a aac "$shifted"
    echo "corpus:$id+1234samples|rel:-1234|$shifted|$audio" >> "$pairs"
  done < <(awk -F'\t' 'NR > 1 && $5 != "" {print $1, $2, $5}' "$corpus/manifest.tsv")
else
  echo "note: $corpus is absent; corpus pairs skipped" >&2
fi

AVSYNC="$root/target/release/avsync" SYNCSTART="$venv/bin/syncstart" python3 - "$pairs" <<'EOF'
import json, os, resource, statistics, subprocess, sys, time

def timed(args):
    """Runs args; returns the process, wall seconds and CPU seconds (children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p, (wall, cpu)

def avsync(out, ref):
    p, elapsed = timed([os.environ["AVSYNC"], "compare", out, "--audio-ref", ref, "--json", "-"])
    if p.returncode not in (0, 1, 3):
        return None, elapsed
    return json.loads(p.stdout)["reference"]["audio_offset_ms"], elapsed

def syncstart(out, ref):
    p, elapsed = timed([os.environ["SYNCSTART"], "-s", "-q", out, ref])
    try:
        name, seconds = p.stdout.strip().splitlines()[-1].rsplit(",", 1)
    except (ValueError, IndexError):
        return None, elapsed
    # "name needs an -ss cut of seconds": the output to be advanced means its audio is late.
    seconds = float(seconds)
    return (-seconds if os.path.samefile(name, out) else seconds) * 1e3, elapsed

def rate_of(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                        "stream=sample_rate", "-of", "csv=p=0", path], capture_output=True, text=True)
    return float(p.stdout.strip())

rows, originals = [], {}
for line in open(sys.argv[1]):
    name, truth, out, ref = line.strip().split("|")
    a, ta = avsync(out, ref)
    s, ts = syncstart(out, ref)
    if truth == "orig":
        originals[name] = (a, s)
        rows.append((name, None, a, None, ta, s, None, ts))
        continue
    if truth.startswith("rel:"):
        base = originals[name.split("+")[0]]
        shift_ms = float(truth[4:]) / rate_of(out) * 1e3
        truth_a = None if base[0] is None else base[0] + shift_ms
        truth_s = None if base[1] is None else base[1] + shift_ms
    else:
        truth_a = truth_s = float(truth)
    err = lambda est, tr: None if est is None or tr is None else est - tr
    rows.append((name, truth_a, a, err(a, truth_a), ta, s, err(s, truth_s), ts))

fmt = lambda v, spec: "-" if v is None else format(v, spec)
print(f"{'pair':34} {'truth ms':>10} | {'avsync ms':>10} {'error':>8} {'wall/cpu s':>10} | {'syncstart':>10} {'error':>8} {'wall/cpu s':>10}")
for name, truth, a, ea, ta, s, es, ts in rows:
    print(f"{name:34} {fmt(truth, '10.4f')} | {fmt(a, '10.4f')} {fmt(ea, '8.4f')} {ta[0]:5.2f}/{ta[1]:4.2f} | {fmt(s, '10.4f')} {fmt(es, '8.4f')} {ts[0]:5.2f}/{ts[1]:4.2f}")
scored = [r for r in rows if r[3] is not None or r[6] is not None]
def summary(errors):
    errors = [abs(e) for e in errors if e is not None]
    return (statistics.median(errors), max(errors)) if errors else (float("nan"), float("nan"))
ma, xa = summary([r[3] for r in scored])
ms, xs = summary([r[6] for r in scored])
missed_a = sum(1 for r in scored if r[2] is None)
missed_s = sum(1 for r in scored if r[5] is None)
wall_a, cpu_a = sum(r[4][0] for r in rows), sum(r[4][1] for r in rows)
wall_s, cpu_s = sum(r[7][0] for r in rows), sum(r[7][1] for r in rows)
print()
print(f"pairs with known truth: {len(scored)}")
print(f"avsync:    median |error| {ma:.4f} ms, max {xa:.4f} ms, not found {missed_a}, wall {wall_a:.2f} s, cpu {cpu_a:.2f} s")
print(f"syncstart: median |error| {ms:.4f} ms, max {xs:.4f} ms, not found {missed_s}, wall {wall_s:.2f} s, cpu {cpu_s:.2f} s")
print(f"speed over {len(rows)} pairs: avsync {wall_s / wall_a:.1f}x faster in wall time, {cpu_s / cpu_a:.1f}x in CPU time")
EOF

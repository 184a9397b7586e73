#!/usr/bin/env python3
"""Accuracy and speed of `avsync pattern` on the README's conditions, and optionally of
av-drift-detector (PyPI) on the equivalent conditions with its own pattern.

    cargo build --release
    scripts/bench_pattern.py                 # avsync only
    scripts/bench_pattern.py --av-drift      # also av-drift-detector, installed into .venv/

Every clip is made on the spot in a temporary folder (10 s, 640x360, 29.97 fps unless the
condition says otherwise); errors are measured offset minus the offset put in, in ms, with
avsync's sign (positive = audio early). Times are wall-clock seconds of one analysis.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
OFFSET_MS = 12.345  # audio early
SIZE = (640, 360)
FPS = "30000/1001"
DURATION_S = 10

# The beep is 0.5 peak; -30 dB leaves an RMS of 0.0112; uniform noise of amplitude a has an
# RMS of a/sqrt(3), so 0.00194 is 20 dB below the beep. av-drift's tones are quieter and
# denser, so its noise is set from its own RMS below.
DEGRADE = ("[0:v]scale=426:240[v];[0:a]volume=-30dB[q];"
           "anoisesrc=color=white:amplitude={noise}:sample_rate=48000:seed=7[n];"
           "[q][n]amix=inputs=2:normalize=0:duration=first[a]")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def reencode(src, dst):
    ffmpeg("-i", src, "-c:v", "libx264", "-c:a", "aac", dst)


def degrade(src, dst, noise):
    ffmpeg("-i", src, "-filter_complex", DEGRADE.format(noise=noise), "-map", "[v]",
           "-map", "[a]", "-c:v", "libx264", "-c:a", "aac", "-b:a", "64k", dst)


def rms_of_audio(path):
    """RMS of the loud parts (above a tenth of the peak) of a file's audio, via ffmpeg."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "f32le", "-ac", "1", "-"],
                         check=True, capture_output=True).stdout
    import array
    samples = array.array("f", raw)
    peak = max(abs(s) for s in samples)
    loud = [s * s for s in samples if abs(s) > peak / 10]
    return (sum(loud) / len(loud)) ** 0.5


class Avsync:
    name = "avsync"

    def __init__(self, binary):
        self.binary = binary

    def generate(self, path, lossless=True, offset_ms=OFFSET_MS, drift_ppm=0.0, fps=FPS):
        codecs = ["--video-codec", "ffv1", "--audio-codec", "pcm"] if lossless else []
        subprocess.run([self.binary, "pattern", "generate", path, "--fps", fps,
                        "--duration", f"{DURATION_S}s", "--size", f"{SIZE[0]}x{SIZE[1]}",
                        "--audio-offset", str(offset_ms), "--drift-ppm", str(drift_ppm),
                        *codecs], check=True, capture_output=True)

    def analyze(self, path):
        start = time.perf_counter()
        out = subprocess.run([self.binary, "pattern", "analyze", path, "--json", "-"],
                             capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        report = json.loads(out.stdout)
        return report["offset_ms"], (report.get("drift") or {}).get("ppm"), elapsed


class AvDrift:
    """av-drift-detector through its Python package, in .venv/ (positive = audio late)."""
    name = "av-drift-detector"

    def __init__(self):
        python = VENV / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "av-drift-detector"], check=True)
        self.python = str(python)

    def run(self, code):
        out = subprocess.run([self.python, "-c", "import av_drift_detector as avd, json, time\n" + code],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def generate(self, path, lossless=True, offset_ms=OFFSET_MS, fps=FPS):
        codecs = "video_codec='ffv1', audio_codec='pcm'" if lossless else "video_codec='h264', audio_codec='aac'"
        self.run(f"avd.generate({str(path)!r}, fps={fps!r}, duration={DURATION_S}, width={SIZE[0]}, "
                 f"height={SIZE[1]}, {codecs}, audio_offset={-offset_ms / 1000.0!r})\nprint('{{}}')")

    def analyze(self, path):
        result = self.run(f"t = time.perf_counter()\nr = avd.analyze({str(path)!r})\n"
                          "print(json.dumps([r['summary']['mean_ms'], r['summary']['skew_ppm'], "
                          "time.perf_counter() - t]))")
        late_ms, skew_ppm, elapsed = result
        # av-drift's skew grows with the audio getting later; avsync's drift with it earlier.
        return -late_ms, None if skew_ppm is None else -skew_ppm, elapsed


def conditions(tool, work):
    """(condition, measured offset, truth, drift, analysis time) rows for one tool."""
    rows = []
    lossless = str(work / f"{tool.name}-lossless.mov")
    tool.generate(lossless)
    rows.append(("lossless FFV1 + PCM", *tool.analyze(lossless)))
    direct = str(work / f"{tool.name}-direct.mp4")
    tool.generate(direct, lossless=False)
    rows.append(("H.264 + AAC from the generator", *tool.analyze(direct)))
    reencoded = str(work / f"{tool.name}-reencoded.mp4")
    reencode(lossless, reencoded)
    rows.append(("lossless, re-encoded by ffmpeg (x264, aac)", *tool.analyze(reencoded)))
    degraded = str(work / f"{tool.name}-degraded.mp4")
    # Noise 20 dB below the pattern's own audio after the -30 dB change.
    noise = rms_of_audio(lossless) * 10 ** (-30 / 20) / 10 * 3 ** 0.5
    degrade(lossless, degraded, f"{noise:.6f}")
    rows.append(("scaled, -30 dB, noise 20 dB SNR, AAC 64k", *tool.analyze(degraded)))
    return rows


def drift_rows(tool, work):
    rows = []
    for ppm in (10, 100, 1000):
        path = str(work / f"{tool.name}-drift{ppm}.mp4")
        tool.generate(path, lossless=False, drift_ppm=ppm)
        rows.append((f"drift {ppm} ppm, H.264 + AAC", ppm, *tool.analyze(path)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--avsync", default=str(ROOT / "target" / "release" / "avsync"))
    parser.add_argument("--av-drift", action="store_true", help="also run av-drift-detector")
    args = parser.parse_args()
    tools = [Avsync(args.avsync)]
    if args.av_drift:
        tools.append(AvDrift())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"{'tool':<18} {'condition':<44} {'error ms':>10} {'time s':>7}")
        for tool in tools:
            for condition, offset, _drift, elapsed in conditions(tool, work):
                error = "inconclusive" if offset is None else f"{offset - OFFSET_MS:+.4f}"
                print(f"{tool.name:<18} {condition:<44} {error:>10} {elapsed:7.2f}")
        print(f"\n{'tool':<18} {'condition':<44} {'ppm err':>10} {'time s':>7}")
        for condition, truth, _offset, ppm, elapsed in drift_rows(tools[0], work):
            error = "-" if ppm is None else f"{ppm - truth:+.3f}"
            print(f"{tools[0].name:<18} {condition:<44} {error:>10} {elapsed:7.2f}")


if __name__ == "__main__":
    main()

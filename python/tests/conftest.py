"""Fixtures of the Python package's tests: the CLI to compare against and the media to measure.

AVSYNC_BIN names the avsync CLI whose JSON reports the package must reproduce (default:
target/debug/avsync, which `cargo test` builds before scripts/test.sh runs pytest), and
AVSYNC_TALKING_SAMPLE the talking_sample example that makes talking-face clips (default:
target/debug/examples/talking_sample, also built by `cargo test`). The flash/beep, click and
speech fixtures come from testdata/generate.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
# Seconds of speech.wav (which starts with 1 s of silence) in the short clips the tests make:
# enough words for check's 2 s windows, short enough for a debug build.
SPEECH_CLIP_S = 8
# The talking-face clips: their audio offsets in ms (> 0: audio early).
TALKING_OFFSETS_MS = (-60, 40)
# The delay put on the speech for compare, in ms (the output's audio is that late).
COMPARE_DELAY_MS = 40


def _executable(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default))
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build it (cargo test builds it) or set {env}")
    return path


@pytest.fixture(scope="session")
def avsync_bin() -> Path:
    return _executable("AVSYNC_BIN", TARGET / "debug" / "avsync")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """testdata/generated, made (or found up to date) by testdata/generate.sh."""
    subprocess.run(["bash", str(REPO / "testdata" / "generate.sh")], check=True)
    return REPO / "testdata" / "generated"


@pytest.fixture(scope="session")
def media(tmp_path_factory, fixtures) -> Dict[str, Path]:
    """Short speech, a copy of it delayed by COMPARE_DELAY_MS, and one talking-face clip a
    TALKING_OFFSETS_MS entry (talking_<offset>.mp4)."""
    out = tmp_path_factory.mktemp("media")
    ff = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-nostdin"]
    speech = out / "speech.wav"
    subprocess.run(ff + ["-i", str(fixtures / "speech.wav"), "-t", str(SPEECH_CLIP_S), str(speech)], check=True)
    delayed = out / "speech_late.wav"
    subprocess.run(
        ff + ["-i", str(speech), "-af", f"adelay={COMPARE_DELAY_MS}", "-t", str(SPEECH_CLIP_S), str(delayed)],
        check=True,
    )
    sample = _executable("AVSYNC_TALKING_SAMPLE", TARGET / "debug" / "examples" / "talking_sample")
    files = {"speech": speech, "speech_late": delayed}
    for offset in TALKING_OFFSETS_MS:
        clip = out / f"talking_{offset}.mp4"
        subprocess.run(
            [str(sample), str(clip), "--offset-ms", str(offset), "--speech", str(speech)],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        files[f"talking_{offset}"] = clip
    return files


def run_cli(avsync_bin: Path, args: List[str]) -> dict:
    """The CLI's JSON for `avsync ARGS --json -` (exit codes 0 to 4 are all reports)."""
    done = subprocess.run([str(avsync_bin)] + args + ["--json", "-"], capture_output=True, text=True)
    assert done.returncode in (0, 1, 3, 4), done.stderr
    return json.loads(done.stdout)


def without_timing(report: dict) -> dict:
    """A report without the one field that differs between two runs: how long it took."""
    return {key: value for key, value in report.items() if key != "elapsed_s"}

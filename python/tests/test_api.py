"""The Python package against the CLI: the same reports, the same errors, from several threads."""

from __future__ import annotations

import csv
import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import avsync
from conftest import COMPARE_DELAY_MS, TALKING_OFFSETS_MS, run_cli, without_timing

# How far check's offset may sit from the clip's made offset: its measured accuracy on these
# synthetic clips is a few ms (the demo's 60 ms late clip reads 57 ms).
CHECK_TOLERANCE_MS = 15.0
# compare finds a delay of whole samples to a fraction of a sample.
COMPARE_TOLERANCE_MS = 0.5
# Main-thread ticks the GIL test wants to see while one analysis runs in another thread.
MIN_TICKS_DURING_ANALYSIS = 3
# check's offset from a thread that ran beside another check in the same process, against the
# same clip checked alone. Not always equal: the phone recognizer's dither (PocketSphinx) draws
# from the library's one random generator per process, so decoders running at once take each
# other's draws; the offset moves by a few hundredths of a ms.
CONCURRENT_CHECK_TOLERANCE_MS = 0.5
# The GIL test's main thread ticks this often, in seconds.
TICK_S = 0.001


@pytest.fixture(scope="module")
def checked(media):
    """The package's report of each talking clip against broadcast and cinema."""
    return {offset: avsync.check(media[f"talking_{offset}"], ["broadcast", "cinema"]) for offset in TALKING_OFFSETS_MS}


def test_check_returns_the_cli_report(media, avsync_bin, checked):
    for offset in TALKING_OFFSETS_MS:
        clip = media[f"talking_{offset}"]
        cli = run_cli(avsync_bin, ["check", str(clip), "--profile", "broadcast", "--profile", "cinema"])
        ours = checked[offset]
        assert without_timing(ours) == without_timing(cli)
        assert ours["schema"] == "avsync/1" and ours["method"] == "content"
        assert ours["input"]["path"] == str(clip)
        assert ours["offset_ms"] == pytest.approx(offset, abs=CHECK_TOLERANCE_MS)
        assert [v["profile"] for v in ours["verdicts"]] == ["broadcast", "cinema"]
        assert ours["elapsed_s"] > 0


def test_check_grades_each_profile(checked):
    # 60 ms late passes broadcast (90 ms late allowed) and fails cinema (22 ms); so does the
    # overall verdict, the worst of the two.
    late = {v["profile"]: v["result"] for v in checked[-60]["verdicts"]}
    assert late == {"broadcast": "pass", "cinema": "fail"}
    assert checked[-60]["verdict"] == "fail"
    # 40 ms early fails broadcast (30 ms early allowed) as well.
    early = {v["profile"]: v["result"] for v in checked[40]["verdicts"]}
    assert early == {"broadcast": "fail", "cinema": "fail"}


def test_compare_returns_the_cli_report(media, avsync_bin):
    ours = avsync.compare(media["speech_late"], media["speech"], ["cinema"], window="1s")
    cli = run_cli(
        avsync_bin,
        ["compare", str(media["speech_late"]), "--audio-ref", str(media["speech"]), "--profile", "cinema", "--window", "1s"],
    )
    assert without_timing(ours) == without_timing(cli)
    assert ours["method"] == "reference"
    assert ours["offset_ms"] == pytest.approx(-COMPARE_DELAY_MS, abs=COMPARE_TOLERANCE_MS)
    assert ours["verdict"] == "fail"  # 40 ms late is outside cinema's ±22 ms


def test_durations_are_strings_or_seconds(media):
    as_string = avsync.compare(media["speech_late"], media["speech"], window="1500ms")
    as_seconds = avsync.compare(media["speech_late"], media["speech"], window=1.5)
    assert without_timing(as_string) == without_timing(as_seconds)
    default = avsync.compare(media["speech_late"], media["speech"])
    assert len(as_string["windows"]) > len(default["windows"])  # 1.5 s windows, not 2 s


def test_probe_returns_the_cli_json(fixtures, avsync_bin):
    clip = fixtures / "video_late_085.mp4"
    ours = avsync.probe(clip)
    assert ours == run_cli(avsync_bin, ["probe", str(clip)])
    assert ours["audio_minus_video_start_s"] == pytest.approx(-0.85, abs=0.001)


def test_threads_give_the_same_reports(media, checked):
    """Several Python threads measuring at once (the GIL released) get what one thread gets."""
    pairs = [(media["speech_late"], media["speech"]), (media["speech"], media["speech_late"])] * 3
    alone = [without_timing(avsync.compare(out, ref)) for out, ref in pairs]
    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        together = list(pool.map(lambda p: without_timing(avsync.compare(*p, threads=1)), pairs))
    assert together == alone
    assert [r["offset_ms"] for r in together[:2]] == pytest.approx([-COMPARE_DELAY_MS, COMPARE_DELAY_MS], abs=0.5)

    clips = [media[f"talking_{offset}"] for offset in TALKING_OFFSETS_MS]
    with ThreadPoolExecutor(max_workers=len(clips)) as pool:
        reports = list(pool.map(lambda c: avsync.check(c, ["broadcast", "cinema"]), clips))
    for offset, report in zip(TALKING_OFFSETS_MS, reports):
        alone = checked[offset]
        assert report["input"] == alone["input"]
        assert report["verdict"] == alone["verdict"]
        assert [v["result"] for v in report["verdicts"]] == [v["result"] for v in alone["verdicts"]]
        assert report["offset_ms"] == pytest.approx(alone["offset_ms"], abs=CONCURRENT_CHECK_TOLERANCE_MS)


def test_analysis_releases_the_gil(media):
    """While one thread is inside the Rust analysis, the main thread keeps running Python."""
    finished = {}

    def work():
        finished["report"] = avsync.check(media[f"talking_{TALKING_OFFSETS_MS[0]}"])
        finished["at"] = time.monotonic()

    worker = threading.Thread(target=work)
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.monotonic())
        time.sleep(TICK_S)
    worker.join()
    # The middle of the time the analysis itself reports (the report's elapsed_s ends just
    # before the call returns): the main thread ran Python then, so the GIL was free.
    elapsed = finished["report"]["elapsed_s"]
    start, end = finished["at"] - 0.9 * elapsed, finished["at"] - 0.1 * elapsed
    during = [t for t in ticks if start <= t <= end]
    assert len(during) >= MIN_TICKS_DURING_ANALYSIS, (len(ticks), elapsed)


def test_exception_classes_mirror_the_error_kinds():
    for kind in (avsync.InputError, avsync.OutputError, avsync.UsageError, avsync.ProcessingError):
        assert issubclass(kind, avsync.AvsyncError)
        assert kind.__module__ == "avsync"
    assert issubclass(avsync.AvsyncError, Exception)


def test_missing_input_is_an_input_error_like_the_cli(tmp_path, avsync_bin):
    missing = tmp_path / "absent.mp4"
    with pytest.raises(avsync.InputError) as raised:
        avsync.probe(missing)
    assert str(raised.value) == f"{missing}: no such file"
    assert raised.value.path == str(missing)
    cli = subprocess.run([str(avsync_bin), "probe", str(missing)], capture_output=True, text=True)
    assert cli.returncode == 4
    assert cli.stderr.strip() == f"avsync: {raised.value}"
    with pytest.raises(avsync.InputError, match="no such file"):
        avsync.check(missing)


def test_unreadable_input_names_the_file_and_problem(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video")
    with pytest.raises(avsync.InputError) as raised:
        avsync.check(junk)
    assert str(raised.value).startswith(f"{junk}: ")
    assert raised.value.path == str(junk)


def test_bad_options_are_usage_errors(media):
    with pytest.raises(avsync.UsageError, match="unknown profile 'nonsense'"):
        avsync.check(media["speech"], ["nonsense"])
    with pytest.raises(avsync.UsageError, match="needs a unit"):
        avsync.check(media["speech"], search="5")
    with pytest.raises(avsync.UsageError, match="outside the allowed range"):
        avsync.compare(media["speech"], media["speech"], window="10ms")
    with pytest.raises(avsync.UsageError, match="lists"):
        avsync.check(media["speech"], "cinema")
    with pytest.raises(avsync.UsageError, match="threads must be at least 1"):
        avsync.compare(media["speech"], media["speech"], threads=0)


def test_a_clip_without_video_cannot_be_checked(media):
    with pytest.raises(avsync.InputError, match="has no video stream"):
        avsync.check(media["speech"])


def test_unwritable_summary_is_an_output_error(tmp_path, checked):
    target = tmp_path / "no" / "such" / "dir" / "summary.html"
    (tmp_path / "no").write_text("a file where a directory should be")
    with pytest.raises(avsync.OutputError) as raised:
        avsync.write_summary([checked[-60]], target)
    assert raised.value.path is not None


def test_summary_of_reports_as_the_cli_writes_it(tmp_path, checked, media):
    failed = avsync.error_report(media["speech"], "has no video stream: check needs a face to watch")
    assert failed["verdict"] == "error" and failed["offset_ms"] is None
    reports = [checked[-60], checked[40], failed]
    table = tmp_path / "summary.csv"
    avsync.write_summary(reports, table, expected_offsets_ms=[-60, 40, None])
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    by_input = {row["input"]: row for row in rows}
    assert set(by_input) == {r["input"]["path"] for r in reports}
    late = by_input[str(media["talking_-60"])]
    assert late["verdict"] == "fail"
    assert float(late["offset_ms"]) == pytest.approx(checked[-60]["offset_ms"], abs=0.05)
    assert float(late["expected_offset_ms"]) == -60
    assert by_input[str(media["speech"])]["verdict"] == "error"

    page = tmp_path / "summary.html"
    avsync.write_summary(reports, page)
    html = page.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert str(media["talking_-60"]) in html
    with pytest.raises(avsync.UsageError, match="extension"):
        avsync.write_summary(reports, tmp_path / "summary.txt")
    with pytest.raises(avsync.UsageError, match="not an avsync report"):
        avsync.write_summary([{"verdict": "pass"}], page)


def test_reports_are_json_serialisable(checked):
    # A dict made of JSON types only: it goes into Parquet, a queue or a file as it is.
    assert json.loads(json.dumps(checked[40])) == checked[40]


def test_build_profile_names_the_build():
    # benches/ray_scaling.py relies on it to refuse a debug build
    assert avsync.build_profile in ("debug", "release")

"""The Ray Data example (python/examples/ray_batch.py) on a local Ray cluster the test starts:
its rows and summary against the CLI's JSON reports for the same files."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pyarrow.parquet as pq
import pytest
import ray

import avsync
from conftest import COMPARE_DELAY_MS, REPO, TALKING_OFFSETS_MS, run_cli, without_timing

# CPUs of the test's Ray cluster: two tasks at once on the 2-core machines CI runs on.
RAY_CPUS = 2
# How far a row's offset may be from the CLI's (the same computation: they should be equal).
OFFSET_TOLERANCE_MS = 0.5


def _load_example():
    path = REPO / "python" / "examples" / "ray_batch.py"
    spec = importlib.util.spec_from_file_location("ray_batch", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=RAY_CPUS, include_dashboard=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def _assert_row_matches(row, cli):
    assert row["input"] == cli["input"]["path"]
    assert row["verdict"] == cli["verdict"]
    assert row["marginal"] == cli["marginal"]
    if cli["offset_ms"] is None:
        assert row["offset_ms"] is None
    else:
        assert row["offset_ms"] == pytest.approx(cli["offset_ms"], abs=OFFSET_TOLERANCE_MS)
    assert row["reason"] == cli["reason"]
    assert without_timing(json.loads(row["report"])) == without_timing(cli)


def test_check_manifest_on_ray(cluster, media, avsync_bin, tmp_path):
    # The CLI's manifest: paths relative to the manifest, a per-row profile, expected offsets,
    # and an input that cannot be measured (it becomes an error row; the others go on).
    for offset in TALKING_OFFSETS_MS:
        os.symlink(media[f"talking_{offset}"], tmp_path / f"talking_{offset}.mp4")
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        "input,profile,expected_offset_ms\n"
        f"talking_{TALKING_OFFSETS_MS[0]}.mp4,,{TALKING_OFFSETS_MS[0]}\n"
        f"talking_{TALKING_OFFSETS_MS[1]}.mp4,cinema,{TALKING_OFFSETS_MS[1]}\n"
        "missing.mp4,,\n"
    )
    out = tmp_path / "out"
    example = _load_example()
    rows = example.run(str(manifest), str(out), "check", profiles=["broadcast"])

    by_input = {row["input"]: row for row in rows}
    assert len(rows) == 3 and len(by_input) == 3
    for offset, profile in zip(TALKING_OFFSETS_MS, ["broadcast", "cinema"]):
        clip = str(tmp_path / f"talking_{offset}.mp4")
        cli = run_cli(avsync_bin, ["check", clip, "--profile", profile])
        _assert_row_matches(by_input[clip], cli)
        assert by_input[clip]["expected_offset_ms"] == offset
    missing = by_input[str(tmp_path / "missing.mp4")]
    assert missing["verdict"] == "error"
    assert missing["reason"] == f"{tmp_path / 'missing.mp4'}: no such file"
    assert missing["offset_ms"] is None

    # The Parquet files hold the same rows.
    table = pq.read_table(out / "results")
    assert sorted(table.column("input").to_pylist()) == sorted(by_input)
    parquet = {r["input"]: r for r in table.to_pylist()}
    for key, row in by_input.items():
        assert parquet[key] == row
    # The summary: every input, the error too, as `avsync merge --summary` writes it.
    html = (out / "summary.html").read_text()
    for key in by_input:
        assert key in html
    assert "no such file" in html


def test_compare_manifest_on_ray(cluster, media, avsync_bin, tmp_path):
    manifest = tmp_path / "jobs.jsonl"
    jobs = [
        {"input": str(media["speech_late"]), "audio_ref": str(media["speech"]), "expected_offset_ms": -COMPARE_DELAY_MS},
        {"input": str(media["speech"]), "audio_ref": str(media["speech_late"]), "profile": "cinema"},
    ]
    manifest.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    out = tmp_path / "out"
    rows = _load_example().run(str(manifest), str(out), "compare", threads=1)
    assert [row["input"] for row in rows] == [job["input"] for job in jobs]
    for job, row in zip(jobs, rows):
        args = ["compare", job["input"], "--audio-ref", job["audio_ref"]]
        args += ["--profile", job["profile"]] if "profile" in job else []
        _assert_row_matches(row, run_cli(avsync_bin, args))
    assert rows[0]["offset_ms"] == pytest.approx(-COMPARE_DELAY_MS, abs=OFFSET_TOLERANCE_MS)
    assert rows[0]["expected_offset_ms"] == -COMPARE_DELAY_MS
    assert (out / "summary.html").is_file()


def test_unknown_manifest_column_is_a_usage_error(cluster, tmp_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("input,speed\nclip.mp4,fast\n")
    with pytest.raises(avsync.UsageError, match="unknown column 'speed'"):
        _load_example().run(str(manifest), str(tmp_path / "out"), "check")

"""avsync from Python: measure whether sound and picture are in sync.

``check``, ``compare`` and ``probe`` return the same dicts as the CLI's JSON reports
(``avsync check CLIP --json -`` and so on; schema ``avsync/1``, see docs/reports.md). Each keyword
is the command-line option of the same name and means exactly what it means there: the
keywords are handed to the CLI's own option parser. Durations are strings with a unit
(``"500ms"``, ``"8s"``) or numbers of seconds.

The analysis runs in Rust with the GIL released, so Python threads (or a Ray worker's) measure
in parallel. ``threads=N`` runs one call's analysis on N threads (default: one per core);
``threads=1`` keeps a ``compare`` or ``probe`` on one core, for running one call a core.

Errors raise a subclass of :class:`AvsyncError`, one a kind, with the CLI's message (the file and
the problem): :class:`InputError` and :class:`OutputError` (with the file as ``path``),
:class:`UsageError`, :class:`ProcessingError`.

Like the CLI, the options' defaults come from ``avsync.toml`` in the current directory when
there is one, or from ``config=PATH``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from . import _avsync
from ._avsync import (
    AvsyncError,
    InputError,
    OutputError,
    ProcessingError,
    UsageError,
    __version__,
    build_profile,
)

__all__ = [
    "AvsyncError",
    "InputError",
    "OutputError",
    "ProcessingError",
    "UsageError",
    "check",
    "error_report",
    "compare",
    "probe",
    "write_summary",
    "__version__",
    "build_profile",
]

PathLike = Union[str, "os.PathLike[str]"]
Duration = Union[str, float, int]


def _duration(value: Duration) -> str:
    """A duration as the CLI takes it: a string with its unit, or a number of seconds."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"a duration is a string such as '500ms' or a number of seconds, not {value!r}")
    return f"{float(value)!r}s"


def _grading(
    profiles: Optional[Iterable[str]],
    tolerances: Optional[Iterable[str]],
    window_policy: Optional[str],
    window_confidence: Optional[float],
    marginal: Optional[str],
) -> List[str]:
    """The grading options (--profile, --tolerance, --window-policy, ...) as arguments."""
    if isinstance(profiles, str) or isinstance(tolerances, str):
        raise UsageError("profiles and tolerances are lists, e.g. profiles=['broadcast', 'cinema']")
    args: List[str] = []
    for profile in profiles or ():
        args += ["--profile", str(profile)]
    for tolerance in tolerances or ():
        args += ["--tolerance", str(tolerance)]
    if window_policy is not None:
        args += ["--window-policy", str(window_policy)]
    if window_confidence is not None:
        args += ["--window-confidence", repr(float(window_confidence))]
    if marginal is not None:
        args += ["--marginal", str(marginal)]
    return args


def _audio_selection(audio_stream: Optional[int], audio_channel: Optional[Union[str, int]]) -> List[str]:
    args: List[str] = []
    if audio_stream is not None:
        args += ["--audio-stream", str(int(audio_stream))]
    if audio_channel is not None:
        args += ["--audio-channel", str(audio_channel)]
    return args


def _path(value: PathLike) -> str:
    return os.fspath(value)


def _config(config: Optional[PathLike]) -> Optional[str]:
    return None if config is None else _path(config)


def check(
    path: PathLike,
    profiles: Optional[Sequence[str]] = None,
    *,
    tolerances: Optional[Sequence[str]] = None,
    audio: Optional[PathLike] = None,
    search: Optional[Duration] = None,
    window: Optional[Duration] = None,
    hop: Optional[Duration] = None,
    calibrate_with: Optional[PathLike] = None,
    audio_stream: Optional[int] = None,
    audio_channel: Optional[Union[str, int]] = None,
    window_policy: Optional[str] = None,
    window_confidence: Optional[float] = None,
    marginal: Optional[str] = None,
    config: Optional[PathLike] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]:
    """``avsync check PATH``: the lip sync of a clip of a person talking, as the JSON report's dict.

    ``profiles`` are tolerance profiles (``broadcast``, the default, ``cinema``, ``ebu-r37``,
    ...); the other keywords are check's options (``--audio``, ``--search``, ``--window``,
    ``--hop``, ``--calibrate-with``, ``--audio-stream``, ``--audio-channel``,
    ``--window-policy``, ``--window-confidence``, ``--marginal``).
    """
    args = _grading(profiles, tolerances, window_policy, window_confidence, marginal)
    args += _audio_selection(audio_stream, audio_channel)
    if audio is not None:
        args += ["--audio", _path(audio)]
    if search is not None:
        args += ["--search", _duration(search)]
    if window is not None:
        args += ["--window", _duration(window)]
    if hop is not None:
        args += ["--hop", _duration(hop)]
    if calibrate_with is not None:
        args += ["--calibrate-with", _path(calibrate_with)]
    args += ["--", _path(path)]
    return json.loads(_avsync.check_json(args, _config(config), threads))


def compare(
    output: PathLike,
    audio_ref: PathLike,
    profiles: Optional[Sequence[str]] = None,
    *,
    video_ref: Optional[PathLike] = None,
    tolerances: Optional[Sequence[str]] = None,
    ref_insert_time: Optional[Duration] = None,
    ref_start_time: Optional[Duration] = None,
    window: Optional[Duration] = None,
    require_reference: bool = False,
    audio_stream: Optional[int] = None,
    audio_channel: Optional[Union[str, int]] = None,
    window_policy: Optional[str] = None,
    window_confidence: Optional[float] = None,
    marginal: Optional[str] = None,
    config: Optional[PathLike] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]:
    """``avsync compare OUTPUT --audio-ref AUDIO_REF``: an output against the audio (and video)
    that went into it, as the JSON report's dict. The keywords are compare's options."""
    args = _grading(profiles, tolerances, window_policy, window_confidence, marginal)
    args += _audio_selection(audio_stream, audio_channel)
    args += ["--audio-ref", _path(audio_ref)]
    if video_ref is not None:
        args += ["--video-ref", _path(video_ref)]
    if ref_insert_time is not None:
        args += ["--ref-insert-time", _duration(ref_insert_time)]
    if ref_start_time is not None:
        args += ["--ref-start-time", _duration(ref_start_time)]
    if window is not None:
        args += ["--window", _duration(window)]
    if require_reference:
        args.append("--require-reference")
    args += ["--", _path(output)]
    return json.loads(_avsync.compare_json(args, _config(config), threads))


def probe(path: PathLike) -> Dict[str, Any]:
    """``avsync probe PATH --json -``: the file's container, streams and their timing."""
    return json.loads(_avsync.probe_json(_path(path)))


def error_report(path: PathLike, problem: str) -> Dict[str, Any]:
    """The report a CLI batch gives an input that could not be measured: verdict ``error``,
    ``problem`` as its reason, no measurement. For a pipeline that goes on past a bad input
    and still writes every input's row into the summary."""
    return json.loads(_avsync.error_report_json(_path(path), str(problem)))


def write_summary(
    reports: Sequence[Dict[str, Any]],
    path: PathLike,
    expected_offsets_ms: Optional[Sequence[Optional[float]]] = None,
    report_paths: Optional[Sequence[Optional[PathLike]]] = None,
) -> None:
    """Writes the batch summary of ``reports`` (dicts as ``check``/``compare`` return) to ``path``:
    ``.html`` (self-contained, worst first), ``.csv`` or ``.jsonl``, as ``avsync merge --summary``
    writes it. ``expected_offsets_ms`` and ``report_paths`` give one entry a report (or None):
    the offset each input is known to have, and where its own JSON report was saved."""
    texts = [json.dumps(report) for report in reports]
    expected = None if expected_offsets_ms is None else [None if v is None else float(v) for v in expected_offsets_ms]
    saved = None if report_paths is None else [None if p is None else _path(p) for p in report_paths]
    _avsync.write_summary_json(texts, _path(path), expected, saved)

//! `avsync._avsync`: the Python bindings of avsync (PyO3, stable ABI of CPython 3.9+).
//!
//! Each measuring function takes the command's own options as an argument list, parsed by the
//! CLI's clap structs (`CheckArgs`, `CompareArgs`), so a keyword means exactly what the option
//! means on the command line; `python/avsync/__init__.py` builds that list from keywords. The
//! result is the report's JSON as the CLI's `--json -` writes it (the library's serde
//! serialisation), which the Python side turns into a dict. Analysis runs with the GIL
//! released. Errors become one exception class per kind of [`avsync::Error`], under the common
//! base `avsync.AvsyncError`.

use avsync::batch::{summary, Job};
use avsync::commands::check::{self, CheckArgs};
use avsync::commands::compare::{self, CompareArgs};
use avsync::commands::probe;
use avsync::config::Config;
use avsync::error::Error;
use avsync::features::face::FaceModels;
use avsync::media;
use avsync::report::{render_json_line, Report};
use clap::Parser;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

create_exception!(avsync, AvsyncError, PyException, "Any error avsync reports.");
create_exception!(
    avsync,
    InputError,
    AvsyncError,
    "An input file that cannot be read, decoded or used as asked (`path` names it)."
);
create_exception!(
    avsync,
    OutputError,
    AvsyncError,
    "An output file that cannot be written (`path` names it)."
);
create_exception!(avsync, UsageError, AvsyncError, "An option or configuration value is wrong.");
create_exception!(
    avsync,
    ProcessingError,
    AvsyncError,
    "Analysis failed for a reason that is not the input's fault."
);

/// `avsync check`'s options, parsed from an argument list without the program name.
#[derive(Parser)]
#[command(name = "check", no_binary_name = true)]
struct CheckCli {
    #[command(flatten)]
    args: CheckArgs,
}

/// `avsync compare`'s options, parsed from an argument list without the program name.
#[derive(Parser)]
#[command(name = "compare", no_binary_name = true)]
struct CompareCli {
    #[command(flatten)]
    args: CompareArgs,
}

/// Runs `work` with the GIL released, on a pool of `threads` threads when given (else on
/// rayon's global pool, one thread per core), and turns its error into the Python exception.
fn detached<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    work: impl FnOnce() -> avsync::Result<T> + Send,
) -> PyResult<T> {
    let result = py.detach(|| match threads {
        None => work(),
        Some(0) => Err(Error::usage("threads must be at least 1")),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| Error::Processing(format!("cannot start the worker threads: {e}")))?
            .install(work),
    });
    result.map_err(|e| to_python(py, e))
}

/// The exception for `error`: its class by kind, its message the CLI's (file and problem), and
/// for input and output errors the file as `path`.
fn to_python(py: Python<'_>, error: Error) -> PyErr {
    let message = error.to_string();
    let (err, path) = match &error {
        Error::Input { path, .. } => (InputError::new_err(message), Some(path)),
        Error::Output { path, .. } => (OutputError::new_err(message), Some(path)),
        Error::Usage(_) => (UsageError::new_err(message), None),
        Error::Processing(_) => (ProcessingError::new_err(message), None),
    };
    let path = path.map(|p| p.display().to_string());
    if let Err(e) = err.value(py).setattr("path", path) {
        return e;
    }
    err
}

/// A clap error as one line, as the CLI prints it: the message and its tip, without the usage
/// block.
fn usage_error(e: clap::Error) -> Error {
    let rendered = e.render().to_string();
    let line = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ");
    Error::usage(line)
}

/// The one input of a call: the library measures one file a call (Ray or a thread pool makes
/// the batch).
fn single_input<'a>(inputs: &'a [PathBuf], command: &str) -> avsync::Result<&'a Path> {
    match inputs {
        [one] => Ok(one),
        _ => Err(Error::usage(format!("{command} takes one input a call, got {}", inputs.len()))),
    }
}

/// The report as the CLI's JSON (one object, no plot data), without its newline.
fn report_json(report: &Report) -> avsync::Result<String> {
    Ok(render_json_line(report, false)?.trim_end().to_string())
}

/// `avsync check ARGS` on one clip: the report as JSON.
#[pyfunction]
#[pyo3(signature = (args, config=None, threads=None))]
fn check_json(
    py: Python<'_>,
    args: Vec<String>,
    config: Option<PathBuf>,
    threads: Option<usize>,
) -> PyResult<String> {
    detached(py, threads, move || {
        let cli = CheckCli::try_parse_from(args).map_err(usage_error)?;
        let config = Config::load(config.as_deref())?;
        let input = single_input(&cli.args.inputs, "check")?;
        let grading = cli.args.grade.options(&config)?;
        let options = cli.args.options(false, &config)?;
        if let Some(audio) = &options.audio_file {
            media::check_readable_file(audio)?;
        }
        let models =
            FaceModels::shared().map_err(|e| Error::Processing(format!("face models: {e}")))?;
        let calibration = match &options.calibrate_with {
            Some(clip) => Some(check::calibrate(clip, &models, &options)?),
            None => None,
        };
        let report = check::run_calibrated(input, &models, &options, calibration, &grading)?;
        report_json(&report)
    })
}

/// `avsync compare ARGS`: the report as JSON.
#[pyfunction]
#[pyo3(signature = (args, config=None, threads=None))]
fn compare_json(
    py: Python<'_>,
    args: Vec<String>,
    config: Option<PathBuf>,
    threads: Option<usize>,
) -> PyResult<String> {
    detached(py, threads, move || {
        let cli = CompareCli::try_parse_from(args).map_err(usage_error)?;
        let config = Config::load(config.as_deref())?;
        let job = Job {
            input: single_input(&cli.args.outputs, "compare")?.to_path_buf(),
            ..Job::default()
        };
        let options = cli.args.options(false, &config)?.for_job(&job, &cli.args)?;
        let report = compare::run(&options, &cli.args.grade.options(&config)?)?;
        report_json(&report)
    })
}

/// `avsync probe PATH`: what the file holds, as JSON.
#[pyfunction]
fn probe_json(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    detached(py, None, move || {
        let info = probe::run(&path)?;
        serde_json::to_string(&info)
            .map_err(|e| Error::Processing(format!("cannot serialise the probe result: {e}")))
    })
}

/// The error report the CLI's batches give an input that cannot be measured: verdict
/// `error`, `problem` as its reason (exit code 4, a JUnit `<error>`), as JSON.
#[pyfunction]
fn error_report_json(py: Python<'_>, path: String, problem: String) -> PyResult<String> {
    detached(py, None, move || report_json(&Report::error(path, problem)))
}

/// Writes the summary table of `reports` (JSON reports, as the functions above return) to
/// `path` as CSV, JSON Lines or HTML by its extension, as `avsync check --summary` and
/// `avsync merge --summary` do. `expected_offsets_ms` and `report_paths`, when given, hold one
/// entry a report: the offset the input is known to have, and where its own report was saved
/// (the HTML links to it).
#[pyfunction]
#[pyo3(signature = (reports, path, expected_offsets_ms=None, report_paths=None))]
fn write_summary_json(
    py: Python<'_>,
    reports: Vec<String>,
    path: PathBuf,
    expected_offsets_ms: Option<Vec<Option<f64>>>,
    report_paths: Option<Vec<Option<PathBuf>>>,
) -> PyResult<()> {
    detached(py, None, move || {
        let count = reports.len();
        let expected = expected_offsets_ms.unwrap_or_else(|| vec![None; count]);
        let saved = report_paths.unwrap_or_else(|| vec![None; count]);
        if expected.len() != count || saved.len() != count {
            return Err(Error::usage(format!(
                "write_summary: {count} reports, {} expected offsets and {} report paths: one \
                 of each a report",
                expected.len(),
                saved.len()
            )));
        }
        summary::check(&path)?;
        let rows = reports
            .iter()
            .zip(expected.into_iter().zip(saved))
            .enumerate()
            .map(|(i, (json, (expected_ms, saved)))| {
                let report: Report = serde_json::from_str(json).map_err(|e| {
                    Error::usage(format!("write_summary: report {i} is not an avsync report: {e}"))
                })?;
                Ok(summary::Row::new(&report, expected_ms, saved.as_deref(), &path))
            })
            .collect::<avsync::Result<Vec<_>>>()?;
        summary::write(&path, &rows)
    })
}

#[pymodule]
fn _avsync(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AvsyncError", py.get_type::<AvsyncError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("OutputError", py.get_type::<OutputError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    m.add("ProcessingError", py.get_type::<ProcessingError>())?;
    m.add_function(wrap_pyfunction!(check_json, m)?)?;
    m.add_function(wrap_pyfunction!(compare_json, m)?)?;
    m.add_function(wrap_pyfunction!(probe_json, m)?)?;
    m.add_function(wrap_pyfunction!(write_summary_json, m)?)?;
    m.add_function(wrap_pyfunction!(error_report_json, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Benchmarks refuse a debug build: it runs the analysis about 20 times slower.
    m.add("build_profile", if cfg!(debug_assertions) { "debug" } else { "release" })?;
    Ok(())
}

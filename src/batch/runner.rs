//! Running a batch: the jobs in parallel on `--jobs` threads, each result written the moment
//! it is ready (its JSON report in `--report-dir`, its line on `--jsonl` standard output, its
//! row in the `--summary` file), so that a batch cut short by Ctrl-C keeps every finished row.

use super::inputs::Job;
use super::summary::{self, Row};
use crate::error::{Error, Result};
use crate::report::{render_json_line, Outcome, Report};
use crate::safe_write;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// How often the progress bar redraws on its own (its elapsed time and ETA move between
/// results).
const PROGRESS_TICK: Duration = Duration::from_millis(200);

/// Where and how a batch runs and writes as it goes.
#[derive(Debug)]
pub struct Runner {
    /// Inputs measured at once; None: one per core.
    pub threads: Option<NonZeroUsize>,
    /// Drawn on standard error; hidden when nobody watches.
    pub progress: ProgressBar,
    /// Write each report as a JSON line on standard output as soon as it is ready.
    pub stream_jsonl: bool,
    /// Keep the plot data in streamed and saved reports.
    pub json_plots: bool,
    /// One JSON report per input, written as it finishes (see [`report_file_name`]).
    pub report_dir: Option<PathBuf>,
    /// Take the reports already in `report_dir` instead of measuring again.
    pub resume: bool,
    /// The summary table as CSV, JSON Lines or HTML (each file's format by its extension).
    pub summary: Vec<PathBuf>,
    /// A lone input from the command line, with nothing written as it goes, that cannot be
    /// measured ends the run with its error (one line, exit 4, nothing on standard output), as
    /// a command of one input always did; otherwise it becomes an error report like a batch's.
    pub lone_input_error_ends_run: bool,
}

/// What a batch command makes of one input: a result the runner streams as a JSON line, saves
/// in `--report-dir`, summarises in one row and, for `--resume`, reads back; and the result
/// that stands in for an input that could not be measured.
pub trait BatchResult: Sized + Send + DeserializeOwned {
    /// The result for `input`, which could not be measured because of `reason`.
    fn error(input: String, reason: String) -> Self;
    /// The input as the result names it.
    fn input(&self) -> &str;
    fn outcome(&self) -> Outcome;
    /// The result as one JSON line (with its newline); `plots` keeps plot data, where any.
    fn json_line(&self, plots: bool) -> Result<String>;
    /// Its row of the summary (see [`Row::new`] for the arguments).
    fn row(&self, expected_offset_ms: Option<f64>, saved: Option<&Path>, summary: &Path) -> Row;
}

impl BatchResult for Report {
    fn error(input: String, reason: String) -> Self {
        Report::error(input, reason)
    }
    fn input(&self) -> &str {
        &self.input.path
    }
    fn outcome(&self) -> Outcome {
        self.verdict
    }
    fn json_line(&self, plots: bool) -> Result<String> {
        render_json_line(self, plots)
    }
    fn row(&self, expected_offset_ms: Option<f64>, saved: Option<&Path>, summary: &Path) -> Row {
        Row::new(self, expected_offset_ms, saved, summary)
    }
}

/// What the batch has finished so far, in the order it finished.
struct Finished {
    /// For each `--summary` file, its rows.
    rows: Vec<Vec<Row>>,
    failures: usize,
}

impl Runner {
    /// Runs `measure` on every job and returns the reports in the jobs' order. A job that fails
    /// (or had a problem before it ran) becomes an error report whose reason names the
    /// manifest line it came from; the others go on. `verb` labels the progress bar.
    pub fn run<T: BatchResult>(
        &self,
        jobs: &[Job],
        verb: &str,
        measure: impl Fn(&Job) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        if let [job] = jobs {
            let writes_as_it_goes =
                self.stream_jsonl || self.report_dir.is_some() || !self.summary.is_empty();
            if self.lone_input_error_ends_run && !writes_as_it_goes && job.origin.is_none() {
                return match &job.problem {
                    Some(problem) => Err(Error::input(&job.input, problem.clone())),
                    None => Ok(vec![measure(job)?]),
                };
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.map_or(0, NonZeroUsize::get))
            .build()
            .map_err(|e| Error::Processing(format!("cannot start the worker threads: {e}")))?;
        self.progress.set_length(jobs.len() as u64);
        self.progress.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {verb} {{pos}}/{{len}}, {{msg}} [{{elapsed}}, ETA {{eta}}] {{wide_bar}}"
            ))
            .expect("valid template"),
        );
        self.progress.set_message("0 failed");
        self.progress.enable_steady_tick(PROGRESS_TICK);
        let finished =
            Mutex::new(Finished { rows: vec![Vec::new(); self.summary.len()], failures: 0 });
        let reports = pool.install(|| {
            jobs.par_iter()
                .map(|job| {
                    let previous = self.previous(job);
                    let resumed = previous.is_some();
                    let report = match previous {
                        Some(report) => report,
                        None => run_one(job, &measure)?,
                    };
                    self.record(&finished, job, &report, resumed)?;
                    Ok(report)
                })
                .collect::<Result<Vec<T>>>()
        });
        self.progress.finish_and_clear();
        let reports = reports?;
        // The final tables list the inputs in the jobs' order.
        for path in &self.summary {
            let rows: Vec<Row> =
                jobs.iter().zip(&reports).map(|(job, r)| self.row(job, r, path)).collect();
            summary::write(path, &rows)?;
        }
        Ok(reports)
    }

    /// The report a previous run left in `--report-dir` for `job`, with `--resume`. An error
    /// report is not taken: the input is measured again, as what failed may have been fixed.
    fn previous<T: BatchResult>(&self, job: &Job) -> Option<T> {
        let dir = self.report_dir.as_ref().filter(|_| self.resume)?;
        let text = std::fs::read_to_string(dir.join(report_file_name(&job.name()))).ok()?;
        let result: T = serde_json::from_str(&text).ok()?;
        (result.input() == job.name() && result.outcome() != Outcome::Error).then_some(result)
    }

    /// Writes one finished report everywhere it goes at once, and moves the progress bar.
    fn record<T: BatchResult>(
        &self,
        finished: &Mutex<Finished>,
        job: &Job,
        report: &T,
        resumed: bool,
    ) -> Result<()> {
        let line = report.json_line(self.json_plots)?;
        if let Some(dir) = self.report_dir.as_ref().filter(|_| !resumed) {
            safe_write::write_file(&dir.join(report_file_name(&job.name())), line.as_bytes())?;
        }
        // One lock for the stream, the summary and the counts: lines are never interleaved and
        // the summary file always holds every row streamed so far.
        let mut finished = finished.lock().unwrap_or_else(|e| e.into_inner());
        if self.stream_jsonl {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(line.as_bytes()).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Error::output("standard output", e.to_string()))
                }
                _ => {}
            }
        }
        if report.outcome() == Outcome::Error {
            finished.failures += 1;
        }
        for (rows, path) in finished.rows.iter_mut().zip(&self.summary) {
            rows.push(self.row(job, report, path));
            // Rewritten whole (atomically) after each result rather than appended, so that the
            // file is always a complete table, HTML included, even after Ctrl-C.
            summary::write(path, rows)?;
        }
        self.progress.set_message(format!("{} failed", finished.failures));
        self.progress.inc(1);
        Ok(())
    }

    fn row<T: BatchResult>(&self, job: &Job, report: &T, summary_path: &Path) -> Row {
        let saved = self.report_dir.as_ref().map(|dir| dir.join(report_file_name(&job.name())));
        report.row(job.expected_offset_ms, saved.as_deref(), summary_path)
    }
}

/// Measures one job; a failure becomes an error report, except a usage error in a job from
/// the command line: it comes from options that every job shares, so it ends the run (exit 2),
/// as it would for a single input. A manifest row's usage error (an unknown profile) is that
/// row's alone.
fn run_one<T: BatchResult>(job: &Job, measure: &impl Fn(&Job) -> Result<T>) -> Result<T> {
    let result = match &job.problem {
        Some(problem) => Err(Error::input(&job.input, problem.clone())),
        None => measure(job),
    };
    match (result, &job.origin) {
        (Ok(report), _) => Ok(report),
        (Err(e @ Error::Usage(_)), None) => Err(e),
        (Err(e), origin) => {
            let problem = problem(&e, &job.input);
            let reason = match origin {
                Some(origin) => format!("{origin}: {problem}"),
                None => problem,
            };
            Ok(T::error(job.name(), reason))
        }
    }
}

/// The problem of an error without the path when it is the input's (the report names the
/// input); an error about another file (`--audio`, a reference) keeps that file's name.
fn problem(error: &Error, input: &Path) -> String {
    match error {
        Error::Input { path, problem } if path == input => problem.clone(),
        other => other.to_string(),
    }
}

/// The name of an input's report in `--report-dir`: its file stem made filesystem-safe, then
/// a hash of the whole path, so that `a/clip.mp4` and `b/clip.mp4` do not collide and a rerun
/// (`--resume`, another shard machine) finds the same name for the same input.
pub fn report_file_name(input: &str) -> String {
    let stem = Path::new(input).file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
    let safe: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_".contains(c) { c } else { '_' })
        .collect();
    format!("{safe}.{:016x}.json", fnv1a(input.as_bytes()))
}

/// 64-bit FNV-1a: a hash that is the same on every machine and Rust version (std's hasher
/// promises neither).
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_are_stable_and_distinct() {
        let a = report_file_name("a/clip one.mp4");
        assert_eq!(a, report_file_name("a/clip one.mp4"));
        assert!(a.starts_with("clip_one.") && a.ends_with(".json"), "{a}");
        assert_ne!(a, report_file_name("b/clip one.mp4"));
        // FNV-1a's published value for "a".
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

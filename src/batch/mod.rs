//! Batches: many inputs in one run of a measuring command.
//!
//! - [`inputs`]: which jobs (paths, globs, directories, a manifest) and which CI shard of them;
//! - [`runner`]: the jobs in parallel, each result written as soon as it is ready;
//! - [`summary`]: the `--summary` table as CSV, JSON Lines or HTML.
//!
//! A command flattens [`BatchArgs`] into its clap struct, turns its inputs into jobs with
//! [`BatchArgs::jobs`] and runs them with the [`Runner`] from [`BatchArgs::runner`].

pub mod inputs;
pub mod runner;
pub mod summary;

pub use inputs::{Columns, Job, Shard};
pub use runner::{BatchResult, Runner};

use crate::error::Result;
use crate::report::OutputOptions;
use crate::safe_write;
use clap::Args;
use indicatif::ProgressBar;
use std::io::IsTerminal as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

/// Batch options, shared by the measuring commands.
#[derive(Args, Clone, Debug, Default)]
pub struct BatchArgs {
    /// Jobs from a CSV (with a header row) or JSON Lines file, one a row: `input` and the
    /// command's columns (check: profile, expected_offset_ms). Relative paths are from the
    /// manifest's directory.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Extensions of the files taken from directories given as inputs (searched recursively)
    /// [default: mp4,mov,m4v,mkv,webm,avi,mxf,ts,mts,flv,mpg,wmv].
    #[arg(long, value_name = "EXT,...", value_delimiter = ',')]
    pub ext: Vec<String>,
    /// Measure only the K-th of N parts of the inputs (sorted by path, every N-th from the
    /// K-th: the same split on every machine), for CI matrices; see `avsync merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Inputs measured at once [default: the number of cores].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Write the summary table (one row an input) to PATH as CSV, JSON Lines or HTML, by its
    /// extension (.csv, .jsonl, .html); kept up to date as inputs finish. Repeat for several
    /// formats.
    #[arg(long, value_name = "PATH")]
    pub summary: Vec<PathBuf>,
    /// Write each input's JSON report into DIR as soon as it finishes.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Skip the inputs that already have a report (other than an error) in --report-dir.
    #[arg(long, requires = "report_dir")]
    pub resume: bool,
}

impl BatchArgs {
    /// The jobs of this run: the manifest's rows (which `columns` says the command reads) or
    /// the expanded `inputs`, then this run's `--shard`. Every file a job reads is protected
    /// from being written over.
    pub fn jobs(&self, inputs: &[PathBuf], columns: Columns) -> Result<Vec<Job>> {
        let mut jobs = match &self.manifest {
            Some(manifest) => {
                safe_write::protect_input(manifest);
                let mut jobs = inputs::expand(inputs, &self.extensions())?;
                jobs.extend(inputs::read_manifest(manifest, columns)?);
                jobs
            }
            None => inputs::expand(inputs, &self.extensions())?,
        };
        if let Some(shard) = self.shard {
            jobs = shard.select(jobs);
        }
        for file in jobs.iter().flat_map(Job::files) {
            safe_write::protect_input(file);
        }
        Ok(jobs)
    }

    fn extensions(&self) -> Vec<String> {
        if self.ext.is_empty() {
            inputs::DEFAULT_EXTENSIONS.map(String::from).into()
        } else {
            self.ext.iter().map(|e| e.trim_start_matches('.').to_string()).collect()
        }
    }

    /// The runner for this batch, after checking its output paths. JSON lines bound for
    /// standard output are streamed as inputs finish instead of written at the end: they are
    /// taken out of `outputs`, which then writes the rest.
    pub fn runner(&self, outputs: &mut OutputOptions) -> Result<Runner> {
        let stream_jsonl = outputs.jsonl && outputs.json.as_deref() == Some(Path::new("-"));
        let mut runner = self.plain_runner(stream_jsonl, outputs.quiet)?;
        runner.json_plots = outputs.json_plots;
        if stream_jsonl {
            outputs.json = None;
            // Standard output carries the JSON lines and nothing else.
            outputs.quiet = true;
        }
        Ok(runner)
    }

    /// The runner for a command with outputs of its own (probe, preflight), after checking the
    /// batch's output paths: `stream_jsonl` streams each result as a JSON line on standard
    /// output; `quiet` hides the progress bar.
    pub fn plain_runner(&self, stream_jsonl: bool, quiet: bool) -> Result<Runner> {
        for path in &self.summary {
            summary::check(path)?;
        }
        if let Some(dir) = &self.report_dir {
            safe_write::check_output_dir(dir)?;
        }
        let progress = if std::io::stderr().is_terminal() && !quiet {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        Ok(Runner {
            threads: self.jobs,
            progress,
            stream_jsonl,
            json_plots: false,
            report_dir: self.report_dir.clone(),
            resume: self.resume,
            summary: self.summary.clone(),
            lone_input_error_ends_run: false,
        })
    }
}

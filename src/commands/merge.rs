//! `avsync merge`: the JSON reports of a batch's CI shards (or of any runs) joined into one
//! summary, as they were graded: nothing is measured or graded again.

use crate::batch::{inputs, summary};
use crate::error::{Error, Result};
use crate::report::Report;
use std::path::{Path, PathBuf};

/// The files a directory given to `merge` is searched for (recursively).
const REPORT_EXTENSIONS: [&str; 2] = ["json", "jsonl"];

/// Loads the reports in `paths` (report files, globs, or directories searched for `.json` and
/// `.jsonl` files), sorted by input path, and writes the `summary` table when asked, its rows
/// linked to the files they came from.
pub fn run(paths: &[PathBuf], summary: Option<&Path>) -> Result<Vec<Report>> {
    let extensions = REPORT_EXTENSIONS.map(String::from);
    let mut loaded: Vec<(PathBuf, Report)> = Vec::new();
    for job in inputs::expand(paths, &extensions)? {
        if let Some(problem) = job.problem {
            return Err(Error::input(&job.input, problem));
        }
        let reports = super::report::load(&job.input)?;
        loaded.extend(reports.into_iter().map(|r| (job.input.clone(), r)));
    }
    loaded.sort_by(|(_, a), (_, b)| a.input.path.cmp(&b.input.path));
    if let Some(path) = summary {
        let rows: Vec<summary::Row> = loaded
            .iter()
            .map(|(file, report)| summary::Row::new(report, None, Some(file), path))
            .collect();
        summary::write(path, &rows)?;
    }
    Ok(loaded.into_iter().map(|(_, report)| report).collect())
}

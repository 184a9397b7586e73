//! What a batch measures: the inputs named on the command line (files, globs, directories
//! searched recursively) or in a manifest, and the CI shard of them this run takes.

use crate::error::{Error, Result};
use crate::grade::{GradeOptions, Profile};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Extensions taken from a directory when `--ext` does not say: the containers avsync decodes.
pub const DEFAULT_EXTENSIONS: [&str; 12] =
    ["mp4", "mov", "m4v", "mkv", "webm", "avi", "mxf", "ts", "mts", "flv", "mpg", "wmv"];

/// One job of a batch: an input and what the manifest said about it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Job {
    pub input: PathBuf,
    /// `compare`'s reference audio (`preflight`'s separate audio).
    pub audio_ref: Option<PathBuf>,
    /// `compare`'s reference video.
    pub video_ref: Option<PathBuf>,
    /// `preflight`'s service.
    pub target: Option<String>,
    /// A tolerance profile that replaces the command line's for this job.
    pub profile: Option<String>,
    /// The offset the input is known to have; the summary shows it beside the measured one.
    pub expected_offset_ms: Option<f64>,
    /// Where the job was read, for messages: `jobs.csv line 4`. None for the command line.
    pub origin: Option<String>,
    /// A problem found before measuring (a glob that matches nothing): the job becomes an
    /// error row without being run.
    pub problem: Option<String>,
}

impl Job {
    fn path(input: PathBuf) -> Job {
        Job { input, ..Job::default() }
    }

    /// The input as reports name it.
    pub fn name(&self) -> String {
        self.input.display().to_string()
    }

    /// The grading for this job: the manifest's profile in place of the command line's.
    pub fn grading(&self, grading: &GradeOptions) -> Result<GradeOptions> {
        let mut grading = grading.clone();
        if let Some(profile) = &self.profile {
            grading.profiles = vec![Profile::parse(profile)?];
        }
        Ok(grading)
    }

    /// Every file the job reads, which nothing avsync writes may replace.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.input.as_path())
            .chain(self.audio_ref.as_deref())
            .chain(self.video_ref.as_deref())
    }
}

/// The manifest columns a command reads besides `input` (which every command needs).
pub type Columns = &'static [&'static str];

/// `--shard K/N`: the K-th of N disjoint parts of the inputs (K from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let bad = || format!("'{text}' is not a shard: give K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// This shard's jobs: sorted by input path, then every N-th from the K-th, so that the
    /// same inputs split the same way on every machine and the shards' sizes differ by one at
    /// most.
    pub fn select(self, mut jobs: Vec<Job>) -> Vec<Job> {
        jobs.sort_by(|a, b| a.input.cmp(&b.input));
        jobs.into_iter().skip(self.index - 1).step_by(self.count).collect()
    }
}

/// The jobs named on the command line: each existing file as it is; each directory searched
/// recursively for files with one of `extensions` (case-insensitive), in path order; anything
/// else that holds `*`, `?` or `[` as a glob. A path that does not exist stays a job (it will
/// be an error row); so do a glob that matches nothing and a directory with no matching file,
/// with the problem said. The same file named twice is measured once.
pub fn expand(args: &[PathBuf], extensions: &[String]) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for arg in args {
        let text = arg.to_string_lossy();
        if arg.is_dir() {
            let mut found = Vec::new();
            walk(arg, extensions, &mut found)?;
            found.sort();
            if found.is_empty() {
                jobs.push(problem(
                    arg,
                    format!("holds no file ending in .{}", extensions.join(", .")),
                ));
            }
            jobs.extend(found.into_iter().map(Job::path));
        } else if !arg.exists() && text.contains(['*', '?', '[']) {
            let pattern = glob::glob(&text)
                .map_err(|e| Error::usage(format!("{text}: not a valid pattern: {e}")))?;
            let mut matched = Vec::new();
            for path in pattern {
                let path = path.map_err(|e| Error::input(e.path(), e.error().to_string()))?;
                if path.is_dir() {
                    walk(&path, extensions, &mut matched)?;
                } else {
                    matched.push(path);
                }
            }
            matched.sort();
            if matched.is_empty() {
                jobs.push(problem(arg, "no file matches this pattern".into()));
            }
            jobs.extend(matched.into_iter().map(Job::path));
        } else {
            jobs.push(Job::path(arg.clone()));
        }
    }
    let mut seen = HashSet::new();
    jobs.retain(|job| seen.insert(job.input.clone()));
    Ok(jobs)
}

fn problem(input: &Path, problem: String) -> Job {
    Job { problem: Some(problem), ..Job::path(input.to_path_buf()) }
}

/// Adds the files under `dir` with one of `extensions` to `found`. Symbolic links to
/// directories are not followed, so a link back up the tree cannot loop.
fn walk(dir: &Path, extensions: &[String], found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::input(dir, e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::input(dir, e.to_string()))?;
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            walk(&path, extensions, found)?;
        } else if has_extension(&path, extensions) {
            found.push(path);
        }
    }
    Ok(())
}

fn has_extension(path: &Path, extensions: &[String]) -> bool {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    ext.is_some_and(|ext| extensions.iter().any(|wanted| wanted.eq_ignore_ascii_case(&ext)))
}

/// Reads a manifest: CSV with a header row (`.csv`) or JSON Lines, one object a line
/// (`.jsonl`, `.ndjson`, `.json`). Each row needs `input`; `columns` are the other fields the
/// command reads. Relative paths are taken from the manifest's directory, so a manifest
/// travels with its media. A row that cannot be read (not JSON, an unknown column, a value
/// of the wrong type, no input) becomes a job with its problem, so that it is an error row
/// naming the file and line while the other rows are measured. A manifest that cannot be
/// read at all, or lists nothing, is an error.
pub fn read_manifest(path: &Path, columns: Columns) -> Result<Vec<Job>> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    let rows = match ext.as_deref() {
        Some("csv") => csv_rows(path)?,
        Some("jsonl" | "ndjson" | "json") => json_rows(path)?,
        _ => {
            return Err(Error::usage(format!(
                "{}: a manifest is .csv or .jsonl (JSON Lines)",
                path.display()
            )))
        }
    };
    if rows.is_empty() {
        return Err(Error::usage(format!("{}: the manifest lists no input", path.display())));
    }
    let base = path.parent().unwrap_or(Path::new(""));
    let jobs = rows
        .into_iter()
        .map(|(line, fields)| {
            let origin = format!("{} line {line}", path.display());
            let job = fields.and_then(|fields| job_from_fields(fields, columns, base, &origin));
            job.unwrap_or_else(|(input, problem)| Job {
                // A row without a readable input is named by where it is.
                input: input.unwrap_or_else(|| PathBuf::from(format!("{}:{line}", path.display()))),
                origin: Some(origin),
                problem: Some(problem),
                ..Job::default()
            })
        })
        .collect();
    Ok(jobs)
}

/// A manifest row's problem: the input, when the row names one, and what is wrong.
type RowProblem = (Option<PathBuf>, String);

/// A manifest row: its line number and its non-empty fields by column, or why they cannot be
/// read.
type Row = (u64, std::result::Result<Vec<(String, String)>, RowProblem>);

fn csv_rows(path: &Path) -> Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::input(path, e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| Error::usage(format!("{} line 1: {e}", path.display())))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            // Bytes that are not UTF-8 spoil one row; reading goes on at the next line.
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rows.push((line, Err((None, e.to_string()))));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != headers.len() {
            let problem = format!("{} fields where the header has {}", record.len(), headers.len());
            rows.push((line, Err((None, problem))));
            continue;
        }
        let fields = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(column, value)| (column.to_string(), value.to_string()))
            .collect();
        rows.push((line, Ok(fields)));
    }
    Ok(rows)
}

fn json_rows(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e.to_string()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        rows.push((i as u64 + 1, json_row(line)));
    }
    Ok(rows)
}

/// One JSON Lines row's fields: strings and numbers (as their text); null is an empty field.
fn json_row(line: &str) -> std::result::Result<Vec<(String, String)>, RowProblem> {
    let Value::Object(object) =
        serde_json::from_str(line).map_err(|e| (None, format!("not JSON: {e}")))?
    else {
        return Err((None, "not a JSON object".into()));
    };
    let input = object.get("input").and_then(Value::as_str).map(PathBuf::from);
    object
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(column, value)| match value {
            Value::String(s) => Ok((column, s)),
            Value::Number(n) => Ok((column, n.to_string())),
            other => Err((input.clone(), format!("{column} is {other}, not a string or a number"))),
        })
        .collect()
}

/// The job of a row's fields, or the row's problem (with its input when it has one).
fn job_from_fields(
    fields: Vec<(String, String)>,
    columns: Columns,
    base: &Path,
    origin: &str,
) -> std::result::Result<Job, RowProblem> {
    let mut job = Job { origin: Some(origin.to_string()), ..Job::default() };
    let input = fields.iter().find(|(column, _)| column == "input").map(|(_, v)| base.join(v));
    let problem = |text: String| (input.clone(), text);
    for (column, value) in fields {
        if column != "input" && !columns.contains(&column.as_str()) {
            let known = std::iter::once("input").chain(columns.iter().copied());
            return Err(problem(format!(
                "unknown column '{column}' (this command reads {})",
                known.collect::<Vec<_>>().join(", ")
            )));
        }
        match column.as_str() {
            "input" => {}
            "audio_ref" => job.audio_ref = Some(base.join(value)),
            "video_ref" => job.video_ref = Some(base.join(value)),
            "target" => job.target = Some(value),
            "profile" => {
                Profile::parse(&value).map_err(|e| problem(e.to_string()))?;
                job.profile = Some(value);
            }
            "expected_offset_ms" => {
                let ms = value.parse::<f64>().ok().filter(|ms| ms.is_finite());
                job.expected_offset_ms = Some(ms.ok_or_else(|| {
                    problem(format!("expected_offset_ms '{value}' is not a number"))
                })?);
            }
            _ => unreachable!("columns lists only the fields above"),
        }
    }
    job.input = input.clone().ok_or_else(|| problem("no input".into()))?;
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn names(jobs: &[Job]) -> Vec<String> {
        jobs.iter().map(|j| j.input.file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn directories_are_searched_recursively_with_the_extension_filter() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
        for name in ["b.mp4", "a.MOV", "notes.txt", "sub/c.mp4", "sub/deeper/d.mkv"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let exts: Vec<String> = DEFAULT_EXTENSIONS.map(String::from).into();
        let jobs = expand(&[dir.path().to_path_buf()], &exts).unwrap();
        assert_eq!(names(&jobs), ["a.MOV", "b.mp4", "c.mp4", "d.mkv"]);
        let only_mp4 = expand(&[dir.path().to_path_buf()], &["mp4".into()]).unwrap();
        assert_eq!(names(&only_mp4), ["b.mp4", "c.mp4"]);

        let pattern = dir.path().join("*.mp4");
        let globbed = expand(&[pattern.clone(), dir.path().join("b.mp4")], &exts).unwrap();
        assert_eq!(names(&globbed), ["b.mp4"], "named twice, measured once");
        let none = expand(&[dir.path().join("*.wav")], &exts).unwrap();
        assert_eq!(none[0].problem.as_deref(), Some("no file matches this pattern"));
        let missing = expand(&[dir.path().join("gone.mp4")], &exts).unwrap();
        assert_eq!((missing.len(), missing[0].problem.is_none()), (1, true));
    }

    #[test]
    fn shards_are_disjoint_and_together_are_every_input() {
        let jobs: Vec<Job> = ["e", "a", "d", "c", "b"].map(|n| Job::path(n.into())).into();
        let first = Shard::parse("1/2").unwrap().select(jobs.clone());
        let second = Shard::parse("2/2").unwrap().select(jobs.clone());
        assert_eq!(names(&first), ["a", "c", "e"]);
        assert_eq!(names(&second), ["b", "d"]);
        for bad in ["0/2", "3/2", "2", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn manifests_name_the_file_and_line_of_a_bad_row() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("jobs.csv");
        fs::write(&csv, "input,profile,expected_offset_ms\na.mp4,cinema,40\n\"b, c.mp4\",,\n")
            .unwrap();
        let jobs = read_manifest(&csv, &["profile", "expected_offset_ms"]).unwrap();
        assert_eq!(jobs[0].input, dir.path().join("a.mp4"));
        assert_eq!(
            (jobs[0].profile.as_deref(), jobs[0].expected_offset_ms),
            (Some("cinema"), Some(40.0))
        );
        assert_eq!(jobs[1].input, dir.path().join("b, c.mp4"));
        assert_eq!(jobs[1].origin.as_deref(), Some(format!("{} line 3", csv.display()).as_str()));

        // A bad row is that row's problem; the rows around it stay jobs.
        let problems = |jobs: &[Job]| -> Vec<Option<String>> {
            jobs.iter().map(|j| j.problem.clone()).collect()
        };
        fs::write(&csv, "input,expected_offset_ms\na.mp4,1\nb.mp4,soon\nc.mp4,2,3\nd.mp4,4\n")
            .unwrap();
        let jobs = read_manifest(&csv, &["expected_offset_ms"]).unwrap();
        assert_eq!(
            problems(&jobs),
            [
                None,
                Some("expected_offset_ms 'soon' is not a number".into()),
                Some("3 fields where the header has 2".into()),
                None
            ]
        );
        assert_eq!(jobs[1].input, dir.path().join("b.mp4"));
        assert_eq!(jobs[3].expected_offset_ms, Some(4.0));
        fs::write(&csv, "input,video_ref\na.mp4,v.mp4\n").unwrap();
        let jobs = read_manifest(&csv, &["profile"]).unwrap();
        let problem = jobs[0].problem.as_deref().unwrap();
        assert!(problem.contains("unknown column 'video_ref'"), "{problem}");

        let jsonl = dir.path().join("jobs.jsonl");
        fs::write(
            &jsonl,
            "{\"input\": \"a.mp4\", \"audio_ref\": \"a.wav\"}\n\n{\"profile\": \"atsc\"}\n\
             {\"input\": \"b.mp4\", \"profile\": \"nope\"}\n{\"input\": [1]}\nnot json\n",
        )
        .unwrap();
        let jobs = read_manifest(&jsonl, &["audio_ref", "profile"]).unwrap();
        assert_eq!(jobs.len(), 5);
        assert_eq!(
            (jobs[0].problem.as_ref(), jobs[0].audio_ref.clone()),
            (None, Some(dir.path().join("a.wav")))
        );
        assert_eq!(jobs[1].problem.as_deref(), Some("no input"));
        assert_eq!(jobs[1].input, PathBuf::from(format!("{}:3", jsonl.display())));
        assert_eq!(jobs[1].origin.as_deref(), Some(format!("{} line 3", jsonl.display()).as_str()));
        assert!(jobs[2].problem.as_deref().unwrap().contains("nope"));
        assert_eq!(jobs[2].input, dir.path().join("b.mp4"));
        assert!(jobs[3].problem.as_deref().unwrap().contains("input is [1]"));
        assert!(jobs[4].problem.as_deref().unwrap().starts_with("not JSON"));
        fs::write(&jsonl, "\n").unwrap();
        let err = read_manifest(&jsonl, &["profile"]).unwrap_err().to_string();
        assert!(err.contains("lists no input"), "{err}");
    }
}

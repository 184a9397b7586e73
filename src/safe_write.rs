//! The one way avsync writes a file: never onto an input, always whole.
//!
//! Every file avsync writes (reports in every format, plots, generated media) goes through
//! [`write_file`] or [`PendingFile`]. They:
//!
//! - refuse a path that is, or resolves to (through symlinks, or as a hard link: the same
//!   device and inode), a file the run reads ([`protect_input`]): a usage error, exit 2;
//! - write into a temporary file beside the target and rename it into place, so a reader (or a
//!   second avsync writing the same report at the same moment) sees the old file or the whole
//!   new one, never a mix or a fragment;
//! - remove the temporary file after an error, and on Ctrl-C or SIGTERM when
//!   [`remove_pending_on_interrupt`] was installed.
//!
//! [`check_output`] runs the same checks before any work is done, so that a run does not spend
//! minutes measuring before it finds it cannot write its report.

use crate::error::{Error, Result};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The files this process reads as inputs.
static PROTECTED: Mutex<Vec<Protected>> = Mutex::new(Vec::new());
/// Temporary files being written, removed if the process is interrupted.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// An input as given and what it resolves to.
struct Protected {
    given: PathBuf,
    canonical: Option<PathBuf>,
    identity: Option<FileIdentity>,
}

/// Device and inode: the same for every name of one file (symlinks followed, hard links).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> Option<FileIdentity> {
        let metadata = fs::metadata(path).ok()?;
        identity(&metadata)
    }
}

#[cfg(unix)]
fn identity(metadata: &fs::Metadata) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    Some(FileIdentity { device: metadata.dev(), inode: metadata.ino() })
}

#[cfg(not(unix))]
fn identity(_metadata: &fs::Metadata) -> Option<FileIdentity> {
    None
}

/// Records `path` as an input of this run: nothing avsync writes may land on it. Paths that do
/// not exist (yet) are recorded by name. Standard input/output (`-`) is not a file.
pub fn protect_input(path: &Path) {
    if path == Path::new("-") {
        return;
    }
    let entry = Protected {
        given: path.to_path_buf(),
        canonical: fs::canonicalize(path).ok(),
        identity: FileIdentity::of(path),
    };
    let mut protected = PROTECTED.lock().unwrap_or_else(|e| e.into_inner());
    if !protected.iter().any(|p| p.given == entry.given && p.identity == entry.identity) {
        protected.push(entry);
    }
}

/// The input that `target` would overwrite, if any.
fn input_at(target: &Path) -> Option<PathBuf> {
    let identity = FileIdentity::of(target);
    let canonical = fs::canonicalize(target).ok();
    let absolute = std::path::absolute(target).ok();
    let protected = PROTECTED.lock().unwrap_or_else(|e| e.into_inner());
    protected
        .iter()
        .find(|p| {
            (identity.is_some() && p.identity == identity)
                || (canonical.is_some() && p.canonical == canonical)
                || (absolute.is_some() && std::path::absolute(&p.given).ok() == absolute)
        })
        .map(|p| p.given.clone())
}

/// Refuses `target` when it is an input; otherwise the path to write: `target`, or where a
/// symlink at `target` points, so that the link is kept and what it names is replaced.
fn resolve_target(target: &Path) -> Result<PathBuf> {
    if let Some(input) = input_at(target) {
        let same = if input == target { String::new() } else { format!(" ({})", input.display()) };
        return Err(Error::usage(format!(
            "refusing to write {}: it is an input of this run{same}; choose another output path",
            target.display()
        )));
    }
    match fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(target) {
            Ok(resolved) => Ok(resolved),
            // A dangling link: replace the link itself.
            Err(_) => Ok(target.to_path_buf()),
        },
        Ok(m) if m.is_dir() => {
            Err(Error::output(target, "is a directory; give a file name".to_string()))
        }
        _ => Ok(target.to_path_buf()),
    }
}

/// The directory a file at `path` is created in.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks, before any work is done, that a file can be written at `target`: it is not an input
/// and its directory exists or can be created, and is writable. Creates nothing that stays.
pub fn check_output(target: &Path) -> Result<()> {
    let resolved = resolve_target(target)?;
    check_directory_writable(parent_dir(&resolved), target)
}

/// Checks, before any work is done, that files can be written into the directory `dir` (which
/// may not exist yet). The files themselves are checked against the inputs as they are written.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    if input_at(dir).is_some() || dir.is_file() {
        return Err(Error::usage(format!(
            "refusing to use {} as an output directory: it is a file",
            dir.display()
        )));
    }
    check_directory_writable(dir, dir)
}

/// The nearest existing ancestor of `dir` must be a directory we can create files in; errors
/// name `output`.
fn check_directory_writable(dir: &Path, output: &Path) -> Result<()> {
    let mut existing = dir;
    while !existing.exists() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        return Err(Error::output(output, format!("{} is not a directory", existing.display())));
    }
    tempfile::Builder::new().prefix(".avsync-check-").tempfile_in(existing).map(drop).map_err(|e| {
        Error::output(output, format!("cannot create files in {}: {e}", dir.display()))
    })
}

/// A file being written: a temporary file beside the target, renamed into place by
/// [`PendingFile::commit`]. Dropped without a commit, the temporary file is removed and the
/// target is untouched.
pub struct PendingFile {
    temp: Option<tempfile::TempPath>,
    target: PathBuf,
}

impl PendingFile {
    /// Starts a file at `target` (refused if it is an input), creating missing parent
    /// directories. The temporary file keeps the target's extension, so that tools that choose
    /// a format by extension (FFmpeg's muxers) choose the same one.
    pub fn create(target: &Path) -> Result<PendingFile> {
        let resolved = resolve_target(target)?;
        let dir = parent_dir(&resolved);
        fs::create_dir_all(dir).map_err(|e| Error::output(dir, e.to_string()))?;
        let name = resolved.file_name().map(|n| n.to_string_lossy().into_owned());
        let suffix =
            resolved.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.as_deref().unwrap_or("avsync")))
            .suffix(&format!(".avsync-tmp{suffix}"))
            .permissions(default_permissions())
            .tempfile_in(dir)
            .map_err(|e| Error::output(target, format!("cannot create a file there: {e}")))?
            .into_temp_path();
        PENDING.lock().unwrap_or_else(|e| e.into_inner()).push(temp.to_path_buf());
        Ok(PendingFile { temp: Some(temp), target: resolved })
    }

    /// Where to write the content until [`commit`](Self::commit).
    pub fn path(&self) -> &Path {
        self.temp.as_deref().expect("a pending file has its temporary path until committed")
    }

    /// Moves the finished file into place (one rename: atomic on one file system).
    pub fn commit(mut self) -> Result<()> {
        let temp = self.temp.take().expect("committed once");
        // Checked again: an input may have been linked to the target while we worked.
        resolve_target(&self.target)?;
        let temp_path = temp.to_path_buf();
        let result = temp
            .persist(&self.target)
            .map_err(|e| Error::output(&self.target, e.error.to_string()));
        forget_pending(&temp_path);
        result
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            forget_pending(&temp);
            // TempPath's own drop removes the file.
        }
    }
}

fn forget_pending(path: &Path) {
    PENDING.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| p != path);
}

/// Read and write for everyone the umask allows, as a file created by `open` would be.
#[cfg(unix)]
fn default_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o666)
}

#[cfg(not(unix))]
fn default_permissions() -> fs::Permissions {
    fs::metadata(".").map(|m| m.permissions()).expect("the working directory exists")
}

/// Writes `bytes` to `target` whole or not at all (see the module documentation).
pub fn write_file(target: &Path, bytes: &[u8]) -> Result<()> {
    let pending = PendingFile::create(target)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(pending.path())
        .map_err(|e| Error::output(target, e.to_string()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::output(target, e.to_string()))?;
    drop(file);
    pending.commit()
}

/// On Ctrl-C (SIGINT), SIGTERM or SIGHUP, removes the temporary files being written and exits
/// with 130, so an interrupted run leaves no fragment behind. Call once, early, from a program
/// (the library never installs signal handlers by itself).
pub fn remove_pending_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        for path in PENDING.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = fs::remove_file(path);
        }
        std::process::exit(130);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_refuses_inputs_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("clip.mp4");
        fs::write(&input, b"precious").unwrap();
        protect_input(&input);

        let refused = write_file(&input, b"{}").unwrap_err();
        assert_eq!(refused.exit_code(), crate::error::EXIT_USAGE);
        assert!(refused.to_string().contains("it is an input"), "{refused}");
        // Through a symlink, a hard link and a path with `..` in it.
        #[cfg(unix)]
        {
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(write_file(&link, b"{}").is_err());
            let hard = dir.path().join("hard.json");
            fs::hard_link(&input, &hard).unwrap();
            assert!(write_file(&hard, b"{}").is_err());
            assert!(check_output(&hard).is_err());
        }
        let dotted = dir.path().join("sub/../clip.mp4");
        fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(write_file(&dotted, b"{}").is_err());
        assert_eq!(fs::read(&input).unwrap(), b"precious");

        // A new file in a new directory; then replaced whole; no temporary file is left.
        let report = dir.path().join("out/report.json");
        check_output(&report).unwrap();
        assert!(!report.parent().unwrap().exists(), "checking creates nothing");
        write_file(&report, b"first").unwrap();
        write_file(&report, b"second").unwrap();
        assert_eq!(fs::read(&report).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(report.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert!(PENDING.lock().unwrap().is_empty());
    }

    #[test]
    fn an_abandoned_file_leaves_the_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("keep.mp4");
        fs::write(&target, b"old").unwrap();
        let pending = PendingFile::create(&target).unwrap();
        assert_eq!(pending.path().extension().unwrap(), "mp4");
        fs::write(pending.path(), b"half").unwrap();
        drop(pending);
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_output_is_written_through_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn directories_and_unwritable_places_are_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output(dir.path()).is_err(), "a directory is not a file");
        let file = dir.path().join("file.txt");
        fs::write(&file, b"x").unwrap();
        assert!(check_output(&file.join("report.json")).is_err(), "under a file");
        assert!(check_output_dir(&file).is_err());
        check_output_dir(&dir.path().join("new/html")).unwrap();
    }
}

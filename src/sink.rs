//! Where a plan is written: a staging directory that becomes a new project in one
//! rename, or an existing project changed in place with a journal to roll back.

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
};

use crate::{
    Error,
    plan::{Op, Plan},
};

/// Receives the files of a plan.
pub trait Sink {
    fn write(&mut self, path: &Path, contents: &[u8]) -> Result<(), Error>;
    fn delete(&mut self, path: &Path) -> Result<(), Error>;
}

/// Writes every op of `plan` to `sink`, stopping at the first failure.
pub fn apply(plan: &Plan, sink: &mut dyn Sink) -> Result<(), Error> {
    let faults = Faults::from_env();
    for (done, op) in plan.ops.iter().enumerate() {
        faults.before_write(done, op.path())?;
        match op {
            Op::Create { path, contents } | Op::Edit { path, contents, .. } => {
                sink.write(path, contents)?
            }
            Op::Delete { path } => sink.delete(path)?,
        }
    }
    Ok(())
}

/// Writes every op of `plan` under `root`, a scratch directory of saas's own (a project
/// rendered to compare with): no roll-back, and no fault hooks, which stand for the
/// user's disk.
pub fn write_plain(root: &Path, plan: &Plan) -> Result<(), Error> {
    for op in &plan.ops {
        let full = root.join(op.path());
        let io_error = |source| Error::Write {
            path: full.clone(),
            source,
        };
        match op {
            Op::Create { contents, .. } | Op::Edit { contents, .. } => {
                if let Some(directory) = full.parent() {
                    fs::create_dir_all(directory).map_err(io_error)?;
                }
                fs::write(&full, contents).map_err(io_error)?;
            }
            Op::Delete { .. } => fs::remove_file(&full).map_err(io_error)?,
        }
    }
    Ok(())
}

/// Faults injected by the tests, which set these variables; debug builds only, so an
/// installed `saas` (a release build) reads neither:
/// - `SAAS_FAIL_AFTER_WRITES=k`: the write after the first `k` fails, as on a full disk;
/// - `SAAS_ABORT_AFTER_WRITES=k`: the process exits there at once, running no cleanup,
///   as if killed (a real `kill -9` is tested too).
#[derive(Debug, Default)]
struct Faults {
    fail_after: Option<usize>,
    abort_after: Option<usize>,
}

impl Faults {
    fn from_env() -> Self {
        if !cfg!(debug_assertions) {
            return Self::default();
        }
        let read = |name| {
            std::env::var(name)
                .ok()
                .and_then(|value| value.parse().ok())
        };
        Self {
            fail_after: read("SAAS_FAIL_AFTER_WRITES"),
            abort_after: read("SAAS_ABORT_AFTER_WRITES"),
        }
    }

    fn before_write(&self, done: usize, path: &Path) -> Result<(), Error> {
        if self.abort_after == Some(done) {
            std::process::exit(137);
        }
        if self.fail_after == Some(done) {
            return Err(Error::Write {
                path: path.to_path_buf(),
                source: std::io::Error::other("fault injected by SAAS_FAIL_AFTER_WRITES"),
            });
        }
        Ok(())
    }
}

/// Changes an existing project in place, remembering what each file was so that a
/// failure part-way puts every file back ([`ProjectDir::roll_back`]).
#[derive(Debug)]
pub struct ProjectDir {
    root: PathBuf,
    /// Each path touched so far, with its contents before (None: it did not exist).
    journal: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl ProjectDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            journal: Vec::new(),
        }
    }

    /// Applies `plan`; on any failure, restores every file it had changed.
    pub fn apply(mut self, plan: &Plan) -> Result<(), Error> {
        let result = apply(plan, &mut self);
        if result.is_err() {
            self.roll_back();
        }
        result
    }

    /// Applies `plan`, then runs `then`; if either fails, restores every file the plan
    /// had changed.
    pub fn apply_then(
        mut self,
        plan: &Plan,
        then: impl FnOnce() -> Result<(), Error>,
    ) -> Result<(), Error> {
        let result = apply(plan, &mut self).and_then(|()| then());
        if result.is_err() {
            self.roll_back();
        }
        result
    }

    fn remember(&mut self, path: &Path) -> Result<(), Error> {
        let full = self.root.join(path);
        let before = match fs::read(&full) {
            Ok(contents) => Some(contents),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(Error::Read { path: full, source }),
        };
        self.journal.push((path.to_path_buf(), before));
        Ok(())
    }

    fn roll_back(&mut self) {
        for (path, before) in self.journal.drain(..).rev() {
            let full = self.root.join(&path);
            let _ = match before {
                Some(contents) => fs::write(&full, contents),
                None => fs::remove_file(&full),
            };
        }
    }
}

impl Sink for ProjectDir {
    fn write(&mut self, path: &Path, contents: &[u8]) -> Result<(), Error> {
        self.remember(path)?;
        let full = self.root.join(path);
        let io_error = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(directory) = full.parent() {
            fs::create_dir_all(directory).map_err(io_error)?;
        }
        // Write beside, then rename: a crash leaves the old file or the new, never half.
        let staged = full.with_extension("saas-tmp");
        fs::write(&staged, contents).map_err(io_error)?;
        fs::rename(&staged, &full).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    fn delete(&mut self, path: &Path) -> Result<(), Error> {
        self.remember(path)?;
        fs::remove_file(self.root.join(path)).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A hidden directory beside the destination that receives a new project. It is renamed
/// into place by [`StagingDir::finish`]; dropped unfinished, it removes itself, so a
/// failed `saas new` leaves nothing behind.
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
    /// Files written so far; the rename into place counts as the next write.
    written: usize,
    /// Directories made so far: each is made once, not once per file in it.
    made: HashSet<PathBuf>,
    finished: bool,
}

impl StagingDir {
    /// Creates the staging directory in the destination's parent (a rename is only atomic
    /// within one file system).
    pub fn create(destination: &Path) -> Result<Self, Error> {
        let (parent, prefix) = staging_prefix(destination);
        let path = parent.join(format!("{prefix}{}", std::process::id()));
        if path.exists() {
            // Left by a run of the same pid that was killed: nothing in it is wanted.
            fs::remove_dir_all(&path).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        }
        fs::create_dir(&path).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            path,
            written: 0,
            made: HashSet::new(),
            finished: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the staged project to `destination`, which is absent or an empty directory.
    pub fn finish(mut self, destination: &Path) -> Result<(), Error> {
        Faults::from_env().before_write(self.written, destination)?;
        if destination.is_dir() {
            // Checked empty before anything was written; rename cannot replace it everywhere.
            fs::remove_dir(destination).map_err(|source| Error::Write {
                path: destination.to_path_buf(),
                source,
            })?;
        }
        fs::rename(&self.path, destination).map_err(|source| Error::Write {
            path: destination.to_path_buf(),
            source,
        })?;
        self.finished = true;
        Ok(())
    }
}

/// Where the staging directories for `destination` go, and how their names start:
/// `.saas-tmp-<name>-`, followed by the id of the process writing it.
fn staging_prefix(destination: &Path) -> (PathBuf, String) {
    let parent = destination.parent().unwrap_or(Path::new("."));
    let name = destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    (parent.to_path_buf(), format!(".saas-tmp-{name}-"))
}

/// A staging directory beside the destination, left by another `saas new`.
#[derive(Debug, PartialEq, Eq)]
pub enum Leftover {
    /// Its process is gone (it was killed part-way): the directory was removed.
    Removed(PathBuf),
    /// Its process may still be running, or this system cannot tell: left as it is.
    InUse { path: PathBuf, pid: u32 },
}

impl Leftover {
    /// What to tell the user.
    pub fn note(&self) -> String {
        match self {
            Self::Removed(path) => format!(
                "note: removed {}, left by a `saas new` that was interrupted",
                path.display()
            ),
            Self::InUse { path, pid } => format!(
                "note: {} belongs to another `saas new` (process {pid}); if none is running, delete it",
                path.display()
            ),
        }
    }
}

/// Removes the staging directories that earlier runs for `destination` left when they
/// were killed, and names those whose process may still be running.
pub fn clear_leftovers(destination: &Path) -> Vec<Leftover> {
    let (parent, prefix) = staging_prefix(destination);
    let Ok(entries) = fs::read_dir(&parent) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, u32)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix(&prefix)?.parse().ok()?;
            // StagingDir::create replaces this process's own.
            (pid != std::process::id()).then(|| (entry.path(), pid))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(path, pid)| {
            if process_is_gone(pid) && fs::remove_dir_all(&path).is_ok() {
                Leftover::Removed(path)
            } else {
                Leftover::InUse { path, pid }
            }
        })
        .collect()
}

/// Whether no process `pid` runs; only Linux can tell (by `/proc`), elsewhere this is
/// `false` and a leftover is named, not removed.
fn process_is_gone(pid: u32) -> bool {
    cfg!(target_os = "linux") && !Path::new("/proc").join(pid.to_string()).exists()
}

impl Sink for StagingDir {
    fn delete(&mut self, path: &Path) -> Result<(), Error> {
        fs::remove_file(self.path.join(path)).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    fn write(&mut self, path: &Path, contents: &[u8]) -> Result<(), Error> {
        let target = self.path.join(path);
        let io_error = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(directory) = target.parent()
            && !self.made.contains(directory)
        {
            fs::create_dir_all(directory).map_err(io_error)?;
            self.made.insert(directory.to_path_buf());
        }
        fs::write(&target, contents).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        self.written += 1;
        Ok(())
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfinished_staging_directory_removes_itself() {
        let parent = tempfile::tempdir().unwrap();
        let staging = StagingDir::create(&parent.path().join("acme")).unwrap();
        let staged = staging.path().to_path_buf();
        assert!(staged.is_dir());

        drop(staging);

        assert!(!staged.exists());
        assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_failure_part_way_puts_every_changed_file_back() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("lib.rs"), "before\n").unwrap();
        fs::write(root.path().join("blocker"), "a file, not a directory").unwrap();
        let plan = Plan {
            ops: vec![
                Op::Edit {
                    path: "lib.rs".into(),
                    contents: b"after\n".to_vec(),
                    markers: Vec::new(),
                },
                Op::Create {
                    path: "new.rs".into(),
                    contents: b"new\n".to_vec(),
                },
                Op::Create {
                    path: "blocker/inside.rs".into(),
                    contents: b"fails\n".to_vec(),
                },
            ],
        };

        let result = ProjectDir::new(root.path()).apply(&plan);

        assert!(result.is_err());
        assert_eq!(
            fs::read_to_string(root.path().join("lib.rs")).unwrap(),
            "before\n"
        );
        assert!(!root.path().join("new.rs").exists());
        let mut names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["blocker", "lib.rs"]);
    }

    #[test]
    fn finishing_moves_the_files_into_place() {
        let parent = tempfile::tempdir().unwrap();
        let destination = parent.path().join("acme");
        let mut staging = StagingDir::create(&destination).unwrap();
        let mut plan = Plan::default();
        plan.create("src/main.rs".into(), b"fn main() {}\n".to_vec());

        apply(&plan, &mut staging).unwrap();
        staging.finish(&destination).unwrap();

        assert_eq!(
            fs::read(destination.join("src/main.rs")).unwrap(),
            b"fn main() {}\n"
        );
        assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 1);
    }
}

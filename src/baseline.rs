//! The baseline: what saas wrote in a project, without the user's changes, kept as a
//! chain of commits on `refs/saas/generated` in the project's own git repository.
//! Only git plumbing is used, with an index file of our own (`GIT_INDEX_FILE`), so the
//! user's index, `HEAD` and work tree are never touched. The commits are saas's:
//! author and committer are `saas`, whatever identity the user has (or lacks).

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// The ref whose commits are the generator's outputs.
pub const REF: &str = "refs/saas/generated";

/// A failure of git while reading or writing the baseline.
#[derive(Debug, thiserror::Error)]
#[error("git {command}: {message}")]
pub struct GitError {
    command: String,
    message: String,
}

/// The git repository of a project whose root is its top level.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The `.git` directory.
    git_dir: PathBuf,
    /// A directory of objects to write into instead of the repository's (which stays
    /// readable as an alternate): a dry run writes nothing into `.git`.
    scratch_objects: Option<PathBuf>,
}

impl Repo {
    /// The repository of `root` when `root` is its top level; `None` without git, or
    /// when the project is a subdirectory of a larger repository (its paths would not be
    /// the repository's).
    pub fn of(root: &Path) -> Option<Self> {
        let output = Command::new("git")
            .args(["rev-parse", "--show-toplevel", "--absolute-git-dir"])
            .current_dir(root)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8(output.stdout).ok()?;
        let mut lines = text.lines();
        let top = PathBuf::from(lines.next()?);
        let git_dir = PathBuf::from(lines.next()?);
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        same(&top, root).then_some(Self {
            git_dir,
            scratch_objects: None,
        })
    }

    /// This repository, with new objects written to `objects` (a directory) instead.
    pub fn writing_objects_to(&self, objects: &Path) -> Self {
        Self {
            git_dir: self.git_dir.clone(),
            scratch_objects: Some(objects.to_path_buf()),
        }
    }

    fn git(&self) -> Command {
        let mut command = Command::new("git");
        command
            .arg("--git-dir")
            .arg(&self.git_dir)
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .env("GIT_AUTHOR_NAME", "saas")
            .env("GIT_AUTHOR_EMAIL", "saas@localhost")
            .env("GIT_COMMITTER_NAME", "saas")
            .env("GIT_COMMITTER_EMAIL", "saas@localhost")
            .stdin(Stdio::null());
        if let Some(objects) = &self.scratch_objects {
            command.env("GIT_OBJECT_DIRECTORY", objects).env(
                "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                self.git_dir.join("objects"),
            );
        }
        command
    }

    fn run(
        &self,
        args: &[&OsStr],
        configure: impl FnOnce(&mut Command),
    ) -> Result<Vec<u8>, GitError> {
        let mut command = self.git();
        command.args(args);
        configure(&mut command);
        let describe = || {
            args.iter()
                .map(|arg| arg.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let output: Output = command.output().map_err(|error| GitError {
            command: describe(),
            message: error.to_string(),
        })?;
        if !output.status.success() {
            return Err(GitError {
                command: describe(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(output.stdout)
    }

    fn run_str(&self, args: &[&str]) -> Result<String, GitError> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let stdout = self.run(&args, |_| {})?;
        Ok(String::from_utf8_lossy(&stdout).trim().to_owned())
    }

    /// The commit `rev` names, if it names one.
    pub fn commit(&self, rev: &str) -> Option<String> {
        self.run_str(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .ok()
    }

    /// The baseline's commit, if the project has one.
    pub fn baseline(&self) -> Option<String> {
        self.commit(REF)
    }

    /// Records the files under `tree` (what git would track there: its `.gitignore`
    /// applies, `.git` is skipped) as a commit whose parent is `parent`; returns it.
    pub fn commit_tree(
        &self,
        tree: &Path,
        parent: Option<&str>,
        message: &str,
    ) -> Result<String, GitError> {
        let scratch = tempfile::tempdir().map_err(|error| GitError {
            command: "commit-tree".to_owned(),
            message: error.to_string(),
        })?;
        let index = scratch.path().join("index");
        let with_index = |command: &mut Command| {
            command.env("GIT_INDEX_FILE", &index);
        };
        // Absolute: git runs in it, and a relative path would then name another place.
        let tree = &tree.canonicalize().map_err(|error| GitError {
            command: "add".to_owned(),
            message: format!("{}: {error}", tree.display()),
        })?;
        let add = [
            OsStr::new("--work-tree"),
            tree.as_os_str(),
            OsStr::new("add"),
            OsStr::new("--all"),
        ];
        self.run(&add, |command| {
            command.env("GIT_INDEX_FILE", &index).current_dir(tree);
        })?;
        let tree_id = self.run(&[OsStr::new("write-tree")], with_index)?;
        let tree_id = String::from_utf8_lossy(&tree_id).trim().to_owned();
        let mut args = vec!["commit-tree", tree_id.as_str(), "-m", message];
        if let Some(parent) = parent {
            args.extend(["-p", parent]);
        }
        self.run_str(&args)
    }

    /// Moves the baseline to `commit`, if it still is at `expected` (None: absent).
    pub fn set_baseline(&self, commit: &str, expected: Option<&str>) -> Result<(), GitError> {
        let zero = "0".repeat(40);
        let expected = expected.unwrap_or(&zero);
        self.run_str(&["update-ref", "-m", "saas", REF, commit, expected])
            .map(drop)
    }

    /// Writes the files of `commit` into `dir` (which exists), as they are recorded.
    pub fn checkout(&self, commit: &str, dir: &Path) -> Result<(), GitError> {
        let scratch = tempfile::tempdir().map_err(|error| GitError {
            command: "checkout-index".to_owned(),
            message: error.to_string(),
        })?;
        let index = scratch.path().join("index");
        let with_index = |command: &mut Command| {
            command.env("GIT_INDEX_FILE", &index);
        };
        self.run(&[OsStr::new("read-tree"), OsStr::new(commit)], with_index)?;
        let mut prefix = dir.as_os_str().to_owned();
        prefix.push("/");
        let mut flag = OsStr::new("--prefix=").to_owned();
        flag.push(&prefix);
        self.run(
            &[OsStr::new("checkout-index"), OsStr::new("--all"), &flag],
            with_index,
        )?;
        Ok(())
    }

    /// The paths that differ between two commits, each once, sorted.
    pub fn changed_paths(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        let args = [
            "diff-tree",
            "-r",
            "-z",
            "--no-renames",
            "--name-only",
            from,
            to,
        ];
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let stdout = self.run(&args, |_| {})?;
        let mut paths: Vec<String> = stdout
            .split(|byte| *byte == 0)
            .filter(|path| !path.is_empty())
            .map(|path| String::from_utf8_lossy(path).into_owned())
            .collect();
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// Every path recorded in `commit`.
    pub fn paths(&self, commit: &str) -> Result<Vec<String>, GitError> {
        let args = ["ls-tree", "-r", "-z", "--name-only", commit];
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let stdout = self.run(&args, |_| {})?;
        Ok(stdout
            .split(|byte| *byte == 0)
            .filter(|path| !path.is_empty())
            .map(|path| String::from_utf8_lossy(path).into_owned())
            .collect())
    }

    /// The contents of `path` in `commit`; `None` when it has no such file.
    pub fn file(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let object = format!("{commit}:{path}");
        if self.run_str(&["cat-file", "-e", &object]).is_err() {
            return Ok(None);
        }
        let args = [
            OsStr::new("cat-file"),
            OsStr::new("blob"),
            OsStr::new(&object),
        ];
        self.run(&args, |_| {}).map(Some)
    }

    /// The tracked files that differ from `HEAD` (staged or not), as `git status` names
    /// them; untracked files are not counted.
    pub fn changes(&self, root: &Path) -> Result<Vec<String>, GitError> {
        let args = [
            OsStr::new("--work-tree"),
            root.as_os_str(),
            OsStr::new("status"),
            OsStr::new("--porcelain"),
            OsStr::new("--untracked-files=no"),
        ];
        let stdout = self.run(&args, |command| {
            command.current_dir(root);
        })?;
        Ok(String::from_utf8_lossy(&stdout)
            .lines()
            .map(|line| line.get(3..).unwrap_or(line).to_owned())
            .collect())
    }
}

/// Merges `theirs` into `ours` against `base` with `git merge-file` (git's own line
/// merge); `labels` name the three sides in conflict markers. Returns the merged
/// contents and the number of conflicts.
pub fn merge_file(
    ours: &[u8],
    base: &[u8],
    theirs: &[u8],
    labels: [&str; 3],
) -> Result<(Vec<u8>, usize), GitError> {
    let failed = |message: String| GitError {
        command: "merge-file".to_owned(),
        message,
    };
    let scratch = tempfile::tempdir().map_err(|error| failed(error.to_string()))?;
    let mut paths = Vec::new();
    for (name, contents) in [("ours", ours), ("base", base), ("theirs", theirs)] {
        let path = scratch.path().join(name);
        std::fs::write(&path, contents).map_err(|error| failed(error.to_string()))?;
        paths.push(path);
    }
    let output = Command::new("git")
        .args(["merge-file", "--stdout"])
        .args(["-L", labels[0], "-L", labels[1], "-L", labels[2]])
        .args(&paths)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| failed(error.to_string()))?;
    // The exit status is the number of conflicts (capped at 127); negative is an error.
    match output.status.code() {
        Some(conflicts @ 0..=127) => Ok((output.stdout, conflicts as usize)),
        _ => Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        )),
    }
}

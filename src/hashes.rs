//! The baseline of a project without git: the SHA-256 of every file saas wrote, as saas
//! wrote it, in `.saas/generated.sha256` (one `<hash>  <path>` line per file, as
//! `sha256sum` prints them). Without the old contents there is nothing to merge, so
//! `saas upgrade` replaces a file only while its hash is still saas's, and puts saas's
//! new version of any other file beside it (`<path>.saas-new`) for the user to merge.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use crate::{
    Error,
    baseline::Repo,
    plan::{Op, Plan},
};

/// Where the hashes are kept, relative to the project's root.
pub const FILE: &str = ".saas/generated.sha256";

/// The suffix of saas's new version of a file the user changed.
pub const NEW_SUFFIX: &str = ".saas-new";

/// Files saas writes that are the user's from then on, and never recorded: `.env` is
/// the user's local settings (`saas new` copies it from `.env.example` once).
const NOT_RECORDED: &[&str] = &[".env", FILE];

/// Each file saas wrote, by path (with `/`), and the hash of what it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hashes(BTreeMap<String, String>);

pub fn sha256(contents: &[u8]) -> String {
    Sha256::digest(contents)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn key(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

impl Hashes {
    /// The hashes of the files a new project's `plan` creates.
    pub fn of_plan(plan: &Plan) -> Self {
        let mut hashes = Self::default();
        for op in &plan.ops {
            if let Op::Create { path, contents } = op {
                hashes.record(path, contents);
            }
        }
        hashes
    }

    /// The hashes of every file under `root`, as a render wrote them.
    pub fn of_tree(root: &Path) -> Result<Self, Error> {
        let mut hashes = Self::default();
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = entry.map_err(|error| Error::Read {
                path: root.to_path_buf(),
                source: error.into(),
            })?;
            if entry.file_type().is_file() {
                let path = entry.path();
                let contents = std::fs::read(path).map_err(|source| Error::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                hashes.record(path.strip_prefix(root).expect("under root"), &contents);
            }
        }
        Ok(hashes)
    }

    /// The project's recorded hashes; `None` when it has none (it has git, or was made
    /// before saas 0.2.0).
    fn read(root: &Path) -> Result<Option<Self>, Error> {
        let path = root.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Read { path, source }),
        };
        let mut hashes = Self::default();
        for line in text.lines() {
            let Some((hash, file)) = line.split_once("  ") else {
                return Err(Error::Read {
                    path,
                    source: std::io::Error::other(format!("`{line}` is not `<sha256>  <path>`")),
                });
            };
            hashes.0.insert(file.to_owned(), hash.to_owned());
        }
        Ok(Some(hashes))
    }

    /// The record of what saas wrote in the project at `root`, when these hashes are it:
    /// the project has them and no baseline in a git repository (which is preferred:
    /// it can merge). `None` otherwise.
    pub fn of_project(root: &Path) -> Result<Option<Self>, Error> {
        if Repo::of(root).is_some_and(|repo| repo.baseline().is_some()) {
            return Ok(None);
        }
        Self::read(root)
    }

    /// The file's text.
    pub fn render(&self) -> Vec<u8> {
        self.0
            .iter()
            .map(|(path, hash)| format!("{hash}  {path}\n"))
            .collect::<String>()
            .into_bytes()
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.0.get(path).map(String::as_str)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn record(&mut self, path: &Path, contents: &[u8]) {
        let path = key(path);
        if !NOT_RECORDED.contains(&path.as_str()) {
            self.0.insert(path, sha256(contents));
        }
    }

    /// Records `hash` for `path`, as another record has it.
    pub fn set(&mut self, path: &str, hash: &str) {
        self.0.insert(path.to_owned(), hash.to_owned());
    }

    pub fn forget(&mut self, path: &Path) {
        self.0.remove(&key(path));
    }

    /// The hashes after `plan` is applied to the project at `root` (read before it is):
    /// a file saas wrote and the user left as it was gets the hash of its new contents,
    /// as does a new one; a file the user changed keeps its old hash, so that it still
    /// counts as theirs.
    pub fn after(&self, plan: &Plan, root: &Path) -> Self {
        let mut next = self.clone();
        for op in &plan.ops {
            let path = op.path();
            let unchanged = match std::fs::read(root.join(path)) {
                Ok(contents) => self.get(&key(path)) == Some(sha256(&contents).as_str()),
                Err(_) => !self.0.contains_key(&key(path)),
            };
            match op {
                Op::Create { contents, .. } | Op::Edit { contents, .. } if unchanged => {
                    next.record(path, contents);
                }
                Op::Delete { .. } => next.forget(path),
                _ => {}
            }
        }
        next
    }
}

/// The path of saas's new version of the user's file `path`.
pub fn beside(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(NEW_SUFFIX);
    PathBuf::from(name)
}

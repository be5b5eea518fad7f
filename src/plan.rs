//! A generation is a plan first: the list of files it will write, checked and
//! printable, then applied in one step through a `Sink`.

use std::path::{Path, PathBuf};

/// One change a plan makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write a new file at `path`, relative to the project's root.
    Create { path: PathBuf, contents: Vec<u8> },
    /// Replace an existing file; `markers` says at which marker comments it changed,
    /// in the order the changes were made (none for a whole-file edit).
    Edit {
        path: PathBuf,
        contents: Vec<u8>,
        markers: Vec<String>,
    },
    /// Delete a file.
    Delete { path: PathBuf },
}

impl Op {
    pub fn path(&self) -> &Path {
        match self {
            Self::Create { path, .. } | Self::Edit { path, .. } | Self::Delete { path } => path,
        }
    }
}

/// The changes of one command, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub ops: Vec<Op>,
}

impl Plan {
    /// Adds a file; a later file at the same path replaces the earlier one.
    pub fn create(&mut self, path: PathBuf, contents: Vec<u8>) {
        self.ops.retain(|op| op.path() != path);
        self.ops.push(Op::Create { path, contents });
    }

    /// The contents the plan writes at `path`, if it writes that file.
    pub fn file(&self, path: impl AsRef<Path>) -> Option<&[u8]> {
        self.ops.iter().find_map(|op| match op {
            Op::Create { path: p, contents }
            | Op::Edit {
                path: p, contents, ..
            } if p == path.as_ref() => Some(contents.as_slice()),
            _ => None,
        })
    }

    /// The plan for people: one line per change.
    pub fn describe(&self) -> String {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Create { path, .. } => format!("create  {}\n", path.display()),
                Op::Edit { path, markers, .. } if markers.is_empty() => {
                    format!("edit    {}\n", path.display())
                }
                Op::Edit { path, markers, .. } => {
                    let at: Vec<String> =
                        markers.iter().map(|marker| format!("`{marker}`")).collect();
                    format!("edit    {} at {}\n", path.display(), at.join(", "))
                }
                Op::Delete { path } => format!("delete  {}\n", path.display()),
            })
            .collect()
    }

    /// The plan for programs: `{"create": [..], "edit": [{"path", "markers"}], "delete": [..]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut created = Vec::new();
        let mut edited = Vec::new();
        let mut deleted = Vec::new();
        for op in &self.ops {
            let path = op.path().to_string_lossy().into_owned();
            match op {
                Op::Create { .. } => created.push(path),
                Op::Edit { markers, .. } => {
                    edited.push(serde_json::json!({ "path": path, "markers": markers }));
                }
                Op::Delete { .. } => deleted.push(path),
            }
        }
        serde_json::json!({ "create": created, "edit": edited, "delete": deleted })
    }
}

//! A generation is a plan first: the list of files it will write, checked and
//! printable, then applied in one step through a `Sink`.

use std::path::{Path, PathBuf};

/// One change a plan makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write a new file at `path`, relative to the project's root.
    Create { path: PathBuf, contents: Vec<u8> },
}

/// The changes of one command, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub ops: Vec<Op>,
}

impl Plan {
    /// Adds a file; a later file at the same path replaces the earlier one.
    pub fn create(&mut self, path: PathBuf, contents: Vec<u8>) {
        self.ops
            .retain(|Op::Create { path: existing, .. }| *existing != path);
        self.ops.push(Op::Create { path, contents });
    }

    /// The contents the plan writes at `path`, if it writes that file.
    pub fn file(&self, path: impl AsRef<Path>) -> Option<&[u8]> {
        self.ops
            .iter()
            .find_map(|Op::Create { path: p, contents }| {
                (p == path.as_ref()).then_some(contents.as_slice())
            })
    }
}

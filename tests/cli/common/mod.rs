//! Helpers: the `saas` binary with a clean environment, a new project to run it in, and
//! a fingerprint of a tree.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use assert_cmd::Command;

/// A resource with one field of most types, as the tests add it.
pub const PROJECT_FIELDS: &[&str] = &[
    "title:string",
    "description:text:optional",
    "done:bool",
    "priority:i32",
    "due_on:date:optional",
    "budget:decimal:optional",
    "meta:json:optional",
];

/// A resource with the other types, a unique field and a reference to `Project`.
pub const TASK_FIELDS: &[&str] = &[
    "title:string:unique",
    "project:references",
    "estimate:f64:optional",
    "big:i64",
    "starts_at:datetime:optional",
    "ref_code:uuid:optional",
];

/// Resources of every shape a field can take, added in this order to an orgs project
/// by the end-to-end shape test: every type required and optional; a member column as
/// the only reference, required and optional; two member columns beside an ordinary
/// reference; and a reference to a resource that itself references another.
pub const SHAPES: &[(&str, &[&str])] = &[
    (
        "Gadget",
        &[
            "name:string:unique",
            "nickname:string:optional",
            "body:text",
            "notes:text:optional",
            "active:bool",
            "archived:bool:optional",
            "tiny:i16",
            "tiny_maybe:i16:optional",
            "small:i32",
            "small_maybe:i32:optional",
            "big:i64",
            "big_maybe:i64:optional",
            "ratio:f64",
            "ratio_maybe:f64:optional",
            "price:decimal",
            "discount:decimal:optional",
            "due_on:date",
            "ends_on:date:optional",
            "starts_at:datetime",
            "ends_at:datetime:optional",
            "code:uuid",
            "alias:uuid:optional",
            "meta:json",
            "extra:json:optional",
        ],
    ),
    ("Ticket", &["title:string", "assignee:references:user"]),
    ("Memo", &["body:text", "reviewer:references:user:optional"]),
    (
        "Part",
        &[
            "label:string",
            "gadget:references",
            "owner:references:user",
            "helper:references:user:optional",
        ],
    ),
    ("Bolt", &["size:i32", "part:references"]),
];

/// The `saas` binary, run with an environment that does not depend on the machine.
pub fn saas() -> Command {
    let mut command = Command::cargo_bin("saas").expect("the saas binary is built");
    command
        .env_remove("RUST_LOG")
        // A first commit needs an identity; CI machines may have none configured.
        .env("GIT_AUTHOR_NAME", "Saas Test")
        .env("GIT_AUTHOR_EMAIL", "saas-test@example.com")
        .env("GIT_COMMITTER_NAME", "Saas Test")
        .env("GIT_COMMITTER_EMAIL", "saas-test@example.com")
        .write_stdin("");
    command
}

/// Every file and directory under `root` with its contents: equal fingerprints mean
/// an unchanged tree.
pub fn fingerprint(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|entry| entry.expect("readable tree"))
        .map(|entry| {
            let path = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let contents = entry
                .file_type()
                .is_file()
                .then(|| std::fs::read(entry.path()).unwrap());
            (path, contents)
        })
        .collect()
}

/// A new project (no git) in a temporary directory.
pub fn new_project(db: &str) -> (tempfile::TempDir, PathBuf) {
    new_project_with(db, "none")
}

/// A new SQLite project with `features`, with git as `saas new` makes it by default
/// (so with a baseline, which `saas upgrade` needs), in a temporary directory.
pub fn new_project_in_git(features: &str) -> (tempfile::TempDir, PathBuf) {
    new_project_in_git_on("sqlite", features)
}

/// [`new_project_in_git`] on `db`.
pub fn new_project_in_git_on(db: &str, features: &str) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    saas()
        .args(["new", "acme", "--db", db, "--features", features])
        .current_dir(parent.path())
        .assert()
        .success();
    let root = parent.path().join("acme");
    (parent, root)
}

/// A new project (no git) with `features` (`--features`) in a temporary directory.
pub fn new_project_with(db: &str, features: &str) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    saas()
        .args([
            "new",
            "acme",
            "--db",
            db,
            "--features",
            features,
            "--no-git",
        ])
        .current_dir(parent.path())
        .assert()
        .success();
    let root = parent.path().join("acme");
    (parent, root)
}

/// `saas add resource <args>` in `root`, with the migration time fixed.
pub fn add(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    saas()
        .args(["add", "resource"])
        .args(args)
        .current_dir(root)
        .env("SAAS_NOW", "1798761600")
        .assert()
}

/// `saas remove resource <args>` in `root`, with the migration time fixed.
pub fn remove(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    saas()
        .args(["remove", "resource"])
        .args(args)
        .current_dir(root)
        .env("SAAS_NOW", "1798761700")
        .assert()
}

pub fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

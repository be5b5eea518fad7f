//! What an edit of an existing file keeps: every marker it changed the file at (in the
//! plan for people and for programs), the file's own line endings, and the project as
//! it was when a file cannot be read. A reader that closes stdout early stops the
//! printing, not the command.

use std::process::Stdio;

use predicates::str::contains;

use crate::common::{add, fingerprint, new_project, new_project_with, read, remove, saas};

#[test]
fn an_edit_at_two_markers_names_both_in_text_and_json() {
    let (_parent, root) = new_project_with("sqlite", "orgs,billing");

    add(&root, &["Project", "title:string", "--dry-run"])
        .success()
        .stdout(contains(
            "edit    src/resources/mod.rs at `// saas:resource-modules`, `// saas:resource-tables`\n",
        ));
    let output = add(&root, &["Project", "title:string", "--dry-run", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let plan: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let modules = plan["edit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edit| edit["path"] == "src/resources/mod.rs")
        .expect("the plan edits src/resources/mod.rs");
    assert_eq!(
        modules["markers"],
        serde_json::json!(["// saas:resource-modules", "// saas:resource-tables"])
    );

    add(&root, &["Project", "title:string"]).success();
    remove(&root, &["Project"]).success().stdout(contains(
        "edit    src/resources/mod.rs at `// saas:resource-modules`, `// saas:resource-tables`\n",
    ));
}

#[test]
fn a_file_with_crlf_line_endings_keeps_them_through_add_and_remove() {
    let (_parent, root) = new_project("sqlite");
    let lf = read(&root, "src/lib.rs");
    let crlf = lf.replace('\n', "\r\n");
    std::fs::write(root.join("src/lib.rs"), &crlf).unwrap();

    add(&root, &["Project", "title:string"]).success();
    let added = read(&root, "src/lib.rs");
    let new_lines: Vec<&str> = added
        .split("\r\n")
        .filter(|line| !crlf.split("\r\n").any(|old| old == *line))
        .collect();
    assert_eq!(
        new_lines,
        ["        .merge(resources::projects::router())"],
        "{added}"
    );
    assert!(
        !added.replace("\r\n", "").contains('\n'),
        "every line still ends in CRLF"
    );

    remove(&root, &["Project"]).success();
    assert_eq!(read(&root, "src/lib.rs"), crlf);
}

#[test]
fn a_recorded_file_that_cannot_be_read_stops_the_removal_with_nothing_changed() {
    let (_parent, root) = new_project("sqlite");
    add(&root, &["Project", "title:string"]).success();
    // A directory where the file was: it exists, and reading it fails.
    std::fs::remove_file(root.join("tests/api/projects.rs")).unwrap();
    std::fs::create_dir(root.join("tests/api/projects.rs")).unwrap();
    let before = fingerprint(&root);

    remove(&root, &["Project"])
        .code(2)
        .stdout("")
        .stderr(contains("could not read `"))
        .stderr(contains("tests/api/projects.rs`"));

    assert_eq!(fingerprint(&root), before);
}

/// `saas <args>` in `root` with its stdout a pipe whose reader has already gone.
fn run_with_stdout_closed(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let command = saas();
    let mut command = std::process::Command::new(command.get_program());
    command
        .args(args)
        .current_dir(root)
        .env("SAAS_NOW", "1798761600")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped());
    command.output().unwrap()
}

#[test]
fn a_closed_stdout_ends_the_printing_quietly_and_the_command_as_usual() {
    let (_parent, root) = new_project("sqlite");

    let added = run_with_stdout_closed(
        &root,
        &["add", "resource", "Project", "title:string", "--json"],
    );
    assert_eq!(added.status.code(), Some(0), "{added:?}");
    assert_eq!(String::from_utf8_lossy(&added.stderr), "");
    assert!(root.join("src/resources/projects.rs").is_file());

    let completions = run_with_stdout_closed(&root, &["completions", "bash"]);
    assert_eq!(completions.status.code(), Some(0), "{completions:?}");
    assert_eq!(String::from_utf8_lossy(&completions.stderr), "");

    let removed = run_with_stdout_closed(&root, &["remove", "resource", "Project"]);
    assert_eq!(removed.status.code(), Some(0), "{removed:?}");
    assert!(!root.join("src/resources/projects.rs").exists());
}

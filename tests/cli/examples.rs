//! Every example works: each `saas …` command that `--help` (of every subcommand), the
//! README and CONTRIBUTING.md show is run, in order, inside a generated project, and
//! must succeed. A
//! synopsis (`saas new <name> [--db …]`) shows a shape, not a command, and is skipped.
//! Each must also reach the program as written when typed into bash or zsh.
//! Hints in error messages are held to the same rule.

use std::path::Path;

use clap::CommandFactory;
use predicates::str::contains;

use crate::common::{add, fingerprint, new_project, new_project_in_git, read, saas};

/// The `saas …` commands in `text`, split at `&&`: whole lines (help output, README
/// code blocks) and, with `code_spans`, inline code spans too (the README's prose; the
/// help's prose only names commands).
fn examples(text: &str, code_spans: bool) -> Vec<String> {
    let mut found = Vec::new();
    let mut candidates: Vec<String> = text.lines().map(|line| line.trim().to_owned()).collect();
    if code_spans {
        // A span may wrap onto the next line of the paragraph.
        let spans = text.split('`').skip(1).step_by(2);
        candidates.extend(spans.map(|span| span.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    for candidate in &candidates {
        for command in candidate.split("&&").map(str::trim) {
            let command = command.split(" #").next().unwrap_or_default().trim();
            if command.starts_with("saas ")
                && !command.contains('<')
                && !found.iter().any(|seen| seen == command)
            {
                found.push(command.to_owned());
            }
        }
    }
    found
}

/// Every command path of the CLI (`[]`, `["new"]`, `["add", "resource"]`, …).
fn command_paths(command: &clap::Command, prefix: Vec<String>, paths: &mut Vec<Vec<String>>) {
    paths.push(prefix.clone());
    for sub in command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
    {
        let mut path = prefix.clone();
        path.push(sub.get_name().to_owned());
        command_paths(sub, path, paths);
    }
}

fn help(path: &[String]) -> String {
    let output = saas().args(path).arg("--help").assert().success();
    String::from_utf8(output.get_output().stdout.clone()).unwrap()
}

/// The shells a user types examples into: bash, failing on a glob that matches nothing
/// as zsh does (plain bash would pass `date?` on unless a file matched), and zsh where
/// it is installed.
fn shells() -> Vec<&'static [&'static str]> {
    let mut shells: Vec<&'static [&'static str]> = vec![&["bash", "-O", "failglob", "-c"]];
    let zsh = std::process::Command::new("zsh")
        .args(["-c", "true"])
        .output();
    if zsh.is_ok_and(|output| output.status.success()) {
        shells.push(&["zsh", "-c"]);
    }
    shells
}

/// Fails unless each shell reads `example`, typed unquoted, as exactly its words: no
/// glob, subshell or other syntax in it.
fn assert_shells_read_it_as_written(example: &str, source: &str) {
    let words: Vec<&str> = example.split_whitespace().collect();
    for shell in shells() {
        let output = std::process::Command::new(shell[0])
            .args(&shell[1..])
            .arg(format!("printf '%s\\n' {example}"))
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        let read = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && read.lines().eq(words.iter().copied()),
            "{source}: {} reads `{example}` as {read:?}: {}",
            shell[0],
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs each example in `root`, in order; the project they run in is SQLite.
fn run_all(root: &Path, examples: &[String], source: &str) {
    for example in examples {
        assert!(
            !example.contains(['"', '\'']),
            "{source}: quote-free examples only: {example}"
        );
        assert_shells_read_it_as_written(example, source);
        let args: Vec<&str> = example.split_whitespace().skip(1).collect();
        if args.first() == Some(&"upgrade") {
            // As its help says, an upgrade starts from a clean work tree: what the
            // examples before it changed is committed first, as a user would.
            crate::upgrade::git(root, &["add", "--all"]);
            crate::upgrade::git(
                root,
                &["commit", "--quiet", "--allow-empty", "-m", "Examples"],
            );
        }
        let output = saas().args(&args).current_dir(root).output().unwrap();
        assert!(
            output.status.success(),
            "{source}: `{example}` failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn every_example_in_the_help_works_in_a_generated_project() {
    let mut paths = Vec::new();
    command_paths(&saas::cli::Cli::command(), Vec::new(), &mut paths);
    let mut all = Vec::new();
    for path in &paths {
        for example in examples(&help(path), false) {
            if !all.contains(&example) {
                all.push(example);
            }
        }
    }
    for needed in [
        "saas new",
        "saas add resource",
        "saas add model",
        "saas remove resource",
        "saas completions",
        "saas upgrade",
    ] {
        assert!(
            all.iter().any(|example| example.starts_with(needed)),
            "the help shows no `{needed}` example: {all:?}"
        );
    }
    let (_parent, root) = new_project_in_git("none");
    run_all(&root, &all, "--help");
}

#[test]
fn the_line_the_completions_help_gives_for_bashrc_registers_the_completion() {
    let help = help(&["completions".to_owned()]);
    let line = help
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|span| span.starts_with("source "))
        .unwrap_or_else(|| panic!("the completions help gives no `source` line:\n{help}"));
    let binary = assert_cmd::cargo::cargo_bin("saas");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let output = std::process::Command::new("bash")
        .args(["-c", &format!("{line} && complete -p saas")])
        .env("PATH", path)
        .output()
        .unwrap();

    let registered = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success()
            && registered.contains("-F _saas")
            && registered.trim_end().ends_with(" saas"),
        "`{line}` registered {registered:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_example_in_the_readme_works_in_a_generated_project() {
    let read = |file: &str| {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
    };
    let readme = examples(&read("README.md"), true);
    let contributing = examples(&read("CONTRIBUTING.md"), true);
    // The project `saas new acme --yes` makes: the README's billing examples need it.
    let (_parent, root) = new_project_in_git("orgs,rbac,billing");
    run_all(&root, &readme, "README.md");
    run_all(&root, &contributing, "CONTRIBUTING.md");
    assert!(
        readme.len() >= 5,
        "the README shows too few examples: {readme:?}"
    );
}

#[test]
fn the_readme_gives_the_test_command_that_ci_runs() {
    let read = |file: &str| {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
    };
    let ci = read(".ci/run");
    let command = ci
        .lines()
        .find_map(|line| line.strip_prefix("stage \"tests\" "))
        .expect("`.ci/run` has a \"tests\" stage");
    assert!(
        read("README.md").contains(&format!("Run the tests: `{command}`")),
        "README.md does not say \"Run the tests: `{command}`\""
    );
}

#[test]
fn the_hint_for_a_user_reference_suggests_a_field_that_works() {
    let (_parent, root) = new_project("sqlite");
    let output = add(&root, &["Task", "title:string", "user:references"]).code(1);
    let stderr = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    let help = stderr
        .lines()
        .find(|line| line.starts_with("help:"))
        .unwrap();
    let suggested = help.split('`').skip(1).step_by(2).last().unwrap();

    add(&root, &["Task", "title:string", suggested]).success();
    assert!(read(&root, "saas.toml").contains(suggested), "{suggested}");
}

#[test]
fn add_model_is_an_alias_of_add_resource_shown_in_the_help() {
    saas()
        .args(["add", "--help"])
        .assert()
        .success()
        .stdout(contains("[alias: model]"));
    let (_parent_a, with_resource) = new_project("sqlite");
    let (_parent_b, with_model) = new_project("sqlite");

    add(&with_resource, &["Project", "title:string"]).success();
    saas()
        .args(["add", "model", "Project", "title:string"])
        .current_dir(&with_model)
        .env("SAAS_NOW", "1798761600")
        .assert()
        .success();

    assert_eq!(fingerprint(&with_model), fingerprint(&with_resource));
}

#[test]
fn irregular_plurals_name_tables_and_plural_overrides_the_rules() {
    let (_parent, root) = new_project("sqlite");
    add(&root, &["People", "name:string"]).success();
    assert!(read(&root, "src/resources/people.rs").contains("pub struct Person {"));
    add(&root, &["Houses", "name:string"]).success();
    assert!(read(&root, "src/resources/houses.rs").contains("pub struct House {"));

    add(&root, &["Cactus", "name:string", "--plural", "cactuses"]).success();
    let module = read(&root, "src/resources/cactuses.rs");
    assert!(module.contains("pub struct Cactus {"));
    assert!(module.contains("path = \"/cactuses\""));

    saas()
        .args(["remove", "resource", "Cactus"])
        .current_dir(&root)
        .assert()
        .success();
    assert!(!root.join("src/resources/cactuses.rs").exists());
}

//! Every way `saas new` refuses: a clear message with a `help:` line, exit code 1 (2 for
//! what clap rejects), and the disk exactly as it was.

use predicates::str::contains;

use crate::common::{fingerprint, saas};

/// Runs `saas` with `args` in a directory holding one unrelated file and asserts that
/// it fails with `code`, says `message`, and changes nothing.
fn assert_refused(args: &[&str], code: i32, message: &str) {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("notes.txt"), "keep me").unwrap();
    let before = fingerprint(parent.path());

    saas()
        .args(args)
        .current_dir(parent.path())
        .assert()
        .code(code)
        .stdout("")
        .stderr(contains(message));

    assert_eq!(
        fingerprint(parent.path()),
        before,
        "`saas {}` changed the disk",
        args.join(" ")
    );
}

#[test]
fn names_that_are_not_valid_package_names_are_refused() {
    let cases = [
        ("fn", "it is a Rust keyword"),
        ("type", "it is a Rust keyword"),
        ("self", "it is a Rust keyword"),
        ("test", "cargo reserves it"),
        ("std", "cargo reserves it"),
        ("core", "cargo reserves it"),
        ("con", "Windows device name"),
        ("tokio", "the app depends on the crate `tokio`"),
        ("serde-json", "the app depends on the crate `serde_json`"),
        ("MyApp", "snake case"),
        ("1project", "must start with a letter"),
        ("../evil", "is not allowed"),
        ("a/b", "is not allowed"),
        (".hidden", "is not allowed"),
        ("my app", "is not allowed"),
        ("ｐｒｏｊｅｃｔ", "is not allowed"),
        ("", "the name is empty"),
    ];
    for (name, reason) in cases {
        assert_refused(&["new", name, "--yes"], 1, reason);
        assert_refused(&["new", name, "--yes"], 1, "help:");
    }
}

#[test]
fn without_a_name_and_without_a_terminal_new_is_refused() {
    for args in [
        &["new"][..],
        &["new", "--yes"],
        &["new", "--features", "none"],
    ] {
        assert_refused(
            args,
            1,
            "error: missing the project's name (it is asked for only on a terminal, without --yes)\n\
             help: give it as the first argument, e.g. `saas new acme`\n",
        );
    }
}

#[test]
fn a_refused_name_comes_with_a_suggestion() {
    assert_refused(
        &["new", "My App", "--yes"],
        1,
        "help: use a name such as `my-app`",
    );
    assert_refused(
        &["new", "café", "--yes"],
        1,
        "error: invalid project name `café`: the character 'é' is not allowed; only ASCII letters, digits, `-` and `_` are\n\
         help: use a name such as `cafe`\n",
    );
}

#[test]
fn an_existing_non_empty_directory_is_refused_and_left_untouched() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::create_dir(parent.path().join("acme")).unwrap();
    std::fs::write(parent.path().join("acme/main.rs"), "// mine").unwrap();
    let before = fingerprint(parent.path());

    saas()
        .args(["new", "acme", "--yes"])
        .current_dir(parent.path())
        .assert()
        .code(1)
        .stderr(contains("already exists and is not empty"))
        .stderr(contains("help:"));

    assert_eq!(fingerprint(parent.path()), before);
}

#[test]
fn a_file_in_the_way_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("acme"), "a file").unwrap();
    let before = fingerprint(parent.path());

    saas()
        .args(["new", "acme", "--yes"])
        .current_dir(parent.path())
        .assert()
        .code(1)
        .stderr(contains("exists and is not a directory"));

    assert_eq!(fingerprint(parent.path()), before);
}

#[test]
fn a_missing_parent_directory_is_refused() {
    assert_refused(
        &["new", "acme", "--yes", "--path", "no/such/dir"],
        1,
        "does not exist",
    );
}

#[test]
fn unknown_feature_lists_are_refused() {
    assert_refused(
        &["new", "acme", "--features", "teams"],
        1,
        "unknown feature `teams`",
    );
    assert_refused(
        &["new", "acme", "--features", "billing,teams"],
        1,
        "unknown feature `teams`",
    );
    assert_refused(
        &["new", "acme", "--features", "teams"],
        1,
        "help: the features are orgs, rbac, billing; `none` selects none",
    );
}

#[test]
fn an_empty_feature_list_is_refused_with_the_way_to_say_none() {
    for empty in ["", ",", " "] {
        assert_refused(
            &["new", "acme", "--features", empty],
            1,
            &format!("error: `--features {empty:?}` names no feature"),
        );
        assert_refused(
            &["new", "acme", "--features", empty],
            1,
            "help: to choose no feature, write `--features none`",
        );
    }
}

#[test]
fn an_unknown_database_is_refused_by_the_argument_parser() {
    assert_refused(
        &["new", "acme", "--db", "mysql"],
        2,
        "invalid value 'mysql'",
    );
    assert_refused(
        &["new", "acme", "--db", "mysql"],
        2,
        "[possible values: sqlite, postgres]",
    );
}

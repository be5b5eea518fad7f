//! `saas.toml` is read into typed values: a misspelt database or feature stops every
//! command that reads it, naming the file, the key and the accepted values, and the
//! project stays as it was.

use predicates::str::contains;

use crate::common::{add, fingerprint, new_project, read, remove};

/// Rewrites `saas.toml` of `root` with `from` replaced by `to`.
fn edit_manifest(root: &std::path::Path, from: &str, to: &str) {
    let text = read(root, "saas.toml");
    assert!(text.contains(from), "{text}");
    std::fs::write(root.join("saas.toml"), text.replace(from, to)).unwrap();
}

#[test]
fn a_misspelt_database_is_refused_not_taken_for_sqlite() {
    let (_parent, root) = new_project("postgres");
    edit_manifest(
        &root,
        "database = \"postgres\"",
        "database = \"postgresql\"",
    );
    let before = fingerprint(&root);

    add(&root, &["Project", "title:string"])
        .code(1)
        .stdout("")
        .stderr(contains(
            "saas.toml, line 5: `database = \"postgresql\"` is not a database saas knows; the accepted values are sqlite, postgres",
        ))
        .stderr(contains("help: correct it in saas.toml"));
    remove(&root, &["Project"])
        .code(1)
        .stderr(contains("`database = \"postgresql\"`"));

    assert_eq!(fingerprint(&root), before);
}

#[test]
fn a_misspelt_feature_is_refused_naming_the_accepted_values() {
    let (_parent, root) = new_project("sqlite");
    edit_manifest(&root, "features = []", "features = [\"org\"]");
    let before = fingerprint(&root);

    add(&root, &["Project", "title:string"])
        .code(1)
        .stdout("")
        .stderr(contains(
            "saas.toml, line 6: `features` lists \"org\", which is not a feature saas knows; the accepted values are orgs, rbac, billing",
        ));

    assert_eq!(fingerprint(&root), before);
}

#[test]
fn a_project_written_by_a_newer_saas_is_refused_and_an_older_ones_is_changed() {
    let this = env!("CARGO_PKG_VERSION");
    let (_parent, root) = new_project("sqlite");
    edit_manifest(
        &root,
        &format!("saas_version = \"{this}\""),
        "saas_version = \"999.0.0\"",
    );
    let before = fingerprint(&root);

    add(&root, &["Project", "title:string"])
        .code(1)
        .stdout("")
        .stderr(contains(format!(
            "this project was written by saas 999.0.0, which is newer than this saas ({this})"
        )))
        .stderr(contains("help: install saas 999.0.0 or later"));
    assert_eq!(fingerprint(&root), before);

    edit_manifest(
        &root,
        "saas_version = \"999.0.0\"",
        "saas_version = \"0.0.1\"",
    );
    add(&root, &["Project", "title:string"]).success();
    assert!(root.join("src/resources/projects.rs").is_file());
}

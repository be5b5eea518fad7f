//! `saas new` as a user runs it.

use std::process::Command as Process;

use predicates::{prelude::PredicateBooleanExt, str::contains};
use saas::manifest::Manifest;

use crate::common::saas;

#[test]
fn new_with_yes_writes_a_sqlite_project_with_every_feature() {
    let parent = tempfile::tempdir().unwrap();

    saas()
        .args(["new", "acme", "--yes", "--no-git"])
        .current_dir(parent.path())
        .assert()
        .success()
        .stdout(contains(
            "Created `acme` (sqlite; features: orgs, rbac, billing)",
        ))
        .stdout(contains("cd ./acme"))
        .stdout(contains("cargo run"))
        .stdout(contains("cargo test"));

    let project = parent.path().join("acme");
    for file in [
        "Cargo.toml",
        "src/main.rs",
        "src/lib.rs",
        "src/db.rs",
        "migrations/0001_setup.sql",
        "migrations/0004_orgs.sql",
        "src/access.rs",
        "src/orgs/mod.rs",
        "tests/api/main.rs",
        "README.md",
        ".env.example",
        ".gitignore",
    ] {
        assert!(project.join(file).is_file(), "{file} is missing");
    }
    let manifest =
        Manifest::parse(&std::fs::read_to_string(project.join("saas.toml")).unwrap()).unwrap();
    assert_eq!(
        manifest,
        Manifest {
            saas_version: env!("CARGO_PKG_VERSION").to_owned(),
            name: "acme".to_owned(),
            database: saas::spec::Database::Sqlite,
            features: saas::spec::features::FeatureSet::parse("orgs,rbac,billing").unwrap(),
            resources: vec![],
            migration_names: Default::default(),
        }
    );
    assert!(!project.join(".git").exists());
    let leftovers: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["acme"], "no staging directory is left behind");
}

#[test]
fn new_with_postgres_writes_the_postgres_dialect() {
    let parent = tempfile::tempdir().unwrap();

    saas()
        .args([
            "new",
            "acme-api",
            "--db",
            "postgres",
            "--features",
            "none",
            "--no-git",
        ])
        .current_dir(parent.path())
        .assert()
        .success()
        .stdout(contains("Created `acme-api` (postgres; features: none)"))
        .stdout(contains(
            "# .env names the database: postgres://postgres@localhost:5432/acme_api",
        ));

    let project = parent.path().join("acme-api");
    let cargo_toml = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("name = \"acme-api\""));
    assert!(cargo_toml.contains("\"postgres\""));
    assert!(!cargo_toml.contains("sqlite"));
    let setup = std::fs::read_to_string(project.join("migrations/0001_setup.sql")).unwrap();
    assert!(setup.contains("timestamptz"));
    let main_rs = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert!(
        main_rs.contains("use app::"),
        "the library is `app` whatever the name"
    );
    let names = std::fs::read_to_string(project.join("src/name.rs")).unwrap();
    assert!(
        names.contains("TOKEN_PREFIX: &str = \"acme_api_\";")
            && names.contains("DATABASE: &str = \"acme_api\";"),
        "the name in Rust is in snake case: {names}"
    );
    let manifest =
        Manifest::parse(&std::fs::read_to_string(project.join("saas.toml")).unwrap()).unwrap();
    assert_eq!(manifest.database, saas::spec::Database::Postgres);
    // `cargo run` and `cargo test` read the database from .env, which git ignores.
    let settings = std::fs::read_to_string(project.join(".env")).unwrap();
    let example = std::fs::read_to_string(project.join(".env.example")).unwrap();
    assert_eq!(settings, example);
    assert!(settings.contains("\nDATABASE_URL=postgres://postgres@localhost:5432/acme_api\n"));
    let ignored = std::fs::read_to_string(project.join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|line| line == ".env"), "{ignored}");
}

#[test]
fn features_orgs_writes_the_orgs_files_in_the_databases_dialect_and_records_the_feature() {
    let parent = tempfile::tempdir().unwrap();

    saas()
        .args([
            "new",
            "acme",
            "--db",
            "postgres",
            "--features",
            "orgs",
            "--no-git",
        ])
        .current_dir(parent.path())
        .assert()
        .success()
        .stdout(contains("Created `acme` (postgres; features: orgs)"));

    let project = parent.path().join("acme");
    let migration = std::fs::read_to_string(project.join("migrations/0004_orgs.sql")).unwrap();
    assert!(
        migration.contains("org_id uuid not null references organizations (id) on delete cascade")
    );
    let access = std::fs::read_to_string(project.join("src/access.rs")).unwrap();
    assert!(access.contains("// saas:permissions"));
    assert!(
        !access.contains("Admin"),
        "without rbac the roles are owner and member"
    );
    let lib = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
    assert!(lib.contains(".merge(orgs::router())"));
    let manifest =
        Manifest::parse(&std::fs::read_to_string(project.join("saas.toml")).unwrap()).unwrap();
    assert_eq!(
        manifest.features,
        saas::spec::features::FeatureSet::parse("orgs").unwrap()
    );
}

#[test]
fn features_rbac_alone_adds_orgs_as_the_prompt_does_and_says_so() {
    let parent = tempfile::tempdir().unwrap();

    saas()
        .args(["new", "acme", "--features", "rbac", "--no-git"])
        .current_dir(parent.path())
        .assert()
        .success()
        .stderr("note: rbac needs orgs: added orgs\n")
        .stdout(contains("Created `acme` (sqlite; features: orgs, rbac)"));

    let manifest =
        Manifest::parse(&std::fs::read_to_string(parent.path().join("acme/saas.toml")).unwrap())
            .unwrap();
    assert_eq!(
        manifest.features,
        saas::spec::features::FeatureSet::parse("orgs,rbac").unwrap()
    );
}

#[test]
fn features_none_writes_no_orgs_file_and_rbac_brings_the_admin_role() {
    let parent = tempfile::tempdir().unwrap();
    for (name, features) in [("bare", "none"), ("teams", "orgs,rbac")] {
        saas()
            .args(["new", name, "--features", features, "--no-git"])
            .current_dir(parent.path())
            .assert()
            .success();
    }

    let bare = parent.path().join("bare");
    for file in [
        "src/access.rs",
        "src/orgs/mod.rs",
        "migrations/0004_orgs.sql",
        "tests/api/orgs.rs",
    ] {
        assert!(!bare.join(file).exists(), "{file} is written without orgs");
    }
    let lib = std::fs::read_to_string(bare.join("src/lib.rs")).unwrap();
    assert!(!lib.contains("orgs"), "{lib}");
    let access = std::fs::read_to_string(parent.path().join("teams/src/access.rs")).unwrap();
    assert!(access.contains("MembersManage = \"members:manage\" => [Owner, Admin],"));
}

#[test]
fn new_creates_a_git_repository_with_a_first_commit() {
    let parent = tempfile::tempdir().unwrap();

    saas()
        .args(["new", "acme", "--yes"])
        .current_dir(parent.path())
        .assert()
        .success();

    let project = parent.path().join("acme");
    let log = Process::new("git")
        .args(["log", "--oneline"])
        .current_dir(&project)
        .output()
        .unwrap();
    let log = String::from_utf8(log.stdout).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains("Initial commit from saas new"));
    let status = Process::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(status.stdout.is_empty(), "everything is committed");
}

#[test]
fn new_with_path_creates_the_project_inside_that_directory() {
    let parent = tempfile::tempdir().unwrap();
    let elsewhere = parent.path().join("projects");
    std::fs::create_dir(&elsewhere).unwrap();

    saas()
        .args(["new", "acme", "--yes", "--no-git", "--path"])
        .arg(&elsewhere)
        .assert()
        .success();

    assert!(elsewhere.join("acme/Cargo.toml").is_file());
}

#[test]
fn new_fills_an_existing_empty_directory() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::create_dir(parent.path().join("acme")).unwrap();

    saas()
        .args(["new", "acme", "--yes", "--no-git"])
        .current_dir(parent.path())
        .assert()
        .success();

    assert!(parent.path().join("acme/Cargo.toml").is_file());
}

#[test]
fn without_a_terminal_new_takes_the_defaults_instead_of_asking() {
    let parent = tempfile::tempdir().unwrap();

    // No --yes, and standard input is not a terminal: nothing may block.
    saas()
        .args(["new", "acme", "--no-git"])
        .current_dir(parent.path())
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .success();

    let manifest = std::fs::read_to_string(parent.path().join("acme/saas.toml")).unwrap();
    assert!(manifest.contains("database = \"sqlite\""));
}

#[test]
fn help_version_and_completions_are_available() {
    saas()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("new"))
        .stdout(contains("completions"));
    saas()
        .args(["new", "--help"])
        .assert()
        .success()
        .stdout(contains("--db"))
        .stdout(contains("--features"))
        .stdout(contains("--yes"))
        .stdout(contains("--path"))
        .stdout(contains("--no-git"));
    saas()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("saas {}\n", env!("CARGO_PKG_VERSION")));
    saas()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(contains("_saas()"));
    saas()
        .args(["completions", "zsh"])
        .assert()
        .success()
        .stdout(contains("#compdef saas"));
}

/// The scripts ask saas for the feature sets instead of keeping their own list; users
/// are not shown the command.
#[test]
fn the_hidden_debug_command_lists_every_feature_set_new_accepts() {
    let listed = saas()
        .args(["debug", "feature-sets"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8(listed).unwrap();
    assert_eq!(listed.lines().next(), Some("none"));
    assert_eq!(listed.lines().count(), 6, "{listed}");
    for features in listed.lines() {
        let parent = tempfile::tempdir().unwrap();
        saas()
            .args(["new", "acme", "--features", features, "--no-git"])
            .current_dir(parent.path())
            .assert()
            .success();
    }
    saas()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("debug").not());
}

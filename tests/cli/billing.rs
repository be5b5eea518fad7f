//! `saas add resource --limit/--feature` and `saas remove resource` in a billing
//! project: `config/plans.toml` edited with its comments kept, the table registered for
//! limits, both recorded in `saas.toml` and undone exactly; every refusal changes nothing.

use std::path::{Path, PathBuf};

use predicates::{prelude::PredicateBooleanExt, str::contains};
use saas::manifest::Manifest;

use crate::common::{add, fingerprint, new_project_with, read, remove};

/// Plans as a person may have edited them: comments, a limit of their own, a
/// `[plans.<id>.limits]` table.
const PLANS: &str = "\
# Plans: see the README.
[plans.free]
name = \"Free\"
features = []
limits = { tasks = 5 } # small

[plans.pro]
name = \"Pro\"
features = [\"exports\"] # what Pro unlocks
trial_days = 14

[plans.pro.limits]
# Generous.
tasks = 500
";

/// A new billing project with `PLANS` as its plans.
fn billing_project(db: &str) -> (tempfile::TempDir, PathBuf) {
    let (parent, root) = new_project_with(db, "billing");
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(root.join("config/plans.toml"), PLANS).unwrap();
    (parent, root)
}

fn entry(root: &Path, table: &str) -> saas::manifest::ResourceEntry {
    Manifest::parse(&read(root, "saas.toml"))
        .unwrap()
        .resource(table)
        .unwrap()
        .clone()
}

#[test]
fn limits_and_a_new_feature_are_written_recorded_and_undone_exactly() {
    let (_parent, root) = billing_project("sqlite");
    let modules = read(&root, "src/resources/mod.rs");
    assert!(
        modules.contains("pub const TABLES: &[&str] = &[\n    // saas:resource-tables\n];"),
        "{modules}"
    );
    let manifest = read(&root, "saas.toml");

    add(
        &root,
        &[
            "Project",
            "title:string",
            "--limit",
            "free=3,pro=100",
            "--feature",
            "reports",
        ],
    )
    .success()
    .stdout(contains("edit    config/plans.toml\n"))
    .stdout(contains(
        "Feature `reports` is new: it is added to the `features` of plan `pro` in config/plans.toml",
    ));

    assert_eq!(
        read(&root, "config/plans.toml"),
        PLANS
            .replace(
                "limits = { tasks = 5 } # small",
                "limits = { tasks = 5, projects = 3 } # small"
            )
            .replace(
                "features = [\"exports\"] # what Pro unlocks",
                "features = [\"exports\", \"reports\"] # what Pro unlocks"
            )
            .replace("tasks = 500\n", "tasks = 500\nprojects = 100\n")
    );
    assert!(
        read(&root, "src/resources/mod.rs")
            .contains("&[\n    \"projects\",\n    // saas:resource-tables\n];")
    );
    let recorded = entry(&root, "projects");
    assert_eq!(
        recorded.limits,
        [("free".to_owned(), 3), ("pro".to_owned(), 100)].into()
    );
    assert_eq!(recorded.feature.as_deref(), Some("reports"));
    assert!(recorded.injections.iter().any(|injection| {
        injection.marker == "// saas:resource-tables" && injection.line == "    \"projects\","
    }));
    assert!(
        read(&root, "saas.toml")
            .contains("limits = { free = 3, pro = 100 }\nfeature = \"reports\"\n")
    );

    remove(&root, &["Project"])
        .success()
        .stdout(contains("edit    config/plans.toml\n"));

    assert_eq!(read(&root, "config/plans.toml"), PLANS);
    assert_eq!(read(&root, "src/resources/mod.rs"), modules);
    assert_eq!(read(&root, "saas.toml"), manifest);
}

#[test]
fn a_resource_without_options_is_registered_for_limits_and_leaves_the_plans_alone() {
    let (_parent, root) = billing_project("postgres");

    add(&root, &["Project", "title:string"])
        .success()
        .stdout(contains("config/plans.toml").not());

    assert_eq!(read(&root, "config/plans.toml"), PLANS);
    assert!(read(&root, "src/resources/mod.rs").contains("    \"projects\",\n"));
    let recorded = entry(&root, "projects");
    assert!(recorded.limits.is_empty());
    assert_eq!(recorded.feature, None);
    assert!(!read(&root, "saas.toml").contains("feature ="));
}

#[test]
fn a_feature_stays_in_the_plans_while_another_resource_needs_it() {
    let (_parent, root) = billing_project("sqlite");
    add(&root, &["Report", "title:string", "--feature", "reports"]).success();
    let with_feature = read(&root, "config/plans.toml");
    add(&root, &["Chart", "title:string", "--feature", "reports"])
        .success()
        .stdout(contains(
            "Feature `reports`: config/plans.toml lists it already",
        ));
    assert_eq!(read(&root, "config/plans.toml"), with_feature);

    remove(&root, &["Report"]).success();
    assert_eq!(read(&root, "config/plans.toml"), with_feature);

    remove(&root, &["Chart"]).success();
    assert_eq!(read(&root, "config/plans.toml"), PLANS);
}

#[test]
fn a_dry_run_shows_the_plans_edit_and_changes_nothing() {
    let (_parent, root) = billing_project("sqlite");
    let before = fingerprint(&root);

    add(
        &root,
        &[
            "Project",
            "title:string",
            "--limit",
            "free=3",
            "--feature",
            "reports",
            "--dry-run",
        ],
    )
    .success()
    .stdout(contains("edit    config/plans.toml\n"))
    .stdout(contains(
        "edit    src/resources/mod.rs at `// saas:resource-modules`",
    ))
    .stdout(contains(
        "it would be added to the `features` of plan `pro`",
    ));

    assert_eq!(fingerprint(&root), before);
}

/// `saas add resource <args>` in a billing project is refused with `message`, and the
/// project is byte-identical afterwards.
fn assert_refused(args: &[&str], message: &str) {
    let (_parent, root) = billing_project("sqlite");
    let before = fingerprint(&root);

    add(&root, args).code(1).stderr(contains(message));

    assert_eq!(
        fingerprint(&root),
        before,
        "`saas add resource {}` changed the project",
        args.join(" ")
    );
}

#[test]
fn a_limit_on_a_plan_that_does_not_exist_is_refused_naming_the_plans() {
    assert_refused(
        &["Project", "title:string", "--limit", "free=3,gold=10"],
        "there is no plan `gold` in config/plans.toml",
    );
    assert_refused(
        &["Project", "title:string", "--limit", "gold=10"],
        "help: the plans are `free`, `pro`; name one of them, or add `[plans.gold]` to config/plans.toml first",
    );
}

#[test]
fn malformed_limits_are_refused_with_the_syntax() {
    for bad in ["free=x", "free=-1", "free", "=3", "free=3.5"] {
        assert_refused(
            &["Project", "title:string", "--limit", bad],
            &format!("invalid `--limit {bad}`\nhelp: write `<plan>=<n>`"),
        );
    }
    assert_refused(
        &["Project", "title:string", "--limit", "free=0"],
        "a limit is at least 1",
    );
    assert_refused(
        &[
            "Project",
            "title:string",
            "--limit",
            "free=3",
            "--limit",
            "free=4",
        ],
        "give plan `free` one limit",
    );
}

#[test]
fn a_feature_name_that_is_not_snake_case_is_refused() {
    for bad in ["Reports", "bulk-export", "2fa", "a__b"] {
        assert_refused(
            &["Report", "title:string", "--feature", bad],
            &format!("invalid `--feature {bad}`\nhelp: a feature is named in snake_case"),
        );
    }
}

#[test]
fn without_a_plans_file_the_options_are_refused_naming_it() {
    let (_parent, root) = billing_project("sqlite");
    std::fs::remove_file(root.join("config/plans.toml")).unwrap();
    let before = fingerprint(&root);

    add(&root, &["Project", "title:string", "--limit", "free=3"])
        .code(1)
        .stderr(contains("config/plans.toml: the file is missing"));

    assert_eq!(fingerprint(&root), before);
}

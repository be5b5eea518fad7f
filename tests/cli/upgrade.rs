//! `saas upgrade` across real releases: the golden examples of a released saas
//! (`tests/fixtures/releases/<version>.tar.gz`, made by `scripts/release_fixture.sh`)
//! are projects exactly as that release generated them, so each is committed to git
//! with `refs/saas/generated` at that commit, and upgraded to this saas's templates.
//! Also: the baseline `saas new`, `add` and `remove` keep, and what upgrade refuses.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use predicates::str::contains;

use crate::common::{fingerprint, new_project_in_git, saas};

/// The release whose golden examples the fixture holds.
pub const PREVIOUS: &str = "0.1.0";
const REF: &str = "refs/saas/generated";
const THIS: &str = env!("CARGO_PKG_VERSION");

/// Runs git in `root` with a fixed identity; returns its trimmed stdout.
pub fn git(root: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The release fixture's `examples/<example>`, extracted into a temporary directory.
pub fn released_example(example: &str) -> (tempfile::TempDir, PathBuf) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/releases")
        .join(format!("{PREVIOUS}.tar.gz"));
    let parent = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(parent.path())
        .status()
        .expect("tar runs");
    assert!(status.success());
    let root = parent.path().join("examples").join(example);
    assert!(root.join("saas.toml").is_file());
    (parent, root)
}

/// A project of the previous release as its user has it: committed, with the baseline
/// at that commit (it is exactly what that release generated).
pub fn released_project(example: &str) -> (tempfile::TempDir, PathBuf) {
    let (parent, root) = released_example(example);
    git(&root, &["init", "--quiet"]);
    git(&root, &["add", "--all"]);
    git(
        &root,
        &["commit", "--quiet", "-m", "Initial commit from saas new"],
    );
    git(&root, &["update-ref", REF, "HEAD"]);
    (parent, root)
}

fn commit_all(root: &Path, message: &str) {
    git(root, &["commit", "--quiet", "--all", "-m", message]);
}

fn upgrade(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    saas().arg("upgrade").args(args).current_dir(root).assert()
}

/// What this saas renders from the project's saas.toml.
pub fn fresh_render(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let rendered = tempfile::tempdir().unwrap();
    saas()
        .args(["debug", "render"])
        .arg(rendered.path())
        .current_dir(root)
        .assert()
        .success();
    let mut tree = fingerprint(rendered.path());
    tree.remove(".env");
    tree
}

/// The project's files, without git's and without `.env`: the user's local settings,
/// which git ignores, `saas new` copies from `.env.example` once and an upgrade leaves.
pub fn work_tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut tree = fingerprint(root);
    tree.retain(|path, _| path != ".git" && !path.starts_with(".git/") && path != ".env");
    tree
}

pub fn differences(
    a: &BTreeMap<String, Option<Vec<u8>>>,
    b: &BTreeMap<String, Option<Vec<u8>>>,
) -> Vec<String> {
    let mut paths: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|path| a.get(*path) != b.get(*path))
        .cloned()
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

#[test]
fn an_upgrade_without_edits_makes_the_tree_what_this_saas_renders() {
    for example in ["acme-pg", "acme-lite"] {
        let (_parent, root) = released_project(example);
        let old = git(&root, &["rev-parse", REF]);

        upgrade(&root, &[])
            .success()
            .stdout(contains("edit    saas.toml"))
            .stdout(contains(format!(
                "Upgraded from saas {PREVIOUS} to saas {THIS}"
            )));

        let left = differences(&work_tree(&root), &fresh_render(&root));
        assert!(
            left.is_empty(),
            "{example}: differs from a fresh render in {left:?}"
        );
        assert!(read(&root, "saas.toml").contains(&format!("saas_version = \"{THIS}\"")));
        // The baseline moved one commit on, from the old one.
        assert_eq!(git(&root, &["rev-parse", &format!("{REF}^")]), old);
        // The user's HEAD and index are theirs: the upgrade is in the work tree only.
        assert_eq!(git(&root, &["rev-parse", "HEAD"]), old);
        assert_eq!(git(&root, &["diff", "--cached", "--name-only"]), "");

        commit_all(&root, "Upgrade");
        let upgraded = git(&root, &["rev-parse", REF]);
        upgrade(&root, &[])
            .success()
            .stdout(contains("Nothing to change"));
        // With nothing new, the baseline stays where it is.
        assert_eq!(git(&root, &["rev-parse", REF]), upgraded);
    }
}

/// 0.2.0 brings a migration, `0007_job_trace_context.sql`, that would sort before the
/// resources' migrations of a 0.1.0 project: the upgrade versions it after them, as
/// `add feature` does a feature's, so a new database applies it in the order an old one
/// does, after every migration it may build on.
#[test]
fn a_migration_a_release_brings_is_versioned_after_the_projects_own() {
    let (_parent, root) = released_project("acme-pg");
    let newest_before = migration_names(&root).into_iter().max().unwrap();
    assert_eq!(newest_before, "20270101000002_create_comments.sql");

    upgrade(&root, &[]).success().stdout(contains(
        "create  migrations/20270101000003_job_trace_context.sql",
    ));

    assert!(!root.join("migrations/0007_job_trace_context.sql").exists());
    assert!(
        read(&root, "saas.toml")
            .contains("\"0007_job_trace_context.sql\" = \"20270101000003_job_trace_context.sql\"")
    );
    // A resource added afterwards comes after it.
    saas()
        .args(["add", "resource", "Label", "name:string"])
        .current_dir(&root)
        .env("SAAS_NOW", "1798761600")
        .assert()
        .success()
        .stdout(contains(
            "create  migrations/20270101000004_create_labels.sql",
        ));
}

fn migration_names(root: &Path) -> Vec<String> {
    std::fs::read_dir(root.join("migrations"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[test]
fn the_previous_release_really_differs_in_a_file_the_upgrade_brings() {
    // Otherwise the tests below would prove nothing about merging.
    let (_parent, root) = released_project("acme-pg");
    let before = read(&root, "tests/api/logs.rs");
    assert!(!before.contains("fn start_up_warns_of_a_pool_the_server_cannot_give_two_instances"));
    upgrade(&root, &[]).success();
    assert!(
        read(&root, "tests/api/logs.rs")
            .contains("fn start_up_warns_of_a_pool_the_server_cannot_give_two_instances")
    );
}

#[test]
fn an_edit_in_a_generated_file_is_kept_beside_the_new_templates() {
    let (_parent, root) = released_project("acme-pg");
    let logs = read(&root, "tests/api/logs.rs");
    let mine = "// Ours: the log tests also run in the nightly job.\n";
    std::fs::write(root.join("tests/api/logs.rs"), format!("{mine}{logs}")).unwrap();
    let main = read(&root, "src/main.rs")
        .replace("#[tokio::main]", "// Started by systemd.\n#[tokio::main]");
    std::fs::write(root.join("src/main.rs"), &main).unwrap();
    commit_all(&root, "Our edits");

    upgrade(&root, &[])
        .success()
        .stdout(contains("edit    tests/api/logs.rs"));

    let merged = read(&root, "tests/api/logs.rs");
    assert!(merged.starts_with(mine), "{merged}");
    assert!(merged.contains("fn start_up_warns_of_a_pool_the_server_cannot_give_two_instances"));
    assert!(!merged.contains("<<<<<<<"), "{merged}");
    // In a file both changed, each side's change is kept: the user's comment, and
    // this release's library name.
    assert_eq!(
        read(&root, "src/main.rs"),
        main.replace("use acme_pg::", "use app::")
    );
}

#[test]
fn a_conflicting_edit_is_marked_listed_and_the_exit_status_says_so() {
    let (_parent, root) = released_project("acme-pg");
    // A line this release changes (the log tests now drop their subscriber), changed by
    // the user too.
    let theirs = "let (log, _guard) = Log::capture(Environment::Production);";
    let mine = "let (log, _guard) = Log::capture(Environment::Production); // Ours.";
    let logs = read(&root, "tests/api/logs.rs");
    assert!(logs.contains(theirs), "{logs}");
    std::fs::write(
        root.join("tests/api/logs.rs"),
        logs.replacen(theirs, mine, 1),
    )
    .unwrap();
    commit_all(&root, "Our log test");
    let old = git(&root, &["rev-parse", REF]);

    upgrade(&root, &[])
        .code(3)
        .stdout(contains(
            "Conflicts left in these files, between `<<<<<<< yours` and `>>>>>>> saas",
        ))
        .stdout(contains("\n  tests/api/logs.rs\n"))
        .stdout(contains("delete the marker lines"));

    let merged = read(&root, "tests/api/logs.rs");
    assert!(merged.contains("<<<<<<< yours\n"), "{merged}");
    assert!(
        merged.contains(&format!(">>>>>>> saas {THIS}\n")),
        "{merged}"
    );
    assert!(merged.contains(mine), "{merged}");
    assert!(merged.contains("fn start_up_warns_of_a_pool_the_server_cannot_give_two_instances"));
    // The rest of the upgrade is made, and the baseline moved on: a second run does
    // not redo the merge.
    assert!(read(&root, "saas.toml").contains(&format!("saas_version = \"{THIS}\"")));
    assert_eq!(git(&root, &["rev-parse", &format!("{REF}^")]), old);
}

#[test]
fn resources_added_and_removed_before_the_upgrade_survive_it() {
    let (_parent, root) = released_project("acme-pg");
    let old = git(&root, &["rev-parse", REF]);
    saas()
        .args(["add", "resource", "Label", "name:string"])
        .current_dir(&root)
        .env("SAAS_NOW", "1830297600")
        .assert()
        .success();
    saas()
        .args(["remove", "resource", "Comment"])
        .current_dir(&root)
        .env("SAAS_NOW", "1830297601")
        .assert()
        .success();
    // `add` and `remove` moved the baseline too, one commit each.
    assert_eq!(git(&root, &["rev-parse", &format!("{REF}~2")]), old);
    git(&root, &["add", "--all"]);
    commit_all(&root, "Labels, and no comments");

    upgrade(&root, &[]).success();

    let tree = work_tree(&root);
    for kept in [
        "src/resources/labels.rs",
        "tests/api/labels.rs",
        "migrations/20280101000000_create_labels.sql",
        "migrations/20270101000002_create_comments.sql",
        "migrations/20280101000001_drop_comments.sql",
    ] {
        assert!(
            tree.get(kept).is_some_and(Option::is_some),
            "{kept} is gone"
        );
    }
    assert!(!tree.contains_key("src/resources/comments.rs"));
    // Everything else is what this saas renders from saas.toml (which knows nothing
    // of the removed resource's migrations, kept above).
    let left = differences(&tree, &fresh_render(&root));
    assert_eq!(
        left,
        [
            "migrations/20270101000002_create_comments.sql",
            "migrations/20280101000001_drop_comments.sql"
        ]
    );
}

#[test]
fn a_dry_run_lists_the_changes_and_writes_nothing() {
    let (_parent, root) = released_project("acme-pg");
    let before = fingerprint(&root);

    upgrade(&root, &["--dry-run"])
        .success()
        .stdout(contains("edit    tests/api/logs.rs"))
        .stdout(contains("Dry run: nothing was written."));

    let mut after = fingerprint(&root);
    // git status refreshes the stat data of its own index; nothing else may change,
    // in the work tree or in .git (no object, no ref).
    let mut before = before;
    before.remove(".git/index");
    after.remove(".git/index");
    assert_eq!(differences(&before, &after), Vec::<String>::new());
}

#[test]
fn a_work_tree_with_changes_not_committed_is_refused_and_left_alone() {
    let (_parent, root) = released_project("acme-lite");
    std::fs::write(root.join("src/main.rs"), "// half done\n").unwrap();
    let before = work_tree(&root);

    upgrade(&root, &[])
        .code(1)
        .stderr(contains(
            "the work tree has changes not committed:\n  src/main.rs",
        ))
        .stderr(contains("help: commit or stash them first"));
    assert_eq!(work_tree(&root), before);
}

#[test]
fn a_project_without_a_baseline_is_refused_until_one_is_named() {
    let (_parent, root) = released_project("acme-lite");
    git(&root, &["update-ref", "-d", REF]);
    let before = work_tree(&root);

    upgrade(&root, &[])
        .code(1)
        .stderr(contains("this project has no baseline"))
        .stderr(contains("--baseline <commit>"));
    assert_eq!(work_tree(&root), before);
    upgrade(&root, &["--baseline", "no-such-commit"])
        .code(1)
        .stderr(contains("invalid `--baseline no-such-commit`"));

    let first = git(&root, &["rev-list", "--max-parents=0", "HEAD"]);
    upgrade(&root, &["--baseline", &first]).success();
    assert_eq!(git(&root, &["rev-parse", &format!("{REF}^")]), first);
    assert_eq!(
        differences(&work_tree(&root), &fresh_render(&root)),
        Vec::<String>::new()
    );
}

#[test]
fn a_project_without_git_or_hashes_is_refused() {
    // Made with --no-git by saas 0.1.0, which kept no hashes.
    let (_parent, root) = released_example("acme-lite");
    upgrade(&root, &[])
        .code(1)
        .stderr(contains("this project keeps neither record of it"));
}

#[test]
fn new_records_the_baseline_and_add_and_remove_move_it_leaving_head_alone() {
    let parent = tempfile::tempdir().unwrap();
    saas()
        .args(["new", "acme", "--db", "sqlite", "--features", "none"])
        .current_dir(parent.path())
        .assert()
        .success();
    let root = parent.path().join("acme");
    let head = git(&root, &["rev-parse", "HEAD"]);
    let first = git(&root, &["rev-parse", REF]);
    // What saas wrote is what the first commit holds, in a commit of saas's own.
    assert_eq!(
        git(&root, &["rev-parse", &format!("{first}^{{tree}}")]),
        git(&root, &["rev-parse", "HEAD^{tree}"])
    );
    assert_eq!(git(&root, &["log", "-1", "--format=%an", REF]), "saas");

    saas()
        .args(["add", "resource", "Note", "body:text"])
        .current_dir(&root)
        .assert()
        .success();
    let added = git(&root, &["rev-parse", REF]);
    assert_eq!(git(&root, &["rev-parse", &format!("{added}^")]), first);
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&root, &["diff", "--cached", "--name-only"]), "");
    // Nothing edited by hand: the baseline is the work tree (git ignores .env).
    git(&root, &["add", "--all"]);
    assert_eq!(
        git(&root, &["write-tree"]),
        git(&root, &["rev-parse", &format!("{added}^{{tree}}")])
    );

    saas()
        .args(["remove", "resource", "Note"])
        .current_dir(&root)
        .assert()
        .success();
    git(&root, &["add", "--all"]);
    let removed = git(&root, &["rev-parse", REF]);
    assert_eq!(git(&root, &["rev-parse", &format!("{removed}^")]), added);
    assert_eq!(
        git(&root, &["write-tree"]),
        git(&root, &["rev-parse", &format!("{removed}^{{tree}}")])
    );
}

#[test]
fn an_upgrade_that_fails_part_way_leaves_the_tree_and_the_baseline_as_they_were() {
    let (_parent, root) = released_project("acme-pg");
    let before = work_tree(&root);
    let baseline = git(&root, &["rev-parse", REF]);
    let plan = saas()
        .args(["upgrade", "--dry-run"])
        .current_dir(&root)
        .output()
        .unwrap();
    let writes = String::from_utf8(plan.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("edit ") || line.starts_with("create "))
        .count();
    assert!(writes >= 3, "{writes}");

    for k in 0..writes {
        saas()
            .arg("upgrade")
            .current_dir(&root)
            .env("SAAS_FAIL_AFTER_WRITES", k.to_string())
            .assert()
            .code(2)
            .stderr(contains("fault injected"));
        assert_eq!(
            differences(&work_tree(&root), &before),
            Vec::<String>::new(),
            "after {k}"
        );
        assert_eq!(git(&root, &["rev-parse", REF]), baseline, "after {k}");
    }
}

/// A new SQLite project with `features`, made with git (so with a baseline), and the
/// resources a user added, committed.
fn project_in_git(features: &str) -> (tempfile::TempDir, PathBuf) {
    let (parent, root) = new_project_in_git(features);
    for args in [
        &["add", "resource", "Project", "title:string"][..],
        &[
            "add",
            "resource",
            "Task",
            "title:string",
            "project:references",
        ],
    ] {
        saas().args(args).current_dir(&root).assert().success();
    }
    git(&root, &["add", "--all"]);
    commit_all(&root, "Resources");
    (parent, root)
}

#[test]
fn adding_rbac_to_an_orgs_project_merges_its_code_into_yours() {
    let (_parent, root) = project_in_git("orgs");
    let mine = "// Ours: projects are also listed on the dashboard.\n";
    let module = read(&root, "src/resources/projects.rs");
    std::fs::write(
        root.join("src/resources/projects.rs"),
        format!("{mine}{module}"),
    )
    .unwrap();
    commit_all(&root, "Our edit");
    let old = git(&root, &["rev-parse", REF]);

    saas()
        .args(["add", "feature", "rbac", "--dry-run"])
        .current_dir(&root)
        .assert()
        .success()
        .stdout(contains("edit    src/access.rs"))
        .stdout(contains("Dry run: nothing was written."));
    assert_eq!(git(&root, &["status", "--porcelain"]), "");

    saas()
        .args(["add", "feature", "rbac"])
        .current_dir(&root)
        .assert()
        .success()
        .stdout(contains("Added feature `rbac`"));

    assert!(read(&root, "saas.toml").contains("features = [\"orgs\", \"rbac\"]"));
    let merged = read(&root, "src/resources/projects.rs");
    assert!(merged.starts_with(mine), "{merged}");
    assert!(merged.contains("Permission::ProjectsDelete"), "{merged}");
    assert!(read(&root, "src/access.rs").contains("ProjectsDelete"));
    // But for the user's line, the project is what `saas new --features orgs,rbac` and
    // the same adds write.
    let left = differences(&work_tree(&root), &fresh_render(&root));
    assert_eq!(left, ["src/resources/projects.rs"]);
    assert_eq!(git(&root, &["rev-parse", &format!("{REF}^")]), old);
}

#[test]
fn a_feature_that_cannot_be_added_or_removed_is_refused_saying_why() {
    let (_parent, root) = project_in_git("none");
    let before = work_tree(&root);
    let refused = |args: &[&str], message: &str| {
        saas()
            .args(args)
            .current_dir(&root)
            .assert()
            .code(1)
            .stderr(contains(message));
        assert_eq!(work_tree(&root), before, "{args:?}");
    };
    refused(
        &["add", "feature", "rbac"],
        "feature `rbac` requires `orgs`, which this project does not have",
    );
    refused(
        &["remove", "feature", "billing"],
        "saas does not remove a feature",
    );

    let (_parent, root) = released_project("acme-pg");
    saas()
        .args(["add", "feature", "rbac"])
        .current_dir(&root)
        .assert()
        .code(1)
        .stderr(contains("this project has the feature `rbac` already"));
    let (_parent, root) = project_in_git("orgs");
    let text = read(&root, "saas.toml").replace(THIS, PREVIOUS);
    std::fs::write(root.join("saas.toml"), text).unwrap();
    commit_all(&root, "As if made by the previous release");
    saas()
        .args(["add", "feature", "rbac"])
        .current_dir(&root)
        .assert()
        .code(1)
        .stderr(contains("run `saas upgrade` first"));
}

#[test]
fn an_upgrade_whose_baseline_cannot_move_puts_every_file_back() {
    let (_parent, root) = released_project("acme-pg");
    let before = work_tree(&root);
    let baseline = git(&root, &["rev-parse", REF]);
    // Another git process holds the ref: update-ref fails after every file is written.
    let lock = root.join(".git/refs/saas/generated.lock");
    std::fs::write(&lock, "").unwrap();

    upgrade(&root, &[])
        .code(2)
        .stderr(contains("refs/saas/generated"));

    assert_eq!(
        differences(&work_tree(&root), &before),
        Vec::<String>::new()
    );
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(git(&root, &["rev-parse", REF]), baseline);
}

#[test]
fn adding_billing_versions_its_migration_after_the_projects_own() {
    let (_parent, root) = project_in_git("orgs");
    let newest_before = std::fs::read_dir(root.join("migrations"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .max()
        .unwrap();

    saas()
        .args(["add", "feature", "billing"])
        .current_dir(&root)
        .env("SAAS_NOW", "1830297600")
        .assert()
        .success()
        .stdout(contains("create  config/plans.toml"))
        .stdout(contains("create  migrations/20280101000000_billing.sql"))
        .stdout(contains("note: .env.example changed"));

    assert!(
        newest_before.as_str() < "20280101000000_billing.sql",
        "{newest_before}"
    );
    assert!(!root.join("migrations/0005_billing.sql").exists());
    let manifest = read(&root, "saas.toml");
    assert!(
        manifest.contains("features = [\"orgs\", \"billing\"]"),
        "{manifest}"
    );
    assert!(
        manifest.contains(
            "migration_names = { \"0005_billing.sql\" = \"20280101000000_billing.sql\" }"
        ),
        "{manifest}"
    );
    // The project is what saas renders from that saas.toml.
    let left = differences(&work_tree(&root), &fresh_render(&root));
    assert!(left.is_empty(), "differs from a fresh render in {left:?}");
    // A resource added afterwards sorts after the billing migration, and the next
    // upgrade knows the migration by its project name.
    saas()
        .args(["add", "resource", "Label", "name:string"])
        .current_dir(&root)
        .env("SAAS_NOW", "1830297600")
        .assert()
        .success()
        .stdout(contains(
            "create  migrations/20280101000001_create_labels.sql",
        ));
    git(&root, &["add", "--all"]);
    commit_all(&root, "Billing and labels");
    upgrade(&root, &[])
        .success()
        .stdout(contains("Nothing to change"));
}

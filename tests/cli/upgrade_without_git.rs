//! `saas upgrade` and `saas add feature` in a project made with `--no-git`: the hashes
//! of what saas wrote (`.saas/generated.sha256`) stand in for the baseline. A file
//! still as saas wrote it is replaced; saas's new version of a file the user changed
//! goes beside it, as `<file>.saas-new`.

use std::path::Path;

use predicates::str::contains;
use saas::hashes::{FILE as HASHES, sha256};

use crate::{
    add_feature::add_feature,
    common::{fingerprint, new_project, new_project_with, saas},
    upgrade::{differences, fresh_render},
};

/// The recorded hashes, by path.
fn hashes(root: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(root.join(HASHES))
        .unwrap()
        .lines()
        .map(|line| {
            let (hash, path) = line.split_once("  ").unwrap();
            (path.to_owned(), hash.to_owned())
        })
        .collect()
}

fn recorded(root: &Path, path: &str) -> Option<String> {
    hashes(root)
        .into_iter()
        .find_map(|(file, hash)| (file == path).then_some(hash))
}

/// Records `contents` as what saas wrote at `path`: as if an older saas had.
fn pretend_saas_wrote(root: &Path, path: &str, contents: &str) {
    let text: String = hashes(root)
        .into_iter()
        .map(|(file, hash)| {
            let hash = if file == path {
                sha256(contents.as_bytes())
            } else {
                hash
            };
            format!("{hash}  {file}\n")
        })
        .collect();
    std::fs::write(root.join(HASHES), text).unwrap();
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

fn add_project_resource(root: &Path) {
    saas()
        .args(["add", "resource", "Project", "title:string"])
        .current_dir(root)
        .assert()
        .success();
}

#[test]
fn new_without_git_records_the_hash_of_every_file_it_wrote_but_env() {
    let (_parent, root) = new_project("sqlite");
    let recorded = hashes(&root);
    let files: Vec<String> = fingerprint(&root)
        .into_iter()
        .filter(|(path, contents)| contents.is_some() && path != ".env" && path != HASHES)
        .map(|(path, _)| path)
        .collect();
    assert_eq!(
        recorded.iter().map(|(path, _)| path).collect::<Vec<_>>(),
        files.iter().collect::<Vec<_>>()
    );
    for (path, hash) in &recorded {
        assert_eq!(
            *hash,
            sha256(&std::fs::read(root.join(path)).unwrap()),
            "{path}"
        );
    }
}

#[test]
fn add_and_remove_record_new_hashes_only_for_files_as_saas_wrote_them() {
    let (_parent, root) = new_project("sqlite");
    // The user's edit of a file that `add resource` edits too.
    let lib = format!("// Ours.\n{}", read(&root, "src/lib.rs"));
    std::fs::write(root.join("src/lib.rs"), &lib).unwrap();
    let lib_before = recorded(&root, "src/lib.rs").unwrap();

    add_project_resource(&root);
    for path in [
        "src/resources/projects.rs",
        "src/resources/mod.rs",
        "saas.toml",
    ] {
        assert_eq!(
            recorded(&root, path),
            Some(sha256(read(&root, path).as_bytes())),
            "{path}"
        );
    }
    // Still the user's: its hash is the one saas wrote before.
    assert_eq!(recorded(&root, "src/lib.rs"), Some(lib_before.clone()));

    saas()
        .args(["remove", "resource", "Project"])
        .current_dir(&root)
        .assert()
        .success();
    assert_eq!(recorded(&root, "src/resources/projects.rs"), None);
    assert_eq!(recorded(&root, "src/lib.rs"), Some(lib_before));
    assert_eq!(
        recorded(&root, "src/resources/mod.rs"),
        Some(sha256(read(&root, "src/resources/mod.rs").as_bytes()))
    );
}

#[test]
fn an_upgrade_without_git_replaces_files_as_saas_wrote_them_and_puts_its_version_beside_yours() {
    let (_parent, root) = new_project("sqlite");
    add_project_resource(&root);
    let fresh = read(&root, "README.md");
    let main = read(&root, "src/main.rs");
    let migration = "migrations/0001_setup.sql";
    let setup = read(&root, migration);
    // As an older saas wrote them: a README since improved, untouched by the user...
    std::fs::write(root.join("README.md"), "# Old README\n").unwrap();
    pretend_saas_wrote(&root, "README.md", "# Old README\n");
    // ...a main.rs since changed, which the user changed too...
    let old_main = main.replacen(
        "#[tokio::main]",
        "#[tokio::main(flavor = \"multi_thread\")]",
        1,
    );
    assert_ne!(old_main, main);
    pretend_saas_wrote(&root, "src/main.rs", &old_main);
    let ours = format!("// Ours.\n{old_main}");
    std::fs::write(root.join("src/main.rs"), &ours).unwrap();
    // ...a file the user changed and saas writes as before...
    let dockerfile = format!("{}# Ours.\n", read(&root, "Dockerfile"));
    std::fs::write(root.join("Dockerfile"), &dockerfile).unwrap();
    // ...and a migration saas would now write otherwise: never changed.
    pretend_saas_wrote(&root, migration, "-- as an older saas wrote it\n");
    let before = fingerprint(&root);

    saas()
        .args(["upgrade", "--dry-run"])
        .current_dir(&root)
        .assert()
        .success()
        .stdout(contains("edit    README.md"))
        .stdout(contains("create  src/main.rs.saas-new"))
        .stdout(contains("Dry run: nothing was written."));
    assert_eq!(fingerprint(&root), before);

    saas()
        .arg("upgrade")
        .current_dir(&root)
        .assert()
        .code(3)
        .stdout(contains(
            "its version written beside each, as <file>.saas-new:\n  src/main.rs",
        ))
        .stdout(contains("merge each .saas-new file"));
    assert_eq!(read(&root, "README.md"), fresh);
    assert_eq!(read(&root, "src/main.rs"), ours);
    assert_eq!(read(&root, "src/main.rs.saas-new"), main);
    assert_eq!(read(&root, "Dockerfile"), dockerfile);
    assert!(!root.join("Dockerfile.saas-new").exists());
    assert_eq!(read(&root, migration), setup);
    // The hashes are now this saas's: of the render, and of the migration as kept.
    assert_eq!(recorded(&root, "README.md"), Some(sha256(fresh.as_bytes())));
    assert_eq!(
        recorded(&root, "src/main.rs"),
        Some(sha256(main.as_bytes()))
    );
    assert_eq!(
        recorded(&root, migration),
        Some(sha256(b"-- as an older saas wrote it\n"))
    );

    // Once the user has merged, the project is this saas's render but for their lines,
    // and a second upgrade has nothing to do.
    std::fs::write(root.join("src/main.rs"), format!("// Ours.\n{main}")).unwrap();
    std::fs::remove_file(root.join("src/main.rs.saas-new")).unwrap();
    let mut tree = fingerprint(&root);
    tree.retain(|path, _| path != ".env" && path != HASHES && !path.starts_with(".saas"));
    assert_eq!(
        differences(&tree, &fresh_render(&root)),
        ["Dockerfile", "src/main.rs"]
    );
    saas()
        .arg("upgrade")
        .current_dir(&root)
        .assert()
        .success()
        .stdout(contains("Nothing to change"));
}

#[test]
fn add_feature_orgs_without_git_writes_its_migrations_and_moves_the_routes() {
    let (_parent, root) = new_project_with("sqlite", "billing");
    add_project_resource(&root);
    add_feature(&root, "orgs")
        .success()
        .stdout(contains(
            "create  migrations/20280101000001_personal_organizations.sql",
        ))
        .stdout(contains("edit    .saas/generated.sha256"));
    assert!(read(&root, "src/resources/projects.rs").contains("/orgs/{org_id}/projects"));
    assert!(read(&root, "saas.toml").contains("features = [\"orgs\", \"billing\"]"));
    for (path, hash) in hashes(&root) {
        assert_eq!(
            hash,
            sha256(&std::fs::read(root.join(&path)).unwrap()),
            "{path}"
        );
    }
}

#[test]
fn an_upgrade_without_git_that_fails_part_way_leaves_every_file_and_hash_as_it_was() {
    let (_parent, root) = new_project("sqlite");
    std::fs::write(root.join("README.md"), "# Old README\n").unwrap();
    pretend_saas_wrote(&root, "README.md", "# Old README\n");
    pretend_saas_wrote(&root, "src/main.rs", "// an older main.rs\n");
    std::fs::write(root.join("src/main.rs"), "// ours\n").unwrap();
    let before = fingerprint(&root);
    // README.md, src/main.rs.saas-new and the hashes.
    let writes = 3;
    for k in 0..writes {
        saas()
            .arg("upgrade")
            .current_dir(&root)
            .env("SAAS_FAIL_AFTER_WRITES", k.to_string())
            .assert()
            .code(2)
            .stderr(contains("fault injected"));
        assert_eq!(fingerprint(&root), before, "after {k} writes");
    }
    saas().arg("upgrade").current_dir(&root).assert().code(3);
    assert_ne!(fingerprint(&root), before);
}

/// A project made without git and put in a repository later has no baseline there:
/// its hashes stay the record, and `add` keeps them current.
#[test]
fn a_project_committed_to_git_later_keeps_its_hashes_current() {
    let (_parent, root) = new_project("sqlite");
    crate::upgrade::git(&root, &["init", "--quiet"]);
    crate::upgrade::git(&root, &["add", "--all"]);
    crate::upgrade::git(&root, &["commit", "--quiet", "-m", "Ours now"]);
    add_project_resource(&root);
    let module = read(&root, "src/resources/projects.rs");
    assert_eq!(
        recorded(&root, "src/resources/projects.rs"),
        Some(sha256(module.as_bytes()))
    );
}

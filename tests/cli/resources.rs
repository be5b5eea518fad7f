//! `saas add resource` and `saas remove resource` as a user runs them: the files and
//! edits they make, and every refusal, which leaves the project byte-identical.

use predicates::str::contains;
use saas::manifest::Manifest;

use crate::common::{
    PROJECT_FIELDS, add, fingerprint, new_project, new_project_with, read, remove, saas,
};

#[test]
fn adding_a_resource_writes_its_files_registers_it_and_records_it() {
    let (_parent, root) = new_project("sqlite");
    let mut args = vec!["Projects"];
    args.extend(PROJECT_FIELDS);

    add(&root, &args)
        .success()
        .stdout(contains("create  src/resources/projects.rs"))
        .stdout(contains(
            "GET and POST /projects, GET, PATCH and DELETE /projects/{id}",
        ))
        .stdout(contains("Restart the server"));

    assert!(root.join("src/resources/projects.rs").is_file());
    assert!(root.join("tests/api/projects.rs").is_file());
    assert!(
        root.join("migrations/20270101000000_create_projects.sql")
            .is_file()
    );
    assert!(
        read(&root, "src/resources/mod.rs").contains("pub mod projects;\n// saas:resource-modules")
    );
    assert!(
        read(&root, "src/lib.rs")
            .contains(".merge(resources::projects::router())\n        // saas:routes")
    );
    assert!(read(&root, "tests/api/main.rs").contains("mod projects;\n"));
    assert!(
        read(&root, "src/seed.rs")
            .contains("crate::resources::projects::seed(&demo, db).await?,\n        // saas:seeds")
    );
    let snapshot = read(&root, saas::api_snapshot::PATH);
    for entry in [
        "\"/projects\": {",
        "\"/projects/{id}\": {",
        "\"ProjectInput\": {",
    ] {
        assert!(snapshot.contains(entry), "the API snapshot has no {entry}");
    }
    let manifest = Manifest::parse(&read(&root, "saas.toml")).unwrap();
    let entry = manifest.resource("projects").unwrap();
    assert_eq!(entry.name, "Project");
    assert_eq!(entry.fields, PROJECT_FIELDS);
    assert_eq!(entry.files.len(), 3);
    assert_eq!(entry.injections.len(), 4);
}

#[test]
fn a_dry_run_prints_the_plan_and_writes_nothing() {
    let (_parent, root) = new_project("sqlite");
    let before = fingerprint(&root);

    add(&root, &["Project", "title:string", "--dry-run"])
        .success()
        .stdout(contains(
            "create  migrations/20270101000000_create_projects.sql",
        ))
        .stdout(contains("edit    src/lib.rs at `// saas:routes`"))
        .stdout(contains("Dry run: nothing was written."));
    let output = add(&root, &["Project", "title:string", "--dry-run", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();

    let plan: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(plan["create"][0], "src/resources/projects.rs");
    assert_eq!(
        plan["edit"][1]["markers"],
        serde_json::json!(["// saas:routes"])
    );
    assert_eq!(fingerprint(&root), before);
}

#[test]
fn removing_a_resource_undoes_the_add_and_drops_its_table() {
    let (_parent, root) = new_project("postgres");
    let before = fingerprint(&root);
    add(&root, &["Project", "title:string"]).success();

    saas()
        .args(["remove", "resource", "Project"])
        .current_dir(&root)
        .env("SAAS_NOW", "1798761700")
        .assert()
        .success();

    let mut after = fingerprint(&root);
    let create = after.remove("migrations/20270101000000_create_projects.sql");
    let drop = after.remove("migrations/20270101000140_drop_projects.sql");
    without_hashes_of_migrations(&mut after);
    assert!(create.is_some(), "the create migration stays");
    assert!(
        String::from_utf8(drop.flatten().unwrap())
            .unwrap()
            .contains("drop table projects;")
    );
    assert_eq!(after, before, "everything else is as it was before the add");
}

#[test]
fn an_edited_file_is_kept_unless_forced() {
    let (_parent, root) = new_project("sqlite");
    add(&root, &["Project", "title:string"]).success();
    std::fs::write(root.join("src/resources/projects.rs"), "// my own now\n").unwrap();
    let before = fingerprint(&root);

    saas()
        .args(["remove", "resource", "Project"])
        .current_dir(&root)
        .assert()
        .code(1)
        .stderr(contains(
            "edited since `saas add` wrote it: src/resources/projects.rs",
        ))
        .stderr(contains("--force"));
    assert_eq!(fingerprint(&root), before);

    saas()
        .args(["remove", "resource", "Project", "--force"])
        .current_dir(&root)
        .assert()
        .success();
    assert!(!root.join("src/resources/projects.rs").exists());
}

/// Runs `saas add resource <args>` in a fresh project and asserts a refusal that
/// says `message` and leaves the project byte-identical.
fn assert_add_refused(prepare: &[&[&str]], args: &[&str], message: &str) {
    let (_parent, root) = new_project("sqlite");
    for earlier in prepare {
        add(&root, earlier).success();
    }
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
fn bad_names_are_refused() {
    assert_add_refused(&[], &["User", "name:string"], "the app already has `user`");
    assert_add_refused(
        &[],
        &["Session", "name:string"],
        "the app already has `session`",
    );
    assert_add_refused(&[], &["Doc", "name:string"], "the app already has `doc`");
    assert_add_refused(&[], &["Order", "name:string"], "reserved word in SQL");
    assert_add_refused(&[], &["async", "name:string"], "Rust keyword");
    assert_add_refused(
        &[],
        &["1project", "name:string"],
        "must start with a letter",
    );
    assert_add_refused(
        &[],
        &["news", "name:string"],
        "the same in singular and plural",
    );
}

#[test]
fn bad_fields_are_refused_naming_the_token() {
    assert_add_refused(
        &[],
        &["Project", "name:strang"],
        "invalid field `name:strang`: unknown type `strang`",
    );
    assert_add_refused(
        &[],
        &["Project", "name:strang"],
        "help: the types are string, text, bool",
    );
    assert_add_refused(
        &[],
        &["Project", "title:string", "title:text"],
        "`title` is given twice",
    );
    for reserved in [
        "id:uuid",
        "created_at:datetime",
        "updated_at:datetime",
        "org_id:uuid",
        "user_id:uuid",
    ] {
        assert_add_refused(&[], &["Project", reserved], "a column the app manages");
    }
    assert_add_refused(&[], &["Project", "type:string"], "Rust keyword");
    assert_add_refused(&[], &["Project", "order:i32"], "reserved word in SQL");
    assert_add_refused(&[], &["Project", "Title:string"], "lowercase");
    assert_add_refused(
        &[],
        &["Task", "project:references"],
        "there is no resource `project` to reference",
    );
}

#[test]
fn the_same_resource_twice_is_refused() {
    assert_add_refused(
        &[&["Project", "title:string"]],
        &["Project", "title:string"],
        "resource `Project` already exists",
    );
    assert_add_refused(
        &[&["Project", "title:string"]],
        &["projects", "name:text"],
        "resource `Project` already exists",
    );
}

#[test]
fn billing_options_need_the_billing_feature() {
    assert_add_refused(
        &[],
        &["Project", "title:string", "--limit", "free=3"],
        "`--limit` needs the `billing` feature",
    );
    assert_add_refused(
        &[],
        &["Report", "title:string", "--feature", "reports"],
        "`--feature` needs the `billing` feature",
    );
    assert_add_refused(
        &[],
        &["Project", "title:string", "--limit", "free=3"],
        "help: leave `--limit` out; plans come with projects made with `--features billing`",
    );
}

#[test]
fn a_missing_marker_is_refused_naming_the_file_and_the_line_to_restore() {
    let (_parent, root) = new_project("sqlite");
    let lib = read(&root, "src/lib.rs").replace("        // saas:routes\n", "");
    std::fs::write(root.join("src/lib.rs"), lib).unwrap();
    let before = fingerprint(&root);

    add(&root, &["Project", "title:string"])
        .code(1)
        .stderr(contains(
            "the marker `// saas:routes` is missing from `src/lib.rs`",
        ))
        .stderr(contains("help: put the line `// saas:routes` back"));

    assert_eq!(fingerprint(&root), before);
}

#[test]
fn a_broken_api_snapshot_is_refused_by_add_and_remove_and_left_as_it_is() {
    let (_parent, root) = new_project("sqlite");
    add(&root, &["Project", "title:string"]).success();
    let snapshot = root.join(saas::api_snapshot::PATH);
    let text = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::write(&snapshot, text.replace("\"paths\": {", "\"paths\": {{")).unwrap();
    let before = fingerprint(&root);

    for command in [
        &["add", "resource", "Task", "title:string"][..],
        &["remove", "resource", "Project"],
    ] {
        saas()
            .args(command)
            .current_dir(&root)
            .assert()
            .code(1)
            .stderr(contains(format!(
                "{}: the document is not JSON",
                saas::api_snapshot::PATH
            )))
            .stderr(contains(
                "help: run `INSTA_UPDATE=always cargo test openapi`",
            ));
        assert_eq!(
            fingerprint(&root),
            before,
            "{command:?} changed the project"
        );
    }
}

#[test]
fn without_an_api_snapshot_add_and_remove_leave_it_out() {
    let (_parent, root) = new_project("sqlite");
    std::fs::remove_file(root.join(saas::api_snapshot::PATH)).unwrap();

    add(&root, &["Project", "title:string"]).success();
    assert!(root.join("src/resources/projects.rs").is_file());
    saas()
        .args(["remove", "resource", "Project"])
        .current_dir(&root)
        .assert()
        .success();
    assert!(!root.join(saas::api_snapshot::PATH).exists());
}

#[test]
fn a_hand_written_file_in_the_way_is_never_overwritten() {
    let (_parent, root) = new_project("sqlite");
    std::fs::write(root.join("src/resources/projects.rs"), "// mine\n").unwrap();
    let before = fingerprint(&root);

    add(&root, &["Project", "title:string"])
        .code(1)
        .stderr(contains("`src/resources/projects.rs` already exists"));

    assert_eq!(fingerprint(&root), before);
}

#[test]
fn outside_a_project_the_commands_say_so() {
    let directory = tempfile::tempdir().unwrap();

    for args in [
        &["add", "resource", "Project", "title:string"][..],
        &["remove", "resource", "Project"][..],
    ] {
        saas()
            .args(args)
            .current_dir(directory.path())
            .assert()
            .code(1)
            .stderr(contains("no saas.toml here or in any parent directory"));
    }
    assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 0);
}

#[test]
fn removing_what_is_still_referenced_or_unknown_is_refused() {
    let (_parent, root) = new_project("sqlite");
    add(&root, &["Project", "title:string"]).success();
    add(&root, &["Task", "title:string", "project:references"]).success();
    let before = fingerprint(&root);

    saas()
        .args(["remove", "resource", "Project"])
        .current_dir(&root)
        .assert()
        .code(1)
        .stderr(contains("resource `Project` is referenced by Task"));
    saas()
        .args(["remove", "resource", "Widget"])
        .current_dir(&root)
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            "error: there is no resource `Widget` in saas.toml\n\
             help: the resources are Project, Task\n",
        );

    assert_eq!(fingerprint(&root), before);
}

#[test]
fn removing_from_a_project_without_resources_says_there_are_none() {
    let (_parent, root) = new_project("sqlite");
    let before = fingerprint(&root);

    saas()
        .args(["remove", "resource", "Widget"])
        .current_dir(&root)
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            "error: there is no resource `Widget` in saas.toml\n\
             help: this project has no resources yet; `saas add resource` adds one\n",
        );

    assert_eq!(fingerprint(&root), before);
}

/// The rows `saas add resource Project` writes into the permission table with `rbac`.
const PROJECT_PERMISSIONS: [&str; 4] = [
    "    ProjectsRead = \"projects:read\" => [Owner, Admin, Member],",
    "    ProjectsCreate = \"projects:create\" => [Owner, Admin, Member],",
    "    ProjectsUpdate = \"projects:update\" => [Owner, Admin, Member],",
    "    ProjectsDelete = \"projects:delete\" => [Owner, Admin],",
];

#[test]
fn with_rbac_a_resource_adds_its_four_permissions_and_remove_takes_them_out() {
    let (_parent, root) = new_project_with("sqlite", "orgs,rbac");
    let before = fingerprint(&root);
    let table = read(&root, "src/access.rs");

    add(&root, &["Project", "title:string"]).success();

    let added = read(&root, "src/access.rs");
    let marker = added
        .lines()
        .position(|line| line.trim() == "// saas:permissions")
        .unwrap();
    let above: Vec<&str> = added.lines().collect::<Vec<_>>()[marker - 4..marker].to_vec();
    assert_eq!(
        above, PROJECT_PERMISSIONS,
        "the rows stand just above the marker"
    );
    assert_eq!(added.lines().count(), table.lines().count() + 4);
    let manifest = read(&root, "saas.toml");
    for line in PROJECT_PERMISSIONS {
        assert!(manifest.contains(line.trim()), "saas.toml records {line}");
    }

    remove(&root, &["Project"]).success();

    assert_eq!(read(&root, "src/access.rs"), table);
    let mut after = fingerprint(&root);
    after.retain(|path, _| !path.starts_with("migrations/2027"));
    without_hashes_of_migrations(&mut after);
    assert_eq!(
        after, before,
        "everything but the migrations is as before the add"
    );
}

#[test]
fn without_rbac_a_resource_adds_no_permissions() {
    let (_parent, root) = new_project_with("sqlite", "orgs");
    let table = read(&root, "src/access.rs");

    add(&root, &["Project", "title:string"])
        .success()
        .stdout(contains("GET and POST /orgs/{org_id}/projects,"));

    assert_eq!(read(&root, "src/access.rs"), table);
    assert!(read(&root, "src/resources/projects.rs").contains("/orgs/{org_id}/projects"));
}

#[test]
fn a_member_column_needs_organizations() {
    assert_add_refused(
        &[],
        &["Task", "title:string", "assignee:references(user)"],
        "this project has no organizations",
    );
    assert_add_refused(
        &[],
        &["Task", "title:string", "assignee:references(user)"],
        "help: projects made with `--features orgs` have them; here, store a user's id as `assignee_id:uuid`",
    );
}

#[test]
fn each_resource_seeds_after_those_it_references_and_remove_takes_out_its_seeding() {
    let (_parent, root) = new_project("sqlite");
    let seed = read(&root, "src/seed.rs");

    add(&root, &["Project", "title:string"]).success();
    add(&root, &["Task", "title:string", "project:references"]).success();

    let seeded = read(&root, "src/seed.rs");
    assert!(
        seeded.contains(
            "        crate::resources::projects::seed(&demo, db).await?,\n        crate::resources::tasks::seed(&demo, db).await?,\n        // saas:seeds\n"
        ),
        "{seeded}"
    );
    remove(&root, &["Task"]).success();
    assert!(!read(&root, "src/seed.rs").contains("tasks::seed"));
    remove(&root, &["Project"]).success();
    assert_eq!(read(&root, "src/seed.rs"), seed);
}

/// Leaves out of the hashes of what saas wrote (a project without git) those of the
/// migrations `add` and `remove` wrote, which stay.
fn without_hashes_of_migrations(tree: &mut std::collections::BTreeMap<String, Option<Vec<u8>>>) {
    let hashes = tree.get_mut(saas::hashes::FILE).unwrap().as_mut().unwrap();
    let text = String::from_utf8(hashes.clone()).unwrap();
    *hashes = text
        .lines()
        .filter(|line| !line.contains("  migrations/2027"))
        .map(|line| format!("{line}\n"))
        .collect::<String>()
        .into_bytes();
}

//! `saas remove resource` is all or nothing: a registration line that is no longer there
//! as `saas add` wrote it refuses the whole removal and changes nothing; `--force`
//! removes the rest and names the lines left to delete by hand.

use predicates::str::contains;
use saas::manifest::Manifest;

use crate::common::{add, fingerprint, new_project, read, remove};

const ROUTE_LINE: &str = "        .merge(resources::projects::router())";
const EDITED_ROUTE_LINE: &str = "        .merge(resources::projects::router().layer(tower_http::trace::TraceLayer::new_for_http()))";

/// A project with `Project` added and its route line edited by hand.
fn project_with_an_edited_route() -> (tempfile::TempDir, std::path::PathBuf) {
    let (parent, root) = new_project("sqlite");
    add(&root, &["Project", "title:string"]).success();
    let lib = read(&root, "src/lib.rs");
    assert!(lib.contains(ROUTE_LINE));
    std::fs::write(
        root.join("src/lib.rs"),
        lib.replace(ROUTE_LINE, EDITED_ROUTE_LINE),
    )
    .unwrap();
    (parent, root)
}

fn line_number(text: &str, line: &str) -> usize {
    text.lines()
        .position(|candidate| candidate == line)
        .unwrap()
        + 1
}

#[test]
fn an_edited_registration_refuses_the_removal_naming_the_file_and_the_line() {
    let (_parent, root) = project_with_an_edited_route();
    let number = line_number(&read(&root, "src/lib.rs"), EDITED_ROUTE_LINE);
    let before = fingerprint(&root);

    remove(&root, &["Project"])
        .code(1)
        .stdout("")
        .stderr(contains(
            "cannot remove resource `Project`: a line that `saas add` injected is no longer there as written",
        ))
        .stderr(contains(format!(
            "src/lib.rs: `.merge(resources::projects::router())` is now line {number}: `{}`",
            EDITED_ROUTE_LINE.trim()
        )))
        .stderr(contains("help: put it back as shown"))
        .stderr(contains("--force"));

    assert_eq!(
        fingerprint(&root),
        before,
        "a refused remove changes nothing"
    );
}

#[test]
fn forcing_removes_the_rest_and_prints_the_lines_left_to_delete_by_hand() {
    let (_parent, root) = project_with_an_edited_route();
    let number = line_number(&read(&root, "src/lib.rs"), EDITED_ROUTE_LINE);

    remove(&root, &["Project", "--force"])
        .success()
        .stdout(contains("left for you to delete by hand"))
        .stdout(contains(format!(
            "  src/lib.rs:{number}: {}\n",
            EDITED_ROUTE_LINE.trim()
        )));

    assert!(!root.join("src/resources/projects.rs").exists());
    assert!(!read(&root, "src/resources/mod.rs").contains("pub mod projects;"));
    assert!(!read(&root, "tests/api/main.rs").contains("mod projects;"));
    assert!(
        read(&root, "src/lib.rs").contains(EDITED_ROUTE_LINE),
        "the user's line is theirs"
    );
    let manifest = Manifest::parse(&read(&root, "saas.toml")).unwrap();
    assert!(manifest.resources.is_empty());
}

#[test]
fn a_registration_deleted_by_hand_also_refuses_the_removal() {
    let (_parent, root) = new_project("sqlite");
    add(&root, &["Project", "title:string"]).success();
    let lib = read(&root, "src/lib.rs").replace(&format!("{ROUTE_LINE}\n"), "");
    std::fs::write(root.join("src/lib.rs"), lib).unwrap();
    let before = fingerprint(&root);

    remove(&root, &["Project"]).code(1).stderr(contains(
        "src/lib.rs: `.merge(resources::projects::router())` is gone",
    ));

    assert_eq!(fingerprint(&root), before);
}

#[test]
fn a_line_that_was_there_before_the_add_is_not_recorded_and_survives_the_remove() {
    let (_parent, root) = new_project("sqlite");
    let main = read(&root, "tests/api/main.rs").replace(
        "// saas:test-modules",
        "mod projects;\n// saas:test-modules",
    );
    std::fs::write(root.join("tests/api/main.rs"), &main).unwrap();

    add(&root, &["Project", "title:string"]).success();
    let manifest = Manifest::parse(&read(&root, "saas.toml")).unwrap();
    let recorded: Vec<&str> = manifest.resources[0]
        .injections
        .iter()
        .map(|injection| injection.path.as_str())
        .collect();
    assert_eq!(
        recorded,
        ["src/resources/mod.rs", "src/lib.rs", "src/seed.rs"]
    );

    remove(&root, &["Project"]).success();
    assert_eq!(
        read(&root, "tests/api/main.rs"),
        main,
        "the user's own line stays"
    );
}

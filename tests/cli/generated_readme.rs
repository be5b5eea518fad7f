//! The generated README tells the truth about its own project: the resource its
//! "Grow it" section adds gets exactly the routes that section lists, in the OpenAPI
//! document `saas add resource` writes.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{add, new_project_with, read};

/// The `METHOD /path` lines of the README's "Grow it" section.
fn readme_routes(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split("\n## Grow it\n")
        .nth(1)
        .expect("a Grow it section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let method = words.next()?;
            let path = words.next()?;
            let is_method = ["GET", "POST", "PATCH", "PUT", "DELETE"].contains(&method);
            (is_method && path.starts_with('/')).then(|| format!("{method} {path}"))
        })
        .collect()
}

/// The `saas add resource …` command the section shows.
fn readme_add_command(readme: &str) -> Vec<String> {
    let line = readme
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("saas add resource "))
        .expect("an add command");
    line.split_whitespace().skip(3).map(str::to_owned).collect()
}

/// The routes of the project's OpenAPI snapshot whose path contains `word`.
fn documented_routes(root: &std::path::Path, word: &str) -> BTreeSet<String> {
    let snapshot = read(root, "tests/api/snapshots/openapi.snap");
    let json = snapshot.splitn(3, "---\n").nth(2).expect("a snapshot body");
    let document: Value = serde_json::from_str(json).unwrap();
    let mut routes = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        if !path.contains(word) {
            continue;
        }
        for method in operations.as_object().unwrap().keys() {
            routes.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    routes
}

#[test]
fn each_variants_readme_lists_the_routes_its_example_resource_gets() {
    for features in ["none", "orgs", "orgs,rbac,billing"] {
        let (_dir, root) = new_project_with("sqlite", features);
        let readme = read(&root, "README.md");
        let args = readme_add_command(&readme);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        add(&root, &args).success();

        let listed = readme_routes(&readme);
        assert_eq!(listed.len(), 5, "{features}: {listed:?}");
        assert_eq!(
            listed,
            documented_routes(&root, "/projects"),
            "the README of a project with {features}"
        );
    }
}

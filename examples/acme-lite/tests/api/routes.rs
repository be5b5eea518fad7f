//! `cargo run -- routes`: every operation of the OpenAPI document, with what it needs.

use serde_json::Value;

use app::route_list::{self, PERMISSION_EXTENSION};

const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// The document as JSON, read here independently of `route_list`.
fn document() -> Value {
    serde_json::to_value(app::openapi()).unwrap()
}

fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (key, operation) in item.as_object().unwrap() {
            // Besides its methods, a path item may hold parameters of every operation.
            if METHODS.contains(&key.as_str()) {
                operations.push((key.to_uppercase(), path.clone(), operation));
            }
        }
    }
    operations
}

#[test]
fn the_listing_has_every_operation_with_what_it_needs() {
    let document = document();
    let table = route_list::table(&app::openapi());

    let operations = operations(&document);
    assert_eq!(table.lines().count(), operations.len(), "{table}");
    for (method, path, operation) in operations {
        let line = table
            .lines()
            .find(|line| {
                line.split_whitespace()
                    .take(2)
                    .eq([method.as_str(), path.as_str()])
            })
            .unwrap_or_else(|| panic!("{method} {path} is not listed:\n{table}"));
        let needs = match operation[PERMISSION_EXTENSION].as_str() {
            Some(permission) => permission,
            None if operation["security"].is_array() && path.contains("{org_id}") => "member",
            None if operation["security"].is_array() => "signed in",
            None => "public",
        };
        assert!(line.contains(&format!("  {needs}  ")), "{line}");
        if let Some(summary) = operation["summary"].as_str() {
            let words: Vec<&str> = summary.split_whitespace().collect();
            assert!(line.ends_with(&words.join(" ")), "{line}");
        }
    }
}

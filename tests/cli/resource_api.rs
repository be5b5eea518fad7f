//! A resource's part of the API document, which saas writes without building the app
//! (its resource model, serialised by `render/openapi.rs`), against what utoipa served
//! for it, in the fast tests. Each fixture below is a project with resources;
//! `tests/cli/resource_api/<fixture>.json` records what its built app served for them,
//! and a fingerprint of the source utoipa read (the rendered `#[utoipa::path]`
//! attributes, the `ToSchema` and `IntoParams` types and the response sets). The test
//! generates each fixture, without a build, and requires both as recorded: a change to
//! the model, or to the templates' side of the document, fails here until
//! `scripts/refresh_resource_api.sh` records afresh, from a build, what the app serves.
//! The end-to-end tests build the same resources (`PROJECT_FIELDS`, `TASK_FIELDS`,
//! `SHAPES`) and run each app's own snapshot test against what saas wrote.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::common::{PROJECT_FIELDS, SHAPES, TASK_FIELDS, add, new_project_with, read};

/// Set to record the fixtures afresh from built apps (what the refresh script does).
const RECORD: &str = "SAAS_RECORD_RESOURCE_API";

struct Fixture {
    name: &'static str,
    features: &'static str,
    /// Each resource as `saas add resource` takes it: name, fields and options.
    resources: Vec<Vec<&'static str>>,
}

/// Between them, every branch of the model: a user's and an organization's rows, with
/// and without rbac, plan limits and plan features, every field type required and
/// optional, unique fields, references and member columns.
fn fixtures() -> Vec<Fixture> {
    let resource = |name, fields: &[&'static str], options: &[&'static str]| {
        [&[name], fields, options].concat()
    };
    let with_billing = || {
        vec![
            resource("Project", PROJECT_FIELDS, &["--limit", "free=3"]),
            resource("Task", TASK_FIELDS, &["--feature", "reports"]),
        ]
    };
    vec![
        Fixture {
            name: "billing",
            features: "billing",
            resources: with_billing(),
        },
        Fixture {
            name: "orgs-billing",
            features: "orgs,billing",
            resources: with_billing(),
        },
        Fixture {
            name: "orgs-rbac-shapes",
            features: "orgs,rbac",
            resources: SHAPES
                .iter()
                .map(|(name, fields)| resource(name, fields, &[]))
                .collect(),
        },
    ]
}

fn recorded_path(fixture: &Fixture) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/resource_api")
        .join(format!("{}.json", fixture.name))
}

/// The document of the project's API snapshot.
fn document(root: &Path) -> Value {
    let snapshot = read(root, saas::api_snapshot::PATH);
    let (_, body) = snapshot
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .expect("an insta snapshot");
    serde_json::from_str(body).unwrap()
}

/// The entries of `after`'s `section` that `before` does not have.
fn added(before: &Value, after: &Value, pointer: &str) -> Value {
    let before = before.pointer(pointer).and_then(Value::as_object).unwrap();
    let entries: Map<String, Value> = after
        .pointer(pointer)
        .and_then(Value::as_object)
        .unwrap()
        .iter()
        .filter(|(key, _)| !before.contains_key(*key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Value::Object(entries)
}

/// Lets the project's own snapshot test write its snapshot from the built app.
fn serve_snapshot(root: &Path) {
    std::fs::remove_file(root.join(saas::api_snapshot::PATH)).unwrap();
    // Where the end-to-end tests build generated apps, so dependencies build once.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("generated");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["test", "--quiet", "--locked", "--test", "acme_api"])
        .arg("the_api_is_the_one_on_record")
        .env("CARGO_TARGET_DIR", target)
        // As the end-to-end tests build, sharing their artefacts.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("DATABASE_URL")
        .env("INSTA_UPDATE", "always")
        .current_dir(root)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{}: the app's snapshot test",
        root.display()
    );
}

/// The source utoipa reads to serve a resource's part of the document, hashed: every
/// top-level item of the resources' modules, `openapi.rs` and `access.rs` that declares
/// a route, a schema, parameters or responses (of a route, its attribute only).
fn source_fingerprint(root: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("src/resources"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files.extend(["src/openapi.rs", "src/access.rs"].map(|path| root.join(path)));
    let markers = [
        "#[utoipa::path(",
        "ToSchema",
        "IntoParams",
        "IntoResponses",
        "fn refer(",
        "fn error_response(",
    ];
    let mut hasher = Sha256::new();
    for file in files.iter().filter(|file| file.is_file()) {
        let source = std::fs::read_to_string(file).unwrap();
        hasher.update(
            file.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .as_bytes(),
        );
        let mut item = Vec::new();
        for line in source.lines() {
            item.push(line);
            let ends =
                line == "}" || (!line.starts_with(char::is_whitespace) && line.ends_with(';'));
            if !ends {
                continue;
            }
            let text = item.join("\n");
            if markers.iter().any(|marker| text.contains(marker)) {
                let kept = match text.find("\n)]\n") {
                    Some(end) if text.contains("#[utoipa::path(") => &text[..end + 3],
                    _ => &text,
                };
                hasher.update(kept.as_bytes());
            }
            item.clear();
        }
    }
    format!("{:x}", hasher.finalize())
}

/// Where two values first differ, as a JSON pointer with both sides.
fn first_difference(expected: &Value, actual: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => a
            .keys()
            .chain(b.keys().filter(|key| !a.contains_key(*key)))
            .find_map(|key| {
                let at = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => first_difference(x, y, &at),
                    (x, y) => Some(format!("{at}: recorded {x:?}, saas writes {y:?}")),
                }
            }),
        _ if expected == actual => None,
        _ => Some(format!("{at}: recorded {expected}, saas writes {actual}")),
    }
}

#[test]
fn the_document_saas_writes_for_resources_is_the_one_their_app_served() {
    let record = std::env::var_os(RECORD).is_some();
    for fixture in fixtures() {
        let (_parent, root) = new_project_with("sqlite", fixture.features);
        let before = document(&root);
        for args in &fixture.resources {
            add(&root, args).success();
        }
        if record {
            serve_snapshot(&root);
        }
        let after = document(&root);
        let now = json!({
            "source": source_fingerprint(&root),
            "paths": added(&before, &after, "/paths"),
            "schemas": added(&before, &after, "/components/schemas"),
        });
        let path = recorded_path(&fixture);
        if record {
            let pretty = serde_json::to_string_pretty(&now).unwrap();
            std::fs::write(&path, pretty + "\n").unwrap();
            continue;
        }
        let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let help = "help: run scripts/refresh_resource_api.sh to record what the built app \
                    serves now, and review `git diff tests/cli/resource_api`";
        for section in ["paths", "schemas"] {
            if let Some(difference) =
                first_difference(&recorded[section], &now[section], &format!("/{section}"))
            {
                panic!(
                    "{}: the resource model's document is not what utoipa served for it\n\
                     {difference}\n{help}",
                    fixture.name
                );
            }
        }
        assert!(
            recorded["source"] == now["source"],
            "{}: the source utoipa reads (routes' attributes, schemas, response sets) \
             changed since its document was recorded\n{help}",
            fixture.name
        );
    }
}

//! The snapshot of its own OpenAPI document that a generated project keeps in
//! [`PATH`], which its `openapi` test compares with what the app serves (insta). `saas
//! new` writes the document of the project's feature set, composed from
//! `templates/openapi/`: the base document of a project without features, and a
//! fragment per feature merged into it (see [`for_project`]);
//! `scripts/check_openapi.sh` shows where the composed document and the app's part.
//! `saas add resource` merges the resource's paths and schemas in and `saas remove
//! resource` takes them out, so the project's tests pass after each without a build.
//!
//! The document is written as the test writes it: `serde_json`'s pretty printing of a
//! value whose object keys are sorted.

use std::path::Path;

use serde_json::{Map, Value};

use crate::{
    Error,
    render::{ProjectContext, Renderer, ResourceApi, Tenancy},
    spec::features::FeatureSet,
    spec::naming::ResourceName,
};

/// Where insta keeps the snapshot of the test `openapi::the_api_is_the_one_on_record`.
pub const PATH: &str = "tests/api/snapshots/openapi.snap";

/// What insta writes above the document: the test's file and the asserted expression.
const HEADER: &str = "---\nsource: tests/api/openapi.rs\nexpression: \"serde_json::to_string_pretty(&document).unwrap()\"\n---\n";

/// The snapshot of a new project: `templates/openapi/base.json.jinja`, the document of
/// a project without features, then for each feature, in order, the fragment
/// `templates/openapi/<feature>.json.jinja` merged into it ([`merge`]). Each is rendered
/// with the project's names (its title, and its crate name, which prefixes API tokens)
/// and features (billing's routes are an organization's with `orgs`).
pub fn for_project(
    renderer: &Renderer,
    features: &FeatureSet,
    context: &ProjectContext,
) -> Result<String, Error> {
    let mut document = fragment(renderer, "base", context)?;
    for feature in features.iter() {
        merge(
            &mut document,
            fragment(renderer, feature.as_str(), context)?,
        );
    }
    Ok(write(HEADER, &document))
}

/// The template `openapi/<name>.json.jinja`, rendered and parsed.
fn fragment(renderer: &Renderer, name: &str, context: &ProjectContext) -> Result<Value, Error> {
    let template = format!("openapi/{name}.json.jinja");
    let json = renderer.render_template(&template, context)?;
    // saas's own templates: the unit tests compose every feature set.
    Ok(serde_json::from_str(&json)
        .unwrap_or_else(|error| panic!("templates/{template} renders JSON: {error}")))
}

/// `fragment` merged into `document`: objects key by key, so a fragment states only
/// what it adds or changes; anything else (a string, an array) replaces what was there.
fn merge(document: &mut Value, fragment: Value) {
    match (document, fragment) {
        (Value::Object(document), Value::Object(fragment)) => {
            for (key, value) in fragment {
                match document.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        document.insert(key, value);
                    }
                }
            }
        }
        (document, fragment) => *document = fragment,
    }
}

/// The snapshot of the project at `root`; `None` when the project has none (it dropped
/// the test that reads it, so there is nothing to keep up to date).
pub fn load(root: &Path) -> Result<Option<String>, Error> {
    let path = root.join(PATH);
    if !path.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|source| Error::Read { path, source })
}

/// `snapshot` with the resource's paths and schemas added (replacing any of the same
/// name).
pub fn add(snapshot: &str, api: &ResourceApi) -> Result<String, Error> {
    let (header, mut document) = read(snapshot)?;
    for (section, entries) in sections(&mut document)?
        .into_iter()
        .zip([&api.paths, &api.schemas])
    {
        for (key, value) in entries {
            section.insert(key.clone(), value.clone());
        }
    }
    Ok(write(header, &document))
}

/// `snapshot` without the paths and schemas of the resource `name`; those already gone
/// stay gone.
pub fn remove(snapshot: &str, name: &ResourceName, tenancy: &Tenancy) -> Result<String, Error> {
    let (header, mut document) = read(snapshot)?;
    let [paths, schemas] = sections(&mut document)?;
    for key in resource_paths(name, tenancy) {
        paths.remove(&key);
    }
    for key in resource_schemas(name) {
        schemas.remove(&key);
    }
    Ok(write(header, &document))
}

/// The paths a resource serves: its collection and its items.
fn resource_paths(name: &ResourceName, tenancy: &Tenancy) -> [String; 2] {
    let base = tenancy.route_base(name);
    [format!("{base}/{{id}}"), base]
}

/// The schemas a resource adds: its row, its input and its page.
fn resource_schemas(name: &ResourceName) -> [String; 3] {
    let pascal = &name.pascal;
    [
        pascal.clone(),
        format!("{pascal}Input"),
        format!("{pascal}Page"),
    ]
}

/// The document's `paths` and `components.schemas`.
fn sections(document: &mut Value) -> Result<[&mut Map<String, Value>; 2], Error> {
    let not_openapi = || Error::ApiSnapshot {
        file: PATH,
        problem: "the document has no `paths` or no `components.schemas`".to_owned(),
        help: HELP.to_owned(),
    };
    let Value::Object(document) = document else {
        return Err(not_openapi());
    };
    let mut paths = None;
    let mut components = None;
    for (key, value) in document.iter_mut() {
        match key.as_str() {
            "paths" => paths = value.as_object_mut(),
            "components" => components = value.get_mut("schemas").and_then(Value::as_object_mut),
            _ => {}
        }
    }
    Ok([
        paths.ok_or_else(not_openapi)?,
        components.ok_or_else(not_openapi)?,
    ])
}

const HELP: &str = "run `INSTA_UPDATE=always cargo test openapi` in the project to write it afresh from the app, then run the command again";

/// The snapshot's header (insta's lines up to the second `---`, kept as they are) and
/// its document.
fn read(snapshot: &str) -> Result<(&str, Value), Error> {
    let (header, body) = snapshot
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(metadata, body)| (&snapshot[..metadata.len() + 9], body))
        .ok_or_else(|| Error::ApiSnapshot {
            file: PATH,
            problem: "not an insta snapshot (no `---` header)".to_owned(),
            help: HELP.to_owned(),
        })?;
    let document = serde_json::from_str(body).map_err(|error| Error::ApiSnapshot {
        file: PATH,
        problem: format!("the document is not JSON: {error}"),
        help: HELP.to_owned(),
    })?;
    Ok((header, document))
}

fn write(header: &str, document: &Value) -> String {
    let pretty = serde_json::to_string_pretty(&sorted(document)).expect("a JSON value serializes");
    format!("{header}{pretty}\n")
}

/// `value` with every object's keys in order, as the app's `serde_json` writes them
/// (whatever this build's `serde_json` does).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key.clone(), sorted(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        render::ResourceContext,
        spec::fields::Field,
        spec::naming::ProjectName,
        spec::{Database, ProjectSpec, ResourceSpec},
    };

    fn resource(features: &FeatureSet, name: &str, fields: &[&str]) -> ResourceContext {
        let spec = ResourceSpec {
            name: ResourceName::parse(name).unwrap(),
            fields: fields
                .iter()
                .map(|spec| Field::parse(spec).unwrap())
                .collect(),
            parents: vec![],
            limits: vec![],
            feature: None,
        };
        ResourceContext::new(Database::Sqlite, features, &Tenancy::of(features), &spec)
    }

    /// The snapshot `saas new <name>` writes.
    fn new_snapshot(name: &str, features: &FeatureSet) -> String {
        let spec = ProjectSpec {
            name: ProjectName::parse(name).unwrap(),
            database: Database::Sqlite,
            features: features.clone(),
            destination: name.into(),
            git: false,
        };
        for_project(&Renderer::new(), features, &ProjectContext::new(&spec)).unwrap()
    }

    #[test]
    fn every_feature_set_composes_a_document_written_as_the_app_writes_it() {
        for features in FeatureSet::valid_sets() {
            let set = features.to_list();
            let snapshot = new_snapshot("acme", &features);
            let (header, document) = read(&snapshot).unwrap();
            assert_eq!(header, HEADER);
            // Sorted and printed as the app's test prints it, byte for byte.
            assert_eq!(write(header, &document), snapshot, "{set}");
            assert!(document["paths"]["/auth/signup"].is_object(), "{set}");
        }
    }

    /// The composed document of `features` for the project `acme`.
    fn document(features: &str) -> Value {
        read(&new_snapshot("acme", &FeatureSet::parse(features).unwrap()))
            .unwrap()
            .1
    }

    #[test]
    fn a_fragment_merges_object_by_object_and_replaces_the_rest() {
        let mut document = serde_json::json!({
            "paths": {"/a": {"get": {"summary": "A", "tags": ["a", "b"]}}},
            "info": {"title": "T"},
        });
        merge(
            &mut document,
            serde_json::json!({
                "paths": {
                    "/a": {"get": {"summary": "A, changed", "tags": ["c"]}, "post": {}},
                    "/b": {"get": {}},
                },
            }),
        );
        assert_eq!(
            document,
            serde_json::json!({
                "paths": {
                    "/a": {"get": {"summary": "A, changed", "tags": ["c"]}, "post": {}},
                    "/b": {"get": {}},
                },
                "info": {"title": "T"},
            })
        );
    }

    #[test]
    fn each_feature_adds_its_routes_and_changes_what_it_changes() {
        let none = document("none");
        assert!(none["paths"]["/orgs"].is_null());
        assert_eq!(
            none["paths"]["/auth/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/UserEnvelope"
        );

        let orgs = document("orgs");
        assert!(orgs["paths"]["/orgs/{org_id}/members"]["get"].is_object());
        // What orgs changes in the base: `/auth/me` lists the caller's organizations.
        let me = &orgs["paths"]["/auth/me"]["get"];
        assert_eq!(
            me["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/MeEnvelope"
        );
        assert_eq!(
            me["operationId"],
            none["paths"]["/auth/me"]["get"]["operationId"]
        );
        assert_eq!(
            orgs["components"]["schemas"]["Role"]["enum"],
            serde_json::json!(["owner", "member"])
        );
        let rbac = document("orgs,rbac");
        assert_eq!(
            rbac["components"]["schemas"]["Role"]["enum"],
            serde_json::json!(["owner", "admin", "member"])
        );
    }

    #[test]
    fn billing_routes_are_the_callers_or_with_orgs_an_organizations() {
        let own = document("billing");
        let org = document("orgs,billing");
        for (document, at) in [(&own, ""), (&org, "/orgs/{org_id}")] {
            for (route, method) in [
                ("billing", "get"),
                ("billing/checkout", "post"),
                ("billing/portal", "post"),
            ] {
                let operation = &document["paths"][format!("{at}/{route}")][method];
                assert!(operation.is_object(), "{at}/{route}");
                let permission = (!at.is_empty() && method == "post").then_some("billing:manage");
                assert_eq!(
                    operation["x-permission"].as_str(),
                    permission,
                    "{at}/{route}"
                );
                assert_eq!(
                    operation["parameters"].is_array(),
                    !at.is_empty(),
                    "{at}/{route}"
                );
                assert_eq!(operation["responses"]["404"].is_object(), !at.is_empty());
            }
            // Stripe calls the webhook: it is nobody's.
            assert!(document["paths"]["/billing/webhook"]["post"].is_object());
        }
        assert!(own["paths"]["/orgs/{org_id}/billing"].is_null());
        assert!(org["paths"]["/billing"].is_null());
        // An organization that pays is not deleted by accident.
        let delete = |document: &Value| {
            document["paths"]["/orgs/{org_id}"]["delete"]["responses"]["409"].clone()
        };
        assert!(delete(&org).is_object());
        assert!(delete(&document("orgs")).is_null());
    }

    #[test]
    fn the_names_are_the_projects() {
        let snapshot = new_snapshot("hello-world", &FeatureSet::default());
        let (_, document) = read(&snapshot).unwrap();
        assert_eq!(document["info"]["title"], "Hello World");
        assert_eq!(document["info"]["description"], "The Hello World HTTP API.");
        // The view's own properties sit beside the token's scope, in `allOf`.
        let view = &document["components"]["schemas"]["TokenView"]["allOf"];
        let own = view
            .as_array()
            .unwrap()
            .iter()
            .find(|part| part["properties"].is_object());
        let prefix = &own.unwrap()["properties"]["prefix"];
        assert_eq!(prefix["pattern"], "^hello_world_[A-Za-z0-9_-]{6}$");
        for features in FeatureSet::valid_sets() {
            let snapshot = new_snapshot("hello-world", &features);
            assert!(!snapshot.contains("acme"), "{}", features.to_list());
        }
    }

    #[test]
    fn adding_then_removing_a_resource_gives_back_the_snapshot() {
        for features in FeatureSet::valid_sets() {
            let set = features.to_list();
            let before = new_snapshot("acme", &features);
            let context = resource(&features, "ProjectTask", &["title:string", "due_on:date?"]);
            let api = context.openapi();

            let added = add(&before, &api).unwrap();
            let (header, document) = read(&added).unwrap();
            assert_eq!(header, HEADER);
            for key in resource_paths(&context.name, &context.tenancy) {
                assert!(api.paths.contains_key(&key), "{set}: {key}");
                assert_eq!(document["paths"][&key], api.paths[&key], "{set}: {key}");
            }
            for key in resource_schemas(&context.name) {
                assert!(api.schemas.contains_key(&key), "{set}: {key}");
                assert_eq!(document["components"]["schemas"][&key], api.schemas[&key]);
            }
            assert_eq!(api.paths.len(), 2);
            assert_eq!(api.schemas.len(), 3);

            let removed = remove(&added, &context.name, &context.tenancy).unwrap();
            assert_eq!(removed, before, "{set}");
            // Removing what is not there changes nothing.
            assert_eq!(
                remove(&before, &context.name, &context.tenancy).unwrap(),
                before
            );
        }
    }

    #[test]
    fn the_header_insta_wrote_is_kept() {
        let features = FeatureSet::default();
        let snapshot = new_snapshot("acme", &features).replacen(
            "---\nsource:",
            "---\nassertion_line: 12\nsource:",
            1,
        );
        let context = resource(&features, "Project", &["title:string"]);
        let added = add(&snapshot, &context.openapi()).unwrap();
        assert!(added.starts_with("---\nassertion_line: 12\nsource:"));
        assert_eq!(
            remove(&added, &context.name, &context.tenancy).unwrap(),
            snapshot
        );
    }

    #[test]
    fn routes_follow_the_tenancy() {
        let orgs = FeatureSet::parse("orgs").unwrap();
        let api = resource(&orgs, "Project", &["title:string"]).openapi();
        let keys: Vec<&String> = api.paths.keys().collect();
        assert_eq!(
            keys,
            ["/orgs/{org_id}/projects", "/orgs/{org_id}/projects/{id}"]
        );
        let list = &api.paths["/orgs/{org_id}/projects"]["get"];
        assert_eq!(list["parameters"][0]["name"], "org_id");
        assert!(
            list["responses"]["404"]["description"]
                .as_str()
                .unwrap()
                .starts_with("No such organization")
        );

        let bare = resource(&FeatureSet::default(), "Project", &["title:string"]).openapi();
        let get = &bare.paths["/projects/{id}"]["get"];
        assert_eq!(get["parameters"].as_array().unwrap().len(), 1);
        assert_eq!(
            get["responses"]["404"]["description"],
            "No such project for this caller"
        );
        assert_eq!(
            bare.paths["/projects"]["post"]["responses"]["403"]["$ref"],
            "#/components/responses/CrossSite"
        );
    }

    #[test]
    fn a_snapshot_that_is_not_one_is_refused_with_what_to_do() {
        let features = FeatureSet::default();
        let api = resource(&features, "Project", &["title:string"]).openapi();
        for (snapshot, problem) in [
            ("{}", "not an insta snapshot"),
            ("---\nsource: x\n---\n{ nope", "not JSON"),
            ("---\nsource: x\n---\n[]", "no `paths`"),
        ] {
            let error = add(snapshot, &api).unwrap_err().to_string();
            assert!(error.contains(problem), "{error}");
            assert!(
                error.contains(PATH) && error.contains("INSTA_UPDATE=always"),
                "{error}"
            );
        }
    }
}

//! `cargo run -- routes`: every route of the app with what it needs, read from the
//! OpenAPI document, so that nothing is listed by hand.

use serde_json::Value;
use utoipa::openapi::OpenApi;

/// The operation extension naming the permission a route checks (see `access.rs`), or
/// the role when it checks one (`owner`); a handler's `#[utoipa::path]` states it beside
/// its check.
pub const PERMISSION_EXTENSION: &str = "x-permission";

/// The methods an OpenAPI path item may have, in the order routes are listed.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// One operation of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper case, as in a request.
    pub method: String,
    pub path: String,
    /// The permission it checks; else `member` when any member of the organization in
    /// its path may call it, `signed in` when any signed-in caller may, or `public`.
    pub access: String,
    /// Its summary: the first line of the handler's doc comment.
    pub summary: String,
}

/// The operations of `document`, by path, then method.
pub fn routes(document: &OpenApi) -> Vec<Route> {
    let document = serde_json::to_value(document).expect("the OpenAPI document is JSON");
    let Some(paths) = document["paths"].as_object() else {
        return Vec::new();
    };
    let mut routes = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let operation = &item[method];
            if operation.is_null() {
                continue;
            }
            routes.push(Route {
                method: method.to_uppercase(),
                path: path.clone(),
                access: access(path, operation),
                // One line: a summary may run over several lines of a doc comment.
                summary: one_line(operation["summary"].as_str().unwrap_or("")),
            });
        }
    }
    routes
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What an operation needs: its permission, else a signed-in caller if every way it
/// accepts is a credential (a member, under an organization's path), else nothing.
fn access(path: &str, operation: &Value) -> String {
    if let Some(permission) = operation[PERMISSION_EXTENSION].as_str() {
        return permission.to_owned();
    }
    let needs_credentials = operation["security"].as_array().is_some_and(|ways| {
        !ways.is_empty()
            && ways
                .iter()
                .all(|way| way != &Value::Object(Default::default()))
    });
    if needs_credentials && path.contains("{org_id}") {
        "member".to_owned()
    } else if needs_credentials {
        "signed in".to_owned()
    } else {
        "public".to_owned()
    }
}

/// The routes of `document` as a table: method, path, access and summary, one a line.
pub fn table(document: &OpenApi) -> String {
    let routes = routes(document);
    let width = |column: fn(&Route) -> &str| {
        routes
            .iter()
            .map(|route| column(route).len())
            .max()
            .unwrap_or(0)
    };
    let (method, path, access) = (
        width(|route| &route.method),
        width(|route| &route.path),
        width(|route| &route.access),
    );
    routes
        .iter()
        .map(|route| {
            let line = format!(
                "{:method$}  {:path$}  {:access$}  {}",
                route.method, route.path, route.access, route.summary
            );
            format!("{}\n", line.trim_end())
        })
        .collect()
}

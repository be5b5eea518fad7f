//! What a resource adds to its project's OpenAPI document: the two paths and three
//! schemas that utoipa derives from the `#[utoipa::path]` and `ToSchema` attributes of
//! `module.rs.jinja`, written here as the JSON utoipa serves. `saas add resource`
//! merges them into the project's API snapshot, so the snapshot test passes without
//! first building the project.
//!
//! The operations are the [`ResourceModel`]'s, which the template's attributes are
//! written from too. What stays stated twice is how utoipa turns them into JSON: the
//! app's response sets, the schemas of field types. `tests/cli/resource_api.rs` holds this
//! to utoipa's real output, recorded by `scripts/refresh_resource_api.sh`.

use serde_json::{Map, Value, json};

use super::model::{Column, Operation, Parameter, ResourceModel, ResponseSet};

/// The paths and component schemas of one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceApi {
    pub paths: Map<String, Value>,
    pub schemas: Map<String, Value>,
}

/// A field's schema in the model (what clients get) and in the input (what they send).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchemas {
    pub model: Value,
    pub input: Value,
}

impl FieldSchemas {
    /// As `ToSchema` derives them from the field's Rust type and `#[schema(...)]`
    /// attributes (see `FieldContext`).
    pub fn of(column: &Column) -> Self {
        let info = column.info;
        // Any JSON value: a schema without constraints.
        let Some((ty, format)) = info.schema else {
            return Self {
                model: json!({}),
                input: json!({}),
            };
        };
        let mut schema = Map::new();
        schema.insert(
            "type".to_owned(),
            if column.optional {
                json!([ty, "null"])
            } else {
                json!(ty)
            },
        );
        if let Some(format) = format {
            schema.insert("format".to_owned(), json!(format));
        }
        let mut model = schema.clone();
        let mut input = schema;
        if let Some(pattern) = info.pattern {
            model.insert("pattern".to_owned(), json!(pattern));
            input.insert("pattern".to_owned(), json!(pattern));
        }
        if let Some(description) = info.description {
            model.insert("description".to_owned(), json!(description));
        }
        if let Some(max_length) = info.max_length {
            input.insert("maxLength".to_owned(), json!(max_length));
        }
        Self {
            model: Value::Object(model),
            input: Value::Object(input),
        }
    }
}

impl super::ResourceContext {
    /// The resource's part of the OpenAPI document.
    pub fn openapi(&self) -> ResourceApi {
        self.model.openapi()
    }
}

impl ResourceModel {
    /// The resource's part of the OpenAPI document.
    pub fn openapi(&self) -> ResourceApi {
        let pascal = &self.name.pascal;
        let mut schemas = Map::new();
        schemas.insert(pascal.clone(), self.model_schema());
        schemas.insert(format!("{pascal}Input"), self.input_schema());
        schemas.insert(
            format!("{pascal}Page"),
            json!({
                "description": format!("A page of {}, newest first.", self.name.plural_words),
                "properties": {
                    "items": { "items": schema_ref(pascal), "type": "array" },
                    "next_cursor": {
                        "description": "Pass as `cursor` to get the next page; null on the last page.",
                        "type": ["string", "null"],
                    },
                },
                "required": ["items"],
                "type": "object",
            }),
        );

        let mut paths = Map::new();
        for operation in self.operations.all() {
            let path = paths
                .entry(operation.path.clone())
                .or_insert_with(|| json!({}));
            path[operation.method] = operation_json(operation);
        }
        ResourceApi { paths, schemas }
    }

    fn model_schema(&self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let uuid = json!({ "format": "uuid", "type": "string" });
        let timestamp = json!({ "format": "date-time", "type": "string" });
        for (column, schema) in [("id", &uuid), (self.owner_column, &uuid)] {
            properties.insert(column.to_owned(), schema.clone());
            required.push(column.to_owned());
        }
        for column in &self.columns {
            properties.insert(column.name.clone(), FieldSchemas::of(column).model);
            if !column.optional {
                required.push(column.name.clone());
            }
        }
        for column in ["created_at", "updated_at"] {
            properties.insert(column.to_owned(), timestamp.clone());
            required.push(column.to_owned());
        }
        json!({
            "description": format!("A {}, as stored and as clients see it.", self.name.singular_words),
            "properties": properties,
            "required": required,
            "type": "object",
        })
    }

    fn input_schema(&self) -> Value {
        let properties: Map<String, Value> = self
            .columns
            .iter()
            .map(|column| (column.name.clone(), FieldSchemas::of(column).input))
            .collect();
        json!({
            "description": "The body of a create (every required field) or an update (only the fields to change).",
            "properties": properties,
            "type": "object",
        })
    }
}

/// An operation as utoipa serves it.
fn operation_json(operation: &Operation) -> Value {
    let mut responses = Map::new();
    for response in &operation.responses {
        let mut json = json!({ "description": response.description });
        if let Some(body) = &response.body {
            json["content"] = json!({ "application/json": { "schema": schema_ref(body) } });
        }
        responses.insert(response.status.to_string(), json);
    }
    for set in &operation.response_sets {
        for (status, response) in set_responses(*set) {
            responses.insert(status.to_owned(), response);
        }
    }
    let mut json = json!({
        "operationId": operation.handler,
        "responses": responses,
        "security": [{ "session": [] }, { "bearer": [] }],
        "summary": operation.summary,
        "tags": [operation.tag],
    });
    if let Some(permission) = &operation.permission {
        json["x-permission"] = json!(permission.name);
    }
    if !operation.parameters.is_empty() {
        json["parameters"] = operation
            .parameters
            .iter()
            .flat_map(parameter_json)
            .collect();
    }
    if let Some(body) = &operation.body {
        json["requestBody"] = json!({
            "content": { "application/json": { "schema": schema_ref(body) } },
            "required": true,
        });
    }
    json
}

fn parameter_json(parameter: &Parameter) -> Vec<Value> {
    match parameter {
        Parameter::Path { name, description } => vec![json!({
            "description": description,
            "in": "path",
            "name": name,
            "required": true,
            "schema": { "format": "uuid", "type": "string" },
        })],
        // The fields of the app's `ListParams` (`resources/mod.rs`).
        Parameter::Page => vec![
            json!({
                "description": "How many items to return, 1 to 100 (default 20).",
                "in": "query",
                "name": "limit",
                "required": false,
                "schema": { "format": "int32", "maximum": 100, "minimum": 1, "type": "integer" },
            }),
            json!({
                "description": "The `next_cursor` of the previous page.",
                "in": "query",
                "name": "cursor",
                "required": false,
                "schema": { "format": "uuid", "type": "string" },
            }),
        ],
    }
}

/// What a response set of the app states, by status: references to the document's
/// shared responses (the app's `openapi.rs`), or with `orgs` error bodies
/// (`access.rs`).
fn set_responses(set: ResponseSet) -> Vec<(&'static str, Value)> {
    let refer = |status, name: &str| {
        (
            status,
            json!({ "$ref": format!("#/components/responses/{name}") }),
        )
    };
    let error = |status, description: &str| {
        (
            status,
            json!({
                "content": { "application/json": { "schema": schema_ref("ErrorBody") } },
                "description": description,
            }),
        )
    };
    match set {
        ResponseSet::AuthErrors => vec![refer("401", "Unauthenticated")],
        ResponseSet::CrossSiteErrors => vec![refer("403", "CrossSite")],
        ResponseSet::JsonBodyErrors => vec![
            refer("400", "BadRequest"),
            refer("413", "PayloadTooLarge"),
            refer("415", "UnsupportedMediaType"),
        ],
        ResponseSet::MemberErrors => vec![
            refer("401", "Unauthenticated"),
            error(
                "404",
                "No such organization, or the caller is not a member of it (`not_found`); \
                 non-members never learn whether it exists",
            ),
        ],
        ResponseSet::PermissionErrors => vec![error(
            "403",
            "The caller's role does not allow this, or a browser request came from \
             another site (`forbidden`)",
        )],
        ResponseSet::QueryErrors => vec![refer("400", "BadRequest")],
        ResponseSet::ServerErrors => vec![refer("500", "Internal"), refer("503", "Unavailable")],
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

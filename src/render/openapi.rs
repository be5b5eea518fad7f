//! What a resource adds to its project's OpenAPI document: the two paths and three
//! schemas that utoipa derives from the `#[utoipa::path]` and `ToSchema` attributes of
//! `module.rs.jinja`, written here as the JSON utoipa serves. `saas add resource`
//! merges them into the project's API snapshot, so the snapshot test passes without
//! first building the project.
//!
//! This mirrors the template: a change to a resource's attributes, doc comments or
//! response sets must change this too. The end-to-end tests build every variant with
//! two resources and run its snapshot test, which fails on any difference.

use serde_json::{Map, Value, json};

use super::{ResourceContext, tenancy::Tenancy};
use crate::spec::fields::Field;

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
    pub fn of(field: &Field) -> Self {
        let info = field.ty.info();
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
            if field.optional {
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

const ERROR_BODY: &str = "ErrorBody";

impl ResourceContext {
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
        paths.insert(
            self.route_base.clone(),
            json!({ "get": self.list_operation(), "post": self.create_operation() }),
        );
        paths.insert(
            format!("{}/{{id}}", self.route_base),
            json!({
                "delete": self.delete_operation(),
                "get": self.get_operation(),
                "patch": self.update_operation(),
            }),
        );
        ResourceApi { paths, schemas }
    }

    fn model_schema(&self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let uuid = json!({ "format": "uuid", "type": "string" });
        let timestamp = json!({ "format": "date-time", "type": "string" });
        for (column, schema) in [("id", &uuid), (self.tenancy.column, &uuid)] {
            properties.insert(column.to_owned(), schema.clone());
            required.push(column.to_owned());
        }
        for field in &self.fields {
            properties.insert(field.column.clone(), field.schemas.model.clone());
            if !field.optional {
                required.push(field.column.clone());
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
            .fields
            .iter()
            .map(|field| (field.column.clone(), field.schemas.input.clone()))
            .collect();
        json!({
            "description": "The body of a create (every required field) or an update (only the fields to change).",
            "properties": properties,
            "type": "object",
        })
    }

    fn list_operation(&self) -> Value {
        let mut responses = Responses::default();
        responses.body(
            "200",
            &format!("A page of {}", self.name.plural_words),
            &format!("{}Page", self.name.pascal),
        );
        self.feature_gate(&mut responses);
        responses.refer(&[("400", "BadRequest")]);
        responses.reads(&self.tenancy);
        responses.server();
        let mut parameters = self.tenant_parameter();
        parameters.extend([
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
        ]);
        self.operation(
            &self.permission_names.read,
            format!("list_{}", self.name.plural),
            format!(
                "Lists the caller's {}, newest first.",
                self.name.plural_words
            ),
            parameters,
            false,
            responses,
        )
    }

    fn create_operation(&self) -> Value {
        let words = &self.name.singular_words;
        let mut responses = Responses::default();
        responses.body("201", &format!("The new {words}"), &self.name.pascal);
        self.unique_clash(&mut responses);
        responses.error("422", "Invalid fields");
        if self.billing {
            let description = match &self.feature {
                Some(feature) => format!(
                    "The plan allows no more {}, or does not include {feature} \
                     (`plan_limit_reached`, `feature_not_in_plan`)",
                    self.name.plural_words
                ),
                None => format!(
                    "The plan allows no more {} (`plan_limit_reached`)",
                    self.name.plural_words
                ),
            };
            responses.error("402", &description);
        }
        responses.json_body();
        responses.writes(&self.tenancy);
        responses.server();
        self.operation(
            &self.permission_names.create,
            format!("create_{}", self.name.singular),
            format!("Creates a {words}."),
            self.tenant_parameter(),
            true,
            responses,
        )
    }

    fn get_operation(&self) -> Value {
        let words = &self.name.singular_words;
        let mut responses = Responses::default();
        responses.body("200", &format!("The {words}"), &self.name.pascal);
        self.not_found(&mut responses);
        self.feature_gate(&mut responses);
        responses.reads(&self.tenancy);
        responses.server();
        self.operation(
            &self.permission_names.read,
            format!("get_{}", self.name.singular),
            format!("One of the caller's {}.", self.name.plural_words),
            self.item_parameters(),
            false,
            responses,
        )
    }

    fn update_operation(&self) -> Value {
        let words = &self.name.singular_words;
        let mut responses = Responses::default();
        responses.body("200", &format!("The updated {words}"), &self.name.pascal);
        self.not_found(&mut responses);
        self.unique_clash(&mut responses);
        responses.error("422", "Invalid fields");
        self.feature_gate(&mut responses);
        responses.json_body();
        responses.writes(&self.tenancy);
        responses.server();
        self.operation(
            &self.permission_names.update,
            format!("update_{}", self.name.singular),
            format!("Changes the given fields of a {words}; the others stay as they are."),
            self.item_parameters(),
            true,
            responses,
        )
    }

    fn delete_operation(&self) -> Value {
        let mut responses = Responses::default();
        responses
            .0
            .insert("204".to_owned(), json!({ "description": "Deleted" }));
        self.not_found(&mut responses);
        self.feature_gate(&mut responses);
        responses.writes(&self.tenancy);
        responses.server();
        self.operation(
            &self.permission_names.delete,
            format!("delete_{}", self.name.singular),
            format!("Deletes a {}.", self.name.singular_words),
            self.item_parameters(),
            false,
            responses,
        )
    }

    /// One operation; `permission` is empty when the route checks none.
    fn operation(
        &self,
        permission: &str,
        id: String,
        summary: String,
        parameters: Vec<Value>,
        takes_input: bool,
        responses: Responses,
    ) -> Value {
        let mut operation = json!({
            "operationId": id,
            "responses": responses.0,
            "security": [{ "session": [] }, { "bearer": [] }],
            "summary": summary,
            "tags": [self.name.path],
        });
        if !permission.is_empty() {
            operation["x-permission"] = json!(permission);
        }
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if takes_input {
            operation["requestBody"] = json!({
                "content": { "application/json": { "schema": schema_ref(&format!("{}Input", self.name.pascal)) } },
                "required": true,
            });
        }
        operation
    }

    /// `{org_id}` in organization projects; nothing otherwise.
    fn tenant_parameter(&self) -> Vec<Value> {
        if !self.tenancy.orgs {
            return Vec::new();
        }
        vec![path_parameter("org_id", "The organization's id")]
    }

    fn item_parameters(&self) -> Vec<Value> {
        let mut parameters = self.tenant_parameter();
        parameters.push(path_parameter(
            "id",
            &format!("The {}'s id", self.name.singular_words),
        ));
        parameters
    }

    fn not_found(&self, responses: &mut Responses) {
        responses.error(
            "404",
            &format!("No such {} for this caller", self.name.singular_words),
        );
    }

    fn unique_clash(&self, responses: &mut Responses) {
        if self.has_unique {
            responses.error(
                "409",
                &format!(
                    "A unique field clashes with another {}",
                    self.name.singular_words
                ),
            );
        }
    }

    fn feature_gate(&self, responses: &mut Responses) {
        if let Some(feature) = &self.feature {
            responses.error(
                "402",
                &format!("The plan does not include {feature} (`feature_not_in_plan`)"),
            );
        }
    }
}

/// An operation's responses by status. As with utoipa, a later set replaces what an
/// earlier one said of the same status (an organization's 404 replaces the row's).
#[derive(Default)]
struct Responses(Map<String, Value>);

impl Responses {
    fn body(&mut self, status: &str, description: &str, schema: &str) {
        self.0.insert(
            status.to_owned(),
            json!({
                "content": { "application/json": { "schema": schema_ref(schema) } },
                "description": description,
            }),
        );
    }

    fn error(&mut self, status: &str, description: &str) {
        self.body(status, description, ERROR_BODY);
    }

    /// References to the document's shared responses (`openapi.rs` of the app).
    fn refer(&mut self, statuses: &[(&str, &str)]) {
        for (status, name) in statuses {
            self.0.insert(
                (*status).to_owned(),
                json!({ "$ref": format!("#/components/responses/{name}") }),
            );
        }
    }

    /// `JsonBodyErrors`.
    fn json_body(&mut self) {
        self.refer(&[
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
        ]);
    }

    /// `ServerErrors`.
    fn server(&mut self) {
        self.refer(&[("500", "Internal"), ("503", "Unavailable")]);
    }

    /// `Tenancy::read_errors`: `AuthErrors`, or `MemberErrors` and with rbac
    /// `PermissionErrors` (of the app's `access.rs`).
    fn reads(&mut self, tenancy: &Tenancy) {
        self.refer(&[("401", "Unauthenticated")]);
        if !tenancy.orgs {
            return;
        }
        self.error(
            "404",
            "No such organization, or the caller is not a member of it (`not_found`); \
             non-members never learn whether it exists",
        );
        if tenancy.permissions {
            self.error(
                "403",
                "The caller's role does not allow this, or a browser request came from \
                 another site (`forbidden`)",
            );
        }
    }

    /// `Tenancy::write_errors`: the read sets and the cross-site refusal, which
    /// `PermissionErrors` states itself.
    fn writes(&mut self, tenancy: &Tenancy) {
        self.reads(tenancy);
        if !tenancy.permissions {
            self.refer(&[("403", "CrossSite")]);
        }
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({
        "description": description,
        "in": "path",
        "name": name,
        "required": true,
        "schema": { "format": "uuid", "type": "string" },
    })
}

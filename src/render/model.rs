//! A resource as data: its columns with their type facts, and its five operations
//! (method, path, permission, summary, parameters, body and responses). The module
//! template writes each operation's `#[utoipa::path]` from it and `openapi.rs`
//! serialises the same operations as the JSON utoipa serves, so every summary,
//! description and status has one source: [`ResourceModel::new`].

use serde::Serialize;

use super::tenancy::Tenancy;
use crate::{
    spec::ResourceSpec,
    spec::features::{Feature, FeatureSet},
    spec::fields::{FieldType, TypeInfo},
    spec::naming::ResourceName,
};

/// One resource, as its module serves it.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceModel {
    pub name: ResourceName,
    /// The fields, in the spec's order; the model adds `id`, the owner's column and
    /// the timestamps around them.
    pub columns: Vec<Column>,
    /// The owner's column (`user_id`, `org_id`).
    pub owner_column: &'static str,
    pub operations: Operations,
}

/// A field as stored: its column and its type's facts.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// The JSON key, struct field and column (`title`, `project_id`).
    pub name: String,
    #[serde(skip)]
    pub ty: FieldType,
    pub optional: bool,
    pub unique: bool,
    #[serde(skip)]
    pub info: TypeInfo,
}

/// The five operations, by what they do.
#[derive(Debug, Clone, Serialize)]
pub struct Operations {
    pub list: Operation,
    pub create: Operation,
    pub get: Operation,
    pub update: Operation,
    pub delete: Operation,
}

impl Operations {
    /// Every operation, in the order the module declares them.
    pub fn all(&self) -> [&Operation; 5] {
        [
            &self.list,
            &self.create,
            &self.get,
            &self.update,
            &self.delete,
        ]
    }
}

/// One route of the resource.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// The handler, which is also the operation's id (`list_projects`).
    pub handler: String,
    /// The HTTP method, lower case as utoipa's attribute and the document write it.
    pub method: &'static str,
    /// The collection's path, or an item's (`…/{id}`).
    pub path: String,
    /// The tag that groups the resource's operations (its path segment).
    pub tag: String,
    /// The permission the handler requires (`rbac` only).
    pub permission: Option<Permission>,
    /// The handler's doc comment, which utoipa takes as the summary.
    pub summary: String,
    pub parameters: Vec<Parameter>,
    /// The schema of the JSON body, when the operation takes one.
    pub body: Option<String>,
    /// The responses the operation states itself, in the attribute's order.
    pub responses: Vec<Response>,
    /// The shared response sets after them; as with utoipa, a later response replaces
    /// an earlier one of the same status (an organization's 404 replaces the row's).
    pub response_sets: Vec<ResponseSet>,
}

/// A permission of the app's table (`src/access.rs`).
#[derive(Debug, Clone, Serialize)]
pub struct Permission {
    /// The `Permission` variant the handler requires (`ProjectsRead`).
    pub variant: String,
    /// Its name, which the document states as `x-permission` (`projects:read`).
    pub name: String,
}

/// A parameter of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Parameter {
    /// A UUID in the path.
    Path {
        name: &'static str,
        description: String,
    },
    /// `limit` and `cursor` in the query: the app's `ListParams`.
    Page,
}

/// A response an operation states itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub status: u16,
    pub description: String,
    /// The schema of its JSON body, if it has one.
    pub body: Option<String>,
}

/// The response sets of the app (`IntoResponses` types of its `openapi.rs` and, with
/// `orgs`, its `access.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ResponseSet {
    AuthErrors,
    CrossSiteErrors,
    JsonBodyErrors,
    MemberErrors,
    PermissionErrors,
    QueryErrors,
    ServerErrors,
}

impl ResponseSet {
    /// Whether the app's `access.rs` declares it (the others are in `openapi.rs`).
    pub fn in_access(self) -> bool {
        matches!(self, Self::MemberErrors | Self::PermissionErrors)
    }

    /// The sets of a route that reads as the tenant: signed in, and with `orgs` a
    /// member, allowed to by their role with `rbac`.
    pub fn reads(tenancy: &Tenancy) -> Vec<Self> {
        match (tenancy.orgs, tenancy.permissions) {
            (false, _) => vec![Self::AuthErrors],
            (true, false) => vec![Self::MemberErrors],
            (true, true) => vec![Self::MemberErrors, Self::PermissionErrors],
        }
    }

    /// The sets of a route that writes: the read sets and the cross-site refusal,
    /// which `PermissionErrors` states itself (both are 403).
    pub fn writes(tenancy: &Tenancy) -> Vec<Self> {
        let mut sets = Self::reads(tenancy);
        if !tenancy.permissions {
            sets.push(Self::CrossSiteErrors);
        }
        sets
    }
}

impl Operation {
    /// With a JSON body of the schema `body`.
    fn taking(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    /// With its own responses: its success, then those of `rest` that apply.
    fn answering<const N: usize>(mut self, success: Response, rest: [Option<Response>; N]) -> Self {
        self.responses = [success]
            .into_iter()
            .chain(rest.into_iter().flatten())
            .collect();
        self
    }

    /// With the response sets `before`, then the tenant's, then the server's.
    fn with_sets(mut self, before: &[ResponseSet], tenant: &[ResponseSet]) -> Self {
        self.response_sets = [before, tenant, &[ResponseSet::ServerErrors]].concat();
        self
    }
}

impl ResourceModel {
    pub fn new(features: &FeatureSet, tenancy: &Tenancy, spec: &ResourceSpec) -> Self {
        let name = spec.name.clone();
        let columns = spec
            .fields
            .iter()
            .map(|field| Column {
                name: field.column(),
                ty: field.ty,
                optional: field.optional,
                unique: field.unique,
                info: field.ty.info(),
            })
            .collect::<Vec<_>>();
        let words = &name.singular_words;
        let plurals = &name.plural_words;
        let pascal = &name.pascal;
        let collection = tenancy.route_base(&name);
        let tenant = || -> Vec<Parameter> {
            if tenancy.orgs {
                vec![Parameter::Path {
                    name: "org_id",
                    description: "The organization's id".to_owned(),
                }]
            } else {
                Vec::new()
            }
        };
        let item_parameters = || {
            let mut parameters = tenant();
            parameters.push(Parameter::Path {
                name: "id",
                description: format!("The {words}'s id"),
            });
            parameters
        };
        let mut permissions = tenancy
            .permission_rows(&name)
            .into_iter()
            .map(|row| Permission {
                variant: row.variant,
                name: row.name,
            });
        let [read, create, update, delete] = std::array::from_fn(|_| permissions.next());

        let error = |status: u16, description: String| Response {
            status,
            description,
            body: Some("ErrorBody".to_owned()),
        };
        let ok = |status: u16, description: String, body: &str| Response {
            status,
            description,
            body: Some(body.to_owned()),
        };
        let not_found = || error(404, format!("No such {words} for this caller"));
        let clash = columns
            .iter()
            .any(|column| column.unique)
            .then(|| error(409, format!("A unique field clashes with another {words}")));
        let invalid = || error(422, "Invalid fields".to_owned());
        let gate = spec.feature.as_ref().map(|feature| {
            error(
                402,
                format!("The plan does not include {feature} (`feature_not_in_plan`)"),
            )
        });
        let limit = features.contains(Feature::Billing).then(|| {
            error(
                402,
                match &spec.feature {
                    Some(feature) => format!(
                        "The plan allows no more {plurals}, or does not include {feature} \
                         (`plan_limit_reached`, `feature_not_in_plan`)"
                    ),
                    None => format!("The plan allows no more {plurals} (`plan_limit_reached`)"),
                },
            )
        });
        let (reads, writes) = (ResponseSet::reads(tenancy), ResponseSet::writes(tenancy));
        let json_body = [ResponseSet::JsonBodyErrors];
        let operation = |handler: String, method, permission, summary| Operation {
            path: collection.clone(),
            parameters: tenant(),
            handler,
            method,
            tag: name.path.clone(),
            permission,
            summary,
            body: None,
            responses: Vec::new(),
            response_sets: Vec::new(),
        };
        // A route of one row: under `{id}`, which it takes as a parameter.
        let item_operation = |verb: &str, method, permission, summary| Operation {
            path: format!("{collection}/{{id}}"),
            parameters: item_parameters(),
            ..operation(
                format!("{verb}_{}", name.singular),
                method,
                permission,
                summary,
            )
        };
        let input = format!("{pascal}Input");

        let summary = format!("Lists the caller's {plurals}, newest first.");
        let mut list = operation(
            format!("list_{}", name.plural),
            "get",
            read.clone(),
            summary,
        )
        .answering(
            ok(
                200,
                format!("A page of {plurals}"),
                &format!("{pascal}Page"),
            ),
            [gate.clone()],
        )
        .with_sets(&[ResponseSet::QueryErrors], &reads);
        list.parameters.push(Parameter::Page);
        let summary = format!("Creates a {words}.");
        let create = operation(format!("create_{}", name.singular), "post", create, summary)
            .taking(&input)
            .answering(
                ok(201, format!("The new {words}"), pascal),
                [clash.clone(), Some(invalid()), limit],
            )
            .with_sets(&json_body, &writes);
        let get = item_operation(
            "get",
            "get",
            read,
            format!("One of the caller's {plurals}."),
        )
        .answering(
            ok(200, format!("The {words}"), pascal),
            [Some(not_found()), gate.clone()],
        )
        .with_sets(&[], &reads);
        let summary =
            format!("Changes the given fields of a {words}; the others stay as they are.");
        let update = item_operation("update", "patch", update, summary)
            .taking(&input)
            .answering(
                ok(200, format!("The updated {words}"), pascal),
                [Some(not_found()), clash, Some(invalid()), gate.clone()],
            )
            .with_sets(&json_body, &writes);
        let deleted = Response {
            status: 204,
            description: "Deleted".to_owned(),
            body: None,
        };
        let delete = item_operation("delete", "delete", delete, format!("Deletes a {words}."))
            .answering(deleted, [Some(not_found()), gate])
            .with_sets(&[], &writes);
        Self {
            operations: Operations {
                list,
                create,
                get,
                update,
                delete,
            },
            columns,
            owner_column: tenancy.column,
            name,
        }
    }

    /// The response sets the module names, sorted: those it imports from `openapi`,
    /// and those from `access`.
    pub fn response_sets(&self) -> (Vec<ResponseSet>, Vec<ResponseSet>) {
        let mut sets: Vec<ResponseSet> = self
            .operations
            .all()
            .into_iter()
            .flat_map(|operation| operation.response_sets.iter().copied())
            .collect();
        sets.sort_unstable();
        sets.dedup();
        sets.into_iter().partition(|set| !set.in_access())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        render::{Renderer, ResourceContext},
        spec::Database,
        spec::fields::Field,
    };

    fn spec(fields: &[&str], feature: Option<&str>) -> ResourceSpec {
        ResourceSpec {
            name: ResourceName::parse("ProjectTask").unwrap(),
            fields: fields.iter().map(|f| Field::parse(f).unwrap()).collect(),
            parents: vec![],
            limits: vec![],
            feature: feature.map(ToOwned::to_owned),
        }
    }

    fn model(features: &str, spec: &ResourceSpec) -> ResourceModel {
        let features = FeatureSet::parse(features).unwrap();
        ResourceModel::new(&features, &Tenancy::of(&features), spec)
    }

    fn statuses(operation: &Operation) -> Vec<u16> {
        operation.responses.iter().map(|r| r.status).collect()
    }

    #[test]
    fn five_operations_on_the_collection_and_its_items() {
        let model = model("none", &spec(&["title:string"], None));
        let routes: Vec<(&str, &str, &str)> = model
            .operations
            .all()
            .into_iter()
            .map(|op| (op.method, op.path.as_str(), op.handler.as_str()))
            .collect();
        assert_eq!(
            routes,
            [
                ("get", "/project-tasks", "list_project_tasks"),
                ("post", "/project-tasks", "create_project_task"),
                ("get", "/project-tasks/{id}", "get_project_task"),
                ("patch", "/project-tasks/{id}", "update_project_task"),
                ("delete", "/project-tasks/{id}", "delete_project_task"),
            ]
        );
        let ops = &model.operations;
        assert_eq!(ops.list.parameters, [Parameter::Page]);
        assert_eq!(ops.create.body.as_deref(), Some("ProjectTaskInput"));
        assert_eq!(ops.update.body.as_deref(), Some("ProjectTaskInput"));
        assert_eq!(ops.delete.body, None);
        assert!(ops.all().iter().all(|op| op.permission.is_none()));
        assert_eq!(statuses(&ops.create), [201, 422]);
        assert_eq!(statuses(&ops.update), [200, 404, 422]);
        assert_eq!(statuses(&ops.delete), [204, 404]);
    }

    #[test]
    fn unique_fields_billing_and_plan_features_add_their_responses() {
        let spec = spec(&["title:string:unique"], Some("reports"));
        let model = model("orgs,rbac,billing", &spec);
        let ops = &model.operations;
        assert_eq!(statuses(&ops.list), [200, 402]);
        assert_eq!(statuses(&ops.create), [201, 409, 422, 402]);
        assert_eq!(statuses(&ops.update), [200, 404, 409, 422, 402]);
        assert!(ops.create.responses[3].description.contains("reports"));
        let permission = |op: &Operation| op.permission.clone().unwrap().name;
        assert_eq!(permission(&ops.list), "project_tasks:read");
        assert_eq!(permission(&ops.get), "project_tasks:read");
        assert_eq!(permission(&ops.delete), "project_tasks:delete");
        let org_id = Parameter::Path {
            name: "org_id",
            description: "The organization's id".to_owned(),
        };
        assert!(ops.all().iter().all(|op| op.parameters[0] == org_id));
    }

    #[test]
    fn response_sets_follow_the_tenancy() {
        use ResponseSet::*;
        let spec = spec(&["title:string"], None);
        for (features, reads, writes) in [
            ("none", vec![AuthErrors], vec![AuthErrors, CrossSiteErrors]),
            (
                "orgs",
                vec![MemberErrors],
                vec![MemberErrors, CrossSiteErrors],
            ),
            (
                "orgs,rbac",
                vec![MemberErrors, PermissionErrors],
                vec![MemberErrors, PermissionErrors],
            ),
        ] {
            let model = model(features, &spec);
            let ops = &model.operations;
            let sets: Vec<&[ResponseSet]> =
                ops.all().iter().map(|op| &op.response_sets[..]).collect();
            let server = [ServerErrors];
            let expected: [Vec<ResponseSet>; 5] = [
                [&[QueryErrors], &reads[..], &server].concat(),
                [&[JsonBodyErrors], &writes[..], &server].concat(),
                [&reads[..], &server].concat(),
                [&[JsonBodyErrors], &writes[..], &server].concat(),
                [&writes[..], &server].concat(),
            ];
            assert_eq!(sets, expected, "{features}");
            let (from_openapi, from_access) = model.response_sets();
            assert!(
                from_openapi.iter().all(|set| !set.in_access()),
                "{features}"
            );
            assert_eq!(from_access.is_empty(), features == "none", "{features}");
        }
    }

    /// The template's attributes are the model's operations: each summary, method,
    /// path, response and set appears in the attribute of its handler.
    #[test]
    fn the_module_writes_each_route_from_its_operation() {
        let spec = spec(&["title:string:unique", "due_on:date?"], Some("reports"));
        for features in FeatureSet::valid_sets() {
            let tenancy = Tenancy::of(&features);
            let context = ResourceContext::new(Database::Sqlite, &features, &tenancy, &spec);
            let module = Renderer::new()
                .render_resource("module.rs.jinja", &context)
                .unwrap();
            for op in context.model.operations.all() {
                let start = module
                    .find(&format!(
                        "/// {}\n#[utoipa::path(\n    {},\n    path = \"{}\",",
                        op.summary, op.method, op.path
                    ))
                    .unwrap_or_else(|| panic!("{}: {}", features.to_list(), op.handler));
                let attribute = &module[start..start + module[start..].find("\n)]\n").unwrap()];
                assert!(module[start..].contains(&format!(")]\nasync fn {}(", op.handler)));
                for response in &op.responses {
                    let stated = format!(
                        "(status = {}, description = \"{}\"",
                        response.status, response.description
                    );
                    assert!(attribute.contains(&stated), "{}: {stated}", op.handler);
                }
                let sets: Vec<String> = op
                    .response_sets
                    .iter()
                    .map(|set| format!("{set:?}"))
                    .collect();
                assert!(
                    attribute.contains(&format!("        {},\n    )", sets.join(", "))),
                    "{attribute}"
                );
                if let Some(permission) = &op.permission {
                    assert!(
                        attribute.contains(&format!("Permission::{}.as_str()", permission.variant))
                    );
                }
            }
        }
    }
}

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
        let item = format!("{collection}/{{id}}");
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
        let sets = |before: &[ResponseSet], tenant: Vec<ResponseSet>| {
            let mut sets = before.to_vec();
            sets.extend(tenant);
            sets.push(ResponseSet::ServerErrors);
            sets
        };
        let operation = |handler: String, method, path: &str, permission, summary| Operation {
            handler,
            method,
            path: path.to_owned(),
            tag: name.path.clone(),
            permission,
            summary,
            parameters: Vec::new(),
            body: None,
            responses: Vec::new(),
            response_sets: Vec::new(),
        };
        let input = Some(format!("{pascal}Input"));

        let list = Operation {
            parameters: [tenant(), vec![Parameter::Page]].concat(),
            responses: [ok(
                200,
                format!("A page of {plurals}"),
                &format!("{pascal}Page"),
            )]
            .into_iter()
            .chain(gate.clone())
            .collect(),
            response_sets: sets(&[ResponseSet::QueryErrors], ResponseSet::reads(tenancy)),
            ..operation(
                format!("list_{}", name.plural),
                "get",
                &collection,
                read.clone(),
                format!("Lists the caller's {plurals}, newest first."),
            )
        };
        let create = Operation {
            parameters: tenant(),
            body: input.clone(),
            responses: [ok(201, format!("The new {words}"), pascal)]
                .into_iter()
                .chain(clash.clone())
                .chain([invalid()])
                .chain(limit)
                .collect(),
            response_sets: sets(&[ResponseSet::JsonBodyErrors], ResponseSet::writes(tenancy)),
            ..operation(
                format!("create_{}", name.singular),
                "post",
                &collection,
                create,
                format!("Creates a {words}."),
            )
        };
        let get = Operation {
            parameters: item_parameters(),
            responses: [ok(200, format!("The {words}"), pascal), not_found()]
                .into_iter()
                .chain(gate.clone())
                .collect(),
            response_sets: sets(&[], ResponseSet::reads(tenancy)),
            ..operation(
                format!("get_{}", name.singular),
                "get",
                &item,
                read,
                format!("One of the caller's {plurals}."),
            )
        };
        let update = Operation {
            parameters: item_parameters(),
            body: input,
            responses: [ok(200, format!("The updated {words}"), pascal), not_found()]
                .into_iter()
                .chain(clash)
                .chain([invalid()])
                .chain(gate.clone())
                .collect(),
            response_sets: sets(&[ResponseSet::JsonBodyErrors], ResponseSet::writes(tenancy)),
            ..operation(
                format!("update_{}", name.singular),
                "patch",
                &item,
                update,
                format!("Changes the given fields of a {words}; the others stay as they are."),
            )
        };
        let delete = Operation {
            parameters: item_parameters(),
            responses: [
                Response {
                    status: 204,
                    description: "Deleted".to_owned(),
                    body: None,
                },
                not_found(),
            ]
            .into_iter()
            .chain(gate)
            .collect(),
            response_sets: sets(&[], ResponseSet::writes(tenancy)),
            ..operation(
                format!("delete_{}", name.singular),
                "delete",
                &item,
                delete,
                format!("Deletes a {words}."),
            )
        };
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

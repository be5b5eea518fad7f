//! Who owns a resource's rows, decided once in Rust: the column every row carries and
//! every query filters on, the route base, how a handler gets the acting tenant, and
//! how a test becomes one. The orgs feature changes ownership here, and only here.

use serde::Serialize;

use crate::{
    spec::features::{Feature, FeatureSet},
    spec::naming::ResourceName,
};

/// The ownership of a generated resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenancy {
    /// The column that holds the owner's id, in every row and every `where`.
    pub column: &'static str,
    /// The table that column references; deleting the owner deletes its rows.
    pub owner_table: &'static str,
    /// The owner for people, in comments and messages ("user").
    pub owner_words: &'static str,
    /// The extractor handlers take for the acting tenant; every query takes it.
    pub extractor: &'static str,
    /// How the extractor finds the tenant.
    pub obtained_from: &'static str,
    /// The field of the extractor that holds the owner's id (`tenant.user_id`).
    pub tenant_field: &'static str,
    /// Prepended to a resource's path to make its route base; empty: `/{path}`.
    pub route_prefix: &'static str,
    /// The test helper that makes a tenant and signs in as it, returning its id.
    pub test_sign_in: &'static str,
    /// How messages name a row of the same owner: "one of your" (projects).
    pub one_of_owners: &'static str,
    /// How a handler takes the item id from its path.
    pub id_extractor: &'static str,
    /// Whether members reach the rows through an organization (the `orgs` feature).
    pub orgs: bool,
    /// Whether every handler checks the resource's permission (the `rbac` feature).
    pub permissions: bool,
}

/// One row of the permission table for a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionRow {
    /// The `Permission` variant handlers name (`ProjectsRead`).
    pub variant: String,
    /// Its name (`projects:read`), which the OpenAPI document states as `x-permission`.
    pub name: String,
    /// The line in `permissions!` of src/access.rs.
    pub line: String,
}

impl Tenancy {
    /// The ownership of resources in a project with `features`: by organization with
    /// `orgs`, by user otherwise.
    pub fn of(features: &FeatureSet) -> Self {
        if features.contains(Feature::Orgs) {
            return Self {
                column: "org_id",
                owner_table: "organizations",
                owner_words: "organization",
                extractor: "Tenant",
                obtained_from: "the caller's membership of the organization in the path",
                tenant_field: "org_id",
                route_prefix: "/orgs/{org_id}",
                test_sign_in: "app.signup",
                one_of_owners: "one of this organization's",
                id_extractor: "AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>",
                orgs: true,
                permissions: features.contains(Feature::Rbac),
            };
        }
        Self {
            column: "user_id",
            owner_table: "users",
            owner_words: "user",
            extractor: "Tenant",
            obtained_from: "the signed-in user, by session cookie or API token",
            tenant_field: "user_id",
            route_prefix: "",
            test_sign_in: "app.signup",
            one_of_owners: "one of your",
            id_extractor: "AppPath(id): AppPath<Uuid>",
            orgs: false,
            permissions: false,
        }
    }

    /// The resource's four rows of the permission table (`rbac` only; none otherwise),
    /// as `src/access.rs` writes them: reading, creating and updating for every role,
    /// deleting for owners and admins.
    pub fn permission_rows(&self, name: &ResourceName) -> Vec<PermissionRow> {
        if !self.permissions {
            return Vec::new();
        }
        let plural_pascal: String = name
            .plural
            .split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        [
            ("Read", "read", "Owner, Admin, Member"),
            ("Create", "create", "Owner, Admin, Member"),
            ("Update", "update", "Owner, Admin, Member"),
            ("Delete", "delete", "Owner, Admin"),
        ]
        .into_iter()
        .map(|(variant, action, roles)| {
            let variant = format!("{plural_pascal}{variant}");
            let name = format!("{}:{action}", name.plural);
            PermissionRow {
                line: format!("    {variant} = \"{name}\" => [{roles}],"),
                variant,
                name,
            }
        })
        .collect()
    }

    /// The route of a resource's collection: `/{path}` behind the prefix.
    pub fn route_base(&self, name: &ResourceName) -> String {
        format!("{}/{}", self.route_prefix, name.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_features_rows_belong_to_the_signed_in_user_under_their_own_path() {
        let tenancy = Tenancy::of(&FeatureSet::default());
        assert_eq!((tenancy.column, tenancy.owner_table), ("user_id", "users"));
        let name = ResourceName::parse("ProjectTask").unwrap();
        assert_eq!(tenancy.route_base(&name), "/project-tasks");
        assert_eq!(tenancy.permission_rows(&name), []);
    }

    #[test]
    fn with_orgs_rows_belong_to_the_organization_in_the_path() {
        let features = FeatureSet::parse("orgs").unwrap();
        let tenancy = Tenancy::of(&features);
        assert_eq!(
            (tenancy.column, tenancy.owner_table),
            ("org_id", "organizations")
        );
        let name = ResourceName::parse("ProjectTask").unwrap();
        assert_eq!(tenancy.route_base(&name), "/orgs/{org_id}/project-tasks");
        assert_eq!(
            tenancy.permission_rows(&name),
            [],
            "no permissions without rbac"
        );
    }

    #[test]
    fn with_rbac_a_resource_has_four_permissions_and_members_may_not_delete() {
        let features = FeatureSet::parse("orgs,rbac").unwrap();
        let name = ResourceName::parse("ProjectTask").unwrap();
        let lines: Vec<String> = Tenancy::of(&features)
            .permission_rows(&name)
            .into_iter()
            .map(|row| row.line)
            .collect();
        assert_eq!(
            lines,
            [
                "    ProjectTasksRead = \"project_tasks:read\" => [Owner, Admin, Member],",
                "    ProjectTasksCreate = \"project_tasks:create\" => [Owner, Admin, Member],",
                "    ProjectTasksUpdate = \"project_tasks:update\" => [Owner, Admin, Member],",
                "    ProjectTasksDelete = \"project_tasks:delete\" => [Owner, Admin],",
            ]
        );
    }
}

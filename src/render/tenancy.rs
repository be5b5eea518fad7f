//! Who owns a resource's rows, decided once in Rust: the column every row carries and
//! every query filters on (also the acting tenant's field), the route base, and the
//! words for the owner. The orgs feature changes ownership here; the Rust that differs
//! with it (how a handler takes a row's id, how a test reaches the collection) is
//! written in the resource templates, on `orgs`.

use serde::Serialize;

use crate::{
    spec::features::{Feature, FeatureSet},
    spec::naming::ResourceName,
};

/// The ownership of a generated resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenancy {
    /// The column that holds the owner's id, in every row and every `where`, and the
    /// field of the acting `Tenant` that holds it (`tenant.org_id`).
    pub column: &'static str,
    /// The table that column references; deleting the owner deletes its rows.
    pub owner_table: &'static str,
    /// The owner for people, in comments and messages ("user").
    pub owner_words: &'static str,
    /// Prepended to a resource's path to make its route base; empty: `/{path}`.
    pub route_prefix: &'static str,
    /// How messages name a row of the same owner: "one of your" (projects).
    pub one_of_owners: &'static str,
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
                route_prefix: "/orgs/{org_id}",
                one_of_owners: "one of this organization's",
                orgs: true,
                permissions: features.contains(Feature::Rbac),
            };
        }
        Self {
            column: "user_id",
            owner_table: "users",
            owner_words: "user",
            route_prefix: "",
            one_of_owners: "one of your",
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

    /// The name of the index that serves the list of `table`: one owner's rows, newest
    /// first.
    pub fn list_index(&self, table: &str) -> String {
        format!("{table}_{}_id", self.column)
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

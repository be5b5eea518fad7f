//! Who may do what in an organization: the roles, the one permission table, and
//! `Actor`, the caller's membership in the organization a route names.
//!
//! To change who may do what, edit the `permissions!` table below; handlers only ever
//! ask `actor.require(Permission::…)`.

use std::{collections::BTreeMap, fmt};

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};
use serde::{Deserialize, Serialize};
use utoipa::{
    IntoResponses, ToSchema,
    openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder},
};
use uuid::Uuid;

use crate::{AppState, auth::extract::CurrentUser, error::AppError, openapi::refer};

/// A member's role in an organization; each role ranks above the ones after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    /// Every role, highest first.
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Higher is more: a member may grant or take away only roles up to their own.
    pub fn rank(self) -> u8 {
        match self {
            Self::Owner => 3,
            Self::Admin => 2,
            Self::Member => 1,
        }
    }

    /// The role an owner keeps after handing the organization to someone else.
    pub fn after_transfer() -> Self {
        Self::Admin
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    /// Reads the `role` column, which a check constraint keeps to these names.
    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(format!("unknown role `{name}`")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares every permission once: its variant, its name for clients, and the roles
/// that have it.
macro_rules! permissions {
    ($($variant:ident = $name:literal => [$($role:ident),* $(,)?]),* $(,)?) => {
        /// Something a member may be allowed to do in an organization.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Permission {
            $($variant,)*
        }

        impl Permission {
            /// Every permission, in the order of the table.
            pub const ALL: &[Permission] = &[$(Permission::$variant,)*];

            /// The name clients see, such as `org:update`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)*
                }
            }

            /// Whether `role` has this permission.
            pub fn allows(self, role: Role) -> bool {
                let roles: &[Role] = match self {
                    $(Permission::$variant => &[$(Role::$role),*],)*
                };
                roles.contains(&role)
            }
        }
    };
}

permissions! {
    OrgRead = "org:read" => [Owner, Admin, Member],
    OrgUpdate = "org:update" => [Owner, Admin],
    OrgDelete = "org:delete" => [Owner],
    MembersInvite = "members:invite" => [Owner, Admin],
    // Admins manage members but never owners: see `Actor::may_manage`.
    MembersManage = "members:manage" => [Owner, Admin],
    BillingManage = "billing:manage" => [Owner],
    ProjectsRead = "projects:read" => [Owner, Admin, Member],
    ProjectsCreate = "projects:create" => [Owner, Admin, Member],
    ProjectsUpdate = "projects:update" => [Owner, Admin, Member],
    ProjectsDelete = "projects:delete" => [Owner, Admin],
    TasksRead = "tasks:read" => [Owner, Admin, Member],
    TasksCreate = "tasks:create" => [Owner, Admin, Member],
    TasksUpdate = "tasks:update" => [Owner, Admin, Member],
    TasksDelete = "tasks:delete" => [Owner, Admin],
    CommentsRead = "comments:read" => [Owner, Admin, Member],
    CommentsCreate = "comments:create" => [Owner, Admin, Member],
    CommentsUpdate = "comments:update" => [Owner, Admin, Member],
    CommentsDelete = "comments:delete" => [Owner, Admin],
    // saas:permissions
}

/// The caller acting in the organization of the route's `{org_id}`: their membership,
/// read afresh on every request, so a role change takes effect on the next one.
/// Anyone who is not a member gets 404, as if the organization did not exist.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: Uuid,
    /// Whether the caller has verified their email address.
    pub email_verified: bool,
    pub org_id: Uuid,
    pub role: Role,
}

impl Actor {
    /// 403 unless the caller's role has `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if permission.allows(self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "your role in this organization does not allow this",
            ))
        }
    }

    /// Whether the caller may give or take away `role`: only roles up to their own.
    pub fn may_manage(&self, role: Role) -> bool {
        role.rank() <= self.role.rank()
    }

    /// The names of the caller's permissions, for clients to show only what they may do.
    pub fn permissions(&self) -> Vec<&'static str> {
        Permission::ALL
            .iter()
            .filter(|permission| permission.allows(self.role))
            .map(|permission| permission.as_str())
            .collect()
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = CurrentUser::from_request_parts(parts, state).await?;
        let org_id = org_id_of(parts, state).await?;
        let role: Option<String> =
            sqlx::query_scalar("select role from memberships where org_id = $1 and user_id = $2")
                .bind(org_id)
                .bind(caller.user.id)
                .fetch_optional(&state.db)
                .await?;
        let role = role.ok_or(AppError::NotFound)?;
        Ok(Self {
            user_id: caller.user.id,
            email_verified: caller.user.email_verified_at.is_some(),
            org_id,
            role: Role::try_from(role).map_err(|message| anyhow::anyhow!(message))?,
        })
    }
}

/// The route's `{org_id}`; one that is not a UUID names nothing, so it is a 404.
async fn org_id_of(parts: &mut Parts, state: &AppState) -> Result<Uuid, AppError> {
    route_org_id(parts, state).await?.ok_or(AppError::NotFound)
}

/// The route's `{org_id}` as axum decoded it, if the route has one: the organization
/// the request acts on. One that is not a UUID names nothing, so it is a 404.
pub async fn route_org_id(parts: &mut Parts, state: &AppState) -> Result<Option<Uuid>, AppError> {
    let Ok(params) = RawPathParams::from_request_parts(parts, state).await else {
        return Ok(None);
    };
    params
        .iter()
        .find(|(name, _)| *name == "org_id")
        .map(|(_, value)| Uuid::parse_str(value).map_err(|_| AppError::NotFound))
        .transpose()
}

/// 401 and 404: what resolving the [`Actor`] of a route can answer.
pub struct MemberErrors;

/// 403: the caller's role lacks the permission; on a POST, PATCH, PUT or DELETE also a
/// cross-site browser request.
pub struct PermissionErrors;

impl IntoResponses for MemberErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = refer(&[("401", "Unauthenticated")]);
        responses.insert(
            "404".to_owned(),
            error_response(
                "No such organization, or the caller is not a member of it (`not_found`); \
                 non-members never learn whether it exists",
            ),
        );
        responses
    }
}

impl IntoResponses for PermissionErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "403".to_owned(),
            error_response(
                "The caller's role does not allow this, or a browser request came from \
                 another site (`forbidden`)",
            ),
        )])
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .build()
        .into()
}

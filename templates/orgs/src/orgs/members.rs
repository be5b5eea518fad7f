//! The members of an organization: listed by any member, their roles changed and
//! removed by those who may manage members, and ownership handed over by an owner.
//!
//! Every change runs in one transaction that first locks the organization
//! ([`lock`]), reads the caller's role again under that lock, and checks before
//! committing that an owner remains ([`ensure_an_owner_remains`]).

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Transaction};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ensure_an_owner_remains, invitations, lock};
use crate::{
    AppState,
    access::{Actor, MemberErrors, Permission, PermissionErrors, Role},
    db::{self, Db},
    error::{AppError, ErrorBody},
    extract::{AppJson, AppPath},
    openapi::{JsonBodyErrors, ServerErrors},
    resources,
};

/// A member of an organization.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeRoleRequest {
    pub role: Role,
}

#[derive(Deserialize, ToSchema)]
pub struct TransferRequest {
    /// The member who becomes an owner.
    pub user_id: Uuid,
}

const SELECT_MEMBERS: &str = "select m.user_id, u.email, u.name, m.role, m.created_at as joined_at
     from memberships m join users u on u.id = m.user_id where m.org_id = $1";

/// The caller as they are now, under the organization's lock: a role read before the
/// lock may have changed since. `None` if they are no longer a member.
async fn locked_actor(tx: &mut Transaction<'static, Db>, actor: &Actor) -> Result<Actor, AppError> {
    lock(tx, actor.org_id).await?;
    let role = role_of(tx, actor.org_id, actor.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Actor { role, ..*actor })
}

async fn role_of(
    tx: &mut Transaction<'static, Db>,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Role>, AppError> {
    let role: Option<String> =
        sqlx::query_scalar("select role from memberships where org_id = $1 and user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    role.map(Role::try_from)
        .transpose()
        .map_err(|message| AppError::Internal(anyhow::anyhow!(message)))
}

async fn set_role(
    tx: &mut Transaction<'static, Db>,
    org_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<(), sqlx::Error> {
    sqlx::query("update memberships set role = $1 where org_id = $2 and user_id = $3")
        .bind(role.as_str())
        .bind(org_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    invitations::revoke_sent_above(tx, org_id, user_id, Some(role)).await
}

async fn find_member(
    db: impl sqlx::Executor<'_, Database = Db>,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<MemberView, AppError> {
    let sql = format!("{SELECT_MEMBERS} and m.user_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// 403 unless the caller may give and take away `role`: nobody acts above their own role.
fn check_rank(actor: &Actor, role: Role) -> Result<(), AppError> {
    if actor.may_manage(role) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "nobody may act on a role above their own",
        ))
    }
}

/// The members of an organization, in the order they joined.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/members",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::OrgRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization")),
    responses(
        (status = 200, description = "The members", body = Vec<MemberView>),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn list_members(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<AppJson<Vec<MemberView>>, AppError> {
    actor.require(Permission::OrgRead)?;
    let sql = format!("{SELECT_MEMBERS} order by m.created_at, m.user_id");
    let members = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(actor.org_id)
        .fetch_all(&state.db)
        .await?;
    Ok(AppJson(members))
}

/// Changes a member's role.
#[utoipa::path(
    patch,
    path = "/orgs/{org_id}/members/{user_id}",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::MembersManage.as_str()))),
    params(
        ("org_id" = Uuid, Path, description = "The organization"),
        ("user_id" = Uuid, Path, description = "The member"),
    ),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "The member with their new role", body = MemberView),
        (status = 409, description = "It would leave the organization without an owner", body = ErrorBody),
        (status = 422, description = "`role` is missing or not a role", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn change_role(
    State(state): State<AppState>,
    actor: Actor,
    AppPath((_, user_id)): AppPath<(Uuid, Uuid)>,
    AppJson(request): AppJson<ChangeRoleRequest>,
) -> Result<AppJson<MemberView>, AppError> {
    let mut tx = db::begin_write(&state.db).await?;
    let actor = locked_actor(&mut tx, &actor).await?;
    actor.require(Permission::MembersManage)?;
    let current = role_of(&mut tx, actor.org_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    check_rank(&actor, current)?;
    check_rank(&actor, request.role)?;
    set_role(&mut tx, actor.org_id, user_id, request.role).await?;
    ensure_an_owner_remains(&mut tx, actor.org_id).await?;
    let member = find_member(&mut *tx, actor.org_id, user_id).await?;
    tx.commit().await?;
    tracing::info!(org_id = %actor.org_id, %user_id, role = %request.role, "role changed");
    Ok(AppJson(member))
}

/// Removes a member; any member may remove themselves (leave).
#[utoipa::path(
    delete,
    path = "/orgs/{org_id}/members/{user_id}",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::MembersManage.as_str()))),
    params(
        ("org_id" = Uuid, Path, description = "The organization"),
        ("user_id" = Uuid, Path, description = "The member, or the caller to leave"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "It would leave the organization without an owner", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    actor: Actor,
    AppPath((_, user_id)): AppPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    let mut tx = db::begin_write(&state.db).await?;
    let actor = locked_actor(&mut tx, &actor).await?;
    if user_id != actor.user_id {
        actor.require(Permission::MembersManage)?;
        let current = role_of(&mut tx, actor.org_id, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        check_rank(&actor, current)?;
    }
    sqlx::query("delete from memberships where org_id = $1 and user_id = $2")
        .bind(actor.org_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    invitations::revoke_sent_above(&mut tx, actor.org_id, user_id, None).await?;
    ensure_an_owner_remains(&mut tx, actor.org_id).await?;
    // Rows assigned to them pass to whoever removed them; when they leave, to the
    // longest-standing owner.
    let successor = if user_id == actor.user_id {
        first_owner(&mut tx, actor.org_id).await?
    } else {
        actor.user_id
    };
    resources::release_member(&mut tx, actor.org_id, user_id, successor).await?;
    tx.commit().await?;
    tracing::info!(org_id = %actor.org_id, %user_id, by = %actor.user_id, "member removed");
    Ok(StatusCode::NO_CONTENT)
}

/// The owner who has been one longest (by when they joined); one remains, checked first.
async fn first_owner(tx: &mut Transaction<'static, Db>, org_id: Uuid) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "select user_id from memberships where org_id = $1 and role = 'owner'
         order by created_at, user_id limit 1",
    )
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await
}

/// Hands the organization to another member, who becomes an owner; the caller, an
/// owner, steps down in the same transaction.
#[utoipa::path(
    post,
    path = "/orgs/{org_id}/transfer-ownership",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    // Not a permission of the table: only an owner may, whatever the roles allow.
    extensions(("x-permission" = json!(Role::Owner.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization")),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The new owner", body = MemberView),
        (status = 422, description = "`user_id` is missing, or not another member of the organization", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn transfer_ownership(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(request): AppJson<TransferRequest>,
) -> Result<AppJson<MemberView>, AppError> {
    let mut tx = db::begin_write(&state.db).await?;
    let actor = locked_actor(&mut tx, &actor).await?;
    if actor.role != Role::Owner {
        return Err(AppError::Forbidden("only an owner can transfer ownership"));
    }
    let target = role_of(&mut tx, actor.org_id, request.user_id).await?;
    if target.is_none() || request.user_id == actor.user_id {
        return Err(AppError::invalid(
            "user_id",
            "must be another member of the organization",
        ));
    }
    set_role(&mut tx, actor.org_id, request.user_id, Role::Owner).await?;
    set_role(&mut tx, actor.org_id, actor.user_id, Role::after_transfer()).await?;
    ensure_an_owner_remains(&mut tx, actor.org_id).await?;
    let new_owner = find_member(&mut *tx, actor.org_id, request.user_id).await?;
    tx.commit().await?;
    tracing::info!(org_id = %actor.org_id, from = %actor.user_id, to = %request.user_id, "ownership transferred");
    Ok(AppJson(new_owner))
}

//! Invitations: a member who may invite asks an address to join with a role up to
//! their own; a mail carries a one-time link ([`mail`]); the invitee, signed in with
//! that very address, accepts it once ([`accept`]) and becomes a member.
//!
//! The token is issued by the job that sends the mail, so it is never stored in
//! clear, not even in the job's row: the invitation keeps only its hash.

pub mod accept;
pub mod mail;

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Transaction};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    AppState,
    access::{Actor, MemberErrors, Permission, PermissionErrors, Role},
    auth::user::Email,
    db::{self, Db},
    error::{AppError, ErrorBody, ResultExt},
    extract::{AppJson, AppPath},
    jobs::{self, Job},
    openapi::{JsonBodyErrors, RateLimitErrors, ServerErrors},
    rate_limit,
};

/// The invitation routes, merged into the organizations' router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_invitation, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept::accept_invitation))
}

#[derive(Deserialize, ToSchema)]
pub struct InvitationRequest {
    /// Compared trimmed and case-insensitively, as at sign-up.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// The role the invitee gets: at most the inviter's own.
    pub role: Role,
}

/// A pending invitation as the organization's inviters see it; never its token.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// An invitation as the accept route reads it, by its token's hash.
#[derive(FromRow)]
struct InvitationRow {
    id: Uuid,
    org_id: Uuid,
    email: String,
    #[sqlx(try_from = "String")]
    role: Role,
    expires_at: OffsetDateTime,
    accepted_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
}

impl InvitationRow {
    /// 410 unless the invitation can still be accepted.
    fn ensure_pending(&self, now: OffsetDateTime) -> Result<(), AppError> {
        if self.accepted_at.is_some() {
            return Err(AppError::Gone("this invitation was already accepted"));
        }
        if self.revoked_at.is_some() {
            return Err(AppError::Gone("this invitation was revoked"));
        }
        if self.expires_at <= now {
            return Err(AppError::Gone("this invitation has expired"));
        }
        Ok(())
    }
}

const SELECT_INVITATION: &str =
    "select id, org_id, email, role, expires_at, accepted_at, revoked_at
     from invitations";

/// Invites an address to the organization; the invitation mail goes out in the background.
///
/// The inviter's own address must be verified (403 `email_not_verified`).
#[utoipa::path(
    post,
    path = "/orgs/{org_id}/invitations",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::MembersInvite.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization")),
    request_body = InvitationRequest,
    responses(
        (status = 201, description = "Invited; the mail is on its way", body = InvitationView),
        (status = 409, description = "The address is a member's, or already has a pending invitation", body = ErrorBody),
        (status = 422, description = "`email` is missing or not an email address, or `role` is not a role", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn create_invitation(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(request): AppJson<InvitationRequest>,
) -> Result<(StatusCode, AppJson<InvitationView>), AppError> {
    actor.require(Permission::MembersInvite)?;
    if !actor.may_manage(request.role) {
        return Err(AppError::Forbidden(
            "nobody may invite with a role above their own",
        ));
    }
    // An invitation mails a stranger in the organization's name: only from an account
    // whose own address is proved.
    if !actor.email_verified {
        return Err(AppError::EmailNotVerified);
    }
    let email =
        Email::parse(&request.email).map_err(|reason| AppError::invalid("email", reason))?;
    // Each invitation mails an address the inviter chose, naming the organization.
    let config = &state.config;
    let by_inviter = format!("invitations-by:{}", actor.user_id);
    let limit = config.invitations_per_inviter_per_hour;
    rate_limit::hit(&state, &by_inviter, limit, rate_limit::HOURLY).await?;
    let of_org = format!("invitations-of:{}", actor.org_id);
    let limit = config.invitations_per_org_per_hour;
    rate_limit::hit(&state, &of_org, limit, rate_limit::HOURLY).await?;
    let now = OffsetDateTime::now_utc();
    let mut tx = db::begin_write(&state.db).await?;
    refuse_members(&mut tx, actor.org_id, &email).await?;
    discard_expired(&mut tx, actor.org_id, &email, now).await?;
    // The unique index on pending invitations decides between concurrent invitations.
    let invitation: InvitationView = sqlx::query_as(
        "insert into invitations (id, org_id, email, role, invited_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning id, email, role, expires_at",
    )
    .bind(Uuid::now_v7())
    .bind(actor.org_id)
    .bind(email.as_str())
    .bind(request.role.as_str())
    .bind(actor.user_id)
    .bind(now)
    .bind(now + state.config.invitation_ttl)
    .fetch_one(&mut *tx)
    .await
    .on_unique_violation(AppError::Conflict(
        "this address already has a pending invitation",
    ))?;
    let mail = Job::SendInvitation {
        invitation_id: invitation.id,
    };
    jobs::enqueue(&mut tx, mail).await?;
    tx.commit().await?;
    state.jobs.wake();
    tracing::info!(org_id = %actor.org_id, invitation_id = %invitation.id, "invited");
    Ok((StatusCode::CREATED, AppJson(invitation)))
}

/// 409 if the address is already a member's.
async fn refuse_members(
    tx: &mut Transaction<'static, Db>,
    org_id: Uuid,
    email: &Email,
) -> Result<(), AppError> {
    let member: Option<i32> = sqlx::query_scalar(
        "select 1 from memberships m join users u on u.id = m.user_id
         where m.org_id = $1 and u.email = $2",
    )
    .bind(org_id)
    .bind(email.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    match member {
        Some(_) => Err(AppError::Conflict("this address is already a member's")),
        None => Ok(()),
    }
}

/// Deletes the address's expired invitation, if any: it no longer stands in the way
/// of a new one.
async fn discard_expired(
    tx: &mut Transaction<'static, Db>,
    org_id: Uuid,
    email: &Email,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "{SELECT_INVITATION}
         where org_id = $1 and email = $2 and accepted_at is null and revoked_at is null"
    );
    let pending: Option<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .bind(email.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(expired) = pending.filter(|invitation| invitation.expires_at <= now) {
        sqlx::query("delete from invitations where id = $1")
            .bind(expired.id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The organization's invitations that can still be accepted, newest first.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/invitations",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::MembersInvite.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization")),
    responses(
        (status = 200, description = "The pending invitations", body = Vec<InvitationView>),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn list_invitations(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<AppJson<Vec<InvitationView>>, AppError> {
    actor.require(Permission::MembersInvite)?;
    let invitations: Vec<InvitationView> = sqlx::query_as(
        "select id, email, role, expires_at from invitations
         where org_id = $1 and accepted_at is null and revoked_at is null
         order by id desc",
    )
    .bind(actor.org_id)
    .fetch_all(&state.db)
    .await?;
    // Expired ones are left out here rather than in SQL, where SQLite would compare
    // its text timestamps wrongly.
    let now = OffsetDateTime::now_utc();
    let pending = invitations
        .into_iter()
        .filter(|invitation| invitation.expires_at > now)
        .collect();
    Ok(AppJson(pending))
}

/// Revokes the pending invitations that `inviter` sent in `org_id` for a role above
/// `kept` (every one of them when `kept` is `None`, as when the inviter leaves): nobody's
/// invitation grants more than they still could. Called in the transaction that
/// changes or ends the inviter's membership.
pub async fn revoke_sent_above(
    tx: &mut Transaction<'static, Db>,
    org_id: Uuid,
    inviter: Uuid,
    kept: Option<Role>,
) -> Result<(), sqlx::Error> {
    let above = Role::ALL
        .into_iter()
        .filter(|role| kept.is_none_or(|kept| role.rank() > kept.rank()));
    for role in above {
        sqlx::query(
            "update invitations set revoked_at = $1
             where org_id = $2 and invited_by = $3 and role = $4
                 and accepted_at is null and revoked_at is null",
        )
        .bind(OffsetDateTime::now_utc())
        .bind(org_id)
        .bind(inviter)
        .bind(role.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Revokes a pending invitation: its link stops working at once.
///
/// Revoking needs the rank to create it: nobody revokes an invitation to a role above
/// their own.
#[utoipa::path(
    delete,
    path = "/orgs/{org_id}/invitations/{id}",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::MembersInvite.as_str()))),
    params(
        ("org_id" = Uuid, Path, description = "The organization"),
        ("id" = Uuid, Path, description = "The invitation"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    actor: Actor,
    AppPath((_, invitation_id)): AppPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    actor.require(Permission::MembersInvite)?;
    let role: String = sqlx::query_scalar(
        "select role from invitations
         where id = $1 and org_id = $2 and accepted_at is null and revoked_at is null",
    )
    .bind(invitation_id)
    .bind(actor.org_id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    let role =
        Role::try_from(role).map_err(|message| AppError::Internal(anyhow::anyhow!(message)))?;
    if !actor.may_manage(role) {
        return Err(AppError::Forbidden(
            "nobody may revoke an invitation to a role above their own",
        ));
    }
    // The role is part of the condition: an invitation changed since is left alone.
    let revoked = sqlx::query(
        "update invitations set revoked_at = $1
         where id = $2 and org_id = $3 and role = $4
             and accepted_at is null and revoked_at is null",
    )
    .bind(OffsetDateTime::now_utc())
    .bind(invitation_id)
    .bind(actor.org_id)
    .bind(role.as_str())
    .execute(&state.db)
    .await?
    .rows_affected();
    if revoked == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(org_id = %actor.org_id, %invitation_id, "invitation revoked");
    Ok(StatusCode::NO_CONTENT)
}

//! Accepting an invitation: single use, only by the invited address, and never for
//! someone who is already a member.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::Transaction;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{InvitationRow, SELECT_INVITATION};
use crate::{
    AppState,
    access::Role,
    auth::{extract::CurrentUser, limit_auth_ip, session::hash_token},
    client_ip::ClientIp,
    db::{self, Db},
    error::{AppError, ErrorBody, ResultExt},
    extract::AppJson,
    openapi::{AuthErrors, JsonBodyErrors, RateLimitErrors, ServerErrors},
    orgs::lock,
};

#[derive(Deserialize, ToSchema)]
pub struct AcceptInvitationRequest {
    /// The token from the link in the invitation mail.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
}

/// The membership an accepted invitation gave.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedInvitation {
    pub org_id: Uuid,
    pub role: Role,
}

/// Accepts an invitation sent to the caller's own address, making them a member.
#[utoipa::path(
    post,
    path = "/invitations/accept",
    tag = "orgs",
    security(("session" = []), ("bearer" = [])),
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "The caller is now a member", body = AcceptedInvitation),
        (status = 403, description = "The invitation is for another address (`forbidden`), the caller's address is not verified yet (`email_not_verified`; the invitation stays usable), or a cross-site browser request", body = ErrorBody),
        (status = 404, description = "No such invitation", body = ErrorBody),
        (status = 409, description = "The caller is already a member; nothing changed", body = ErrorBody),
        (status = 410, description = "The invitation was accepted, revoked, or has expired", body = ErrorBody),
        (status = 422, description = "A field is missing or of the wrong type", body = ErrorBody),
        JsonBodyErrors, AuthErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn accept_invitation(
    State(state): State<AppState>,
    client: ClientIp,
    current: CurrentUser,
    AppJson(request): AppJson<AcceptInvitationRequest>,
) -> Result<AppJson<AcceptedInvitation>, AppError> {
    // Guessing tokens is pointless (256 bits), but each guess costs a query.
    limit_auth_ip(&state, client).await?;
    let now = OffsetDateTime::now_utc();
    let mut tx = db::begin_write(&state.db).await?;
    let sql = format!("{SELECT_INVITATION} where token_hash = $1");
    let invitation: InvitationRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(hash_token(&request.token))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
    invitation.ensure_pending(now)?;
    // The link proves nothing about who holds it: only the invited address may accept.
    if invitation.email != current.user.email {
        return Err(AppError::Forbidden(
            "this invitation is for another email address",
        ));
    }
    // An unverified account holds the address only by saying so; it may accept once
    // it has proved the mailbox is its own. The invitation stays usable meanwhile.
    if current.user.email_verified_at.is_none() {
        return Err(AppError::EmailNotVerified);
    }
    lock(&mut tx, invitation.org_id).await?;
    join(&mut tx, &invitation, current.user.id, now).await?;
    tx.commit().await?;
    tracing::info!(
        org_id = %invitation.org_id,
        user_id = %current.user.id,
        "invitation accepted"
    );
    Ok(AppJson(AcceptedInvitation {
        org_id: invitation.org_id,
        role: invitation.role,
    }))
}

/// Uses up the invitation and adds the membership, under the organization's lock: 409
/// (and the invitation left as it was) for a member, 410 if a concurrent accept won.
async fn join(
    tx: &mut Transaction<'static, Db>,
    invitation: &InvitationRow,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let member: Option<i32> =
        sqlx::query_scalar("select 1 from memberships where org_id = $1 and user_id = $2")
            .bind(invitation.org_id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    if member.is_some() {
        return Err(AppError::Conflict(
            "you are already a member of this organization",
        ));
    }
    // `accepted_at is null` again: of two concurrent accepts, only one updates the row.
    let accepted = sqlx::query(
        "update invitations set accepted_at = $1
         where id = $2 and accepted_at is null and revoked_at is null",
    )
    .bind(now)
    .bind(invitation.id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if accepted == 0 {
        return Err(AppError::Gone("this invitation is no longer pending"));
    }
    sqlx::query(
        "insert into memberships (org_id, user_id, role, created_at) values ($1, $2, $3, $4)",
    )
    .bind(invitation.org_id)
    .bind(user_id)
    .bind(invitation.role.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await
    .on_unique_violation(AppError::Conflict(
        "you are already a member of this organization",
    ))?;
    Ok(())
}

//! Email verification: a link mailed at sign-up (and on request) proves the address.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    extract::CurrentUser,
    limit_auth_ip,
    one_time::{self, Purpose},
};
use crate::{
    AppState,
    client_ip::ClientIp,
    db,
    error::{AppError, ErrorBody},
    extract::AppJson,
    jobs::{self, Job},
    links::MailedLink,
    mail::Mail,
    openapi::{AuthErrors, CrossSiteErrors, JsonBodyErrors, RateLimitErrors, ServerErrors},
    rate_limit,
};

/// How many verification mails one account may ask for per hour.
const RESENDS_PER_HOUR: u32 = 5;

#[derive(Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the link in the verification mail.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
}

/// Issues a verification token for `user_id` at `email` and mails its link; run by
/// the job worker (`Job::SendVerificationLink`). Does nothing if the address was
/// verified or changed since the job was enqueued.
pub async fn send_link(state: &AppState, user_id: Uuid, email: &str) -> anyhow::Result<()> {
    let config = &state.config;
    let mut tx = db::begin_write(&state.db).await?;
    let still_unverified: Option<i32> = sqlx::query_scalar(
        "select 1 from users where id = $1 and email = $2 and email_verified_at is null",
    )
    .bind(user_id)
    .bind(email)
    .fetch_optional(&mut *tx)
    .await?;
    if still_unverified.is_none() {
        return Ok(());
    }
    let token = one_time::issue(
        &mut tx,
        user_id,
        email,
        Purpose::VerifyEmail,
        config.email_verification_ttl,
    )
    .await?;
    // Committed before sending: if sending fails, the retry issues a new token, and
    // only the newest link works.
    tx.commit().await?;
    let link = MailedLink::VerifyEmail.url(config, &token);
    let hours = config.email_verification_ttl.as_secs() / 3600;
    let mail = Mail::with_link(
        email,
        "Confirm your email address",
        "Confirm your email address by opening this link:",
        &link,
        &format!(
            "The link works once, for {hours} hours. If you did not sign up, ignore this mail."
        ),
    );
    state.mailer.send(mail).await
}

/// Confirms the address a verification token was sent to.
#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The email address is verified"),
        (status = 404, description = "No such token", body = ErrorBody),
        (status = 410, description = "The token was used, has expired, or the address changed", body = ErrorBody),
        (status = 422, description = "A field is missing or of the wrong type", body = ErrorBody),
        JsonBodyErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    client: ClientIp,
    AppJson(request): AppJson<VerifyEmailRequest>,
) -> Result<StatusCode, AppError> {
    // Guessing tokens is pointless (256 bits), but each guess costs a query.
    limit_auth_ip(&state, client).await?;
    let mut tx = db::begin_write(&state.db).await?;
    let redeemed = one_time::redeem(&mut tx, &request.token, Purpose::VerifyEmail).await?;
    // The token proves the address it was sent to, and no other.
    let updated = sqlx::query(
        "update users set email_verified_at = coalesce(email_verified_at, $1)
         where id = $2 and email = $3",
    )
    .bind(OffsetDateTime::now_utc())
    .bind(redeemed.user_id)
    .bind(&redeemed.email)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::Gone(
            "the address this link was sent to has changed",
        ));
    }
    tx.commit().await?;
    tracing::info!(user_id = %redeemed.user_id, "email verified");
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a new verification mail, unless the address is already verified.
#[utoipa::path(
    post,
    path = "/auth/verify-email/resend",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 202, description = "A new mail is on its way if the address is unverified"),
        AuthErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn resend_verification(
    State(state): State<AppState>,
    client: ClientIp,
    current: CurrentUser,
) -> Result<StatusCode, AppError> {
    limit_auth_ip(&state, client).await?;
    let key = format!("verify-resend:{}", current.user.id);
    rate_limit::hit(
        &state,
        &key,
        RESENDS_PER_HOUR,
        std::time::Duration::from_secs(3600),
    )
    .await?;
    if current.user.email_verified_at.is_none() {
        let mut tx = db::begin_write(&state.db).await?;
        let verification = Job::SendVerificationLink {
            user_id: current.user.id,
            email: current.user.email.clone(),
        };
        jobs::enqueue(&mut tx, verification).await?;
        tx.commit().await?;
        state.jobs.wake();
    }
    Ok(StatusCode::ACCEPTED)
}

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
    config::Config,
    db::{self, Db},
    error::{AppError, ErrorBody},
    extract::AppJson,
    mail::Mail,
    openapi::{AuthErrors, CrossSiteErrors, JsonBodyErrors, RateLimitErrors, ServerErrors},
    rate_limit::{self, ClientIp},
};

/// How many verification mails one account may ask for per hour.
const RESENDS_PER_HOUR: u32 = 5;

#[derive(Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the link in the verification mail.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
}

/// Issues a verification token in `tx` and returns the mail that carries it; the
/// caller sends it once the transaction has committed.
pub async fn prepare_mail(
    tx: &mut sqlx::Transaction<'static, Db>,
    config: &Config,
    user_id: Uuid,
    email: &str,
) -> Result<Mail, AppError> {
    let token = one_time::issue(
        tx,
        user_id,
        email,
        Purpose::VerifyEmail,
        config.email_verification_ttl,
    )
    .await?;
    let link = format!("{}/verify-email?token={token}", config.app_url);
    let hours = config.email_verification_ttl.as_secs() / 3600;
    Ok(Mail::with_link(
        email,
        "Confirm your email address",
        "Confirm your email address by opening this link:",
        &link,
        &format!(
            "The link works once, for {hours} hours. If you did not sign up, ignore this mail."
        ),
    ))
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
        JsonBodyErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    AppJson(request): AppJson<VerifyEmailRequest>,
) -> Result<StatusCode, AppError> {
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
    ClientIp(ip): ClientIp,
    current: CurrentUser,
) -> Result<StatusCode, AppError> {
    limit_auth_ip(&state, ip).await?;
    let key = format!("verify-resend:{}", current.user.id);
    rate_limit::hit(
        &state.db,
        &key,
        RESENDS_PER_HOUR,
        std::time::Duration::from_secs(3600),
    )
    .await?;
    if current.user.email_verified_at.is_none() {
        let mut tx = db::begin_write(&state.db).await?;
        let mail =
            prepare_mail(&mut tx, &state.config, current.user.id, &current.user.email).await?;
        tx.commit().await?;
        state.mailer.send_in_background(mail);
    }
    Ok(StatusCode::ACCEPTED)
}

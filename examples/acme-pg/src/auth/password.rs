//! Passwords after sign-up: forgotten (a reset link by mail), reset, and changed.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{AppendHeaders, IntoResponse},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    api_tokens,
    extract::CurrentUser,
    limit_auth_ip,
    one_time::{self, Purpose},
    session,
    user::{self, Email, Password},
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

/// How many reset mails may be asked for one address per hour (against mail bombing).
const RESETS_PER_HOUR: u32 = 5;

#[derive(Deserialize, ToSchema)]
pub struct ForgotPasswordRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the link in the reset mail.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Mails a reset link if an account has this address. The answer is the same either way.
#[utoipa::path(
    post,
    path = "/auth/password/forgot",
    tag = "auth",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "If the address has an account, a reset link is on its way"),
        (status = 422, description = "`email` is missing or not an email address", body = ErrorBody),
        JsonBodyErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn forgot_password(
    State(state): State<AppState>,
    client: ClientIp,
    AppJson(request): AppJson<ForgotPasswordRequest>,
) -> Result<StatusCode, AppError> {
    limit_auth_ip(&state, client).await?;
    let email =
        Email::parse(&request.email).map_err(|reason| AppError::invalid("email", reason))?;
    // Counted per address whether or not it has an account, so the limit reveals nothing.
    let key = rate_limit::account_key("password-forgot", email.as_str());
    rate_limit::hit(&state, &key, RESETS_PER_HOUR, Duration::from_secs(3600)).await?;

    // The same work for every address: whether it has an account is looked up by
    // the job, so neither the answer nor its timing tells.
    let mut tx = db::begin_write(&state.db).await?;
    let job = Job::SendPasswordResetLink {
        email: email.as_str().to_owned(),
    };
    jobs::enqueue(&mut tx, job).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(StatusCode::ACCEPTED)
}

/// Issues a password reset token and mails its link if an account has `email`; does
/// nothing otherwise. Run by the job worker (`Job::SendPasswordResetLink`).
pub async fn send_reset_link(state: &AppState, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let Some(user) = user::find_by_email(&state.db, &email).await? else {
        return Ok(());
    };
    let mut tx = db::begin_write(&state.db).await?;
    let token = one_time::issue(
        &mut tx,
        user.id,
        &user.email,
        Purpose::ResetPassword,
        state.config.password_reset_ttl,
    )
    .await?;
    // Committed before sending: if sending fails, the retry issues a new token, and
    // only the newest link works.
    tx.commit().await?;
    state
        .mailer
        .send(reset_mail(state, &user.email, &token))
        .await?;
    tracing::info!(user_id = %user.id, "password reset link sent");
    Ok(())
}

fn reset_mail(state: &AppState, to: &str, token: &str) -> Mail {
    let link = MailedLink::ResetPassword.url(&state.config, token);
    let minutes = state.config.password_reset_ttl.as_secs() / 60;
    Mail::with_link(
        to,
        "Reset your password",
        "Someone asked to reset the password of your account. To choose a new one, open:",
        &link,
        &format!(
            "The link works once, for {minutes} minutes. \
             If it was not you, ignore this mail: your password is unchanged."
        ),
    )
}

fn password_changed_mail(to: &str) -> Mail {
    Mail::notice(
        to,
        "Your password was changed",
        "The password of your account was just changed, and every other session signed out. \
         API tokens keep working: review them under GET /auth/tokens and revoke any you do \
         not recognise. If this was not you, reset your password now: a reset revokes \
         every session and every API token.",
    )
}

/// Sets a new password with a reset token. Every session of the user ends; nobody is
/// signed in by this (the user logs in with the new password).
#[utoipa::path(
    post,
    path = "/auth/password/reset",
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "The password is changed and every session revoked"),
        (status = 404, description = "No such token", body = ErrorBody),
        (status = 410, description = "The token was used or has expired", body = ErrorBody),
        (status = 422, description = "A field is missing, or the password does not meet the policy", body = ErrorBody),
        JsonBodyErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    client: ClientIp,
    AppJson(request): AppJson<ResetPasswordRequest>,
) -> Result<StatusCode, AppError> {
    limit_auth_ip(&state, client).await?;
    let password = Password::parse(request.password)
        .map_err(|reason| AppError::invalid("password", reason))?;
    // Hashing is the costly step: nobody without a live token gets to make us do it.
    one_time::check(&state.db, &request.token, Purpose::ResetPassword).await?;
    let password_hash = state.passwords.hash(password.0).await?;

    let mut tx = db::begin_write(&state.db).await?;
    let redeemed = one_time::redeem(&mut tx, &request.token, Purpose::ResetPassword).await?;
    let email: String = sqlx::query_scalar(
        "update users set password_hash = $1 where id = $2 and email = $3 returning email",
    )
    .bind(password_hash)
    .bind(redeemed.user_id)
    .bind(&redeemed.email)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::Gone(
        "the address this link was sent to has changed",
    ))?;
    one_time::delete_unused(&mut tx, redeemed.user_id, Purpose::ResetPassword).await?;
    // Whoever holds the mailbox owns the account: earlier guesses no longer count
    // against it, from any address.
    rate_limit::reset_account(&mut *tx, super::PASSWORD_ATTEMPTS, &email).await?;
    // A reset is account recovery: assume whoever had the old password had it all.
    session::delete_all(&mut *tx, redeemed.user_id).await?;
    api_tokens::delete_all(&mut *tx, redeemed.user_id).await?;
    jobs::enqueue(&mut tx, Job::SendMail(password_changed_mail(&email))).await?;
    tx.commit().await?;
    state.jobs.wake();

    tracing::info!(user_id = %redeemed.user_id, "password reset");
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password, given the current one. Every other session ends;
/// the one making the request gets a fresh token.
#[utoipa::path(
    post,
    path = "/auth/password/change",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; other sessions are revoked"),
        (status = 422, description = "A field is missing, the current password is wrong, or the new one does not meet the policy", body = ErrorBody),
        JsonBodyErrors, AuthErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientIp,
    current: CurrentUser,
    AppJson(request): AppJson<ChangePasswordRequest>,
) -> Result<impl IntoResponse, AppError> {
    let new_password = Password::parse(request.new_password)
        .map_err(|reason| AppError::invalid("new_password", reason))?;
    // Guessing the current password counts against the same limit as failed logins.
    let attempts_key = super::count_password_attempt(&state, &current.user.email, client).await?;
    let matches = state
        .passwords
        .verify(
            request.current_password.into(),
            Some(current.user.password_hash.clone()),
        )
        .await?;
    if !matches {
        return Err(AppError::invalid(
            "current_password",
            "is not the current password",
        ));
    }
    rate_limit::reset(&state.db, &attempts_key).await?;
    let password_hash = state.passwords.hash(new_password.0).await?;

    let mut tx = db::begin_write(&state.db).await?;
    sqlx::query("update users set password_hash = $1 where id = $2")
        .bind(password_hash)
        .bind(current.user.id)
        .execute(&mut *tx)
        .await?;
    one_time::delete_unused(&mut tx, current.user.id, Purpose::ResetPassword).await?;
    // Every session ends, this one included; a browser gets a new one below.
    session::delete_all(&mut *tx, current.user.id).await?;
    let new_token = match current.session_id() {
        Some(_) => Some(session::create(&mut *tx, current.user.id, &headers).await?),
        None => None,
    };
    let notice = password_changed_mail(&current.user.email);
    jobs::enqueue(&mut tx, Job::SendMail(notice)).await?;
    tx.commit().await?;
    state.jobs.wake();

    tracing::info!(user_id = %current.user.id, "password changed");
    let cookie = new_token.map(|token| {
        (
            header::SET_COOKIE,
            session::session_cookie(&state.config, &token),
        )
    });
    Ok((StatusCode::NO_CONTENT, AppendHeaders(cookie)))
}

//! One-time tokens sent by mail (email verification, password reset): random,
//! hashed at rest, bound to a user and an address, single use, and expiring.

use std::time::Duration;

use sqlx::{FromRow, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::session::{hash_token, new_token};
use crate::{db::Db, error::AppError};

/// What a one-time token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// Issues a token for `user_id` at `email`. Earlier unused tokens of the same purpose
/// are deleted: only the newest link works.
pub async fn issue(
    tx: &mut Transaction<'static, Db>,
    user_id: Uuid,
    email: &str,
    purpose: Purpose,
    lifetime: Duration,
) -> Result<String, AppError> {
    delete_unused(tx, user_id, purpose).await?;
    let token = new_token();
    let now = OffsetDateTime::now_utc();
    sqlx::query(
        "insert into one_time_tokens (id, user_id, purpose, email, token_hash, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(email)
    .bind(hash_token(&token))
    .bind(now)
    .bind(now + lifetime)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// Deletes the user's tokens of `purpose` that were never used.
pub async fn delete_unused(
    tx: &mut Transaction<'static, Db>,
    user_id: Uuid,
    purpose: Purpose,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from one_time_tokens where user_id = $1 and purpose = $2 and used_at is null",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A token that was just used up.
#[derive(Debug)]
pub struct Redeemed {
    pub user_id: Uuid,
    /// The address the token was sent to.
    pub email: String,
}

#[derive(FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    email: String,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
}

/// Checks `token` without using it up: 404 if no such token exists, 410 if it expired
/// or was used. Lets a handler refuse a bad token before doing anything costly.
pub async fn check<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    token: &str,
    purpose: Purpose,
) -> Result<(), AppError> {
    find_usable(executor, token, purpose).await.map(drop)
}

/// Uses up `token`: 404 if no such token exists, 410 if it expired or was used.
pub async fn redeem(
    tx: &mut Transaction<'static, Db>,
    token: &str,
    purpose: Purpose,
) -> Result<Redeemed, AppError> {
    let row = find_usable(&mut **tx, token, purpose).await?;
    // `used_at is null` again: of two concurrent redemptions, only one updates the row.
    let updated =
        sqlx::query("update one_time_tokens set used_at = $1 where id = $2 and used_at is null")
            .bind(OffsetDateTime::now_utc())
            .bind(row.id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    if updated == 0 {
        return Err(AppError::Gone("this link was already used"));
    }
    Ok(Redeemed {
        user_id: row.user_id,
        email: row.email,
    })
}

async fn find_usable<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    token: &str,
    purpose: Purpose,
) -> Result<TokenRow, AppError> {
    let row: TokenRow = sqlx::query_as(
        "select id, user_id, email, expires_at, used_at from one_time_tokens
         where token_hash = $1 and purpose = $2",
    )
    .bind(hash_token(token))
    .bind(purpose.as_str())
    .fetch_optional(executor)
    .await?
    .ok_or(AppError::NotFound)?;
    if row.used_at.is_some() {
        return Err(AppError::Gone("this link was already used"));
    }
    if row.expires_at <= OffsetDateTime::now_utc() {
        return Err(AppError::Gone("this link has expired"));
    }
    Ok(row)
}

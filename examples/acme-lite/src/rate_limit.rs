//! Rate limits: fixed-window counters kept in the database, so that every instance
//! of the app counts against the same limit.

use std::time::Duration;

use time::OffsetDateTime;

use crate::{
    AppState,
    auth::session::hash_token,
    db::{Db, DbPool},
    error::AppError,
};

/// The window of the per-IP limit on authentication routes.
pub const IP_WINDOW: Duration = Duration::from_secs(60);
/// The window of the limits on creating organizations and sending invitations.
pub const HOURLY: Duration = Duration::from_secs(3600);
/// The window in which failed logins of one account are counted.
pub const ACCOUNT_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The key that counts requests about one account, such as failed logins of an
/// address. Keys hold a hash of the normalised address, never what the client sent:
/// their size is fixed whatever the input, and the table holds no addresses.
pub fn account_key(kind: &str, email: &str) -> String {
    format!("{kind}:{}", hash_token(&email.trim().to_lowercase()))
}

/// Counts one hit on `key`; beyond `limit` hits in `window` the answer is 429. A key is
/// `<limit>:<what it counts>`, such as `auth-ip:203.0.113.7`: the metrics count each
/// refusal under the part before the `:`.
pub async fn hit(
    state: &AppState,
    key: &str,
    limit: u32,
    window: Duration,
) -> Result<(), AppError> {
    let (window_start, hits) = record(&state.db, key, window).await?;
    if hits > i64::from(limit) {
        let kind = key.split_once(':').map_or(key, |(kind, _)| kind);
        state.metrics.count_rate_limit_refusal(kind);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        return Err(limited(window_start, window.as_secs() as i64, now));
    }
    Ok(())
}

/// Counts one hit on `key` and returns its window's start (Unix seconds) and hits so far.
async fn record(db: &DbPool, key: &str, window: Duration) -> Result<(i64, i64), sqlx::Error> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let window_secs = window.as_secs() as i64;
    // A window that has ended starts again at 1; otherwise the count goes up.
    sqlx::query_as(
        "insert into rate_limits (key, window_start, hits) values ($1, $2, 1)
         on conflict (key) do update set
             hits = case when rate_limits.window_start <= $3 then 1 else rate_limits.hits + 1 end,
             window_start = case when rate_limits.window_start <= $3
                 then excluded.window_start else rate_limits.window_start end
         returning window_start, hits",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_secs)
    .fetch_one(db)
    .await
}

/// Forgets every count of `kind` about the account at `email`, whatever else its key
/// holds (such as the client's address), as after a password reset.
pub async fn reset_account<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    kind: &str,
    email: &str,
) -> Result<(), sqlx::Error> {
    // The key's hash is hex, so the prefix holds no `like` wildcard.
    let prefix = format!("{}:", account_key(kind, email));
    sqlx::query("delete from rate_limits where key like $1 || '%'")
        .bind(prefix)
        .execute(executor)
        .await?;
    Ok(())
}

/// Forgets the hits on `key`, as after a successful login.
pub async fn reset(db: &DbPool, key: &str) -> Result<(), AppError> {
    sqlx::query("delete from rate_limits where key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

fn limited(window_start: i64, window_secs: i64, now: i64) -> AppError {
    let retry_after = (window_start + window_secs - now).max(1);
    tracing::info!(retry_after, "rate limited");
    AppError::RateLimited {
        retry_after_secs: retry_after as u64,
    }
}

//! Rate limits: fixed-window counters kept in the database, so that every instance
//! of the app counts against the same limit.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use time::OffsetDateTime;

use crate::{AppState, db::DbPool, error::AppError};

/// The window of the per-IP limit on authentication routes.
pub const IP_WINDOW: Duration = Duration::from_secs(60);
/// The window in which failed logins of one account are counted.
pub const ACCOUNT_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The address of the client: the TCP peer, or with `TRUST_PROXY_HEADERS` the address
/// our proxy appended to `X-Forwarded-For` (its last entry; earlier ones are the
/// client's own claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if state.config.trust_proxy_headers {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .next_back()
                .and_then(|last| last.trim().parse().ok());
            if let Some(ip) = forwarded {
                return Ok(Self(ip));
            }
        }
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the server was started without connect info"))?;
        Ok(Self(peer.ip()))
    }
}

/// Counts one hit on `key`; beyond `limit` hits in `window` the answer is 429.
pub async fn hit(db: &DbPool, key: &str, limit: u32, window: Duration) -> Result<(), AppError> {
    let (window_start, hits) = record(db, key, window).await?;
    if hits > i64::from(limit) {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        return Err(limited(window_start, window.as_secs() as i64, now));
    }
    Ok(())
}

/// Counts one hit on `key` and returns its window's start (Unix seconds) and hits so far.
pub async fn record(db: &DbPool, key: &str, window: Duration) -> Result<(i64, i64), sqlx::Error> {
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

/// Answers 429 if `key` already has `limit` hits in its current window, without counting.
pub async fn check(db: &DbPool, key: &str, limit: u32, window: Duration) -> Result<(), AppError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let window_secs = window.as_secs() as i64;
    let found: Option<(i64, i64)> = sqlx::query_as(
        "select window_start, hits from rate_limits where key = $1 and window_start > $2",
    )
    .bind(key)
    .bind(now - window_secs)
    .fetch_optional(db)
    .await?;
    match found {
        Some((window_start, hits)) if hits >= i64::from(limit) => {
            Err(limited(window_start, window_secs, now))
        }
        _ => Ok(()),
    }
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

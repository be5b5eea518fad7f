//! Deletes what has ended, so that no table grows without bound: expired sessions,
//! one-time tokens, rate-limit windows and finished jobs, in batches small enough not
//! to hold the database up. Every instance wakes every `CLEANUP_INTERVAL_MINUTES`, but
//! runs it only after claiming the run in `periodic_runs`: one instance per interval,
//! however many there are and however often they restart.
//! Invitations go a day after they expire, whether accepted, revoked or neither.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::{
    sync::watch,
    time::{Instant, MissedTickBehavior},
};

use crate::{
    AppState,
    config::Config,
    db::{Db, DbPool},
};

/// Rows deleted per statement.
const BATCH_SIZE: i64 = 500;
/// How long a one-time token is kept after it expires, used or not, so that an old
/// link still answers "expired" rather than "not found" for a while.
const ONE_TIME_TOKEN_GRACE: Duration = Duration::from_secs(24 * 60 * 60);
/// No rate limit of this app has a window longer than this; a counter whose window
/// began longer ago than this has ended whatever its key. A longer window must raise it.
const LONGEST_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a done or failed job is kept, to look into what happened.
const FINISHED_JOB_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Deletes ended rows now and then every `CLEANUP_INTERVAL_MINUTES`, until `stop` is
/// set (to the shutdown deadline) or its sender dropped.
pub async fn run(state: AppState, mut stop: watch::Receiver<Option<Instant>>) {
    let mut ticks = tokio::time::interval(state.config.cleanup_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        let now = OffsetDateTime::now_utc();
        match claim(&state.db, now, state.config.cleanup_interval).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("cleanup skipped: another instance ran it lately");
                continue;
            }
            Err(error) => {
                tracing::error!(%error, "cleanup not claimed; trying again next time");
                continue;
            }
        }
        match delete_ended(&state.db, &state.config, now).await {
            Ok(deleted) => tracing::info!(?deleted, "cleanup done"),
            Err(error) => tracing::error!(%error, "cleanup failed; trying again next time"),
        }
    }
}

/// Claims the cleanup due at `now`: true for the one caller that may run it, false when
/// some instance started it less than half an `interval` ago. Half, so that instances
/// whose timers drift apart still run it about once per interval between them.
pub async fn claim(
    db: &DbPool,
    now: OffsetDateTime,
    interval: Duration,
) -> Result<bool, sqlx::Error> {
    let claim = "update periodic_runs set started_at = $1
        where task = 'cleanup' and started_at <= $2";
    let claimed = sqlx::query(claim)
        .bind(now)
        .bind(now - interval / 2)
        .execute(db)
        .await?
        .rows_affected();
    Ok(claimed == 1)
}

/// How many rows one cleanup deleted, per table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub sessions: u64,
    pub one_time_tokens: u64,
    pub rate_limits: u64,
    pub jobs: u64,
    pub invitations: u64,
}

/// Deletes every row that had ended at `now`.
pub async fn delete_ended(
    db: &DbPool,
    config: &Config,
    now: OffsetDateTime,
) -> Result<Deleted, sqlx::Error> {
    // The same rules as `session::authenticate`: idle too long, or too old.
    let idle = "delete from sessions where id in (
        select id from sessions where last_seen_at < $1 limit $2)";
    let too_old = "delete from sessions where id in (
        select id from sessions where created_at < $1 limit $2)";
    let sessions = in_batches(db, idle, now - config.session_idle).await?
        + in_batches(db, too_old, now - config.session_max_age).await?;
    let one_time_tokens = in_batches(
        db,
        "delete from one_time_tokens where id in (
            select id from one_time_tokens where expires_at < $1 limit $2)",
        now - ONE_TIME_TOKEN_GRACE,
    )
    .await?;
    let rate_limits = in_batches(
        db,
        "delete from rate_limits where key in (
            select key from rate_limits where window_start < $1 limit $2)",
        (now - LONGEST_RATE_LIMIT_WINDOW).unix_timestamp(),
    )
    .await?;
    let jobs = in_batches(
        db,
        "delete from jobs where id in (
            select id from jobs where state <> 'pending' and finished_at < $1 limit $2)",
        now - FINISHED_JOB_RETENTION,
    )
    .await?;
    // Kept as long as one-time tokens, for the same reason: an old link answers "gone".
    let invitations = in_batches(
        db,
        "delete from invitations where id in (
            select id from invitations where expires_at < $1 limit $2)",
        now - ONE_TIME_TOKEN_GRACE,
    )
    .await?;
    Ok(Deleted {
        sessions,
        one_time_tokens,
        rate_limits,
        jobs,
        invitations,
    })
}

/// Runs `delete`, which deletes at most `$2` rows older than `$1`, until it deletes
/// less than a full batch; returns the total. Each batch is its own statement, so
/// other writers wait at most one batch.
async fn in_batches<T>(db: &DbPool, delete: &'static str, cutoff: T) -> Result<u64, sqlx::Error>
where
    T: for<'q> sqlx::Encode<'q, Db> + sqlx::Type<Db> + Copy + Send + 'static,
{
    let mut total = 0;
    loop {
        let deleted = sqlx::query(delete)
            .bind(cutoff)
            .bind(BATCH_SIZE)
            .execute(db)
            .await?
            .rows_affected();
        total += deleted;
        if deleted < BATCH_SIZE as u64 {
            return Ok(total);
        }
    }
}

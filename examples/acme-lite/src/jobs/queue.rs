//! The `jobs` table: inserting a job, claiming a due one, and recording how it went.
//!
//! SQLite keeps timestamps as RFC 3339 text with as many fractional digits as needed
//! (`…:05Z`, `…:05.25Z`), which text comparison orders wrongly within a second
//! (`.` sorts before `Z`): comparisons go through `julianday`, which parses both.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{FromRow, Transaction, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Job;
use crate::db::{self, Db, DbPool};

/// The most of an error message kept in `last_error`.
const MAX_ERROR_CHARS: usize = 2000;

/// A job as the table keeps it: the variant's name and its fields.
#[derive(Serialize, Deserialize)]
struct Stored {
    kind: String,
    payload: Value,
}

/// Inserts `job` in `tx`, due now, with the trace context of the current span (with
/// the `otel` feature and traces exported), so that the job's span joins its trace.
pub async fn insert(tx: &mut Transaction<'static, Db>, job: &Job) -> Result<Uuid, sqlx::Error> {
    let stored: Stored = serde_json::to_value(job)
        .and_then(serde_json::from_value)
        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let id = Uuid::now_v7();
    let now = OffsetDateTime::now_utc();
    #[cfg(feature = "otel")]
    let trace_context = crate::otel::current_traceparent();
    #[cfg(not(feature = "otel"))]
    let trace_context: Option<String> = None;
    sqlx::query(
        "insert into jobs (id, kind, payload, priority, run_at, created_at, trace_context)
         values ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(id)
    .bind(stored.kind)
    .bind(Json(stored.payload))
    .bind(job.priority())
    .bind(now)
    .bind(trace_context)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A job this worker holds the lease of.
#[derive(Debug, FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub kind: String,
    payload: Json<Value>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The `traceparent` of the span that enqueued the job, if it was traced.
    #[cfg_attr(
        not(feature = "otel"),
        expect(dead_code, reason = "only the `otel` feature follows traces")
    )]
    pub trace_context: Option<String>,
}

impl Claimed {
    /// The job to run; an error if no variant of [`Job`] has this kind or these fields.
    pub fn job(&self) -> Result<Job, serde_json::Error> {
        serde_json::from_value(serde_json::json!({
            "kind": self.kind,
            "payload": self.payload.0,
        }))
    }
}

/// Claims the oldest due job for `lease`, counting the attempt; `None` if none is due.
/// A job is due when its `run_at` has come and nobody holds a lease on it that has
/// not run out. Safe with any number of workers: each job goes to one of them.
pub async fn claim(db: &DbPool, lease: Duration) -> Result<Option<Claimed>, sqlx::Error> {
    // One writer at a time: no other worker can claim between the select and the update.
    let mut tx = db::begin_write(db).await?;
    // The time once the transaction has begun, not before: begun while another
    // transaction enqueued jobs (SQLite waits for its commit), a time taken before
    // would leave out the jobs enqueued after it, such as account mail behind a batch.
    let now = OffsetDateTime::now_utc();
    let claimed = sqlx::query_as(
        "update jobs set locked_until = $2, attempts = attempts + 1
         where id = (
             select id from jobs
             where state = 'pending' and julianday(run_at) <= julianday($1)
                 and (locked_until is null or julianday(locked_until) <= julianday($1))
             order by priority desc, id
             limit 1
         )
         returning id, kind, payload, attempts, trace_context",
    )
    .bind(now)
    .bind(now + lease)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Marks a job done: it never runs again.
pub async fn complete(db: &DbPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update jobs set state = 'done', locked_until = null, finished_at = $1 where id = $2",
    )
    .bind(OffsetDateTime::now_utc())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Releases a job stopped before it finished (the instance shut down), due at once and
/// with this attempt uncounted: it did not fail.
pub async fn release(db: &DbPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update jobs set locked_until = null, attempts = attempts - 1
         where id = $1 and state = 'pending'",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Releases a failed job, due again at `run_at`.
pub async fn retry(
    db: &DbPool,
    id: Uuid,
    run_at: OffsetDateTime,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update jobs set locked_until = null, run_at = $1, last_error = $2 where id = $3")
        .bind(run_at)
        .bind(truncate(error))
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks a job failed for good: it is not tried again.
pub async fn fail(db: &DbPool, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update jobs set state = 'failed', locked_until = null, last_error = $1, finished_at = $2
         where id = $3",
    )
    .bind(truncate(error))
    .bind(OffsetDateTime::now_utc())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The queue as the metrics report it.
pub struct Stats {
    /// Jobs not yet done or failed, those being run included.
    pub pending: i64,
    /// Jobs that failed for good.
    pub failed: i64,
    /// How long the job that has waited longest since it became due, and that no worker
    /// holds, has waited; zero when none waits.
    pub oldest_due_age: Duration,
}

/// Counts the pending and failed jobs, and finds the oldest due one.
pub async fn stats(db: &DbPool) -> Result<Stats, sqlx::Error> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "select state, count(*) from jobs where state in ('pending', 'failed') group by state",
    )
    .fetch_all(db)
    .await?;
    let count = |state: &str| {
        counts
            .iter()
            .find(|(of, _)| of == state)
            .map_or(0, |(_, count)| *count)
    };
    let now = OffsetDateTime::now_utc();
    let oldest_due: Option<OffsetDateTime> = sqlx::query_scalar(
        "select run_at from jobs
         where state = 'pending' and julianday(run_at) <= julianday($1)
             and (locked_until is null or julianday(locked_until) <= julianday($1))
         order by julianday(run_at) limit 1",
    )
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(Stats {
        pending: count("pending"),
        failed: count("failed"),
        oldest_due_age: oldest_due.map_or(Duration::ZERO, |run_at| {
            (now - run_at).try_into().unwrap_or_default()
        }),
    })
}

fn truncate(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

//! The job worker of one instance: claims due jobs one at a time, runs them, marks
//! them done, or retries them with exponential back-off until `JOB_MAX_ATTEMPTS`.
//! Any number of instances may run workers over one database. When the instance shuts
//! down, the job in hand runs until the shutdown deadline at most; one still running
//! then is stopped and released, due at once for the next worker, the attempt uncounted.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::{sync::watch, time::Instant};
use tracing::Instrument;

use super::queue::{self, Claimed};
use crate::AppState;

/// How long a claim lasts. A worker that stops mid-job (a crash, a kill) leaves its
/// lease behind; once it runs out, the job is claimed again.
const LEASE: Duration = Duration::from_secs(5 * 60);
/// A job still running after this long is abandoned and counts as failed; well
/// within [`LEASE`], so no other worker claims a job that is still running.
const JOB_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// What one look for a job came to.
enum Outcome {
    /// No job was due.
    Idle,
    Done,
    /// The job failed and is due again at this instant.
    Retry(Instant),
    /// The shutdown deadline came first: the job was stopped and released.
    Released,
}

/// Runs jobs until `stop` is set to the shutdown deadline (or its sender dropped); the
/// job in hand is finished first, unless the deadline comes first.
/// Wakes when a job is enqueued in this instance, when a retry it scheduled is due,
/// and every `JOB_POLL_SECONDS` for jobs from other instances or abandoned leases.
pub async fn run(state: AppState, mut stop: watch::Receiver<Option<Instant>>) {
    let poll = state.config.job_poll_interval;
    let mut next_retry: Option<Instant> = None;
    loop {
        while !stopping(&stop) {
            match run_next(&state, &stop).await {
                Ok(Outcome::Idle | Outcome::Released) => break,
                Ok(Outcome::Done) => {}
                Ok(Outcome::Retry(at)) => {
                    // An earlier retry that is still to come keeps the worker's wake-up.
                    let now = Instant::now();
                    next_retry = next_retry
                        .filter(|earlier| now < *earlier && *earlier < at)
                        .or(Some(at));
                }
                Err(error) => {
                    // The database is unreachable: try again at the next wake. A job
                    // whose outcome was not recorded runs again when its lease ends.
                    tracing::error!(%error, "could not claim a job or record its outcome");
                    break;
                }
            }
        }
        let now = Instant::now();
        next_retry = next_retry.filter(|at| *at > now);
        let wait = next_retry.map_or(poll, |at| poll.min(at - now));
        tokio::select! {
            () = state.jobs.woken() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Whether the server has asked the background tasks to stop.
fn stopping(stop: &watch::Receiver<Option<Instant>>) -> bool {
    stop.borrow().is_some() || stop.has_changed().is_err()
}

/// Completes at the shutdown deadline, or at once if the tasks were dropped without one.
async fn shutdown_deadline(mut stop: watch::Receiver<Option<Instant>>) {
    if let Ok(Some(deadline)) = stop.wait_for(Option::is_some).await.map(|set| *set) {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Claims the next due job, runs it and records the outcome.
async fn run_next(
    state: &AppState,
    stop: &watch::Receiver<Option<Instant>>,
) -> Result<Outcome, sqlx::Error> {
    let Some(claimed) = queue::claim(&state.db, LEASE).await? else {
        return Ok(Outcome::Idle);
    };
    let max_attempts = i64::from(state.config.job_max_attempts);
    let attempts = i64::from(claimed.attempts);
    let result = if attempts > max_attempts {
        // Claimed again and again without an outcome: it may be what stops the worker.
        Err(anyhow::anyhow!(
            "abandoned mid-run {max_attempts} times (the worker stopped or crashed)"
        ))
    } else {
        let Some(result) = execute(state, &claimed, stop).await else {
            queue::release(&state.db, claimed.id).await?;
            let (job_id, kind) = (claimed.id, &claimed.kind);
            tracing::warn!(%job_id, kind, "job stopped at the shutdown deadline; released");
            return Ok(Outcome::Released);
        };
        result
    };
    let (job_id, kind) = (claimed.id, &claimed.kind);
    let Err(error) = result else {
        queue::complete(&state.db, claimed.id).await?;
        return Ok(Outcome::Done);
    };
    let error = format!("{error:#}");
    if attempts >= max_attempts {
        queue::fail(&state.db, claimed.id, &error).await?;
        tracing::error!(%job_id, kind, attempts, error, "job failed for good");
        return Ok(Outcome::Done);
    }
    let delay = backoff(state.config.job_first_retry, claimed.attempts);
    queue::retry(
        &state.db,
        claimed.id,
        OffsetDateTime::now_utc() + delay,
        &error,
    )
    .await?;
    tracing::warn!(%job_id, kind, attempts, error, retry_in = ?delay, "job failed; will retry");
    Ok(Outcome::Retry(Instant::now() + delay))
}

/// Runs the job in a task of its own, so that a panic or a hang is one failed attempt.
/// `None` if the shutdown deadline came first and the job was stopped.
async fn execute(
    state: &AppState,
    claimed: &Claimed,
    stop: &watch::Receiver<Option<Instant>>,
) -> Option<anyhow::Result<()>> {
    let job = match claimed.job() {
        Ok(job) => job,
        Err(error) => return Some(Err(error.into())),
    };
    let state = state.clone();
    let span = tracing::info_span!("job", job_id = %claimed.id, kind = claimed.kind);
    // A child of the span of the request that enqueued the job: one trace holds both.
    #[cfg(feature = "otel")]
    crate::otel::continue_from(&span, claimed.trace_context.as_deref());
    let task = tokio::spawn(async move { job.run(&state).await }.instrument(span));
    let abort = task.abort_handle();
    tokio::select! {
        ran = tokio::time::timeout(JOB_TIMEOUT, task) => Some(match ran {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(anyhow::anyhow!("the job panicked: {join_error}")),
            Err(_) => {
                abort.abort();
                Err(anyhow::anyhow!("the job ran longer than {JOB_TIMEOUT:?}"))
            }
        }),
        () = shutdown_deadline(stop.clone()) => {
            abort.abort();
            None
        }
    }
}

/// The wait after the `attempts`-th failure: the first retry's, doubled for each
/// further one, at most [`MAX_BACKOFF`].
fn backoff(first_retry: Duration, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    first_retry.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_each_failure_up_to_an_hour() {
        let first = Duration::from_secs(30);
        let waits: Vec<u64> = (1..=9).map(|n| backoff(first, n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(first, i32::MAX), MAX_BACKOFF);
    }
}

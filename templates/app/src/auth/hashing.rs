//! Argon2id password hashing, kept off the async runtime and bounded in concurrency.

use std::{
    num::NonZeroUsize,
    panic::{self, AssertUnwindSafe},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::Duration,
};

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Semaphore, oneshot};

use super::user::PasswordHash;
use crate::error::AppError;

/// A hash of a random password, verified when a login names no account, so that an
/// unknown email costs the same time as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$2BEIJmTa9DvIk+0lejNrkg$vTUeeW7t4zWSfeWgc3QaQZqCqrcO6/sZIHJp3T0+ba4";

/// A hash or a verification, run on one of the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    /// Each hash takes 19 MiB and a core for tens of milliseconds: at most one per
    /// hashing thread.
    permits: Arc<Semaphore>,
    /// The hashing threads, one per permit. Always the same few threads, not the
    /// runtime's blocking pool, which grows a thread whenever none is idle: the
    /// allocator keeps a hash's 19 MiB for reuse by the thread that freed it, so
    /// memory under a flood of logins stays at a few hashes, not dozens.
    jobs: mpsc::Sender<Job>,
    /// How long a request waits for a permit before it is answered 503 `busy`. A
    /// flood of password requests then costs its senders errors, not every other
    /// user their logins.
    max_wait: Duration,
}

impl PasswordHasher {
    /// A hasher with `threads` hashing threads (one per core suits a server that does
    /// little else), whose callers wait at most `max_wait` for one.
    pub fn new(threads: NonZeroUsize, max_wait: Duration) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.get() {
            let queue = Arc::clone(&queue);
            thread::Builder::new()
                .name(format!("password-hashing-{n}"))
                .spawn(move || {
                    // Ends when every hasher is dropped and the queue is closed.
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panicking job answers its caller with an error (its sender
                        // is dropped) and leaves the thread serving the next.
                        let _ = panic::catch_unwind(AssertUnwindSafe(job));
                    }
                })
                .expect("could not start a password hashing thread");
        }
        Self {
            permits: Arc::new(Semaphore::new(threads.get())),
            jobs,
            max_wait,
        }
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: SecretString) -> Result<PasswordHash, AppError> {
        self.run(move || {
            argon2()
                .hash_password(password.expose_secret().as_bytes())
                .map(|hash| PasswordHash::new(hash.to_string()))
                .map_err(|error| anyhow::anyhow!("could not hash password: {error}"))
        })
        .await
    }

    /// Whether `password` matches `hash`; with no hash (no such account) it checks a dummy
    /// and answers `false`, taking the same time either way.
    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<PasswordHash>,
    ) -> Result<bool, AppError> {
        self.run(move || {
            let known = hash.is_some();
            let hash = hash.as_ref().map_or(DUMMY_HASH, PasswordHash::as_str);
            let matches = argon2()
                .verify_password(password.expose_secret().as_bytes(), hash)
                .is_ok();
            Ok(known && matches)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = tokio::time::timeout(self.max_wait, self.permits.acquire())
            .await
            .map_err(|_| {
                tracing::warn!("password hashing is saturated: request refused");
                AppError::Busy
            })?
            .context("hasher closed")?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (a dropped request): then nobody wants the result.
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password hashing threads are gone"))?;
        let result = result.await.context("password hashing panicked")?;
        Ok(result?)
    }
}

/// Argon2id with OWASP's parameters, pinned so a change of crate defaults cannot weaken them.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(5);
    const THREADS: NonZeroUsize = NonZeroUsize::new(3).unwrap();

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = PasswordHasher::new(THREADS, WAIT);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("Correct horse".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_dummy_hash_is_well_formed_and_never_matches() {
        argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).unwrap();
        let hasher = PasswordHasher::new(THREADS, WAIT);
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_run_on_the_hashing_threads_however_many_arrive() {
        let hasher = PasswordHasher::new(THREADS, WAIT);
        let runs = (0..8 * THREADS.get()).map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(|| {
                        thread::sleep(Duration::from_millis(5));
                        Ok(thread::current().id())
                    })
                    .await
                    .unwrap()
            })
        });
        let mut threads = std::collections::HashSet::new();
        for run in runs.collect::<Vec<_>>() {
            threads.insert(run.await.unwrap());
        }
        assert!(threads.len() <= THREADS.get(), "{} threads", threads.len());
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_threads_keep_serving() {
        let hasher = PasswordHasher::new(THREADS, WAIT);
        for _ in 0..THREADS.get() {
            let failed = hasher
                .run(|| -> anyhow::Result<()> { panic!("boom") })
                .await;
            assert!(matches!(failed, Err(AppError::Internal(_))), "{failed:?}");
        }
        assert!(hasher.hash("correct horse".into()).await.is_ok());
    }

    #[tokio::test]
    async fn a_caller_that_waits_too_long_for_a_permit_is_told_busy() {
        let hasher = PasswordHasher::new(THREADS, Duration::from_millis(20));
        // Every permit held, as by hashes in flight.
        let held = hasher.permits.acquire_many(3).await.unwrap();
        let refused = hasher.hash("correct horse".into()).await.unwrap_err();
        assert!(matches!(refused, AppError::Busy), "{refused:?}");
        drop(held);
        assert!(hasher.hash("correct horse".into()).await.is_ok());
    }
}

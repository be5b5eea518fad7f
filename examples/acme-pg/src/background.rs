//! The tasks that run beside the HTTP server: the job worker and the cleanup.

use anyhow::Context;
use tokio::{sync::watch, task::JoinHandle, time::Instant};

use crate::{AppState, cleanup, jobs};

/// The running background tasks of one instance.
pub struct BackgroundTasks {
    /// Set to the shutdown deadline to tell every task to stop; dropping it, too.
    stop: watch::Sender<Option<Instant>>,
    worker: JoinHandle<()>,
    cleanup: JoinHandle<()>,
}

impl BackgroundTasks {
    /// Starts the job worker and the periodic cleanup.
    pub fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(None);
        Self {
            worker: tokio::spawn(jobs::worker::run(state.clone(), stopped.clone())),
            cleanup: tokio::spawn(cleanup::run(state.clone(), stopped)),
            stop,
        }
    }

    /// Stops the tasks and waits for them: the worker finishes the job in hand, or at
    /// `deadline` gives it up and releases it to run again; jobs still pending stay in
    /// the table for another instance or the next start. A task still running at
    /// `exit_by` is aborted.
    pub async fn stop(self, deadline: Instant, exit_by: Instant) -> anyhow::Result<()> {
        self.stop.send_replace(Some(deadline));
        for (name, task) in [("job worker", self.worker), ("cleanup", self.cleanup)] {
            let abort = task.abort_handle();
            match tokio::time::timeout_at(exit_by, task).await {
                Ok(joined) => joined.with_context(|| format!("the {name} panicked"))?,
                Err(_) => {
                    abort.abort();
                    tracing::warn!("the {name} was still running past the shutdown deadline");
                }
            }
        }
        Ok(())
    }
}

//! The tasks that run beside the HTTP server: the job worker and the cleanup.

use anyhow::Context;
use tokio::{sync::watch, task::JoinHandle};

use crate::{AppState, cleanup, jobs};

/// The running background tasks of one instance.
pub struct BackgroundTasks {
    /// Dropping it tells every task to stop.
    stop: watch::Sender<()>,
    worker: JoinHandle<()>,
    cleanup: JoinHandle<()>,
}

impl BackgroundTasks {
    /// Starts the job worker and the periodic cleanup.
    pub fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(());
        Self {
            worker: tokio::spawn(jobs::worker::run(state.clone(), stopped.clone())),
            cleanup: tokio::spawn(cleanup::run(state.clone(), stopped)),
            stop,
        }
    }

    /// Stops the tasks and waits for them: the worker finishes the job in hand; jobs
    /// still pending stay in the table for the next start.
    pub async fn stop(self) -> anyhow::Result<()> {
        drop(self.stop);
        self.worker.await.context("the job worker panicked")?;
        self.cleanup.await.context("the cleanup task panicked")?;
        Ok(())
    }
}

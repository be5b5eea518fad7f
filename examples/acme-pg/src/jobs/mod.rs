//! Background jobs: work that must happen because a change committed, done after the
//! request by a worker (see [`worker`]) and never lost to a crash or a restart.
//!
//! A job is a row of `jobs` inserted with [`enqueue`] in the transaction of the change
//! that causes it: it exists if and only if the change committed. To add a kind of
//! job, add a variant to [`Job`] and its arm to [`Job::run`].

mod queue;
pub use queue::{Stats, stats};
pub mod worker;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::Transaction;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{email_verification, password},
    billing::duplicates,
    db::Db,
    mail::Mail,
    orgs::invitations,
};

/// A unit of background work. Stored as its variant's name (`kind`) and fields
/// (`payload`), so a variant's fields can only be added with a default, or renamed
/// once no row of the old shape is pending.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    /// Sends a mail whose text is complete (no secret in it: the row is stored as is).
    SendMail(Mail),
    /// Issues an email verification token and mails its link, unless the address
    /// was verified or changed in the meantime. The token is made when the mail is
    /// sent, so it is never stored in clear, not even in this table.
    SendVerificationLink { user_id: Uuid, email: String },
    /// Issues a password reset token and mails its link if an account has this
    /// address; does nothing otherwise. Forgot-password only enqueues this, so it
    /// does the same work whether or not the address has an account.
    SendPasswordResetLink { email: String },
    /// Issues an invitation's token and mails its link, unless the invitation was
    /// accepted, revoked or has expired in the meantime. Like the links above, the
    /// token is made when the mail is sent.
    SendInvitation { invitation_id: Uuid },
    /// The owner has two live subscriptions (two checkouts, both paid): keeps the one
    /// its plan follows, once Stripe confirms it is live, and cancels the other there.
    CancelDuplicateSubscription {
        owner_id: Uuid,
        subscriptions: [String; 2],
    },
}

impl Job {
    /// Higher runs first. Account mail comes before everything else: a flood of other
    /// jobs (invitations, notices) never delays someone signing up or locked out.
    pub fn priority(&self) -> i32 {
        match self {
            Self::SendVerificationLink { .. } | Self::SendPasswordResetLink { .. } => 1,
            _ => 0,
        }
    }

    /// Does the work. An error is retried later, up to `JOB_MAX_ATTEMPTS` attempts.
    pub async fn run(self, state: &AppState) -> anyhow::Result<()> {
        match self {
            Self::SendMail(mail) => state.mailer.send(mail).await,
            Self::SendVerificationLink { user_id, email } => {
                email_verification::send_link(state, user_id, &email).await
            }
            Self::SendPasswordResetLink { email } => password::send_reset_link(state, &email).await,
            Self::SendInvitation { invitation_id } => {
                invitations::mail::send_invitation(state, invitation_id).await
            }
            Self::CancelDuplicateSubscription {
                owner_id,
                subscriptions,
            } => duplicates::cancel(state, owner_id, &subscriptions).await,
        }
    }
}

/// Inserts `job` in `tx`, due now, and returns its id. Call [`WorkerHandle::wake`]
/// once `tx` has committed, so that the job runs at once rather than at the next poll.
pub async fn enqueue(tx: &mut Transaction<'static, Db>, job: Job) -> Result<Uuid, sqlx::Error> {
    queue::insert(tx, &job).await
}

/// Wakes this instance's job worker; cheap to clone.
#[derive(Clone, Default)]
pub struct WorkerHandle(Arc<Notify>);

impl WorkerHandle {
    /// Tells the worker that a job was committed. A wake while the worker is busy is
    /// kept, so it looks again when it is done.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

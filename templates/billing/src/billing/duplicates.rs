//! A second live subscription for one owner, which the app never means to make: two
//! Checkout sessions paid before the first webhook, or one made by hand at Stripe.
//!
//! The webhook notices it (an event about a live subscription other than the owner's
//! live one) and enqueues [`Job::CancelDuplicateSubscription`](crate::jobs::Job). The
//! job asks Stripe, not the events, whether the subscription the owner's plan follows
//! is live: events arrive late and out of order, and a subscription cancelled at Stripe
//! whose event has not arrived yet must not cost the owner their new one. If it is, the
//! other is recorded as a duplicate (its events are ignored from then on) and cancelled.

use uuid::Uuid;

use super::account::{self, is_terminal};
use crate::AppState;

/// Keeps whichever of `subscriptions` the owner's plan follows now, if Stripe says it is
/// live, and cancels the other. Safe to run again: a duplicate already recorded, or a
/// subscription Stripe no longer has, is done.
pub async fn cancel(
    state: &AppState,
    owner_id: Uuid,
    subscriptions: &[String; 2],
) -> anyhow::Result<()> {
    let Some(account) = account::find(&state.db, owner_id).await? else {
        tracing::info!(%owner_id, "billing: the owner is gone; no subscription to settle");
        return Ok(());
    };
    let Some(kept) = account
        .stripe_subscription_id
        .filter(|id| subscriptions.contains(id))
    else {
        tracing::warn!(%owner_id, ?subscriptions, "billing: the owner follows neither subscription; left to a person");
        return Ok(());
    };
    let other = if kept == subscriptions[0] {
        &subscriptions[1]
    } else {
        &subscriptions[0]
    };
    if account::is_duplicate(&state.db, other).await? {
        return Ok(());
    }
    let stripe = state.billing.stripe()?;
    let kept_status = stripe.subscription_status(&kept).await?;
    if kept_status.as_deref().is_none_or(is_terminal) {
        // The kept one has ended at Stripe: the other is a new subscription, and its
        // events will make it the owner's.
        tracing::info!(%owner_id, %kept, %other, "billing: the earlier subscription has ended; the new one stands");
        return Ok(());
    }
    // Recorded first, so no event of it applies from here on, even if cancelling fails
    // and the job runs again.
    account::mark_duplicate(&state.db, owner_id, other).await?;
    stripe.cancel_subscription(other).await?;
    tracing::warn!(%owner_id, %kept, cancelled = %other, "billing: a second subscription was cancelled at Stripe; refund its first payment there if it was charged");
    Ok(())
}

//! A second live subscription for one owner, which the app never means to make: two
//! Checkout sessions paid before the first webhook, or one made by hand at Stripe.
//!
//! The webhook notices it (an event about a live subscription other than the owner's
//! live one) and enqueues [`Job::CancelDuplicateSubscription`](crate::jobs::Job). The
//! job asks Stripe, not the events, what each subscription's status is: events arrive
//! late and out of order, and a subscription cancelled at Stripe whose event has not
//! arrived yet must not cost the owner their new one. It keeps one that is paid for
//! (`active` or `trialing`), the one the owner's plan follows if both are, records the
//! other as a duplicate (its events are ignored from then on) and cancels it.

use uuid::Uuid;

use super::account::{self, is_terminal};
use crate::{AppState, db};

/// Keeps one of `subscriptions` and cancels the other at Stripe, as the module says.
/// Safe to run again: a cancel that failed is tried again, and one that went through
/// leaves the other subscription ended, which needs nothing more.
pub async fn cancel(
    state: &AppState,
    owner_id: Uuid,
    subscriptions: &[String; 2],
) -> anyhow::Result<()> {
    let stripe = state.billing.stripe()?;
    let mut statuses = Vec::with_capacity(2);
    for id in subscriptions {
        statuses.push(stripe.subscription_status(id).await?);
    }
    let paid = |status: &Option<String>| matches!(status.as_deref(), Some("active" | "trialing"));

    // Decided under the account's lock, so an event applied meanwhile is taken into
    // account, and none is applied while the duplicate is recorded.
    let mut tx = db::begin_write(&state.db).await?;
    let Some(account) = account::lock_for_owner(&mut tx, owner_id).await? else {
        tracing::info!(%owner_id, "billing: the owner is gone; no subscription to settle");
        return Ok(());
    };
    let followed = account.stripe_subscription_id.as_deref();
    let mut candidates: Vec<(&String, &Option<String>)> =
        subscriptions.iter().zip(&statuses).collect();
    candidates.sort_by_key(|(id, _)| followed != Some(id.as_str()));
    let Some(&(kept, _)) = candidates.iter().find(|(_, status)| paid(status)) else {
        tracing::warn!(%owner_id, ?subscriptions, ?statuses, "billing: neither subscription is paid for; nothing cancelled");
        return Ok(());
    };
    let Some(&(other, other_status)) = candidates.iter().find(|(id, _)| *id != kept) else {
        return Ok(());
    };
    if other_status.as_deref().is_none_or(is_terminal) {
        return Ok(());
    }
    account::mark_duplicate(&mut *tx, owner_id, other).await?;
    tx.commit().await?;

    stripe.cancel_subscription(other).await?;
    tracing::warn!(%owner_id, %kept, cancelled = %other, "billing: a second subscription was cancelled at Stripe; refund its first payment there if it was charged");
    Ok(())
}

//! `POST /billing/webhook`: Stripe tells the app what happened to a subscription.
//!
//! The signature is checked on the raw body before anything is parsed or read. Each
//! event is applied in one transaction with the row that records its id, so a
//! redelivered event changes nothing, and a failure saves nothing (the 500 makes Stripe
//! deliver it again). Stripe does not deliver in order: a subscription event older than
//! the last one applied is ignored, and an ended subscription stays ended.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    account::{self, Account, is_terminal},
    signature,
};
use crate::{
    AppState,
    db::{self, Db},
    error::{AppError, ErrorBody},
    jobs::{self, Job},
    mail::Mail,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive_event))
}

/// The envelope of every Stripe event.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// When Stripe created the event, in Unix seconds: the order of events.
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct CheckoutSession {
    id: String,
    mode: Option<String>,
    client_reference_id: Option<String>,
    customer: Option<String>,
    subscription: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Subscription {
    id: String,
    customer: String,
    status: String,
    #[serde(default)]
    cancel_at_period_end: bool,
    /// On the subscription in API versions before 2025-03-31, on its items since.
    current_period_end: Option<i64>,
    trial_end: Option<i64>,
    items: SubscriptionItems,
}

#[derive(Debug, Deserialize)]
struct SubscriptionItems {
    data: Vec<SubscriptionItem>,
}

#[derive(Debug, Deserialize)]
struct SubscriptionItem {
    price: Price,
    current_period_end: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Price {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Invoice {
    customer: Option<String>,
}

/// Receives a Stripe event; 200 once it is applied, or was already, or is of a kind
/// this app ignores.
#[utoipa::path(
    post,
    path = "/billing/webhook",
    tag = "billing",
    request_body(
        content = serde_json::Value,
        content_type = "application/json",
        description = "A Stripe event, signed in the `Stripe-Signature` header"
    ),
    params(("Stripe-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256>`")),
    responses(
        (status = 200, description = "Applied, already applied, or ignored"),
        (status = 400, description = "The signature is missing, wrong or too old, or the event is malformed; nothing changed (`bad_request`)", body = ErrorBody),
        (status = 413, description = "The body is larger than the configured limit (`payload_too_large`)", body = ErrorBody),
        (status = 500, description = "Applying the event failed; nothing was saved and Stripe will deliver it again (`internal`)", body = ErrorBody),
        (status = 503, description = "STRIPE_WEBHOOK_SECRET is not set (`billing_not_configured`), or the database is busy (`unavailable`, `busy`)", body = ErrorBody),
    )
)]
async fn receive_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let secrets = &state.billing.webhook_secrets;
    if secrets.is_empty() {
        return Err(AppError::BillingNotConfigured(
            "billing is not configured: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret"
                .to_owned(),
        ));
    }
    let header = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if let Err(reason) = signature::verify(header, &body, secrets, now) {
        tracing::warn!(%reason, "webhook refused: bad signature");
        return Err(AppError::BadRequest("invalid Stripe-Signature".to_owned()));
    }
    let event: Event = serde_json::from_slice(&body).map_err(|error| {
        tracing::warn!(%error, "webhook refused: not a Stripe event");
        AppError::BadRequest("not a Stripe event".to_owned())
    })?;

    let mut tx = db::begin_write(&state.db).await?;
    let recorded = sqlx::query(
        "insert into stripe_events (id, type, created, received_at) values ($1, $2, $3, $4)
         on conflict (id) do nothing",
    )
    .bind(&event.id)
    .bind(&event.kind)
    .bind(event.created)
    .bind(OffsetDateTime::now_utc())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if recorded == 0 {
        tracing::info!(event_id = %event.id, "webhook: event already applied");
        return Ok(StatusCode::OK);
    }
    apply(&state, &mut tx, &event).await?;
    tx.commit().await?;
    // An event may have enqueued mail (a failed payment).
    state.jobs.wake();
    Ok(StatusCode::OK)
}

async fn apply(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, Db>,
    event: &Event,
) -> Result<(), AppError> {
    match event.kind.as_str() {
        "checkout.session.completed" => checkout_completed(tx, event, object(event)?).await,
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            subscription_changed(state, tx, event, object(event)?).await
        }
        "invoice.payment_failed" => payment_failed(state, tx, event, object(event)?).await,
        kind => {
            tracing::debug!(event_id = %event.id, kind, "webhook: event ignored");
            Ok(())
        }
    }
}

/// The event's object as `T`; a signed event of a known kind that does not parse is
/// refused (400), so nothing is recorded and Stripe shows the failure.
fn object<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, AppError> {
    T::deserialize(&event.data.object).map_err(|error| {
        tracing::error!(event_id = %event.id, kind = %event.kind, %error, "webhook: malformed event object");
        AppError::BadRequest(format!("malformed {} object", event.kind))
    })
}

/// Checkout finished: the owner named in `client_reference_id` gets the customer and
/// the subscription. The subscription's status comes with its own events.
async fn checkout_completed(
    tx: &mut sqlx::Transaction<'static, Db>,
    event: &Event,
    session: CheckoutSession,
) -> Result<(), AppError> {
    if session.mode.as_deref() != Some("subscription") {
        return Ok(());
    }
    let owner_id = session
        .client_reference_id
        .as_deref()
        .and_then(|id| id.parse::<Uuid>().ok());
    let (Some(owner_id), Some(customer)) = (owner_id, session.customer) else {
        tracing::warn!(event_id = %event.id, "webhook: checkout session without an owner or customer");
        return Ok(());
    };
    let Some(account) = account::lock_for_owner(tx, owner_id).await? else {
        tracing::warn!(event_id = %event.id, %owner_id, "webhook: checkout for an unknown owner");
        return Ok(());
    };
    // A customer belongs to one owner. Another owner's customer here is a mistake made
    // at Stripe (or a session reused); answering 5xx would have Stripe retry it for
    // days, so it is logged for a person to look at and nothing changes.
    let holder: Option<Uuid> = sqlx::query_scalar(
        "select owner_id from billing_accounts where stripe_customer_id = $1 and owner_id <> $2",
    )
    .bind(&customer)
    .bind(owner_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(holder) = holder {
        tracing::error!(event_id = %event.id, %owner_id, %holder, %customer, "webhook: checkout for a customer of another owner; nothing changed");
        return Ok(());
    }
    // A live subscription is not replaced by the one of a stale checkout.
    let replace = account.stripe_subscription_id.is_none()
        || account.status.as_deref().is_some_and(is_terminal);
    if replace
        && session.subscription.is_some()
        && session.subscription != account.stripe_subscription_id
    {
        // A new subscription starts from nothing: the ended one's status, plan and
        // event times must not hold back the new one's events.
        sqlx::query(
            "update billing_accounts
             set stripe_customer_id = $2, stripe_subscription_id = $3, plan = null,
                 status = null, current_period_end = null, cancel_at_period_end = false,
                 trial_end = null, last_event_created = 0, last_event_id = null,
                 updated_at = $4
             where owner_id = $1",
        )
        .bind(owner_id)
        .bind(&customer)
        .bind(session.subscription)
        .bind(OffsetDateTime::now_utc())
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query(
            "update billing_accounts set stripe_customer_id = $2, updated_at = $3
             where owner_id = $1",
        )
        .bind(owner_id)
        .bind(&customer)
        .bind(OffsetDateTime::now_utc())
        .execute(&mut **tx)
        .await?;
    }
    // The session is paid: no later checkout needs to expire it.
    sqlx::query(
        "update billing_accounts set checkout_session_id = null
         where owner_id = $1 and checkout_session_id = $2",
    )
    .bind(owner_id)
    .bind(&session.id)
    .execute(&mut **tx)
    .await?;
    tracing::info!(event_id = %event.id, %owner_id, "webhook: checkout completed");
    Ok(())
}

/// A subscription was created, changed or ended: the owner's plan follows it.
async fn subscription_changed(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, Db>,
    event: &Event,
    subscription: Subscription,
) -> Result<(), AppError> {
    let Some(account) = account::lock_of_customer(tx, &subscription.customer).await? else {
        tracing::warn!(event_id = %event.id, customer = %subscription.customer, "webhook: subscription of an unknown customer");
        return Ok(());
    };
    // A duplicate's events are ignored, unless the owner's plan follows it (it was the
    // one not paid for): then its end must still be applied.
    let followed = account.stripe_subscription_id.as_deref() == Some(subscription.id.as_str());
    if !followed && account::is_duplicate(&mut **tx, &subscription.id).await? {
        tracing::info!(event_id = %event.id, subscription_id = %subscription.id, "webhook: event of a cancelled duplicate subscription ignored");
        return Ok(());
    }
    // Another live subscription beside the owner's live one: a job keeps one and
    // cancels the other, after asking Stripe which is live (events may be late).
    if let Some(current) = account.stripe_subscription_id.as_deref()
        && current != subscription.id
        && !account.status.as_deref().is_some_and(is_terminal)
        && !is_terminal(&subscription.status)
    {
        tracing::warn!(event_id = %event.id, owner_id = %account.owner_id, %current, second = %subscription.id, "webhook: a second live subscription");
        let job = Job::CancelDuplicateSubscription {
            owner_id: account.owner_id,
            subscriptions: [current.to_owned(), subscription.id.clone()],
        };
        jobs::enqueue(tx, job).await?;
    }
    // Payment failures and what settles them count even when the rest of the event is
    // too old to apply: events arrive in any order, and the outcome must not depend on it.
    match subscription.status.as_str() {
        "active" => {
            sqlx::query(
                "update billing_accounts set last_active_event_created = $2
                 where owner_id = $1 and last_active_event_created < $2",
            )
            .bind(account.owner_id)
            .bind(event.created)
            .execute(&mut **tx)
            .await?;
            settle_failures(tx, account.owner_id).await?;
        }
        // Stripe says `past_due` because a payment failed, whether or not the
        // `invoice.payment_failed` has arrived yet.
        "past_due" => {
            record_failure(tx, account.owner_id, event).await?;
        }
        _ => {}
    }
    if !supersedes(&account, &subscription, event) {
        tracing::info!(event_id = %event.id, owner_id = %account.owner_id, "webhook: older or ended-subscription event ignored");
        return Ok(());
    }
    // The plan is that of the first item whose price is a plan's; other items are
    // add-ons (seats, metered usage) that leave the plan as it is.
    let plans = &state.billing.plans;
    let items = &subscription.items.data;
    let item = items
        .iter()
        .find(|item| plans.with_price(&item.price.id).is_some())
        .or(items.first());
    let price = item.map(|item| item.price.id.as_str());
    let plan = price.and_then(|price| plans.with_price(price));
    if plan.is_none() {
        tracing::error!(event_id = %event.id, ?price, "webhook: the subscription's price is no plan's STRIPE_PRICE_*; the owner stays on free");
    }
    let period_end = subscription
        .current_period_end
        .or_else(|| item.and_then(|item| item.current_period_end));
    sqlx::query(
        "update billing_accounts
         set stripe_subscription_id = $2, plan = $3, status = $4, current_period_end = $5,
             cancel_at_period_end = $6, trial_end = $7, last_event_created = $8,
             last_event_id = $9, updated_at = $10
         where owner_id = $1",
    )
    .bind(account.owner_id)
    .bind(&subscription.id)
    .bind(plan.map(|plan| plan.id.as_str()))
    .bind(&subscription.status)
    .bind(timestamp(period_end))
    .bind(subscription.cancel_at_period_end)
    .bind(timestamp(subscription.trial_end))
    .bind(event.created)
    .bind(&event.id)
    .bind(OffsetDateTime::now_utc())
    .execute(&mut **tx)
    .await?;
    tracing::info!(event_id = %event.id, owner_id = %account.owner_id, status = %subscription.status, "webhook: subscription updated");
    Ok(())
}

/// Whether `event` about `subscription` should overwrite what the account holds.
fn supersedes(account: &Account, subscription: &Subscription, event: &Event) -> bool {
    let current = account.status.as_deref();
    // Events are ordered by Stripe's `created`, then, within one second, by id: an
    // order every delivery agrees on, so the outcome does not depend on arrival.
    let newer = (event.created, Some(event.id.as_str()))
        > (account.last_event_created, account.last_event_id.as_deref());
    match account.stripe_subscription_id.as_deref() {
        // The same subscription: newer events win, but an ended one stays ended.
        Some(id) if id == subscription.id => !current.is_some_and(is_terminal) && newer,
        None => true,
        // Another subscription: it replaces one that has ended, or one it is newer than,
        // unless it has itself ended (a late event about an old subscription).
        Some(_) => !is_terminal(&subscription.status) && (current.is_none_or(is_terminal) || newer),
    }
}

/// A payment failed: recorded, and the owner's owners are told, once per failure (the
/// event is applied once). The status change (`past_due`) arrives as a subscription event.
async fn payment_failed(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, Db>,
    event: &Event,
    invoice: Invoice,
) -> Result<(), AppError> {
    let Some(customer) = invoice.customer else {
        return Ok(());
    };
    let Some(account) = account::lock_of_customer(tx, &customer).await? else {
        tracing::warn!(event_id = %event.id, %customer, "webhook: failed payment of an unknown customer");
        return Ok(());
    };
    tracing::warn!(event_id = %event.id, owner_id = %account.owner_id, "webhook: a payment failed");
    let Some(failed_at) = record_failure(tx, account.owner_id, event).await? else {
        // An `active` event made after this failure has already arrived: it was paid.
        return Ok(());
    };
    let plan = account
        .plan
        .as_deref()
        .and_then(|id| state.billing.plans.get(id))
        .map_or("paid", |plan| plan.name.as_str());
    let ends = (failed_at + state.billing.grace).date();
    for email in account::owner_emails(&mut **tx, account.owner_id).await? {
        let mail = Mail::notice(
            &email,
            "A payment failed",
            &format!(
                "A payment for {} failed. Stripe will try again; unless a payment goes \
                 through by {ends} (UTC), the {plan} plan ends then and the free plan \
                 applies. To pay with another card, open the billing portal.",
                account::WHOSE_SUBSCRIPTION,
            ),
        );
        jobs::enqueue(tx, Job::SendMail(mail)).await?;
    }
    Ok(())
}

/// Records a payment failure, then settles: returns when the first failure no `active`
/// event has settled was made, if there is one.
async fn record_failure(
    tx: &mut sqlx::Transaction<'static, Db>,
    owner_id: Uuid,
    event: &Event,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query(
        "insert into billing_payment_failures (event_id, owner_id, created) values ($1, $2, $3)",
    )
    .bind(&event.id)
    .bind(owner_id)
    .bind(event.created)
    .execute(&mut **tx)
    .await?;
    settle_failures(tx, owner_id).await
}

/// Sets `payment_failed_at` to the first failure made after the newest `active` event,
/// or clears it: the same whatever order the events arrived in. A past-due
/// subscription's grace counts from it.
async fn settle_failures(
    tx: &mut sqlx::Transaction<'static, Db>,
    owner_id: Uuid,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    let first: Option<i64> = sqlx::query_scalar(
        "select min(failure.created) from billing_payment_failures failure
         join billing_accounts account on account.owner_id = failure.owner_id
         where failure.owner_id = $1 and failure.created > account.last_active_event_created",
    )
    .bind(owner_id)
    .fetch_one(&mut **tx)
    .await?;
    let failed_at = timestamp(first);
    sqlx::query("update billing_accounts set payment_failed_at = $2 where owner_id = $1")
        .bind(owner_id)
        .bind(failed_at)
        .execute(&mut **tx)
        .await?;
    Ok(failed_at)
}

fn timestamp(unix: Option<i64>) -> Option<OffsetDateTime> {
    unix.and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
}

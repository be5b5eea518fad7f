//! Stripe webhooks for tests: the `Stripe-Signature` header computed from Stripe's
//! documented scheme (written here, not borrowed from the app's own check), event
//! payloads in Stripe's shape, and delivery to the app.
//!
//! The scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, the
//! key being the whole `whsec_…` string.

use hmac::{Hmac, Mac};
use reqwest::Response;
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;
use uuid::Uuid;

use super::TestApp;

/// The endpoint secret `spawn_billing_app` configures.
pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

/// Now, in Unix seconds, as Stripe stamps events and signatures.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The hex `v1` signature of `body` sent at `timestamp`.
pub fn v1(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The whole `Stripe-Signature` header Stripe would send for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", v1(secret, timestamp, body))
}

/// POSTs `body` to the webhook endpoint with `header` as `Stripe-Signature` (none if
/// `None`), from a client without cookies, as Stripe does.
pub async fn send(app: &TestApp, body: &str, header: Option<&str>) -> Response {
    let mut request = app
        .another_client()
        .post(app.url("/billing/webhook"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(header) = header {
        request = request.header("stripe-signature", header);
    }
    request.send().await.unwrap()
}

/// A request delivering `event`, signed now with the test secret: for `send_together`.
pub fn delivery(app: &TestApp, event: &Value) -> reqwest::RequestBuilder {
    let body = event.to_string();
    let header = sign(WEBHOOK_SECRET, now(), &body);
    app.another_client()
        .post(app.url("/billing/webhook"))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(body)
}

/// Delivers `event` signed now with the test secret, as Stripe does.
pub async fn send_event(app: &TestApp, event: &Value) -> Response {
    let body = event.to_string();
    let header = sign(WEBHOOK_SECRET, now(), &body);
    send(app, &body, Some(&header)).await
}

/// A fresh id with Stripe's prefix, such as `evt_…` or `sub_…`.
pub fn stripe_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::now_v7().simple())
}

/// An event envelope around `object`, created at `created` (Unix seconds).
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": created,
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": kind,
        "data": { "object": object },
    })
}

/// `checkout.session.completed` for a subscription bought by `owner_id`.
pub fn checkout_completed(
    event_id: &str,
    created: i64,
    client_reference_id: &str,
    customer: &str,
    subscription: &str,
) -> Value {
    let session = json!({
        "id": stripe_id("cs"),
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "payment_status": "paid",
        "client_reference_id": client_reference_id,
        "customer": customer,
        "subscription": subscription,
        "metadata": { "owner_id": client_reference_id },
    });
    event(event_id, "checkout.session.completed", created, session)
}

/// A subscription as Stripe describes it in `customer.subscription.*` events.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub status: String,
    pub price: String,
    /// Unix seconds.
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    /// Unix seconds.
    pub trial_end: Option<i64>,
}

impl Subscription {
    /// An `active` subscription to `price`, whose period ends in 30 days.
    pub fn new(customer: &str, price: &str) -> Self {
        Self {
            id: stripe_id("sub"),
            customer: customer.to_owned(),
            status: "active".to_owned(),
            price: price.to_owned(),
            current_period_end: now() + 30 * 86_400,
            cancel_at_period_end: false,
            trial_end: None,
        }
    }

    /// The same subscription with another status.
    pub fn with_status(&self, status: &str) -> Self {
        Self {
            status: status.to_owned(),
            ..self.clone()
        }
    }

    fn object(&self) -> Value {
        json!({
            "id": self.id,
            "object": "subscription",
            "customer": self.customer,
            "status": self.status,
            "cancel_at_period_end": self.cancel_at_period_end,
            "current_period_end": self.current_period_end,
            "trial_end": self.trial_end,
            "items": {
                "object": "list",
                "data": [{
                    "id": stripe_id("si"),
                    "object": "subscription_item",
                    "quantity": 1,
                    // Newer API versions carry the period on the item.
                    "current_period_end": self.current_period_end,
                    "price": { "id": self.price, "object": "price" },
                }],
            },
            "metadata": {},
        })
    }

    /// `customer.subscription.<action>` (`created`, `updated` or `deleted`) for this
    /// subscription as it stands, created at `created`.
    pub fn event(&self, action: &str, event_id: &str, created: i64) -> Value {
        event(
            event_id,
            &format!("customer.subscription.{action}"),
            created,
            self.object(),
        )
    }
}

/// `invoice.payment_failed` for `subscription`'s latest invoice.
pub fn payment_failed(event_id: &str, created: i64, subscription: &Subscription) -> Value {
    let invoice = json!({
        "id": stripe_id("in"),
        "object": "invoice",
        "customer": subscription.customer,
        "subscription": subscription.id,
        "attempt_count": 1,
        "status": "open",
    });
    event(event_id, "invoice.payment_failed", created, invoice)
}

/// Links `owner_id` to a new customer and subscription the way Stripe tells the app:
/// `checkout.session.completed`, then `customer.subscription.created` with `status`,
/// both signed and created a minute ago. Returns the subscription, for later events.
pub async fn subscribe(app: &TestApp, owner_id: Uuid, price: &str, status: &str) -> Subscription {
    let customer = stripe_id("cus");
    let subscription = Subscription::new(&customer, price).with_status(status);
    let created = now() - 60;
    let completed = checkout_completed(
        &stripe_id("evt"),
        created,
        &owner_id.to_string(),
        &customer,
        &subscription.id,
    );
    let response = send_event(app, &completed).await;
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "checkout.session.completed"
    );
    let response = send_event(
        app,
        &subscription.event("created", &stripe_id("evt"), created),
    )
    .await;
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "customer.subscription.created"
    );
    subscription
}

//! The few Stripe API calls the app makes: a customer per billing owner, Checkout
//! sessions (and expiring the one a new checkout replaces), customer-portal sessions,
//! and reading and cancelling a subscription (a second one, paid by mistake).
//! Form-encoded requests, JSON answers, against `STRIPE_API_BASE` so tests can point it
//! at a local fake.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::metrics::Metrics;

/// A Stripe call that did not succeed; the cause is logged, the client sees 502.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error("could not reach Stripe: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("Stripe answered {status}: {message}")]
    Refused { status: u16, message: String },
}

impl StripeError {
    /// Whether Stripe said the object does not exist (404).
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Refused { status: 404, .. })
    }

    /// Whether Stripe refused the request as invalid for the object's state (400), such
    /// as expiring a session that is no longer open.
    pub fn is_invalid_request(&self) -> bool {
        matches!(self, Self::Refused { status: 400, .. })
    }

    /// Whether Stripe stored this answer for the request's idempotency key: it does for
    /// its own 5xx, and replays them. A call that never got an answer may well have
    /// succeeded, and its key is what finds out.
    pub fn is_replayed(&self) -> bool {
        matches!(self, Self::Refused { status, .. } if *status >= 500)
    }
}

/// An authenticated client of the Stripe API.
#[derive(Debug, Clone)]
pub struct Stripe {
    http: reqwest::Client,
    api_base: String,
    secret_key: SecretString,
    /// Counts each call's outcome.
    metrics: Metrics,
}

/// A Checkout session for a subscription to one price.
#[derive(Debug)]
pub struct CheckoutRequest<'a> {
    pub customer: &'a str,
    pub owner_id: Uuid,
    pub price_id: &'a str,
    pub trial_days: Option<u32>,
    pub success_url: String,
    pub cancel_url: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// A Checkout session: its id, and where to send the customer.
#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

#[derive(Deserialize)]
struct Session {
    url: String,
}

#[derive(Deserialize)]
struct SubscriptionState {
    status: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

/// Makes ring the process's TLS crypto provider, which every `reqwest::Client` needs
/// before it is built: reqwest is compiled without one of its own (see Cargo.toml), as
/// ring is what the rest of the app already uses. Calling it again does nothing.
pub fn install_tls_provider() {
    // An error means a provider is installed already, which is all this is for.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Stripe {
    pub fn new(api_base: &str, secret_key: SecretString, metrics: Metrics) -> anyhow::Result<Self> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()?;
        Ok(Self {
            http,
            api_base: api_base.trim_end_matches('/').to_owned(),
            secret_key,
            metrics,
        })
    }

    /// Creates the customer of a billing owner. Calls with the same `idempotency_key`
    /// (within Stripe's 24 hours) make one customer and get the same answer.
    pub async fn create_customer(
        &self,
        owner_id: Uuid,
        description: &str,
        idempotency_key: &str,
    ) -> Result<String, StripeError> {
        let form = [
            ("description", description.to_owned()),
            ("metadata[owner_id]", owner_id.to_string()),
        ];
        let created: Created = self
            .post("/v1/customers", Some(idempotency_key), &form)
            .await?;
        Ok(created.id)
    }

    /// Creates a Checkout session.
    pub async fn create_checkout_session(
        &self,
        request: &CheckoutRequest<'_>,
    ) -> Result<CheckoutSession, StripeError> {
        let owner = request.owner_id.to_string();
        let mut form = vec![
            ("mode", "subscription".to_owned()),
            ("customer", request.customer.to_owned()),
            ("client_reference_id", owner.clone()),
            ("line_items[0][price]", request.price_id.to_owned()),
            ("line_items[0][quantity]", "1".to_owned()),
            ("success_url", request.success_url.clone()),
            ("cancel_url", request.cancel_url.clone()),
            ("metadata[owner_id]", owner.clone()),
            ("subscription_data[metadata][owner_id]", owner),
        ];
        if let Some(days) = request.trial_days {
            form.push(("subscription_data[trial_period_days]", days.to_string()));
        }
        self.post("/v1/checkout/sessions", None, &form).await
    }

    /// Expires an open Checkout session, so it can no longer be paid.
    pub async fn expire_checkout_session(&self, session_id: &str) -> Result<(), StripeError> {
        let path = format!("/v1/checkout/sessions/{session_id}/expire");
        self.post::<serde_json::Value>(&path, None, &[]).await?;
        Ok(())
    }

    /// A subscription's status (`active`, `canceled`, …); `None` if Stripe has no such
    /// subscription.
    pub async fn subscription_status(
        &self,
        subscription_id: &str,
    ) -> Result<Option<String>, StripeError> {
        let path = format!("/v1/subscriptions/{subscription_id}");
        let request = self.http.get(format!("{}{path}", self.api_base));
        match self.send::<SubscriptionState>(request).await {
            Ok(subscription) => Ok(Some(subscription.status)),
            Err(error) if error.is_missing() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Cancels a subscription now. One that is already gone counts as cancelled.
    pub async fn cancel_subscription(&self, subscription_id: &str) -> Result<(), StripeError> {
        let path = format!("/v1/subscriptions/{subscription_id}");
        let request = self.http.delete(format!("{}{path}", self.api_base));
        match self.send::<serde_json::Value>(request).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_missing() => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Creates a customer-portal session and returns its URL.
    pub async fn create_portal_session(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<String, StripeError> {
        let form = [
            ("customer", customer.to_owned()),
            ("return_url", return_url.to_owned()),
        ];
        let session: Session = self
            .post("/v1/billing_portal/sessions", None, &form)
            .await?;
        Ok(session.url)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: Option<&str>,
        form: &[(&str, String)],
    ) -> Result<T, StripeError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.api_base))
            .form(form);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    /// Sends `request` and counts its outcome in the metrics.
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        let answer = self.exchange(request).await;
        self.metrics.count_stripe_call(match &answer {
            Ok(_) => "ok",
            Err(StripeError::Refused { .. }) => "refused",
            Err(StripeError::Transport(_)) => "unreachable",
        });
        answer
    }

    async fn exchange<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        #[cfg(feature = "otel")]
        let request = {
            // Stripe ignores it; a proxy or a fake in between may follow the trace.
            let mut headers = reqwest::header::HeaderMap::new();
            crate::otel::inject(&mut headers);
            request.headers(headers)
        };
        let response = request
            .bearer_auth(self.secret_key.expose_secret())
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let message = match response.json::<ErrorAnswer>().await {
            Ok(answer) => answer.error.message.unwrap_or_default(),
            Err(_) => "an answer that is not a Stripe error".to_owned(),
        };
        Err(StripeError::Refused {
            status: status.as_u16(),
            message,
        })
    }
}

//! Subscription billing: plans from `config/plans.toml`, Stripe Checkout and the
//! customer portal, the webhook that keeps each owner's subscription, and the gates
//! resources call: [`Billing::check_limit`] and [`Billing::require_feature`].
//!
//! The billing owner is an organization: its plan covers every member's work in it.

pub mod account;
pub mod duplicates;
pub mod plans;
mod routes;
pub mod signature;
pub mod stripe;
mod webhook;

use secrecy::SecretString;
use time::{Duration, OffsetDateTime};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::{
    AppState,
    config::BillingConfig,
    db::{Db, DbPool},
    error::AppError,
    metrics::Metrics,
};
use plans::{Plan, Plans};
use stripe::Stripe;

pub use routes::BillingErrors;

/// What billing needs at run time, built once from the configuration.
#[derive(Debug)]
pub struct Billing {
    pub plans: Plans,
    /// `None` until `STRIPE_SECRET_KEY` is set.
    stripe: Option<Stripe>,
    /// Endpoint signing secrets; more than one while rolling to a new one.
    webhook_secrets: Vec<SecretString>,
    /// How long `past_due` keeps the paid plan after the first unsettled failed payment.
    grace: Duration,
}

impl Billing {
    pub fn new(config: &BillingConfig, metrics: Metrics) -> anyhow::Result<Self> {
        let stripe = config
            .stripe_secret_key
            .clone()
            .map(|key| Stripe::new(&config.stripe_api_base, key, metrics))
            .transpose()?;
        if stripe.is_none() {
            tracing::info!("billing: STRIPE_SECRET_KEY is not set; checkout and portal answer 503");
        }
        Ok(Self {
            plans: config.plans.clone(),
            stripe,
            webhook_secrets: config.webhook_secrets.clone(),
            grace: Duration::days(i64::from(config.grace_days)),
        })
    }

    /// The Stripe client, or 503 `billing_not_configured` naming what to set.
    pub fn stripe(&self) -> Result<&Stripe, AppError> {
        self.stripe.as_ref().ok_or_else(|| {
            AppError::BillingNotConfigured(
                "billing is not configured: set STRIPE_SECRET_KEY to a Stripe secret key"
                    .to_owned(),
            )
        })
    }

    /// The plan an account entitles its owner to now.
    pub fn plan_of(&self, account: Option<&account::Account>) -> &Plan {
        account
            .and_then(|account| account.paid_plan(self.grace, OffsetDateTime::now_utc()))
            .and_then(|id| self.plans.get(id))
            .unwrap_or_else(|| self.plans.free())
    }

    /// The owner's plan now.
    pub async fn current_plan(&self, db: &DbPool, owner_id: Uuid) -> Result<&Plan, sqlx::Error> {
        let account = account::find(db, owner_id).await?;
        Ok(self.plan_of(account.as_ref()))
    }

    /// The owner's plan, with its billing row locked until `tx` ends: call it first in
    /// a transaction that counts rows and inserts one, so concurrent creates take turns.
    pub async fn lock_plan(
        &self,
        tx: &mut sqlx::Transaction<'static, Db>,
        owner_id: Uuid,
    ) -> Result<&Plan, sqlx::Error> {
        let account = account::lock(tx, owner_id).await?;
        Ok(self.plan_of(Some(&account)))
    }

    /// Whether some plan limits `resource`. Creates of a resource no plan limits lock
    /// nothing and count nothing: a single insert, as without billing.
    pub fn limits(&self, resource: &str) -> bool {
        self.plans.limit_any(resource)
    }

    /// 402 `plan_limit_reached` when `plan` allows no more than the `used` rows of
    /// `resource`; the message names the limit and a plan that allows more.
    pub fn check_limit(&self, plan: &Plan, resource: &str, used: i64) -> Result<(), AppError> {
        let Some(limit) = plan.limit(resource) else {
            return Ok(());
        };
        if used < i64::from(limit) {
            return Ok(());
        }
        let upgrade = match self.plans.first_allowing_more(resource, used) {
            Some(other) => format!("; the {} plan allows more", other.name),
            None => String::new(),
        };
        Err(AppError::PlanLimitReached(format!(
            "the {} plan allows {limit} {resource}{upgrade}",
            plan.name
        )))
    }

    /// 402 `feature_not_in_plan` unless the owner's plan includes `feature`; the message
    /// names the feature and a plan that includes it.
    pub async fn require_feature(
        &self,
        db: &DbPool,
        owner_id: Uuid,
        feature: &str,
    ) -> Result<(), AppError> {
        let plan = self.current_plan(db, owner_id).await?;
        if plan.includes(feature) {
            return Ok(());
        }
        let upgrade = match self.plans.first_including(feature) {
            Some(other) => format!("; the {} plan does", other.name),
            None => String::new(),
        };
        Err(AppError::FeatureNotInPlan(format!(
            "the {} plan does not include {feature}{upgrade}",
            plan.name
        )))
    }
}

/// `…/billing` for the signed-in owner, and the Stripe webhook.
pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
}

/// The Stripe webhook, served outside the cross-site check: Stripe is not a browser,
/// and its signature is the proof of origin.
pub fn webhook_router() -> OpenApiRouter<AppState> {
    webhook::router()
}

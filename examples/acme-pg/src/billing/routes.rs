//! `/orgs/{org_id}/billing`: the organization's plan and usage for every member, and
//! for those with `billing:manage`, Stripe Checkout and the customer portal.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{
    IntoResponses, ToSchema,
    openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    account,
    stripe::{CheckoutRequest, Stripe, StripeError},
};
use crate::{
    AppState,
    access::{Actor, MemberErrors, Permission, PermissionErrors},
    error::{AppError, ErrorBody},
    extract::AppJson,
    openapi::{AuthErrors, CrossSiteErrors, JsonBodyErrors, ServerErrors},
    resources,
};

/// The column of a resource table that names its billing owner.
const OWNER_COLUMN: &str = "org_id";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show_billing))
        .routes(routes!(start_checkout))
        .routes(routes!(open_portal))
}

/// The owner's plan, subscription and usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingView {
    /// The plan in force now (`free` without a paid subscription).
    pub plan: String,
    /// The Stripe subscription's status (`active`, `past_due`, …); null before any.
    pub status: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub current_period_end: Option<OffsetDateTime>,
    /// The subscription ends at `current_period_end` instead of renewing.
    pub cancel_at_period_end: bool,
    /// While `past_due`: when the paid plan ends unless a payment goes through first
    /// (`BILLING_GRACE_DAYS` after the first failed payment since the last one that
    /// went through); null otherwise.
    #[serde(with = "time::serde::rfc3339::option")]
    pub grace_ends_at: Option<OffsetDateTime>,
    /// The plan features included now.
    pub features: Vec<String>,
    /// Rows used and allowed, for each resource some plan limits.
    pub usage: BTreeMap<String, Usage>,
}

/// How many rows of a resource the owner has, and how many the plan allows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub used: i64,
    /// Null when the plan sets no limit.
    pub limit: Option<u32>,
}

/// Which plan to subscribe to.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckoutRequestBody {
    /// A paid plan's id from `config/plans.toml` (`pro`).
    pub plan: String,
}

/// Where to send the customer's browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedirectView {
    pub url: String,
}

/// 502 and 503: what depends on Stripe can answer besides the usual server errors.
pub struct BillingErrors;

impl IntoResponses for BillingErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let response = |description: &str| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", body)
                    .build(),
            )
        };
        BTreeMap::from([
            (
                "502".to_owned(),
                response(
                    "Stripe refused the call or could not be reached (`billing_provider_error`)",
                ),
            ),
            (
                "503".to_owned(),
                response(
                    "Billing is not configured: the message names the variable to set \
                     (`billing_not_configured`); or the database is busy (`unavailable`, `busy`)",
                ),
            ),
        ])
    }
}

/// The organization's plan, subscription and usage; any member may read it.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/billing",
    tag = "billing",
    security(("session" = []), ("bearer" = [])),
    params(("org_id" = Uuid, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The plan, subscription and usage", body = BillingView),
        MemberErrors, AuthErrors, ServerErrors,
    )
)]
async fn show_billing(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<AppJson<BillingView>, AppError> {
    view(&state, actor.org_id).await.map(AppJson)
}

/// Starts a subscription: a Stripe Checkout session for the plan. Needs `billing:manage`.
#[utoipa::path(
    post,
    path = "/orgs/{org_id}/billing/checkout",
    tag = "billing",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::BillingManage.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id")),
    request_body = CheckoutRequestBody,
    responses(
        (status = 200, description = "The Checkout page to send the browser to", body = RedirectView),
        (status = 409, description = "Already on a paid plan: change it in the portal", body = ErrorBody),
        (status = 422, description = "`plan` is missing or not a paid plan", body = ErrorBody),
        MemberErrors, JsonBodyErrors, AuthErrors, CrossSiteErrors, PermissionErrors, ServerErrors,
        BillingErrors,
    )
)]
async fn start_checkout(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(body): AppJson<CheckoutRequestBody>,
) -> Result<AppJson<RedirectView>, AppError> {
    actor.require(Permission::BillingManage)?;
    let name = org_name(&state, actor.org_id).await?;
    checkout(&state, actor.org_id, &name, &body.plan)
        .await
        .map(AppJson)
}

/// The Stripe customer portal, to change plan, payment method or cancel. Needs
/// `billing:manage`.
#[utoipa::path(
    post,
    path = "/orgs/{org_id}/billing/portal",
    tag = "billing",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::BillingManage.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The portal page to send the browser to", body = RedirectView),
        MemberErrors, AuthErrors, CrossSiteErrors, PermissionErrors, ServerErrors, BillingErrors,
    )
)]
async fn open_portal(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<AppJson<RedirectView>, AppError> {
    actor.require(Permission::BillingManage)?;
    let name = org_name(&state, actor.org_id).await?;
    portal(&state, actor.org_id, &name).await.map(AppJson)
}

/// The organization's name: what its Stripe customer is described as.
async fn org_name(state: &AppState, org_id: Uuid) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select name from organizations where id = $1")
        .bind(org_id)
        .fetch_one(&state.db)
        .await
}

async fn view(state: &AppState, owner_id: Uuid) -> Result<BillingView, AppError> {
    let billing = &state.billing;
    let account = account::find(&state.db, owner_id).await?;
    let plan = billing.plan_of(account.as_ref());
    let mut usage = BTreeMap::new();
    for resource in billing.plans.limited_resources() {
        // Table names come from the plans file, checked against `resources::TABLES`
        // at start-up, never from a request.
        debug_assert!(resources::TABLES.contains(&resource));
        let sql = format!("select count(*) from {resource} where {OWNER_COLUMN} = $1");
        let used: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(owner_id)
            .fetch_one(&state.db)
            .await?;
        let limit = plan.limit(resource);
        usage.insert(resource.to_owned(), Usage { used, limit });
    }
    let account = account.as_ref();
    Ok(BillingView {
        plan: plan.id.clone(),
        status: account.and_then(|account| account.status.clone()),
        current_period_end: account.and_then(|account| account.current_period_end),
        cancel_at_period_end: account.is_some_and(|account| account.cancel_at_period_end),
        grace_ends_at: account.and_then(|account| account.grace_ends_at(billing.grace)),
        features: plan.features.clone(),
        usage,
    })
}

async fn checkout(
    state: &AppState,
    owner_id: Uuid,
    description: &str,
    plan_id: &str,
) -> Result<RedirectView, AppError> {
    let billing = &state.billing;
    let plan = billing
        .plans
        .get(plan_id)
        .filter(|plan| !plan.is_free())
        .ok_or_else(|| {
            let paid: Vec<&str> = billing
                .plans
                .iter()
                .filter(|plan| !plan.is_free())
                .map(|plan| plan.id.as_str())
                .collect();
            AppError::invalid("plan", format!("must be a paid plan: {}", paid.join(", ")))
        })?;
    let stripe = billing.stripe()?;
    let price_id = plan.price_id.as_deref().ok_or_else(|| {
        AppError::BillingNotConfigured(format!(
            "billing is not configured: set {} to the Stripe price id of the {} plan",
            plan.price_variable(),
            plan.name
        ))
    })?;
    let account = account::find(&state.db, owner_id).await?;
    if billing.plan_of(account.as_ref()).price_id.is_some() {
        return Err(AppError::Conflict(
            "already subscribed to a paid plan; change plans in the billing portal",
        ));
    }
    // One trial per owner: none for an owner that had a subscription before.
    let may_trial = account.as_ref().is_none_or(account::Account::may_trial);
    let customer = customer_of(state, owner_id, description, account).await?;
    let app_url = &state.config.app_url;
    let session = stripe
        .create_checkout_session(&CheckoutRequest {
            customer: &customer,
            owner_id,
            price_id,
            trial_days: plan.trial_days.filter(|_| may_trial),
            success_url: format!("{app_url}/?checkout=success"),
            cancel_url: format!("{app_url}/?checkout=canceled"),
        })
        .await
        .map_err(provider_error)?;
    tracing::info!(%owner_id, plan = %plan.id, session_id = %session.id, "checkout session created");
    // One open session per owner: the one this replaces can no longer be paid.
    let replaced = account::replace_checkout_session(&state.db, owner_id, &session.id).await?;
    if let Some(replaced) = replaced {
        expire_session(stripe, owner_id, &replaced).await;
    }
    Ok(RedirectView { url: session.url })
}

/// Expires a replaced Checkout session. A failure only leaves it open until Stripe's
/// own expiry (24 hours); should it be paid, the webhook cancels the second
/// subscription.
async fn expire_session(stripe: &Stripe, owner_id: Uuid, session_id: &str) {
    match stripe.expire_checkout_session(session_id).await {
        Ok(()) => tracing::info!(%owner_id, %session_id, "replaced checkout session expired"),
        // Completed or expired already: nothing left to pay.
        Err(error) if error.is_invalid_request() => {
            tracing::info!(%owner_id, %session_id, %error, "replaced checkout session was not open");
        }
        Err(error) => {
            tracing::warn!(%owner_id, %session_id, %error, "could not expire a replaced checkout session");
        }
    }
}

async fn portal(
    state: &AppState,
    owner_id: Uuid,
    description: &str,
) -> Result<RedirectView, AppError> {
    let stripe = state.billing.stripe()?;
    let account = account::find(&state.db, owner_id).await?;
    let customer = customer_of(state, owner_id, description, account).await?;
    let url = stripe
        .create_portal_session(&customer, &state.config.app_url)
        .await
        .map_err(provider_error)?;
    Ok(RedirectView { url })
}

/// The owner's Stripe customer, created on first use. Concurrent first uses send the
/// same idempotency key, so Stripe makes one customer, and only the first is stored.
async fn customer_of(
    state: &AppState,
    owner_id: Uuid,
    description: &str,
    account: Option<account::Account>,
) -> Result<String, AppError> {
    if let Some(customer) = account.and_then(|account| account.stripe_customer_id) {
        return Ok(customer);
    }
    let stripe = state.billing.stripe()?;
    let key = account::customer_idempotency_key(&state.db, owner_id).await?;
    let created = match stripe.create_customer(owner_id, description, &key).await {
        Ok(created) => created,
        Err(error) => {
            if error.is_replayed() {
                account::forget_customer_idempotency_key(&state.db, owner_id, &key).await?;
            }
            return Err(provider_error(error));
        }
    };
    Ok(account::keep_customer(&state.db, owner_id, &created).await?)
}

fn provider_error(error: StripeError) -> AppError {
    AppError::BillingProvider(error.to_string())
}

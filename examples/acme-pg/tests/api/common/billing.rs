//! The app with billing configured against a `FakeStripe`, billing owners and their
//! routes, and the billing rows read straight from the database.

use std::ops::Deref;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use app::db::DbPool;

use super::{TestApp, spawn_app_with, stripe::FakeStripe, webhooks::WEBHOOK_SECRET};

/// The plans the billing tests run with, whatever `config/plans.toml` says by now:
/// `pro` has a trial, `team` has none.
const PLANS: &str = r#"
[plans.free]
name = "Free"
features = []
limits = {}

[plans.pro]
name = "Pro"
features = ["reports"]
limits = {}
trial_days = 14

[plans.team]
name = "Team"
features = ["reports", "sso"]
limits = {}
"#;

pub const PRO_PRICE: &str = "price_pro_test";
pub const TEAM_PRICE: &str = "price_team_test";

/// The app configured for Stripe, the fake it talks to, and the plans file it read.
pub struct BillingApp {
    pub app: TestApp,
    pub stripe: FakeStripe,
    _plans: tempfile::TempDir,
}

impl Deref for BillingApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// The app with every Stripe variable set, talking to a new `FakeStripe`.
pub async fn spawn_billing_app(db: DbPool) -> BillingApp {
    spawn_billing_app_with(db, &[]).await
}

/// Like [`spawn_billing_app`]; `vars` are added last, so they override, and a variable
/// given with an empty name is removed instead (`("", "STRIPE_SECRET_KEY")`).
pub async fn spawn_billing_app_with(db: DbPool, vars: &[(&str, &str)]) -> BillingApp {
    let stripe = FakeStripe::start().await;
    let plans = tempfile::tempdir().unwrap();
    let plans_file = plans.path().join("plans.toml");
    std::fs::write(&plans_file, PLANS).unwrap();
    let plans_file = plans_file.to_str().unwrap().to_owned();
    let mut all_vars = vec![
        ("STRIPE_SECRET_KEY", super::stripe::SECRET_KEY),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", stripe.base_url()),
        ("STRIPE_PRICE_PRO", PRO_PRICE),
        ("STRIPE_PRICE_TEAM", TEAM_PRICE),
        ("PLANS_FILE", plans_file.as_str()),
    ];
    for (name, value) in vars {
        if name.is_empty() {
            all_vars.retain(|(kept, _)| kept != value);
        } else {
            all_vars.retain(|(kept, _)| kept != name);
            all_vars.push((name, value));
        }
    }
    let app = spawn_app_with(db, &all_vars).await;
    BillingApp {
        app,
        stripe,
        _plans: plans,
    }
}

/// Who pays: an organization, here the personal one of the
/// user who signed up, with a client signed in as that user.
pub struct Owner {
    pub id: Uuid,
    /// Signed in as the user who owns the organization.
    pub client: Client,
    /// The base of the owner's billing routes.
    pub base: String,
}

impl Owner {
    pub async fn billing(&self, app: &TestApp) -> Response {
        self.client.get(app.url(&self.base)).send().await.unwrap()
    }

    /// `GET …/billing`, which must answer 200.
    pub async fn status(&self, app: &TestApp) -> Value {
        let response = self.billing(app).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// The plan `GET …/billing` reports.
    pub async fn plan(&self, app: &TestApp) -> String {
        let status = self.status(app).await;
        status["plan"]
            .as_str()
            .unwrap_or_else(|| panic!("no plan in {status}"))
            .to_owned()
    }

    pub fn checkout_request(&self, app: &TestApp, plan: &str) -> reqwest::RequestBuilder {
        self.client
            .post(app.url(&format!("{}/checkout", self.base)))
            .json(&json!({ "plan": plan }))
    }

    pub async fn checkout(&self, app: &TestApp, plan: &str) -> Response {
        self.checkout_request(app, plan).send().await.unwrap()
    }

    pub async fn portal(&self, app: &TestApp) -> Response {
        self.client
            .post(app.url(&format!("{}/portal", self.base)))
            .send()
            .await
            .unwrap()
    }
}

/// A billing owner's row, as the app stores it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Account {
    pub owner_id: Uuid,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub checkout_session_id: Option<String>,
    pub plan: Option<String>,
    pub status: Option<String>,
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    pub trial_end: Option<OffsetDateTime>,
    pub last_event_created: i64,
    pub payment_failed_at: Option<OffsetDateTime>,
}

const ACCOUNT_COLUMNS: &str = "owner_id, stripe_customer_id, stripe_subscription_id, \
     checkout_session_id, plan, status, current_period_end, cancel_at_period_end, trial_end, \
     last_event_created, payment_failed_at";

impl TestApp {
    /// Signs up `email` in a client of its own and returns them as a billing owner.
    pub async fn new_owner(&self, email: &str) -> Owner {
        let client = self.another_client();
        let response = self.signup_as(&client, email).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let user_id: Uuid = body["user"]["id"].as_str().unwrap().parse().unwrap();
        let id = self.personal_org(user_id).await;
        let base = format!("/orgs/{id}/billing");
        Owner { id, client, base }
    }

    /// `owner_id`'s billing row, if the app has written one.
    pub async fn account(&self, owner_id: Uuid) -> Option<Account> {
        let sql = format!("select {ACCOUNT_COLUMNS} from billing_accounts where owner_id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner_id)
            .fetch_optional(&self.db)
            .await
            .unwrap()
    }

    /// Every billing row, by owner: to show that nothing changed.
    pub async fn accounts(&self) -> Vec<Account> {
        let sql = format!("select {ACCOUNT_COLUMNS} from billing_accounts order by owner_id");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.db)
            .await
            .unwrap()
    }

    /// The stored Stripe customer of `owner_id`.
    pub async fn customer_of(&self, owner_id: Uuid) -> Option<String> {
        self.account(owner_id)
            .await
            .and_then(|account| account.stripe_customer_id)
    }

    /// The ids of the Stripe events recorded as processed, sorted.
    pub async fn stripe_events(&self) -> Vec<String> {
        sqlx::query_scalar("select id from stripe_events order by id")
            .fetch_all(&self.db)
            .await
            .unwrap()
    }
}

//! Checkout and the customer portal against a fake Stripe: what the app sends, the one
//! customer and the one open session per billing owner even under concurrency, one
//! trial per owner, refusals that reach neither Stripe nor the database, and Stripe's
//! failures as 502.

use reqwest::StatusCode;
use serde_json::Value;

use app::{
    access::{Permission, Role},
    db::DbPool,
};

use crate::common::{
    assert_error,
    billing::{Owner, PRO_PRICE, TEAM_PRICE, spawn_billing_app, spawn_billing_app_with},
    count_status, send_together, spawn_app,
    stripe::{FAILURE_MESSAGE, SECRET_KEY},
    webhooks::{Subscription, checkout_completed, now, send_event, stripe_id},
};

/// The `url` of a 200 answer.
async fn url_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no url in {body}"))
        .to_owned()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn checkout_creates_the_customer_and_a_subscription_session_for_the_plan(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let owner_id = owner.id.to_string();

    let url = url_of(owner.checkout(&app, "pro").await).await;

    assert!(
        url.starts_with("https://checkout.stripe.test/c/pay/cs_"),
        "{url}"
    );
    let customers = app.stripe.customers();
    assert_eq!(customers.len(), 1);
    let requests = app.stripe.requests();
    assert!(
        requests.iter().all(|r| r.method == "POST"
            && r.authorization.as_deref() == Some(&format!("Bearer {SECRET_KEY}"))),
        "{requests:?}"
    );
    let created = app.stripe.requests_to("/v1/customers");
    assert_eq!(created.len(), 1, "{requests:?}");
    assert!(
        created[0]
            .idempotency_key
            .as_deref()
            .is_some_and(|key| !key.is_empty())
    );
    assert_eq!(
        created[0].field("metadata[owner_id]"),
        Some(owner_id.as_str())
    );

    let sessions = app.stripe.requests_to("/v1/checkout/sessions");
    assert_eq!(sessions.len(), 1, "{requests:?}");
    let session = &sessions[0];
    assert_eq!(session.field("mode"), Some("subscription"));
    assert_eq!(session.field("customer"), Some(customers[0].as_str()));
    assert_eq!(
        session.field("client_reference_id"),
        Some(owner_id.as_str())
    );
    assert_eq!(session.field("line_items[0][price]"), Some(PRO_PRICE));
    assert_eq!(session.field("line_items[0][quantity]"), Some("1"));
    assert_eq!(
        session.field("subscription_data[trial_period_days]"),
        Some("14")
    );
    assert_eq!(session.field("metadata[owner_id]"), Some(owner_id.as_str()));
    assert_eq!(
        session.field("subscription_data[metadata][owner_id]"),
        Some(owner_id.as_str())
    );
    for field in ["success_url", "cancel_url"] {
        let value = session.field(field).unwrap_or_default();
        assert!(value.starts_with("http"), "{field} = {value:?}");
    }

    assert_eq!(app.customer_of(owner.id).await, Some(customers[0].clone()));
    // Checkout alone proves nothing: the plan changes when Stripe says so.
    assert_eq!(owner.plan(&app).await, "free");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_plan_without_a_trial_sends_none(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    url_of(owner.checkout(&app, "team").await).await;

    let session = &app.stripe.requests_to("/v1/checkout/sessions")[0];
    assert_eq!(session.field("line_items[0][price]"), Some(TEAM_PRICE));
    assert!(
        session.form.iter().all(|(key, _)| !key.contains("trial")),
        "{:?}",
        session.form
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_trial_is_offered_only_to_an_owner_that_never_subscribed(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let trial = |index: usize| {
        let sessions = app.stripe.requests_to("/v1/checkout/sessions");
        let days = sessions[index].field("subscription_data[trial_period_days]");
        days.map(str::to_owned)
    };
    url_of(owner.checkout(&app, "pro").await).await;
    assert_eq!(trial(0).as_deref(), Some("14"));

    // Subscribed with that session's trial, then cancelled: checking out again is no
    // second trial.
    let customer = app.customer_of(owner.id).await.unwrap();
    let subscription = Subscription::new(&customer, PRO_PRICE).with_status("trialing");
    let events = [
        checkout_completed(
            &stripe_id("evt"),
            now() - 60,
            &owner.id.to_string(),
            &customer,
            &subscription.id,
        ),
        subscription.event("created", &stripe_id("evt"), now() - 60),
        subscription
            .with_status("canceled")
            .event("deleted", &stripe_id("evt"), now() - 10),
    ];
    for event in &events {
        assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
    }
    assert_eq!(owner.plan(&app).await, "free");
    url_of(owner.checkout(&app, "pro").await).await;

    assert_eq!(trial(1), None);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_new_checkout_expires_the_open_session_it_replaces(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    let first = url_of(owner.checkout(&app, "pro").await).await;
    assert_eq!(app.stripe.open_sessions().len(), 1);
    let second = url_of(owner.checkout(&app, "team").await).await;

    let open = app.stripe.open_sessions();
    assert_eq!(open.len(), 1, "{:?}", app.stripe.requests());
    assert!(second.ends_with(&open[0]), "{second}: {open:?}");
    let first_id = first.rsplit('/').next().unwrap();
    let expire = format!("/v1/checkout/sessions/{first_id}/expire");
    assert_eq!(app.stripe.requests_to(&expire).len(), 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn concurrent_checkouts_leave_one_open_session(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    let checkouts = (0..5).map(|_| owner.checkout_request(&app, "pro"));
    let responses = send_together(checkouts.collect()).await;

    assert_eq!(count_status(&responses, StatusCode::OK), 5);
    assert_eq!(app.stripe.requests_to("/v1/checkout/sessions").len(), 5);
    let open = app.stripe.open_sessions();
    assert_eq!(open.len(), 1, "{:?}", app.stripe.requests());
    let stored = app.account(owner.id).await.unwrap().checkout_session_id;
    assert_eq!(stored.as_deref(), Some(open[0].as_str()));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_customer_is_created_once_and_reused(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let alice = app.new_owner("alice@example.com").await;
    let bob = app.new_owner("bob@example.com").await;

    url_of(alice.checkout(&app, "pro").await).await;
    url_of(alice.checkout(&app, "team").await).await;
    url_of(bob.checkout(&app, "pro").await).await;

    let customers = app.stripe.customers();
    assert_eq!(customers.len(), 2, "{customers:?}");
    let alices = app.customer_of(alice.id).await.unwrap();
    let bobs = app.customer_of(bob.id).await.unwrap();
    assert_ne!(alices, bobs);
    let sessions: Vec<String> = app
        .stripe
        .requests_to("/v1/checkout/sessions")
        .iter()
        .map(|session| session.field("customer").unwrap().to_owned())
        .collect();
    assert_eq!(sessions, [alices.clone(), alices, bobs]);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn two_checkouts_at_once_create_one_customer(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    let responses = send_together(vec![
        owner.checkout_request(&app, "pro"),
        owner.checkout_request(&app, "pro"),
    ])
    .await;

    assert_eq!(count_status(&responses, StatusCode::OK), 2);
    let customers = app.stripe.customers();
    assert_eq!(customers.len(), 1, "{:?}", app.stripe.requests());
    assert_eq!(app.customer_of(owner.id).await, Some(customers[0].clone()));
    for session in app.stripe.requests_to("/v1/checkout/sessions") {
        assert_eq!(session.field("customer"), Some(customers[0].as_str()));
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_portal_opens_for_the_owners_customer(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    url_of(owner.checkout(&app, "pro").await).await;
    let customer = app.customer_of(owner.id).await.unwrap();

    let url = url_of(owner.portal(&app).await).await;

    assert!(
        url.starts_with("https://billing.stripe.test/p/session/bps_"),
        "{url}"
    );
    let portals = app.stripe.requests_to("/v1/billing_portal/sessions");
    assert_eq!(portals.len(), 1);
    assert_eq!(portals[0].field("customer"), Some(customer.as_str()));
    assert!(
        portals[0]
            .field("return_url")
            .unwrap_or_default()
            .starts_with("http")
    );
    assert_eq!(app.stripe.customers(), [customer]);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn checkout_for_the_free_plan_or_an_unknown_one_is_refused(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;

    for plan in ["free", "enterprise", "", "PRO"] {
        let response = owner.checkout(&app, plan).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }

    assert!(
        app.stripe.requests().is_empty(),
        "{:?}",
        app.stripe.requests()
    );
    assert_eq!(app.accounts().await, before);
}

/// Asserts 503 `billing_not_configured` with a message naming `variable`.
async fn assert_not_configured(response: reqwest::Response, variable: &str) {
    let body = assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "billing_not_configured",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(variable), "{body}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn without_a_secret_key_checkout_and_portal_say_what_is_missing(db: DbPool) {
    let app = spawn_billing_app_with(db, &[("", "STRIPE_SECRET_KEY")]).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;

    assert_not_configured(owner.checkout(&app, "pro").await, "STRIPE_SECRET_KEY").await;
    assert_not_configured(owner.portal(&app).await, "STRIPE_SECRET_KEY").await;

    assert!(app.stripe.requests().is_empty());
    assert_eq!(app.accounts().await, before);
    assert_eq!(owner.plan(&app).await, "free");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_app_with_no_stripe_configuration_at_all_serves_billing_on_the_free_plan(db: DbPool) {
    let app = spawn_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    assert_eq!(owner.plan(&app).await, "free");
    assert_not_configured(owner.checkout(&app, "pro").await, "STRIPE_SECRET_KEY").await;
    assert_eq!(
        app.accounts()
            .await
            .iter()
            .filter(|a| a.stripe_customer_id.is_some())
            .count(),
        0
    );
}

/// Asserts 502 `billing_provider_error` that does not pass Stripe's words on.
async fn assert_provider_error(response: reqwest::Response) {
    let body = assert_error(response, StatusCode::BAD_GATEWAY, "billing_provider_error").await;
    assert!(!body.to_string().contains(FAILURE_MESSAGE), "{body}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn stripe_failing_to_create_the_customer_is_502_and_the_next_checkout_succeeds(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    app.stripe.fail_next(StatusCode::INTERNAL_SERVER_ERROR);
    assert_provider_error(owner.checkout(&app, "pro").await).await;

    let requests = app.stripe.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, "/v1/customers");
    assert_eq!(app.customer_of(owner.id).await, None);
    assert!(app.stripe.customers().is_empty());
    assert!(app.stripe.requests_to("/v1/checkout/sessions").is_empty());

    // Stripe is back. It would replay its 500 to the same idempotency key for a day,
    // so the next checkout must ask with another one.
    url_of(owner.checkout(&app, "pro").await).await;
    let keys: Vec<_> = app
        .stripe
        .requests_to("/v1/customers")
        .into_iter()
        .map(|request| request.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
    assert_eq!(app.stripe.customers().len(), 1);
    assert_eq!(
        app.customer_of(owner.id).await,
        app.stripe.customers().first().cloned()
    );
    // The metrics count each call by its outcome.
    let metrics = app.state.metrics.render(&app.state).await.unwrap();
    let answered = app.stripe.requests().len();
    assert!(metrics.contains("stripe_calls_total{outcome=\"refused\"} 1\n"));
    let ok = [
        r#"stripe_calls_total{outcome="ok"} "#,
        &(answered - 1).to_string(),
        "\n",
    ]
    .concat();
    assert!(metrics.contains(&ok), "{ok} in {metrics}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_customer_call_that_gets_no_answer_is_retried_with_the_same_key(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    // A 4xx is not kept by Stripe, like a call whose answer was lost: the key stays,
    // so a customer Stripe made before the answer was lost would be found again.
    app.stripe.fail_next(StatusCode::TOO_MANY_REQUESTS);
    assert_provider_error(owner.checkout(&app, "pro").await).await;
    url_of(owner.checkout(&app, "pro").await).await;

    let keys: Vec<_> = app
        .stripe
        .requests_to("/v1/customers")
        .into_iter()
        .map(|request| request.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
    assert_eq!(app.stripe.customers().len(), 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn stripe_out_of_reach_is_502_and_counted_unreachable(db: DbPool) {
    // A port nothing listens on: the connection is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_billing_app_with(db, &[("STRIPE_API_BASE", base.as_str())]).await;
    let owner = app.new_owner("alice@example.com").await;

    assert_provider_error(owner.checkout(&app, "pro").await).await;
    assert_eq!(app.customer_of(owner.id).await, None);
    let metrics = app.state.metrics.render(&app.state).await.unwrap();
    assert!(
        metrics.contains("stripe_calls_total{outcome=\"unreachable\"} 1\n"),
        "{metrics}"
    );
    assert!(!metrics.contains("outcome=\"ok\""), "{metrics}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn stripe_refusing_the_session_or_the_portal_is_502(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    app.stripe
        .fail_next_call_to("/v1/checkout/sessions", StatusCode::PAYMENT_REQUIRED);
    assert_provider_error(owner.checkout(&app, "pro").await).await;
    // The plan is Stripe's to change; a failed checkout leaves it alone.
    assert_eq!(owner.plan(&app).await, "free");
    let after_failure = app.account(owner.id).await;
    assert!(after_failure.is_none_or(|a| a.stripe_subscription_id.is_none() && a.plan.is_none()));

    url_of(owner.checkout(&app, "pro").await).await;
    app.stripe.fail_next_call_to(
        "/v1/billing_portal/sessions",
        StatusCode::INTERNAL_SERVER_ERROR,
    );
    assert_provider_error(owner.portal(&app).await).await;
    // One customer all along: the failure did not make the app forget it.
    assert_eq!(app.stripe.customers().len(), 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_secret_key_stripe_rejects_is_502_and_links_no_customer(db: DbPool) {
    let app = spawn_billing_app_with(db, &[("STRIPE_SECRET_KEY", "sk_test_revoked")]).await;
    let owner = app.new_owner("alice@example.com").await;

    assert_provider_error(owner.checkout(&app, "pro").await).await;

    let requests = app.stripe.requests();
    assert!(!requests.is_empty());
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer sk_test_revoked")
    );
    assert_eq!(app.customer_of(owner.id).await, None);
    assert!(app.stripe.customers().is_empty());
    assert_eq!(owner.plan(&app).await, "free");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn billing_routes_need_a_signed_in_caller(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let anonymous = Owner {
        id: owner.id,
        client: app.another_client(),
        base: owner.base.clone(),
    };

    let response = anonymous.billing(&app).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let response = anonymous.checkout(&app, "pro").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let response = anonymous.portal(&app).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert!(app.stripe.requests().is_empty());
}

/// The roles below owner, each with the client of a member holding it.
async fn members(app: &crate::common::TestApp, org_id: uuid::Uuid) -> Vec<(Role, Owner)> {
    let roles = [Role::Admin, Role::Member];
    let mut members = Vec::new();
    for role in roles {
        let email = format!("{role}@example.com");
        let client = app.add_member(org_id, &email, role.as_str()).await;
        let base = format!("/orgs/{org_id}/billing");
        members.push((
            role,
            Owner {
                id: org_id,
                client,
                base,
            },
        ));
    }
    members
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn only_members_with_billing_manage_may_check_out_or_open_the_portal(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    url_of(owner.checkout(&app, "pro").await).await;
    let requests_before = app.stripe.requests().len();
    let before = app.accounts().await;

    for (role, member) in members(&app, owner.id).await {
        // Reading the plan is for every member.
        assert_eq!(member.plan(&app).await, "free", "{role}");
        let checkout = member.checkout(&app, "pro").await;
        let portal = member.portal(&app).await;
        if Permission::BillingManage.allows(role) {
            url_of(checkout).await;
            url_of(portal).await;
        } else {
            assert_error(checkout, StatusCode::FORBIDDEN, "forbidden").await;
            assert_error(portal, StatusCode::FORBIDDEN, "forbidden").await;
            assert_eq!(app.stripe.requests().len(), requests_before, "{role}");
        }
        assert_eq!(app.accounts().await, before, "{role}");
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_outsider_gets_404_for_another_organizations_billing(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let mallory = app.new_owner("mallory@example.com").await;
    let intruder = Owner {
        id: owner.id,
        client: mallory.client.clone(),
        base: owner.base.clone(),
    };
    let before = app.accounts().await;

    let response = intruder.billing(&app).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = intruder.checkout(&app, "pro").await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = intruder.portal(&app).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    assert!(app.stripe.requests().is_empty());
    assert_eq!(app.accounts().await, before);
}

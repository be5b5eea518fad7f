//! What verified Stripe events do: linking, the plan each subscription status grants,
//! cancellation, and the delivery rules: each event id applied once however often and
//! however concurrently it arrives, older events never overwriting newer ones, unknown
//! events and customers acknowledged and ignored, a failed apply saving nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use acme_pg::db::DbPool;

use crate::common::{
    billing::{PRO_PRICE, TEAM_PRICE, spawn_billing_app},
    count_status, send_together,
    webhooks::{
        Subscription, checkout_completed, delivery, event, now, payment_failed, send_event,
        stripe_id, subscribe,
    },
};

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

#[sqlx::test]
async fn an_owner_who_never_subscribed_is_on_the_free_plan(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    let status = owner.status(&app).await;

    assert_eq!(status["plan"], "free", "{status}");
    assert_eq!(status["features"], json!([]), "{status}");
    assert_eq!(status["cancel_at_period_end"], false, "{status}");
    assert!(status["current_period_end"].is_null(), "{status}");
}

#[sqlx::test]
async fn checkout_completed_links_the_customer_and_subscription_to_the_owner(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let bystander = app.new_owner("bob@example.com").await;
    let bystander_before = app.account(bystander.id).await;

    let completed = checkout_completed(
        &stripe_id("evt"),
        now(),
        &owner.id.to_string(),
        "cus_linked",
        "sub_linked",
    );
    let response = send_event(&app, &completed).await;

    assert_eq!(response.status(), StatusCode::OK);
    let account = app.account(owner.id).await.expect("a billing row");
    assert_eq!(account.stripe_customer_id.as_deref(), Some("cus_linked"));
    assert_eq!(
        account.stripe_subscription_id.as_deref(),
        Some("sub_linked")
    );
    assert_eq!(app.account(bystander.id).await, bystander_before);
}

#[sqlx::test]
async fn an_active_subscription_grants_its_plan_with_the_period_it_covers(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;

    let status = owner.status(&app).await;
    assert_eq!(status["plan"], "pro", "{status}");
    assert_eq!(status["status"], "active", "{status}");
    assert_eq!(status["features"], json!(["reports"]), "{status}");
    assert_eq!(status["cancel_at_period_end"], false, "{status}");
    let period_end =
        OffsetDateTime::parse(status["current_period_end"].as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!(period_end, at(subscription.current_period_end));

    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.plan.as_deref(), Some("pro"));
    assert_eq!(account.status.as_deref(), Some("active"));
    assert_eq!(
        account.stripe_subscription_id.as_deref(),
        Some(subscription.id.as_str())
    );
    assert_eq!(
        account.current_period_end,
        Some(at(subscription.current_period_end))
    );
    assert_eq!(app.stripe_events().await.len(), 2);
}

#[sqlx::test]
async fn the_plan_is_the_one_whose_price_the_subscription_has(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let team = app.new_owner("alice@example.com").await;
    let unknown = app.new_owner("bob@example.com").await;

    subscribe(&app, team.id, TEAM_PRICE, "active").await;
    subscribe(&app, unknown.id, "price_nobody_configured", "active").await;

    assert_eq!(team.plan(&app).await, "team");
    let status = team.status(&app).await;
    assert_eq!(status["features"], json!(["reports", "sso"]), "{status}");
    // A price no plan has grants nothing: fail closed.
    assert_eq!(unknown.plan(&app).await, "free");
}

#[sqlx::test]
async fn each_subscription_status_grants_the_paid_plan_or_falls_back_to_free(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let day = 86_400;
    // (status, current_period_end, the plan it grants). The grace for past_due is the
    // default seven days after the period's end.
    let cases = [
        ("trialing", now() + 14 * day, "pro"),
        ("active", now() + 30 * day, "pro"),
        ("past_due", now() - day, "pro"),
        ("past_due", now() - 8 * day, "free"),
        ("incomplete", now() + 30 * day, "free"),
        ("incomplete_expired", now() + 30 * day, "free"),
        ("unpaid", now() + 30 * day, "free"),
        ("canceled", now() + 30 * day, "free"),
        ("paused", now() + 30 * day, "free"),
        ("some_status_stripe_adds_later", now() + 30 * day, "free"),
    ];
    for (index, (status, period_end, plan)) in cases.into_iter().enumerate() {
        let owner = app.new_owner(&format!("owner{index}@example.com")).await;
        let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
        assert_eq!(owner.plan(&app).await, "pro", "{status}: while active");

        let mut changed = subscription.with_status(status);
        changed.current_period_end = period_end;
        let response = send_event(
            &app,
            &changed.event("updated", &stripe_id("evt"), now() - 30),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{status}");

        let reported = owner.status(&app).await;
        assert_eq!(
            reported["plan"], plan,
            "{status} ending {period_end}: {reported}"
        );
        let stored = app.account(owner.id).await.unwrap();
        assert_eq!(stored.status.as_deref(), Some(status), "{status}");
    }
}

#[sqlx::test]
async fn a_cancelled_subscription_falls_back_to_free(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;

    // Cancelling at the period's end keeps the plan until then.
    let mut ending = subscription.clone();
    ending.cancel_at_period_end = true;
    let response = send_event(
        &app,
        &ending.event("updated", &stripe_id("evt"), now() - 20),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let status = owner.status(&app).await;
    assert_eq!(
        (&status["plan"], &status["cancel_at_period_end"]),
        (&json!("pro"), &json!(true)),
        "{status}"
    );

    let ended = ending.with_status("canceled");
    let response = send_event(&app, &ended.event("deleted", &stripe_id("evt"), now() - 10)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let status = owner.status(&app).await;
    assert_eq!(status["plan"], "free", "{status}");
    assert_eq!(status["features"], json!([]), "{status}");
    assert_eq!(
        app.account(owner.id).await.unwrap().status.as_deref(),
        Some("canceled")
    );
}

#[sqlx::test]
async fn a_trial_grants_the_plan_and_records_its_end(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let customer = stripe_id("cus");
    let trial_end = now() + 14 * 86_400;
    let mut trial = Subscription::new(&customer, PRO_PRICE).with_status("trialing");
    trial.trial_end = Some(trial_end);
    trial.current_period_end = trial_end;
    let completed = checkout_completed(
        &stripe_id("evt"),
        now() - 5,
        &owner.id.to_string(),
        &customer,
        &trial.id,
    );

    assert_eq!(send_event(&app, &completed).await.status(), StatusCode::OK);
    let response = send_event(&app, &trial.event("created", &stripe_id("evt"), now() - 5)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let status = owner.status(&app).await;
    assert_eq!(
        (&status["plan"], &status["status"]),
        (&json!("pro"), &json!("trialing"))
    );
    assert_eq!(
        app.account(owner.id).await.unwrap().trial_end,
        Some(at(trial_end))
    );
}

#[sqlx::test]
async fn a_resubscription_after_cancelling_grants_the_plan_again(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let first = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let deleted = first
        .with_status("canceled")
        .event("deleted", &stripe_id("evt"), now() - 50);
    assert_eq!(send_event(&app, &deleted).await.status(), StatusCode::OK);
    assert_eq!(owner.plan(&app).await, "free");

    // Stripe starts a new subscription, for the same customer.
    let second = Subscription::new(&first.customer, TEAM_PRICE);
    let completed = checkout_completed(
        &stripe_id("evt"),
        now() - 40,
        &owner.id.to_string(),
        &first.customer,
        &second.id,
    );
    assert_eq!(send_event(&app, &completed).await.status(), StatusCode::OK);
    let response = send_event(
        &app,
        &second.event("created", &stripe_id("evt"), now() - 40),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(owner.plan(&app).await, "team");
    let account = app.account(owner.id).await.unwrap();
    assert_eq!(
        account.stripe_subscription_id.as_deref(),
        Some(second.id.as_str())
    );
    assert_eq!(account.status.as_deref(), Some("active"));
}

#[sqlx::test]
async fn a_failed_payment_is_recorded_and_leaves_the_plan_to_the_subscription(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    assert_eq!(app.account(owner.id).await.unwrap().payment_failed_at, None);

    let response = send_event(
        &app,
        &payment_failed(&stripe_id("evt"), now() - 5, &subscription),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        app.account(owner.id)
            .await
            .unwrap()
            .payment_failed_at
            .is_some()
    );
    assert_eq!(owner.plan(&app).await, "pro");
}

#[sqlx::test]
async fn an_event_delivered_five_times_is_applied_once(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let created = now() - 30;
    let past_due =
        subscription
            .with_status("past_due")
            .event("updated", &stripe_id("evt"), created);
    let active_again = subscription.event("updated", &stripe_id("evt"), created);

    assert_eq!(send_event(&app, &past_due).await.status(), StatusCode::OK);
    // Same second, later arrival: this one wins.
    assert_eq!(
        send_event(&app, &active_again).await.status(),
        StatusCode::OK
    );
    let after_first = app.account(owner.id).await.unwrap();
    assert_eq!(after_first.status.as_deref(), Some("active"));
    let events_after_first = app.stripe_events().await;

    // Redelivering the past_due event, each time freshly signed, must not apply it
    // again: were it applied, the tie rule would let it win.
    for attempt in 0..5 {
        let response = send_event(&app, &past_due).await;
        assert_eq!(response.status(), StatusCode::OK, "redelivery {attempt}");
    }

    assert_eq!(app.account(owner.id).await.unwrap(), after_first);
    assert_eq!(app.stripe_events().await, events_after_first);
    let id = past_due["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.stripe_events()
            .await
            .iter()
            .filter(|e| **e == id)
            .count(),
        1
    );
}

#[sqlx::test]
async fn ten_concurrent_deliveries_of_one_event_apply_it_once(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let events_before = app.stripe_events().await.len();
    let update =
        subscription
            .with_status("past_due")
            .event("updated", &stripe_id("evt"), now() - 30);

    let responses = send_together((0..10).map(|_| delivery(&app, &update)).collect()).await;

    assert_eq!(count_status(&responses, StatusCode::OK), 10);
    assert_eq!(app.stripe_events().await.len(), events_before + 1);
    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.status.as_deref(), Some("past_due"));
    assert_eq!(
        account.last_event_created,
        update["created"].as_i64().unwrap()
    );

    // A newer-arriving event of the same second wins the tie; ten concurrent
    // redeliveries of the first one must all be recognised, or it would win it back.
    let created = update["created"].as_i64().unwrap();
    let recovered = subscription.event("updated", &stripe_id("evt"), created);
    assert_eq!(send_event(&app, &recovered).await.status(), StatusCode::OK);
    let responses = send_together((0..10).map(|_| delivery(&app, &update)).collect()).await;

    assert_eq!(count_status(&responses, StatusCode::OK), 10);
    assert_eq!(
        app.account(owner.id).await.unwrap().status.as_deref(),
        Some("active")
    );
    assert_eq!(app.stripe_events().await.len(), events_before + 2);
}

#[sqlx::test]
async fn an_older_event_arriving_late_does_not_overwrite_a_newer_one(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "trialing").await;
    let (t1, t2) = (now() - 20, now() - 10);

    let newer = subscription
        .with_status("active")
        .event("updated", &stripe_id("evt"), t2);
    let older = subscription
        .with_status("past_due")
        .event("updated", &stripe_id("evt"), t1);
    assert_eq!(send_event(&app, &newer).await.status(), StatusCode::OK);
    let response = send_event(&app, &older).await;

    assert_eq!(response.status(), StatusCode::OK);
    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.status.as_deref(), Some("active"));
    assert_eq!(account.last_event_created, t2);
    let status = owner.status(&app).await;
    assert_eq!(
        (&status["plan"], &status["status"]),
        (&json!("pro"), &json!("active"))
    );
}

#[sqlx::test]
async fn a_cancelled_subscription_stays_cancelled_whatever_arrives_after(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let (t2, t3, t4) = (now() - 20, now() - 10, now() - 5);

    let deleted = subscription
        .with_status("canceled")
        .event("deleted", &stripe_id("evt"), t3);
    assert_eq!(send_event(&app, &deleted).await.status(), StatusCode::OK);
    // An update Stripe sent before the deletion, delivered after it.
    let late = subscription.event("updated", &stripe_id("evt"), t2);
    assert_eq!(send_event(&app, &late).await.status(), StatusCode::OK);
    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.status.as_deref(), Some("canceled"));
    assert_eq!(account.last_event_created, t3);

    // Even a newer event cannot revive this subscription id: Stripe never does.
    let revived = subscription.event("updated", &stripe_id("evt"), t4);
    assert_eq!(send_event(&app, &revived).await.status(), StatusCode::OK);
    assert_eq!(
        app.account(owner.id).await.unwrap().status.as_deref(),
        Some("canceled")
    );
    assert_eq!(owner.plan(&app).await, "free");
}

#[sqlx::test]
async fn an_unknown_event_type_is_acknowledged_and_changes_nothing(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let before = app.accounts().await;

    let unknown = event(
        &stripe_id("evt"),
        "customer.discount.created",
        now(),
        json!({ "id": stripe_id("di"), "object": "discount", "customer": "cus_whoever" }),
    );
    let response = send_event(&app, &unknown).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.accounts().await, before);
    assert!(
        app.stripe_events()
            .await
            .contains(&unknown["id"].as_str().unwrap().to_owned())
    );
}

#[sqlx::test]
async fn events_about_unknown_customers_or_owners_are_acknowledged_and_change_nothing(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let before = app.accounts().await;

    let stranger = Subscription::new("cus_nobody_here", PRO_PRICE);
    let nobody = uuid::Uuid::now_v7().to_string();
    let events: [Value; 4] = [
        stranger.event("updated", &stripe_id("evt"), now()),
        stranger
            .with_status("canceled")
            .event("deleted", &stripe_id("evt"), now()),
        checkout_completed(
            &stripe_id("evt"),
            now(),
            &nobody,
            "cus_nobody_here",
            &stranger.id,
        ),
        checkout_completed(
            &stripe_id("evt"),
            now(),
            "not-an-owner-id",
            "cus_nobody_here",
            &stranger.id,
        ),
    ];
    for event in &events {
        let response = send_event(&app, event).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", event["type"]);
    }

    assert_eq!(app.accounts().await, before);
    assert_eq!(owner.plan(&app).await, "pro");
}

/// Makes every write to `billing_accounts` fail, as a database fault would.
async fn break_billing_writes(app: &crate::common::TestApp) {
    sqlx::query(
        "create function refuse_billing_write() returns trigger language plpgsql as
         $$ begin raise exception 'injected fault'; end $$",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "create trigger refuse_billing_write before insert or update on billing_accounts
         for each row execute function refuse_billing_write()",
    )
    .execute(&app.db)
    .await
    .unwrap();
}

async fn repair_billing_writes(app: &crate::common::TestApp) {
    sqlx::query("drop trigger refuse_billing_write on billing_accounts")
        .execute(&app.db)
        .await
        .unwrap();
}

#[sqlx::test]
async fn an_event_that_fails_to_apply_is_500_saves_nothing_and_applies_on_redelivery(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let before = app.accounts().await;
    let events_before = app.stripe_events().await;
    let update =
        subscription
            .with_status("past_due")
            .event("updated", &stripe_id("evt"), now() - 10);

    break_billing_writes(&app).await;
    let response = send_event(&app, &update).await;

    let body: Value = response_json(response, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(body["error"]["code"], "internal", "{body}");
    assert!(!body.to_string().contains("injected fault"), "{body}");
    assert_eq!(app.accounts().await, before);
    assert_eq!(app.stripe_events().await, events_before);

    repair_billing_writes(&app).await;
    let response = send_event(&app, &update).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.account(owner.id).await.unwrap().status.as_deref(),
        Some("past_due")
    );
    assert_eq!(app.stripe_events().await.len(), events_before.len() + 1);
}

async fn response_json(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

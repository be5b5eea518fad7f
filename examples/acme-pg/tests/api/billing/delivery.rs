//! How Stripe's deliveries are applied: each event id once however often and however
//! concurrently it arrives, older events never overwriting newer ones, an ended
//! subscription staying ended, unknown events and customers acknowledged and ignored,
//! and a failed apply saving nothing so that Stripe's retry applies it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use app::db::DbPool;

use crate::common::{
    billing::{PRO_PRICE, spawn_billing_app},
    count_status, send_together,
    webhooks::{
        Subscription, checkout_completed, delivery, event, now, send_event, stripe_id, subscribe,
    },
};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

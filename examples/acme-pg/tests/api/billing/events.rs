//! What verified Stripe events do: linking a customer and subscription to an owner,
//! the plan each subscription status grants, trials, cancellation and re-subscription,
//! failed payments. How deliveries are applied is `delivery.rs`.

use reqwest::StatusCode;
use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use app::db::DbPool;

use crate::common::{
    billing::{BillingApp, PRO_PRICE, TEAM_PRICE, spawn_billing_app},
    webhooks::{
        Subscription, checkout_completed, now, payment_failed, send_event, stripe_id, subscribe,
    },
};

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_owner_who_never_subscribed_is_on_the_free_plan(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;

    let status = owner.status(&app).await;

    assert_eq!(status["plan"], "free", "{status}");
    assert_eq!(status["features"], json!([]), "{status}");
    assert_eq!(status["cancel_at_period_end"], false, "{status}");
    assert!(status["current_period_end"].is_null(), "{status}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn each_subscription_status_grants_the_paid_plan_or_falls_back_to_free(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let day = 86_400;
    // (status, current_period_end, the plan it grants). A past_due event is a failed
    // payment made when the event was: well within the grace.
    let cases = [
        ("trialing", now() + 14 * day, "pro"),
        ("active", now() + 30 * day, "pro"),
        ("past_due", now() + 30 * day, "pro"),
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_failed_payment_is_recorded_and_mailed_to_the_owner_once(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    assert_eq!(app.account(owner.id).await.unwrap().payment_failed_at, None);
    let failed_at = now() - 5;
    let failed = payment_failed(&stripe_id("evt"), failed_at, &subscription);

    for _ in 0..3 {
        assert_eq!(send_event(&app, &failed).await.status(), StatusCode::OK);
    }

    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.payment_failed_at, Some(at(failed_at)));
    assert_eq!(owner.plan(&app).await, "pro");
    let mail = app
        .outbox
        .wait_for("alice@example.com", "A payment failed", 1)
        .await;
    let ends = (at(failed_at) + time::Duration::days(7)).date();
    assert!(mail[0].text.contains(&ends.to_string()), "{}", mail[0].text);
    // The redeliveries were recognised: a moment later there is still one mail.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.outbox
            .messages_to("alice@example.com", "A payment failed")
            .len(),
        1
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn past_due_keeps_the_plan_for_the_grace_from_the_first_unsettled_failure(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let (day, t) = (86_400, now());
    let customer = stripe_id("cus");
    let mut subscription = Subscription::new(&customer, PRO_PRICE).with_status("active");
    let started = [
        checkout_completed(
            &stripe_id("evt"),
            t - 40 * day,
            &owner.id.to_string(),
            &customer,
            &subscription.id,
        ),
        subscription.event("created", &stripe_id("evt"), t - 40 * day),
    ];
    for event in &started {
        assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
    }
    // At renewal Stripe moves the period's end a month ahead, then charges: the charge
    // fails eight days ago and its retry five days ago. The events arrive out of order.
    subscription.current_period_end = t + 22 * day;
    let past_due = subscription.with_status("past_due");
    let unpaid = [
        payment_failed(&stripe_id("evt"), t - 5 * day, &subscription),
        past_due.event("updated", &stripe_id("evt"), t - 8 * day + 1),
        payment_failed(&stripe_id("evt"), t - 8 * day, &subscription),
    ];
    for event in &unpaid {
        assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
    }

    // Seven days of grace from the first failure are over, though the period is not.
    let status = owner.status(&app).await;
    assert_eq!(status["plan"], "free", "{status}");
    assert_eq!(status["status"], "past_due");
    let grace_ends = status["grace_ends_at"].as_str().unwrap();
    assert_eq!(
        OffsetDateTime::parse(grace_ends, &Rfc3339).unwrap(),
        at(t - 8 * day) + time::Duration::days(7)
    );

    // A payment goes through two days ago, and the next one fails yesterday: the grace
    // counts afresh from that failure. Newest first again.
    let again = [
        past_due.event("updated", &stripe_id("evt"), t - day + 1),
        payment_failed(&stripe_id("evt"), t - day, &subscription),
        subscription.event("updated", &stripe_id("evt"), t - 2 * day),
    ];
    for event in &again {
        assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
    }
    let status = owner.status(&app).await;
    assert_eq!(status["plan"], "pro", "{status}");
    let grace_ends = status["grace_ends_at"].as_str().unwrap();
    assert_eq!(
        OffsetDateTime::parse(grace_ends, &Rfc3339).unwrap(),
        at(t - day) + time::Duration::days(7)
    );

    // Paid again: no grace to show.
    let paid = subscription.event("updated", &stripe_id("evt"), t - 10);
    assert_eq!(send_event(&app, &paid).await.status(), StatusCode::OK);
    let status = owner.status(&app).await;
    assert_eq!(status["plan"], "pro");
    assert_eq!(status["grace_ends_at"], json!(null), "{status}");
    assert_eq!(app.account(owner.id).await.unwrap().payment_failed_at, None);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_failed_payment_and_its_recovery_count_by_when_stripe_made_them_not_by_arrival(
    db: DbPool,
) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let t = now();
    // Stripe made these in order: the payment failed, the subscription went past due,
    // then it was paid and active again. They arrive newest first.
    let failed = payment_failed(&stripe_id("evt"), t - 30, &subscription);
    let past_due = subscription
        .with_status("past_due")
        .event("updated", &stripe_id("evt"), t - 30);
    let recovered = subscription.event("updated", &stripe_id("evt"), t - 10);
    for event in [&recovered, &past_due, &failed] {
        assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
    }
    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.payment_failed_at, None);
    assert_eq!(account.status.as_deref(), Some("active"));

    // A newer failure stands, even when an older "active" event arrives after it.
    let failed_again = payment_failed(&stripe_id("evt"), t - 5, &subscription);
    let stale = subscription.event("updated", &stripe_id("evt"), t - 20);
    for event in [&failed_again, &stale] {
        assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.account(owner.id).await.unwrap().payment_failed_at,
        Some(at(t - 5))
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn two_events_of_the_same_second_settle_alike_in_either_order(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let t = now() - 10;

    for (index, greater_id_first) in [false, true].into_iter().enumerate() {
        let owner = app.new_owner(&format!("owner{index}@example.com")).await;
        let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
        let mut canceling = subscription.clone();
        canceling.cancel_at_period_end = true;
        // Made in the same second: the rule keeps the one with the greater id.
        let past_due = subscription.with_status("past_due");
        let lesser = past_due.event("updated", &format!("evt_a_{index}"), t);
        let greater = canceling.event("updated", &format!("evt_b_{index}"), t);
        let order = if greater_id_first {
            [&greater, &lesser]
        } else {
            [&lesser, &greater]
        };
        for event in order {
            assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
        }

        let account = app.account(owner.id).await.unwrap();
        assert_eq!(account.status.as_deref(), Some("active"), "order {index}");
        assert!(account.cancel_at_period_end, "order {index}");
        assert_eq!(account.last_event_created, t, "order {index}");
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_checkout_naming_another_owners_customer_is_logged_and_changes_nothing(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let alice = app.new_owner("alice@example.com").await;
    let bob = app.new_owner("bob@example.com").await;
    let alices = subscribe(&app, alice.id, PRO_PRICE, "active").await;
    let alice_before = app.account(alice.id).await;

    let completed = checkout_completed(
        &stripe_id("evt"),
        now(),
        &bob.id.to_string(),
        &alices.customer,
        &stripe_id("sub"),
    );
    let response = send_event(&app, &completed).await;

    // 200: an answer Stripe would retry for days helps nobody.
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.account(alice.id).await, alice_before);
    if let Some(bobs) = app.account(bob.id).await {
        assert_eq!(bobs.stripe_customer_id, None);
        assert_eq!(bobs.stripe_subscription_id, None);
    }
    assert_eq!(bob.plan(&app).await, "free");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_subscription_of_several_items_has_the_plan_of_its_first_plan_price(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let subscription = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let mut changed = subscription.event("updated", &stripe_id("evt"), now() - 10);
    // Seats first (no plan's price), then the team plan, then the pro plan.
    let item = |price: &str| {
        json!({
            "id": stripe_id("si"),
            "object": "subscription_item",
            "quantity": 1,
            "current_period_end": subscription.current_period_end,
            "price": { "id": price, "object": "price" },
        })
    };
    changed["data"]["object"]["items"]["data"] =
        json!([item("price_seats_addon"), item(TEAM_PRICE), item(PRO_PRICE)]);

    let response = send_event(&app, &changed).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(owner.plan(&app).await, "team");
}

/// Waits until the fake Stripe has cancelled one of `subscriptions`; returns which.
async fn cancelled_of(app: &BillingApp, subscriptions: [&str; 2]) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let cancelled = subscriptions
            .into_iter()
            .find(|id| app.stripe.subscription(id).as_deref() == Some("canceled"));
        if let Some(id) = cancelled {
            return id.to_owned();
        }
        let requests = app.stripe.requests();
        assert!(std::time::Instant::now() < deadline, "{requests:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_second_live_subscription_is_cancelled_at_stripe_and_its_events_ignored(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let first = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    // A second Checkout session, opened before the first was paid, is paid too.
    let second = Subscription::new(&first.customer, TEAM_PRICE).with_status("active");
    app.stripe.set_subscription(&first.id, "active");
    app.stripe.set_subscription(&second.id, "active");
    let events = [
        checkout_completed(
            &stripe_id("evt"),
            now() - 20,
            &owner.id.to_string(),
            &first.customer,
            &second.id,
        ),
        second.event("created", &stripe_id("evt"), now() - 20),
    ];
    for event in &events {
        assert_eq!(send_event(&app, event).await.status(), StatusCode::OK);
    }

    // The plan follows the newer subscription; the older one is cancelled at Stripe.
    let cancelled = cancelled_of(&app, [&first.id, &second.id]).await;
    assert_eq!(cancelled, first.id);
    let kept = app.stripe.subscription(&second.id);
    assert_eq!(kept.as_deref(), Some("active"));
    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.stripe_subscription_id, Some(second.id.clone()));
    assert_eq!(owner.plan(&app).await, "team");

    // Stripe then tells of the cancellation: it changes nothing.
    let ended = first.with_status("canceled");
    let event = ended.event("deleted", &stripe_id("evt"), now() - 5);
    assert_eq!(send_event(&app, &event).await.status(), StatusCode::OK);
    assert_eq!(owner.plan(&app).await, "team");
    let account = app.account(owner.id).await.unwrap();
    assert_eq!(account.status.as_deref(), Some("active"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_subscription_stripe_has_ended_is_not_cancelled_and_the_paid_one_stays(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let first = subscribe(&app, owner.id, PRO_PRICE, "active").await;
    let second = Subscription::new(&first.customer, TEAM_PRICE).with_status("active");
    // At Stripe the newer one has ended already (its event is on its way): cancelling
    // the other would leave the owner with none.
    app.stripe.set_subscription(&first.id, "active");
    app.stripe.set_subscription(&second.id, "canceled");

    let event = second.event("created", &stripe_id("evt"), now() - 20);
    assert_eq!(send_event(&app, &event).await.status(), StatusCode::OK);

    let checked = format!("/v1/subscriptions/{}", second.id);
    app.stripe.wait_for_requests(&checked, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let requests = app.stripe.requests();
    let deletes = requests.iter().filter(|request| request.method == "DELETE");
    assert_eq!(deletes.count(), 0, "{requests:?}");
    let first_status = app.stripe.subscription(&first.id);
    assert_eq!(first_status.as_deref(), Some("active"));
}

//! 1,000 Stripe webhook deliveries for 100 organizations: 800 events, 200 of them
//! delivered twice, shuffled, by 8 senders at once. The billing state must end as it
//! does when the 800 arrive once each, in order, one after another, and, for a few
//! organizations, as worked out by hand from their events.

use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    app::{self, Build, PRO_PRICE, Server, WEBHOOK_SECRET},
    check,
    client::{self, Tally},
    db,
};

const ORGS: usize = 100;
const DUPLICATES: usize = 200;
const SENDERS: usize = 8;

/// A small deterministic generator (xorshift), so a failing order can be replayed.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

fn subscription(i: usize, status: &str, cancel: bool, period_end: i64) -> Value {
    json!({
        "id": format!("sub_{i}"),
        "object": "subscription",
        "customer": format!("cus_{i}"),
        "status": status,
        "cancel_at_period_end": cancel,
        "current_period_end": period_end,
        "trial_end": null,
        "items": { "data": [{ "price": { "id": PRO_PRICE }, "current_period_end": period_end }] },
    })
}

/// The events of organization `i` (`org` is its id), in the order Stripe makes them:
/// each a second after the one before.
fn events_of(i: usize, org: &str, start: i64) -> Vec<Value> {
    let event = |n: i64, kind: &str, object: Value| {
        json!({
            "id": format!("evt_{i}_{n}"),
            "object": "event",
            "type": kind,
            "created": start + n,
            "data": { "object": object },
        })
    };
    let period = start + 30 * 86_400;
    let mut events = vec![
        event(
            0,
            "checkout.session.completed",
            json!({
                "id": format!("cs_{i}"), "object": "checkout.session", "mode": "subscription",
                "client_reference_id": org, "customer": format!("cus_{i}"),
                "subscription": format!("sub_{i}"),
            }),
        ),
        event(
            1,
            "customer.subscription.created",
            subscription(i, "active", false, period),
        ),
        event(
            2,
            "customer.subscription.updated",
            subscription(i, "past_due", false, period),
        ),
        event(
            3,
            "invoice.payment_failed",
            json!({
                "id": format!("in_{i}"), "object": "invoice", "customer": format!("cus_{i}"),
            }),
        ),
        event(
            4,
            "customer.subscription.updated",
            subscription(i, "active", false, period + 1),
        ),
        event(
            5,
            "customer.subscription.updated",
            subscription(i, "active", true, period + 1),
        ),
    ];
    events.push(match i % 3 {
        0 => event(
            6,
            "customer.subscription.deleted",
            subscription(i, "canceled", true, period + 1),
        ),
        1 => event(
            6,
            "customer.subscription.updated",
            subscription(i, "past_due", false, period + 2),
        ),
        _ => event(
            6,
            "customer.subscription.updated",
            subscription(i, "active", false, period + 2),
        ),
    });
    // A last invoice fails for every third organization; the others get an event of a
    // kind the app ignores.
    events.push(if i % 3 == 1 {
        event(
            7,
            "invoice.payment_failed",
            json!({
                "id": format!("in_{i}_2"), "object": "invoice", "customer": format!("cus_{i}"),
            }),
        )
    } else {
        event(
            7,
            "customer.updated",
            json!({ "id": format!("cus_{i}"), "object": "customer" }),
        )
    });
    events
}

fn signed(body: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("any key");
    mac.update(format!("{now}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("t={now},v1={hex}")
}

async fn deliver(
    client: &reqwest::Client,
    base: &str,
    event: &Value,
) -> reqwest::Result<StatusCode> {
    let body = event.to_string();
    client
        .post(format!("{base}/billing/webhook"))
        .header("stripe-signature", signed(&body))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map(|r| r.status())
}

/// A fresh app with 100 organizations, each with the Stripe customer that starting a
/// checkout stores; their events and the database URL.
async fn setup(build: &Build, name: &str) -> anyhow::Result<(Server, String, Vec<Value>)> {
    let url = build.fresh_database(name)?;
    let server = Server::start(build, name, app::env(&url, app::free_port()?, name)).await?;
    let client = client::client();
    let user = client::user(&client, &server.base, &format!("{name}@example.com")).await?;
    let mut events = Vec::new();
    for i in 0..ORGS {
        let org = client::org(&client, &server.base, &user, &format!("Org {i:03}")).await?;
        // What POST /orgs/{id}/billing/checkout stores before sending the customer to
        // Stripe (here without the Stripe API it would call).
        db::rows(
            &url,
            &format!(
                "insert into billing_accounts (owner_id, stripe_customer_id) values ({}, 'cus_{i}')",
                db::uuid_literal(&url, &org)
            ),
        )?;
        events.extend(events_of(i, &org, start_of(i)));
    }
    Ok((server, url, events))
}

/// The first second of organization `i`'s events.
fn start_of(i: usize) -> i64 {
    1_800_000_000 + 100 * i as i64
}

/// Organizations whose end state is also worked out by hand.
const BY_HAND: [usize; 6] = [0, 1, 2, 97, 98, 99];

/// What `events_of(i, …)` leaves, worked out from the events rather than by the app:
/// name, subscription, plan, status, period end, cancel at period end, payment failed.
fn by_hand(i: usize) -> String {
    let period = start_of(i) + 30 * 86_400;
    let (status, period_end, cancel, failed) = match i % 3 {
        // Deleted last; the failure at 3 was settled by the active event at 4.
        0 => ("canceled", period + 1, 1, 0),
        // Past due last, and the failure at 7 is newer than the last active event (5).
        1 => ("past_due", period + 2, 0, 1),
        // Active last (6), newer than the only failure (3).
        _ => ("active", period + 2, 0, 0),
    };
    format!("Org {i:03}|sub_{i}|pro|{status}|{period_end}|{cancel}|{failed}")
}

/// The billing state of the organizations of [`BY_HAND`], in the form of [`by_hand`].
fn state_by_hand(url: &str) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = BY_HAND.iter().map(|i| format!("'Org {i:03}'")).collect();
    db::rows(
        url,
        &format!(
            "select o.name, b.stripe_subscription_id, b.plan, b.status, {},
                    case when b.cancel_at_period_end then 1 else 0 end,
                    case when b.payment_failed_at is null then 0 else 1 end
             from billing_accounts b join organizations o on o.id = b.owner_id
             where o.name in ({}) order by o.name",
            db::epoch(url, "b.current_period_end"),
            names.join(", ")
        ),
    )
}

/// The billing state of every organization, by name.
fn billing_state(url: &str) -> anyhow::Result<Vec<String>> {
    db::rows(
        url,
        "select o.name, b.stripe_customer_id, b.stripe_subscription_id, b.plan, b.status,
                b.current_period_end, b.cancel_at_period_end, b.trial_end,
                b.last_event_created, b.payment_failed_at
         from billing_accounts b join organizations o on o.id = b.owner_id order by o.name",
    )
}

pub async fn run(build: Build) -> anyhow::Result<String> {
    let client = client::client();

    // The reference: each event once, in order, one at a time.
    let (reference, reference_url, mut in_order) = setup(&build, "rely_webhooks_ref").await?;
    in_order.sort_by_key(|event| event["created"].as_i64());
    for event in &in_order {
        let status = deliver(&client, &reference.base, event).await?;
        check!(
            status == StatusCode::OK,
            "in order, {}: {status}",
            event["id"]
        );
    }
    let expected = billing_state(&reference_url)?;
    drop(reference);

    // The same events with duplicates, shuffled, by several senders at once.
    let (server, url, events) = setup(&build, "rely_webhooks").await?;
    let distinct = events.len();
    let mut deliveries = events.clone();
    let mut shuffle = Shuffle(0x5eed_2026_1127);
    for _ in 0..DUPLICATES {
        deliveries.push(events[shuffle.next(distinct)].clone());
    }
    for i in (1..deliveries.len()).rev() {
        deliveries.swap(i, shuffle.next(i + 1));
    }
    let total = deliveries.len();
    let queue = Arc::new(Mutex::new(deliveries));
    let started = std::time::Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (client, base, queue) = (client.clone(), server.base.clone(), queue.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let Some(event) = queue.lock().expect("no sender panics").pop() else {
                        return tally;
                    };
                    tally.add(&deliver(&client, &base, &event).await);
                }
            })
        })
        .collect();
    let mut tally = Tally::default();
    for sender in senders {
        for (status, n) in sender.await?.0 {
            *tally.0.entry(status).or_default() += n;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let applied = db::number(&url, "select count(*) from stripe_events")?;
    let actual = billing_state(&url)?;
    let differing = expected.iter().zip(&actual).filter(|(a, b)| a != b).count();
    check!(tally.count("200") == total, "deliveries: {tally}");
    check!(
        applied == distinct as i64,
        "{applied} events recorded, {distinct} sent"
    );
    check!(
        expected.len() == ORGS && actual.len() == ORGS && differing == 0,
        "{differing} of {ORGS} organizations end differently; first: {:?}",
        expected.iter().zip(&actual).find(|(a, b)| a != b)
    );
    let hand: Vec<String> = BY_HAND.iter().map(|&i| by_hand(i)).collect();
    let stored = state_by_hand(&url)?;
    check!(
        stored == hand,
        "worked out by hand: {hand:?}; stored: {stored:?}"
    );
    Ok(format!(
        "{total} deliveries ({distinct} events, {DUPLICATES} again), shuffled, {SENDERS} \
         senders, in {seconds:.1} s: {tally}; events recorded {applied}; the {ORGS} \
         organizations' billing rows equal those of the in-order run, and {} of them \
         the states worked out by hand",
        BY_HAND.len()
    ))
}

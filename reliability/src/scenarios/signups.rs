//! 200 signups at once, 50 of them repeating an address already in the batch: exactly
//! 150 users, 150 × 201, 50 × 409, no 5xx.

use std::{sync::Arc, time::Instant};

use tokio::sync::Barrier;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
    db,
};

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_signups")?;
    let mut env = app::env(&url, app::free_port()?, "signups");
    // 200 hashes on two cores take seconds: wait for them rather than answer 503 busy,
    // which is what the default does with a flood (and what `logins` checks).
    env.push(("PASSWORD_HASH_MAX_WAIT_MS".into(), "120000".into()));
    let server = Server::start(&build, "signups", env).await?;
    let client = client::client();

    let mut emails: Vec<String> = (0..150).map(|i| format!("user{i}@example.com")).collect();
    emails.extend((0..50).map(|i| format!("USER{}@example.com", i * 3)));
    let barrier = Arc::new(Barrier::new(emails.len()));
    let started = Instant::now();
    let tasks: Vec<_> = emails
        .into_iter()
        .map(|email| {
            let (client, base, barrier) = (client.clone(), server.base.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                client::signup(&client, &base, &email)
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        tally.add(&task.await?);
    }
    let seconds = started.elapsed().as_secs_f64();

    let users = db::number(&url, "select count(*) from users")?;
    let addresses = db::number(&url, "select count(distinct lower(email)) from users")?;
    check!(
        tally.count("201") == 150 && tally.count("409") == 50 && tally.total() == 200,
        "expected 150×201 and 50×409, saw {tally}"
    );
    check!(
        users == 150 && addresses == 150,
        "{users} users with {addresses} addresses"
    );
    Ok(format!(
        "200 signups (50 repeat an address, in another case) in {seconds:.1} s: {tally}; \
         users stored: {users}, distinct addresses: {addresses}"
    ))
}

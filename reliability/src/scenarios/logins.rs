//! 200 logins at once while `/health` is asked every 20 ms: hashing is bounded and off
//! the async runtime, so health answers stay fast, and the logins each get 200 or 503
//! `busy` (the hasher's bounded wait), never a 500.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Barrier, watch};

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
};

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_logins")?;
    let server = Server::start(
        &build,
        "logins",
        app::env(&url, app::free_port()?, "logins"),
    )
    .await?;
    let client = client::client();
    let user = client::user(&client, &server.base, "login@example.com").await?;

    let (stop, stopped) = watch::channel(false);
    let probe = {
        let (client, base) = (client::client(), server.base.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !*stopped.borrow() {
                let started = Instant::now();
                let ok = client
                    .get(format!("{base}/health"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                latencies.push((started.elapsed(), ok));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            latencies
        })
    };
    let barrier = Arc::new(Barrier::new(200));
    let started = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (client, base, email, barrier) = (
                client.clone(),
                server.base.clone(),
                user.email.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                client::login(&client, &base, &email)
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
    stop.send(true)?;
    let mut latencies = probe.await?;

    let failed_probes = latencies.iter().filter(|(_, ok)| !ok).count();
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].0;
    let (p50, p99, max) = (
        percentile(0.5),
        percentile(0.99),
        latencies.last().unwrap().0,
    );
    check!(
        tally.count("200") + tally.count("503") == 200 && tally.count("200") > 0,
        "logins: {tally}"
    );
    check!(failed_probes == 0, "{failed_probes} health probes failed");
    check!(
        p99 < Duration::from_millis(250),
        "health p99 {p99:?} (p50 {p50:?}, max {max:?}) under the login flood"
    );
    Ok(format!(
        "200 logins at once, done in {seconds:.1} s: {tally}; {} health probes meanwhile, \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, none failed",
        latencies.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    ))
}

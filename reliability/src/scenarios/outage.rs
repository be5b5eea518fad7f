//! PostgreSQL gone for 4 seconds under load, through a proxy that this suite cuts: the
//! app answers 503 quickly (no request waits past the acquire timeout), and serves again
//! without a restart once the database is back.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
};

const ACQUIRE_TIMEOUT_SECONDS: u64 = 2;

/// A TCP proxy to PostgreSQL that drops every connection while `down` is set.
async fn proxy(listener: TcpListener, upstream: String, down: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        if *down.borrow() {
            continue; // dropped: the connection closes at once
        }
        let mut down = down.clone();
        let upstream = upstream.clone();
        connections.spawn(async move {
            let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = down.wait_for(|down| *down) => {}
            }
        });
    }
}

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_outage")?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let proxied = url.replace("127.0.0.1:5432", &listener.local_addr()?.to_string());
    anyhow::ensure!(
        proxied != url,
        "the database URL names 127.0.0.1:5432: {url}"
    );
    let (cut, down) = watch::channel(false);
    tokio::spawn(proxy(listener, "127.0.0.1:5432".to_owned(), down));

    let mut env = app::env(&proxied, app::free_port()?, "outage");
    env.push((
        "DATABASE_ACQUIRE_TIMEOUT_SECONDS".into(),
        ACQUIRE_TIMEOUT_SECONDS.to_string(),
    ));
    let server = Server::start(&build, "outage", env).await?;
    let client = client::client();
    let user = client::user(&client, &server.base, "outage@example.com").await?;
    let org = client::org(&client, &server.base, &user, "Org").await?;
    let path = format!("{}/orgs/{org}/notes", server.base);

    let running = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (client, path, token) = (client.clone(), path.clone(), user.token.clone());
            let running = running.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while running.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let status = client
                        .get(&path)
                        .bearer_auth(&token)
                        .send()
                        .await
                        .map(|r| r.status());
                    seen.push((started, Instant::now(), status));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut_at = Instant::now();
    cut.send(true)?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    cut.send(false)?;
    let restored = Instant::now();
    // Back to 200 without a restart: the first success after the cut ends.
    let mut recovered_after = None;
    while restored.elapsed() < Duration::from_secs(20) {
        let ok = client
            .get(&path)
            .bearer_auth(&user.token)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            recovered_after = Some(restored.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    running.store(false, Ordering::Relaxed);

    // Each request by when it ran: done before the cut, in flight at the cut or sent
    // while the database was away (timed), or sent after it came back.
    let (mut before, mut during, mut after) =
        (Tally::default(), Tally::default(), Tally::default());
    let mut slowest_during = Duration::ZERO;
    for reader in readers {
        for (started, finished, status) in reader.await? {
            if finished < cut_at {
                before.add(&status);
            } else if started < restored {
                slowest_during = slowest_during.max(finished - started);
                during.add(&status);
            } else {
                after.add(&status);
            }
        }
    }
    let limit = Duration::from_secs(ACQUIRE_TIMEOUT_SECONDS) + Duration::from_millis(1500);
    check!(
        before.count("200") > 0 && before.count("200") == before.total(),
        "before the cut, every read is 200: {before}"
    );
    check!(
        recovered_after.is_some(),
        "no 200 within 20 s of the database coming back"
    );
    // Only a read that finished before the database went may be 200; the rest are 503.
    check!(
        during.count("503") > 0 && during.count("200") + during.count("503") == during.total(),
        "while down, only 503 (or a 200 that beat the cut): {during}"
    );
    check!(
        slowest_during <= limit,
        "a request took {slowest_during:?} while the database was down (limit {limit:?})"
    );
    check!(
        after.count("200") > 0 && after.count("200") + after.count("503") == after.total(),
        "after the cut, 200 (or 503 while the pool reconnects): {after}"
    );
    Ok(format!(
        "8 readers; before the cut {before}; in flight at or sent during the 4 s cut \
         {during}, slowest {:.2} s (acquire timeout {ACQUIRE_TIMEOUT_SECONDS} s); after \
         {after}; first 200 {:.2} s after it came back, no restart",
        slowest_during.as_secs_f64(),
        recovered_after.unwrap_or_default().as_secs_f64()
    ))
}

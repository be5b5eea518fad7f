//! SIGTERM while 32 clients write: readiness answers 503 while liveness and the writes
//! still succeed for the shutdown delay, then the app stops accepting, finishes what is
//! in flight, stops its worker, closes its pool and exits 0; every row was answered 201
//! and every 201 is a row (nothing torn, nothing half-answered).

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
    db,
};

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_sigterm")?;
    let mut env = app::env(&url, app::free_port()?, "sigterm");
    // Two seconds in which readiness fails while requests are still served.
    env.push(("SHUTDOWN_DELAY_SECONDS".to_owned(), "2".to_owned()));
    let mut server = Server::start(&build, "sigterm", env).await?;
    let client = client::client();
    let user = client::user(&client, &server.base, "sigterm@example.com").await?;
    let org = client::org(&client, &server.base, &user, "Org").await?;

    let writers: Vec<_> = (0..32)
        .map(|w| {
            let (client, base, user) = (client.clone(), server.base.clone(), user.clone());
            let path = format!("/orgs/{org}/notes");
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for i in 0.. {
                    let body = json!({ "body": format!("writer {w} note {i}") });
                    let outcome = client::post(&client, &base, &user, &path, body).await;
                    let refused = outcome.is_err();
                    seen.push(outcome);
                    if refused {
                        break; // the server is gone
                    }
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let probes = tokio::spawn(draining_probes(client.clone(), server.base.clone()));
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (server, status)
    })
    .await?;
    let (server, status) = (status.0, status.1?);
    let draining = probes.await?;

    let mut tally = Tally::default();
    let mut created = BTreeSet::new();
    let mut idle_writers = 0;
    for writer in writers {
        let outcomes = writer.await?;
        if !outcomes
            .iter()
            .any(|outcome| client::created_id(outcome).is_some())
        {
            idle_writers += 1;
        }
        for outcome in outcomes {
            created.extend(client::created_id(&outcome));
            tally.add(&outcome.map(|(status, _)| status));
        }
    }
    let rows: BTreeSet<String> = db::rows(
        &url,
        &format!("select {} from notes", db::uuid_hex(&url, "id")),
    )?
    .into_iter()
    .collect();
    let log = server.log_text();
    check!(status.success(), "exit status {status}");
    // Every answer is a 201; a writer's last request may find the listener closed.
    check!(
        tally.count("201") + tally.count("error") == tally.total() && tally.count("error") <= 32,
        "saw {tally}"
    );
    check!(
        idle_writers == 0,
        "{idle_writers} of 32 writers stored nothing in 1.5 s"
    );
    check!(
        rows == created,
        "{} rows, {} answered 201: {} rows without a 201, {} 201s without a row",
        rows.len(),
        created.len(),
        rows.difference(&created).count(),
        created.difference(&rows).count()
    );
    check!(
        draining > 0,
        "readiness never answered 503 beside a live 200 during the shutdown delay"
    );
    check!(
        log.contains("shutting down") && log.contains("shut down") && !log.contains("panicked"),
        "the log does not show a clean stop"
    );
    Ok(format!(
        "32 writers, SIGTERM after 1.5 s: {status}; {tally} (errors: requests after \
         the listener closed); rows {} = 201s {}; {draining} probes saw ready 503 and \
         live 200 during the 2 s delay",
        rows.len(),
        created.len()
    ))
}

/// Asks readiness and liveness every 50 ms until the server stops accepting (or 10 s
/// pass); returns how many times readiness was 503 while liveness was 200.
async fn draining_probes(client: reqwest::Client, base: String) -> usize {
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut draining = 0;
    while Instant::now() < give_up {
        let ready = client.get(format!("{base}/health/ready")).send().await;
        let live = client.get(format!("{base}/health/live")).send().await;
        let (Ok(ready), Ok(live)) = (ready, live) else {
            break; // the listener closed
        };
        if ready.status() == 503 && live.status() == 200 {
            draining += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    draining
}

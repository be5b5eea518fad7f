//! SIGTERM while 32 clients write: the app stops accepting, finishes what is in
//! flight, stops its worker and exits 0; every row was answered 201 and every 201 is a
//! row (nothing torn, nothing half-answered).

use std::{collections::BTreeSet, time::Duration};

use serde_json::json;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
    db,
};

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_sigterm")?;
    let mut server = Server::start(
        &build,
        "sigterm",
        app::env(&url, app::free_port()?, "sigterm"),
    )
    .await?;
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
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (server, status)
    })
    .await?;
    let (server, status) = (status.0, status.1?);

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
        log.contains("shutting down") && !log.contains("panicked"),
        "the log does not show a clean stop"
    );
    Ok(format!(
        "32 writers, SIGTERM after 1.5 s: {status}; {tally} (errors: requests after \
         the listener closed); rows {} = 201s {}",
        rows.len(),
        created.len()
    ))
}

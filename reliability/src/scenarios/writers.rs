//! 100 writers at once across 5 organizations: all 100 answered 201, no "database is
//! locked", every 201 is a row and every row was a 201.

use std::{collections::BTreeSet, sync::Arc, time::Instant};

use serde_json::json;
use tokio::sync::Barrier;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
    db,
};

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_writers")?;
    let server = Server::start(
        &build,
        "writers",
        app::env(&url, app::free_port()?, "writers"),
    )
    .await?;
    let client = client::client();
    let user = client::user(&client, &server.base, "writer@example.com").await?;
    let mut orgs = Vec::new();
    for i in 0..5 {
        orgs.push(client::org(&client, &server.base, &user, &format!("Org {i}")).await?);
    }

    let barrier = Arc::new(Barrier::new(100));
    let started = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (client, base, user, barrier) = (
                client.clone(),
                server.base.clone(),
                user.clone(),
                barrier.clone(),
            );
            let path = format!("/orgs/{}/notes", orgs[i % orgs.len()]);
            tokio::spawn(async move {
                barrier.wait().await;
                client::post(
                    &client,
                    &base,
                    &user,
                    &path,
                    json!({ "body": format!("note {i}") }),
                )
                .await
            })
        })
        .collect();
    let mut tally = Tally::default();
    let mut created = BTreeSet::new();
    for task in tasks {
        let outcome = task.await?;
        created.extend(client::created_id(&outcome));
        tally.add(&outcome.map(|(status, _)| status));
    }
    let seconds = started.elapsed().as_secs_f64();

    let rows: BTreeSet<String> = db::rows(
        &url,
        &format!("select {} from notes", db::uuid_hex(&url, "id")),
    )?
    .into_iter()
    .collect();
    let locked = server.log_text().matches("database is locked").count();
    check!(
        tally.count("201") == 100 && created.len() == 100,
        "every create is a 201 with its own id: saw {tally}, {} ids",
        created.len()
    );
    check!(
        locked == 0,
        "\"database is locked\" {locked} times in the log"
    );
    check!(
        rows == created,
        "{} rows, {} answered 201; {} rows without a 201, {} 201s without a row",
        rows.len(),
        created.len(),
        rows.difference(&created).count(),
        created.difference(&rows).count()
    );
    Ok(format!(
        "100 creates at once across 5 organizations in {seconds:.2} s: {tally}; \
         rows: {} (each a 201), \"database is locked\" in the log: {locked}",
        rows.len()
    ))
}

//! The free plan allows 20 projects. With 19 made, 20 creates at once in each of three
//! organizations: exactly one succeeds in each, the rest are 402, and 20 rows remain.

use std::{sync::Arc, time::Instant};

use serde_json::json;
use tokio::sync::Barrier;

use crate::{
    app::{self, Build, FREE_PROJECTS, Server},
    check,
    client::{self, Tally},
    db,
};

const ORGS: usize = 3;
const RACERS: usize = 20;

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_limits")?;
    let server = Server::start(
        &build,
        "limits",
        app::env(&url, app::free_port()?, "limits"),
    )
    .await?;
    let client = client::client();
    let user = client::user(&client, &server.base, "limits@example.com").await?;
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        let org = client::org(&client, &server.base, &user, &format!("Org {i}")).await?;
        for j in 0..FREE_PROJECTS - 1 {
            let path = format!("/orgs/{org}/projects");
            let (status, body) = client::post(
                &client,
                &server.base,
                &user,
                &path,
                json!({ "title": format!("P{j}") }),
            )
            .await?;
            check!(
                status.as_u16() == 201,
                "project {j} of {org}: {status} {body}"
            );
        }
        orgs.push(org);
    }

    let barrier = Arc::new(Barrier::new(ORGS * RACERS));
    let started = Instant::now();
    let tasks: Vec<_> = (0..ORGS * RACERS)
        .map(|i| {
            let (client, base, user, barrier) = (
                client.clone(),
                server.base.clone(),
                user.clone(),
                barrier.clone(),
            );
            let org = orgs[i % ORGS].clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let path = format!("/orgs/{org}/projects");
                let outcome =
                    client::post(&client, &base, &user, &path, json!({ "title": "racer" })).await;
                (org, outcome.map(|(status, _)| status))
            })
        })
        .collect();
    let mut tally = Tally::default();
    let mut wins = std::collections::BTreeMap::<String, usize>::new();
    for task in tasks {
        let (org, outcome) = task.await?;
        if matches!(&outcome, Ok(status) if status.as_u16() == 201) {
            *wins.entry(org).or_default() += 1;
        }
        tally.add(&outcome);
    }
    let seconds = started.elapsed().as_secs_f64();

    let mut counts = Vec::new();
    for org in &orgs {
        let hex = db::hex_of(org);
        counts.push(db::number(
            &url,
            &format!(
                "select count(*) from projects where {} = '{hex}'",
                db::uuid_hex(&url, "org_id")
            ),
        )?);
    }
    check!(
        orgs.iter().all(|org| wins.get(org) == Some(&1)),
        "wins per organization: {wins:?}; saw {tally}"
    );
    check!(
        tally.count("402") == ORGS * (RACERS - 1),
        "expected {}×402, saw {tally}",
        ORGS * (RACERS - 1)
    );
    check!(
        counts.iter().all(|&n| n == FREE_PROJECTS as i64),
        "projects per organization: {counts:?}"
    );
    Ok(format!(
        "{RACERS} creates at once at limit − 1 in each of {ORGS} organizations, in \
         {seconds:.2} s: {tally}; one 201 per organization; rows per organization: {counts:?}"
    ))
}

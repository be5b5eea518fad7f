//! Two owners demote each other at the same moment, 50 times: one demotion wins (200),
//! the other is refused (403, its sender is no longer an owner), and the organization is
//! left with exactly one owner.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally, User},
    db,
};

const ROUNDS: usize = 50;

/// The invitation token in the mail to `email`, once the worker has sent it.
async fn invitation_token(mail: &std::path::Path, email: &str) -> anyhow::Result<String> {
    for _ in 0..200 {
        for entry in std::fs::read_dir(mail).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path())?;
            // Undo quoted-printable: soft line breaks, then the escaped `=`.
            let text = text
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=");
            if !text.contains(email) {
                continue;
            }
            const LINK: &str = "accept-invitation?token=";
            if let Some(start) = text.find(LINK) {
                let token: String = text[start + LINK.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                return Ok(token);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("no invitation mail to {email} in {}", mail.display())
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    by: &User,
    path: &str,
    body: Value,
) -> reqwest::Result<StatusCode> {
    client
        .patch(format!("{base}{path}"))
        .bearer_auth(&by.token)
        .json(&body)
        .send()
        .await
        .map(|r| r.status())
}

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_owners")?;
    let mail = app::work().join("mail-owners");
    let _ = std::fs::remove_dir_all(&mail);
    let server = Server::start(
        &build,
        "owners",
        app::env(&url, app::free_port()?, "owners"),
    )
    .await?;
    let (client, base) = (client::client(), server.base.clone());
    let a = client::user(&client, &base, "owner-a@example.com").await?;
    let b = client::user(&client, &base, "owner-b@example.com").await?;
    let org = client::org(&client, &base, &a, "Org").await?;
    // Inviting and accepting need a verified address; this scenario is about owners.
    db::rows(
        &url,
        "update users set email_verified_at = created_at where email like 'owner-%'",
    )?;
    let (status, body) = client::post(
        &client,
        &base,
        &a,
        &format!("/orgs/{org}/invitations"),
        json!({ "email": b.email, "role": "owner" }),
    )
    .await?;
    check!(status == StatusCode::CREATED, "invitation: {status} {body}");
    let token = invitation_token(&mail, &b.email).await?;
    let (status, body) = client::post(
        &client,
        &base,
        &b,
        "/invitations/accept",
        json!({ "token": token }),
    )
    .await?;
    check!(status.is_success(), "accepting: {status} {body}");
    let members: Value = client
        .get(format!("{base}/orgs/{org}/members"))
        .bearer_auth(&a.token)
        .send()
        .await?
        .json()
        .await?;
    let id_of = |email: &str| -> anyhow::Result<String> {
        members
            .as_array()
            .and_then(|members| members.iter().find(|m| m["email"] == email))
            .and_then(|m| m["user_id"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("{email} among the members: {members}"))
    };
    let (a_id, b_id) = (id_of(&a.email)?, id_of(&b.email)?);
    let owners_query = format!(
        "select count(*) from memberships where role = 'owner' and {} = '{}'",
        db::uuid_hex(&url, "org_id"),
        db::hex_of(&org)
    );

    let mut tally = Tally::default();
    let mut fewest_owners = i64::MAX;
    for round in 0..ROUNDS {
        check!(
            db::number(&url, &owners_query)? == 2,
            "round {round} starts without two owners"
        );
        let barrier = Arc::new(Barrier::new(2));
        let demote = |by: &User, whom: &str| {
            let (client, base, by, barrier) =
                (client.clone(), base.clone(), by.clone(), barrier.clone());
            let path = format!("/orgs/{org}/members/{whom}");
            tokio::spawn(async move {
                barrier.wait().await;
                send(&client, &base, &by, &path, json!({ "role": "admin" })).await
            })
        };
        let (by_a, by_b) = (demote(&a, &b_id), demote(&b, &a_id));
        let (by_a, by_b) = (by_a.await?, by_b.await?);
        tally.add(&by_a);
        tally.add(&by_b);
        let statuses = [&by_a, &by_b].map(|outcome| outcome.as_ref().ok().copied());
        let owners = db::number(&url, &owners_query)?;
        fewest_owners = fewest_owners.min(owners);
        // One demotion is stored; the other finds its sender no longer an owner.
        check!(
            statuses.contains(&Some(StatusCode::OK))
                && statuses.contains(&Some(StatusCode::FORBIDDEN)),
            "round {round}: one 200 and one 403 expected ({by_a:?}, {by_b:?})"
        );
        check!(
            owners == 1,
            "round {round}: {owners} owners after the race ({by_a:?}, {by_b:?})"
        );
        // The one still an owner makes the other an owner again.
        let (owner, other) = if statuses[0] == Some(StatusCode::OK) {
            (&a, &b_id)
        } else {
            (&b, &a_id)
        };
        let status = send(
            &client,
            &base,
            owner,
            &format!("/orgs/{org}/members/{other}"),
            json!({ "role": "owner" }),
        )
        .await?;
        check!(
            status.is_success(),
            "round {round}: restoring the second owner: {status}"
        );
    }
    Ok(format!(
        "{ROUNDS} rounds of two owners demoting each other at once: {tally}; each round one \
         200 and one 403, then exactly one owner; fewest owners seen: {fewest_owners}"
    ))
}

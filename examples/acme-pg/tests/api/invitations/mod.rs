//! Invitations: created, listed and revoked by those who may invite, mailed through
//! the outbox, and accepted ([`accept`]) once by the invited address.

mod accept;
mod lifecycle;
mod permissions;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use app::db::DbPool;

use crate::common::{
    TestApp, assert_error, count_status, outbox::token_in, send_together, spawn_app, spawn_app_with,
};

/// What the invitation mail's subject says.
const SUBJECT: &str = "invited";

/// Invites `email` to `org_id` as `role`, as the user of `client`.
async fn invite(app: &TestApp, client: &Client, org_id: Uuid, email: &str, role: &str) -> Response {
    client
        .post(app.url(&format!("/orgs/{org_id}/invitations")))
        .json(&json!({ "email": email, "role": role }))
        .send()
        .await
        .unwrap()
}

/// Invites `email` as the main client (201 expected) and returns the invitation's id
/// and the token of the mail it sent.
async fn invite_and_read_mail(
    app: &TestApp,
    org_id: Uuid,
    email: &str,
    role: &str,
) -> (Uuid, String) {
    let earlier: Vec<String> = app
        .outbox
        .messages_to(email, SUBJECT)
        .into_iter()
        .map(|mail| mail.text)
        .collect();
    let response = invite(app, &app.client, org_id, email, role).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap().parse().unwrap();
    // The outbox lists mail in no particular order: the new one is the one not seen before.
    let mails = app.outbox.wait_for(email, SUBJECT, earlier.len() + 1).await;
    let new = mails
        .iter()
        .find(|mail| !earlier.contains(&mail.text))
        .unwrap();
    (id, token_in(&new.text))
}

async fn accept_token(app: &TestApp, client: &Client, token: &str) -> Response {
    client
        .post(app.url("/invitations/accept"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
}

/// The invitations of `org_id` to `email`: `(pending, accepted, revoked)` counts.
async fn invitations_to(app: &TestApp, org_id: Uuid, email: &str) -> (i64, i64, i64) {
    sqlx::query_as(
        "select
             count(*) filter (where accepted_at is null and revoked_at is null),
             count(*) filter (where accepted_at is not null),
             count(*) filter (where revoked_at is not null)
         from invitations where org_id = $1 and email = $2",
    )
    .bind(org_id)
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// Writes a pending invitation of `email` to `org_id` with `token` as its token,
/// made a week before `expires_at`.
async fn insert_invitation(
    app: &TestApp,
    org_id: Uuid,
    invited_by: Uuid,
    email: &str,
    token: &str,
    expires_at: OffsetDateTime,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at)
         values ($1, $2, $3, 'member', $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(org_id)
    .bind(email)
    .bind(sha256_hex(token))
    .bind(invited_by)
    .bind(expires_at - time::Duration::days(7))
    .bind(expires_at)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_invitation_is_mailed_through_the_outbox_with_a_link_whose_token_is_stored_only_hashed(
    db: DbPool,
) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;

    let response = invite(&app, &app.client, org_id, " Bob@Example.com ", "member").await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["email", "expires_at", "id", "role"]);
    assert_eq!(
        (&body["email"], &body["role"]),
        (&json!("bob@example.com"), &json!("member"))
    );
    let expires_at = OffsetDateTime::parse(
        body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let in_seven_days = OffsetDateTime::now_utc() + time::Duration::days(7);
    assert!(
        (expires_at - in_seven_days).abs() < time::Duration::minutes(1),
        "{expires_at}"
    );
    // The job names the invitation; the token does not exist until the job runs.
    let payloads: Vec<Json<Value>> =
        sqlx::query_scalar("select payload from jobs where kind = 'send_invitation'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0].0, json!({ "invitation_id": body["id"] }));

    let mails = app.outbox.wait_for("bob@example.com", SUBJECT, 1).await;
    let text = &mails[0].text;
    assert!(
        text.contains("http://localhost:3000/accept-invitation?token="),
        "{text}"
    );
    let token = token_in(text);
    assert_eq!(token.len(), 43);
    app.wait_for_jobs().await;
    let stored: Option<String> = sqlx::query_scalar("select token_hash from invitations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, Some(sha256_hex(&token)));
    let payload: Json<Value> =
        sqlx::query_scalar("select payload from jobs where kind = 'send_invitation'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        !payload.0.to_string().contains(&token),
        "the job never holds the token"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn pending_invitations_are_listed_without_their_tokens(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;
    let (revoked, _) = invite_and_read_mail(&app, org_id, "carol@example.com", "member").await;
    let response = app
        .delete(&format!("/orgs/{org_id}/invitations/{revoked}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = app.get(&format!("/orgs/{org_id}/invitations")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let listed = body.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["email"], "bob@example.com");
    assert!(listed[0].get("token").is_none() && listed[0].get("token_hash").is_none());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn inviting_a_member_or_an_address_already_invited_is_a_conflict(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    app.add_member(org_id, "bob@example.com", "member").await;
    invite_and_read_mail(&app, org_id, "carol@example.com", "member").await;

    let member = invite(&app, &app.client, org_id, "BOB@example.com", "member").await;
    let invited = invite(&app, &app.client, org_id, " carol@EXAMPLE.com", "member").await;

    assert_error(member, StatusCode::CONFLICT, "conflict").await;
    assert_error(invited, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (0, 0, 0)
    );
    assert_eq!(
        invitations_to(&app, org_id, "carol@example.com").await,
        (1, 0, 0)
    );
    assert_eq!(
        app.outbox.messages_to("carol@example.com", SUBJECT).len(),
        1
    );
}

/// The most an inviter below owner may hand out: their own role.
const BELOW_OWNER: &str = "admin";

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn nobody_invites_with_a_role_above_their_own(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let inviter = app
        .add_member(org_id, "inviter@example.com", BELOW_OWNER)
        .await;

    let as_owner = invite(&app, &inviter, org_id, "bob@example.com", "owner").await;
    assert_error(as_owner, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("invitations").await, 0);

    let as_own_role = invite(&app, &inviter, org_id, "bob@example.com", BELOW_OWNER).await;
    assert_eq!(as_own_role.status(), StatusCode::CREATED);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn invitations_are_limited_per_inviter_and_per_organization_even_at_once(db: DbPool) {
    let limits = [
        ("INVITATIONS_PER_INVITER_PER_HOUR", "3"),
        ("INVITATIONS_PER_ORG_PER_HOUR", "5"),
    ];
    let app = spawn_app_with(db, &limits).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let second = app
        .add_member(org_id, "inviter@example.com", BELOW_OWNER)
        .await;
    let invitations = |client: &Client, from: usize| {
        (from..from + 6)
            .map(|n| {
                client
                    .post(app.url(&format!("/orgs/{org_id}/invitations")))
                    .json(&json!({ "email": format!("guest{n}@example.com"), "role": BELOW_OWNER }))
            })
            .collect()
    };

    let by_owner = send_together(invitations(&app.client, 0)).await;
    let by_second = send_together(invitations(&second, 100)).await;

    // Three of the owner's (their own limit), then two of the other's (the org's).
    assert_eq!(count_status(&by_owner, StatusCode::CREATED), 3);
    assert_eq!(count_status(&by_second, StatusCode::CREATED), 2);
    for response in by_owner.into_iter().chain(by_second) {
        if response.status() != StatusCode::CREATED {
            assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        }
    }
    assert_eq!(app.count("invitations").await, 5);
    let mails: i64 = sqlx::query_scalar("select count(*) from jobs where kind = 'send_invitation'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(mails, 5, "a refused invitation mails nobody");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_inviter_whose_address_is_unverified_is_403_and_invites_nobody(db: DbPool) {
    let app = spawn_app(db).await;
    let owner_id: Uuid = app.signup("owner@example.com").await.parse().unwrap();
    let org_id = app.personal_org(owner_id).await;
    let jobs_before = app.count("jobs").await;

    let unverified = invite(&app, &app.client, org_id, "bob@example.com", "member").await;

    assert_error(unverified, StatusCode::FORBIDDEN, "email_not_verified").await;
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(app.count("jobs").await, jobs_before, "no mail enqueued");
    app.verify("owner@example.com").await;
    let verified = invite(&app, &app.client, org_id, "bob@example.com", "member").await;
    assert_eq!(verified.status(), StatusCode::CREATED);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn nobody_revokes_an_invitation_to_a_role_above_their_own(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (to_owner, _) = invite_and_read_mail(&app, org_id, "bob@example.com", "owner").await;
    let (to_peer, _) = invite_and_read_mail(&app, org_id, "carol@example.com", BELOW_OWNER).await;
    let inviter = app
        .add_member(org_id, "inviter@example.com", BELOW_OWNER)
        .await;
    let revoke = |id: Uuid| {
        inviter
            .delete(app.url(&format!("/orgs/{org_id}/invitations/{id}")))
            .send()
    };

    let above = revoke(to_owner).await.unwrap();
    let own_rank = revoke(to_peer).await.unwrap();

    assert_error(above, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (1, 0, 0)
    );
    assert_eq!(own_rank.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        invitations_to(&app, org_id, "carol@example.com").await,
        (0, 0, 1)
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_inviter_demoted_or_removed_keeps_no_invitation_above_their_new_role(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let second_owner = app.add_member(org_id, "second@example.com", "owner").await;
    let second_id = app.user_id("second@example.com").await;
    for (email, role) in [
        ("bob@example.com", "owner"),
        ("carol@example.com", BELOW_OWNER),
    ] {
        let response = invite(&app, &second_owner, org_id, email, role).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{email}");
    }
    let (by_first_owner, _) = invite_and_read_mail(&app, org_id, "dave@example.com", "owner").await;
    let member_path = format!("/orgs/{org_id}/members/{second_id}");

    let demoted = app
        .patch(&member_path, &json!({ "role": BELOW_OWNER }))
        .await;

    assert_eq!(demoted.status(), StatusCode::OK);
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (0, 0, 1),
        "above the new role: revoked"
    );
    assert_eq!(
        invitations_to(&app, org_id, "carol@example.com").await,
        (1, 0, 0),
        "at the new role: kept"
    );

    let removed = app.delete(&member_path).await;

    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        invitations_to(&app, org_id, "carol@example.com").await,
        (0, 0, 1),
        "a removed inviter's invitations: revoked"
    );
    let pending: Vec<Uuid> = sqlx::query_scalar(
        "select id from invitations where accepted_at is null and revoked_at is null",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        pending,
        [by_first_owner],
        "other inviters' invitations stay"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_member_without_members_invite_cannot_invite_list_or_revoke(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (pending, _) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;
    let member = app.add_member(org_id, "member@example.com", "member").await;
    let jobs_before = app.count("jobs").await;

    let created = invite(&app, &member, org_id, "carol@example.com", "member").await;
    let listed = member
        .get(app.url(&format!("/orgs/{org_id}/invitations")))
        .send()
        .await
        .unwrap();
    let revoked = member
        .delete(app.url(&format!("/orgs/{org_id}/invitations/{pending}")))
        .send()
        .await
        .unwrap();

    assert_error(created, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(listed, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(revoked, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        invitations_to(&app, org_id, "carol@example.com").await,
        (0, 0, 0)
    );
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (1, 0, 0)
    );
    assert_eq!(app.count("jobs").await, jobs_before, "no mail enqueued");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn outsiders_get_not_found_on_every_invitation_route_even_with_ids_that_exist(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (pending, _) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;
    let outsider = app.another_client();
    app.signup_as(&outsider, "outsider@example.com").await;
    let other_org = app
        .personal_org(app.user_id("outsider@example.com").await)
        .await;
    let invitations = app.url(&format!("/orgs/{org_id}/invitations"));

    let responses = [
        outsider
            .post(&invitations)
            .json(&json!({ "email": "x@example.com", "role": "member" })),
        outsider.get(&invitations),
        outsider.delete(format!("{invitations}/{pending}")),
        // Through the outsider's own organization, with the other one's invitation id.
        outsider.delete(app.url(&format!("/orgs/{other_org}/invitations/{pending}"))),
    ];
    for request in responses {
        assert_error(
            request.send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (1, 0, 0)
    );
    assert_eq!(app.count("invitations").await, 1);
}

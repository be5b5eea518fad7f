//! Accepting an invitation: once, only by the invited address, never twice a member.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use app::{
    db::DbPool,
    jobs::{self, Job},
};

use super::{
    SUBJECT, accept_token, insert_invitation, invitations_to, invite_and_read_mail, sha256_hex,
};
use crate::common::{assert_error, count_status, send_together, spawn_app, spawn_app_with};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_invited_address_accepts_once_and_becomes_a_member_with_the_role(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let role = "admin";
    let (_, token) = invite_and_read_mail(&app, org_id, "bob@example.com", role).await;
    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    let bob_id = app.user_id("bob@example.com").await;

    // Before bob proves the address is his, the invitation waits for him.
    let unverified = accept_token(&app, &bob, &token).await;
    assert_error(unverified, StatusCode::FORBIDDEN, "email_not_verified").await;
    assert_eq!(app.role_in(org_id, bob_id).await, None);
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (1, 0, 0)
    );
    app.verify("bob@example.com").await;

    let response = accept_token(&app, &bob, &token).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "org_id": org_id, "role": role }));
    assert_eq!(app.role_in(org_id, bob_id).await.as_deref(), Some(role));
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (0, 1, 0)
    );
    let orgs: Value = bob
        .get(app.url(&format!("/orgs/{org_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orgs["role"], role);

    let again = accept_token(&app, &bob, &token).await;
    assert_error(again, StatusCode::GONE, "gone").await;
    assert_eq!(app.memberships(org_id).await.len(), 2);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn another_address_cannot_accept_and_the_invitation_still_works_for_its_own(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (_, token) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;
    let mallory = app.another_client();
    app.signup_as(&mallory, "mallory@example.com").await;
    let before = app.memberships(org_id).await;

    let response = accept_token(&app, &mallory, &token).await;

    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.memberships(org_id).await, before);
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (1, 0, 0)
    );
    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    app.verify("bob@example.com").await;
    assert_eq!(
        accept_token(&app, &bob, &token).await.status(),
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_revoked_or_expired_invitation_is_gone_and_an_unknown_token_not_found(db: DbPool) {
    let app = spawn_app(db).await;
    let (owner_id, org_id) = app.signup_with_org("owner@example.com").await;
    let (revoked, revoked_token) =
        invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;
    let response = app
        .delete(&format!("/orgs/{org_id}/invitations/{revoked}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let expired_token = "expired-token-expired-token-expired-token-ex";
    let a_second_ago = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    insert_invitation(
        &app,
        org_id,
        owner_id,
        "bob@example.com",
        expired_token,
        a_second_ago,
    )
    .await;
    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    app.verify("bob@example.com").await;
    let before = app.memberships(org_id).await;

    let revoked = accept_token(&app, &bob, &revoked_token).await;
    let expired = accept_token(&app, &bob, expired_token).await;
    let unknown = accept_token(&app, &bob, "no-such-token-no-such-token-no-such-token-n").await;

    assert_error(revoked, StatusCode::GONE, "gone").await;
    assert_error(expired, StatusCode::GONE, "gone").await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.memberships(org_id).await, before);
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (1, 0, 1),
        "the expired row is untouched"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn accepting_as_a_member_already_is_a_conflict_and_changes_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (_, token) = invite_and_read_mail(&app, org_id, "bob@example.com", "owner").await;
    let bob = app.add_member(org_id, "bob@example.com", "member").await;
    let before = app.memberships(org_id).await;

    let response = accept_token(&app, &bob, &token).await;

    assert_error(response, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(
        app.memberships(org_id).await,
        before,
        "still a plain member"
    );
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (1, 0, 0)
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn ten_concurrent_accepts_of_one_token_make_exactly_one_membership(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (_, token) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;
    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    app.verify("bob@example.com").await;

    let requests = (0..10)
        .map(|_| {
            bob.post(app.url("/invitations/accept"))
                .json(&json!({ "token": token }))
        })
        .collect();
    let responses = send_together(requests).await;

    assert_eq!(count_status(&responses, StatusCode::OK), 1);
    let refused =
        count_status(&responses, StatusCode::GONE) + count_status(&responses, StatusCode::CONFLICT);
    assert_eq!(refused, 9);
    let bob_id = app.user_id("bob@example.com").await;
    let memberships: i64 =
        sqlx::query_scalar("select count(*) from memberships where org_id = $1 and user_id = $2")
            .bind(org_id)
            .bind(bob_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(memberships, 1);
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (0, 1, 0)
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn accepting_needs_a_signed_in_caller_and_guesses_are_throttled_per_ip(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_IP_LIMIT_PER_MINUTE", "4")]).await;
    let anonymous = accept_token(&app, &app.another_client(), "x").await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // The sign-up counts against the same per-IP limit: three guesses are left.
    app.signup("guesser@example.com").await;

    for attempt in 0..3 {
        let guess = format!("guess-{attempt:0>37}");
        assert_error(
            accept_token(&app, &app.client, &guess).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let throttled = accept_token(&app, &app.client, "one-more-guess").await;
    assert_error(throttled, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_mail_job_of_an_invitation_revoked_meanwhile_sends_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (id, token) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;
    let response = app
        .delete(&format!("/orgs/{org_id}/invitations/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // A retry of the mail job, as after a failed send, running after the revocation.
    let mut tx = app.state.db.begin().await.unwrap();
    jobs::enqueue(&mut tx, Job::SendInvitation { invitation_id: id })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.state.jobs.wake();
    app.wait_for_jobs().await;

    assert_eq!(app.outbox.messages_to("bob@example.com", SUBJECT).len(), 1);
    let stored: Option<String> =
        sqlx::query_scalar("select token_hash from invitations where id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, Some(sha256_hex(&token)), "no new token was issued");
}

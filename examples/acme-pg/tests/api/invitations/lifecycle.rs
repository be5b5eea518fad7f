//! After an invitation ends: revoked or expired, it gives way to a new one to the same
//! address, and the cleanup deletes it a day after its expiry.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use app::{cleanup, db::DbPool};

use super::{accept_token, insert_invitation, invitations_to, invite_and_read_mail};
use crate::common::{assert_error, spawn_app};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_revoked_invitation_can_be_followed_by_a_new_one_that_works(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("owner@example.com").await;
    let (first, old_token) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;

    let response = app
        .delete(&format!("/orgs/{org_id}/invitations/{first}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let again = app
        .delete(&format!("/orgs/{org_id}/invitations/{first}"))
        .await;
    assert_error(again, StatusCode::NOT_FOUND, "not_found").await;
    let (_, new_token) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;

    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    app.verify("bob@example.com").await;
    let old = accept_token(&app, &bob, &old_token).await;
    assert_error(old, StatusCode::GONE, "gone").await;
    assert_eq!(
        app.role_in(org_id, app.user_id("bob@example.com").await)
            .await,
        None
    );
    let new = accept_token(&app, &bob, &new_token).await;
    assert_eq!(new.status(), StatusCode::OK);
    assert_eq!(
        invitations_to(&app, org_id, "bob@example.com").await,
        (0, 1, 1)
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_address_whose_invitation_expired_can_be_invited_again(db: DbPool) {
    let app = spawn_app(db).await;
    let (owner_id, org_id) = app.signup_with_org("owner@example.com").await;
    let a_second_ago = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    insert_invitation(
        &app,
        org_id,
        owner_id,
        "bob@example.com",
        "stale",
        a_second_ago,
    )
    .await;

    let listed: Value = app
        .get(&format!("/orgs/{org_id}/invitations"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "an expired invitation is not pending");
    let (_, token) = invite_and_read_mail(&app, org_id, "bob@example.com", "member").await;

    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    app.verify("bob@example.com").await;
    assert_eq!(
        accept_token(&app, &bob, &token).await.status(),
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn cleanup_deletes_invitations_a_day_after_they_expire_whatever_became_of_them(db: DbPool) {
    let app = spawn_app(db).await;
    let (owner_id, org_id) = app.signup_with_org("owner@example.com").await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let day = time::Duration::days(1);
    let pending = insert_invitation(&app, org_id, owner_id, "a@example.com", "a", now + day).await;
    let expired_today =
        insert_invitation(&app, org_id, owner_id, "b@example.com", "b", now - day / 2).await;
    insert_invitation(&app, org_id, owner_id, "c@example.com", "c", now - day * 2).await;
    let accepted =
        insert_invitation(&app, org_id, owner_id, "d@example.com", "d", now - day * 2).await;
    sqlx::query("update invitations set accepted_at = $1 where id = $2")
        .bind(now - day * 8)
        .bind(accepted)
        .execute(&app.db)
        .await
        .unwrap();

    let deleted = cleanup::delete_ended(&app.db, &app.state.config, now)
        .await
        .unwrap();

    assert_eq!(deleted.invitations, 2);
    let left: Vec<Uuid> = sqlx::query_scalar("select id from invitations order by id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(left, [pending, expired_today]);
}

//! Members: listing, role changes, removal and leaving, ownership transfer, and the
//! invariants: an organization always keeps an owner, nobody acts above their own
//! role, and both hold when requests race.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use app::db::DbPool;

use crate::common::{TestApp, assert_error, count_status, send_together, spawn_app};

/// The role an owner can give a member that is not already theirs.
const PROMOTED: &str = "admin";
/// What an owner is after handing the organization over.
const AFTER_TRANSFER: &str = "admin";

fn member_path(org_id: Uuid, user_id: Uuid) -> String {
    format!("/orgs/{org_id}/members/{user_id}")
}

async fn patch_as(app: &TestApp, client: &Client, path: &str, role: &str) -> reqwest::Response {
    client
        .patch(app.url(path))
        .json(&json!({ "role": role }))
        .send()
        .await
        .unwrap()
}

async fn delete_as(app: &TestApp, client: &Client, path: &str) -> reqwest::Response {
    client.delete(app.url(path)).send().await.unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn members_are_listed_with_their_roles_in_the_order_they_joined(db: DbPool) {
    let app = spawn_app(db).await;
    let (owner_id, org_id) = app.signup_with_org("alice@example.com").await;
    app.add_member(org_id, "bob@example.com", "member").await;
    let bob_id = app.user_id("bob@example.com").await;

    let response = app.get(&format!("/orgs/{org_id}/members")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let members: Vec<Value> = response.json().await.unwrap();
    let listed: Vec<(Value, Value)> = members
        .iter()
        .map(|m| (m["user_id"].clone(), m["role"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!(owner_id), json!("owner")),
            (json!(bob_id), json!("member"))
        ]
    );
    assert_eq!(members[1]["email"], "bob@example.com");
    assert_eq!(members[1]["name"], "Test User");
    assert!(members[1]["joined_at"].is_string());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_owner_changes_a_members_role(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    app.add_member(org_id, "bob@example.com", "member").await;
    let bob = app.user_id("bob@example.com").await;

    let response = app
        .patch(&member_path(org_id, bob), &json!({ "role": PROMOTED }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["user_id"], &body["role"]),
        (&json!(bob), &json!(PROMOTED))
    );
    assert_eq!(app.role_in(org_id, bob).await.as_deref(), Some(PROMOTED));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_unknown_role_is_refused_and_changes_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    app.add_member(org_id, "bob@example.com", "member").await;
    let bob = app.user_id("bob@example.com").await;
    let before = app.memberships(org_id).await;

    for role in ["superuser", "Owner"] {
        let response = app
            .patch(&member_path(org_id, bob), &json!({ "role": role }))
            .await;
        let error = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        let accepts = error["error"]["fields"]["role"][0].as_str().unwrap();
        assert!(accepts.contains("`member`"), "{role}: {error}");
    }
    assert_eq!(app.memberships(org_id).await, before);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_only_owner_can_neither_step_down_nor_leave(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    app.add_member(org_id, "bob@example.com", "member").await;
    let before = app.memberships(org_id).await;

    let response = app
        .patch(&member_path(org_id, alice), &json!({ "role": "member" }))
        .await;
    assert_error(response, StatusCode::CONFLICT, "conflict").await;
    let response = app.delete(&member_path(org_id, alice)).await;
    assert_error(response, StatusCode::CONFLICT, "conflict").await;

    assert_eq!(app.memberships(org_id).await, before);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_last_owner_of_an_org_with_no_one_else_cannot_leave_it(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;

    let response = app.delete(&member_path(org_id, alice)).await;
    assert_error(response, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.memberships(org_id).await, [(alice, "owner".to_owned())]);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn with_a_second_owner_an_owner_may_step_down_and_another_may_leave(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let bob_client = app.add_member(org_id, "bob@example.com", "owner").await;
    let bob = app.user_id("bob@example.com").await;
    app.add_member(org_id, "carol@example.com", "owner").await;
    let carol = app.user_id("carol@example.com").await;

    let response = app
        .patch(&member_path(org_id, alice), &json!({ "role": "member" }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.role_in(org_id, alice).await.as_deref(), Some("member"));

    let response = delete_as(&app, &bob_client, &member_path(org_id, bob)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.role_in(org_id, bob).await, None);

    // Alice, a member now, may no longer remove anyone.
    let response = app.delete(&member_path(org_id, carol)).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.role_in(org_id, carol).await.as_deref(), Some("owner"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_member_may_leave_and_an_owner_may_remove_a_member(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let bob_client = app.add_member(org_id, "bob@example.com", "member").await;
    let bob = app.user_id("bob@example.com").await;
    app.add_member(org_id, "carol@example.com", "member").await;
    let carol = app.user_id("carol@example.com").await;

    let response = delete_as(&app, &bob_client, &member_path(org_id, bob)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.delete(&member_path(org_id, carol)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(app.memberships(org_id).await, [(alice, "owner".to_owned())]);
    // Leaving takes away access at once.
    let response = bob_client
        .get(app.url(&format!("/orgs/{org_id}")))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_user_of_another_org_is_not_a_member_here(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    let outsider = app.another_client();
    app.signup_as(&outsider, "mallory@example.com").await;
    let mallory = app.user_id("mallory@example.com").await;
    let before = app.memberships(org_id).await;

    let response = app
        .patch(&member_path(org_id, mallory), &json!({ "role": "member" }))
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app.delete(&member_path(org_id, mallory)).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    assert_eq!(app.memberships(org_id).await, before);
    assert_eq!(
        app.role_in(app.personal_org(mallory).await, mallory)
            .await
            .as_deref(),
        Some("owner")
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_member_cannot_promote_themselves_nor_touch_the_owner(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let bob_client = app.add_member(org_id, "bob@example.com", "member").await;
    let bob = app.user_id("bob@example.com").await;
    let before = app.memberships(org_id).await;

    for role in [PROMOTED, "owner"] {
        let response = patch_as(&app, &bob_client, &member_path(org_id, bob), role).await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let response = patch_as(&app, &bob_client, &member_path(org_id, alice), "member").await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = delete_as(&app, &bob_client, &member_path(org_id, alice)).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;

    assert_eq!(app.memberships(org_id).await, before);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_admin_cannot_grant_owner_nor_demote_or_remove_an_owner(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let admin = app.add_member(org_id, "bob@example.com", "admin").await;
    let bob = app.user_id("bob@example.com").await;
    app.add_member(org_id, "carol@example.com", "member").await;
    let carol = app.user_id("carol@example.com").await;
    let before = app.memberships(org_id).await;

    for (target, role) in [
        (carol, "owner"),
        (bob, "owner"),
        (alice, "admin"),
        (alice, "member"),
    ] {
        let response = patch_as(&app, &admin, &member_path(org_id, target), role).await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let response = delete_as(&app, &admin, &member_path(org_id, alice)).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.memberships(org_id).await, before);

    // Up to their own role, an admin manages members.
    let response = patch_as(&app, &admin, &member_path(org_id, carol), "admin").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.role_in(org_id, carol).await.as_deref(), Some("admin"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn transferring_ownership_swaps_the_roles_in_one_step(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let bob_client = app.add_member(org_id, "bob@example.com", "member").await;
    let bob = app.user_id("bob@example.com").await;

    let response = app
        .post(
            &format!("/orgs/{org_id}/transfer-ownership"),
            &json!({ "user_id": bob }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["user_id"], &body["role"]),
        (&json!(bob), &json!("owner"))
    );
    assert_eq!(app.role_in(org_id, bob).await.as_deref(), Some("owner"));
    assert_eq!(
        app.role_in(org_id, alice).await.as_deref(),
        Some(AFTER_TRANSFER)
    );

    // The new owner can hand it back; the old one no longer can.
    let response = app
        .post(
            &format!("/orgs/{org_id}/transfer-ownership"),
            &json!({ "user_id": alice }),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = bob_client
        .post(app.url(&format!("/orgs/{org_id}/transfer-ownership")))
        .json(&json!({ "user_id": alice }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.role_in(org_id, alice).await.as_deref(), Some("owner"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn ownership_goes_only_to_another_member(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let outsider = app.another_client();
    app.signup_as(&outsider, "mallory@example.com").await;
    let mallory = app.user_id("mallory@example.com").await;
    let before = app.memberships(org_id).await;

    for target in [mallory, alice, Uuid::now_v7()] {
        let response = app
            .post(
                &format!("/orgs/{org_id}/transfer-ownership"),
                &json!({ "user_id": target }),
            )
            .await;
        let body = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(body["error"]["fields"]["user_id"].is_array(), "{body}");
    }
    assert_eq!(app.memberships(org_id).await, before);
}

/// Two owners, the only two, each step down at the same moment: one wins, and the
/// other's request finds itself the last owner. Repeated, as a race may go either way.
#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn two_owners_stepping_down_at_once_leave_one_owner(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let bob_client = app.add_member(org_id, "bob@example.com", "owner").await;
    let bob = app.user_id("bob@example.com").await;

    for _ in 0..20 {
        make_both_owners(&app, org_id).await;
        let step_down = |client: &Client, user: Uuid| {
            client
                .patch(app.url(&member_path(org_id, user)))
                .json(&json!({ "role": "member" }))
        };
        let responses = send_together(vec![
            step_down(&app.client, alice),
            step_down(&bob_client, bob),
        ])
        .await;

        assert_eq!(count_status(&responses, StatusCode::OK), 1);
        assert_eq!(count_status(&responses, StatusCode::CONFLICT), 1);
        assert_eq!(owners(&app, org_id).await, 1);
    }
}

/// The same race with each owner demoting the other: the loser is no longer an owner
/// by the time its request runs, so it may no longer manage members.
#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn two_owners_demoting_each_other_at_once_leave_one_owner(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, org_id) = app.signup_with_org("alice@example.com").await;
    let bob_client = app.add_member(org_id, "bob@example.com", "owner").await;
    let bob = app.user_id("bob@example.com").await;

    for _ in 0..20 {
        make_both_owners(&app, org_id).await;
        let demote = |client: &Client, user: Uuid| {
            client
                .patch(app.url(&member_path(org_id, user)))
                .json(&json!({ "role": "member" }))
        };
        let responses =
            send_together(vec![demote(&app.client, bob), demote(&bob_client, alice)]).await;

        assert_eq!(count_status(&responses, StatusCode::OK), 1);
        assert_eq!(count_status(&responses, StatusCode::FORBIDDEN), 1);
        assert_eq!(owners(&app, org_id).await, 1);
    }
}

async fn make_both_owners(app: &TestApp, org_id: Uuid) {
    sqlx::query("update memberships set role = 'owner' where org_id = $1")
        .bind(org_id)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn owners(app: &TestApp, org_id: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from memberships where org_id = $1 and role = 'owner'")
        .bind(org_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

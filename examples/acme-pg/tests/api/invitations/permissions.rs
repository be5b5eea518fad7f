//! The invitation routes' permission matrix, from the table in `src/access.rs`: every
//! role and an outsider × invite, list and revoke. Each case runs in an organization
//! of its own and asserts the status and the invitations after: the effect when
//! allowed, nothing changed when refused, and 404 for an outsider.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use app::{
    access::{Permission, Role},
    db::DbPool,
};

use super::insert_invitation;
use crate::common::{TestApp, spawn_app};

/// Every role a member can have, and `None` for a signed-in outsider.
const ACTORS: [Option<Role>; 4] = [
    Some(Role::Owner),
    Some(Role::Admin),
    Some(Role::Member),
    None,
];

#[derive(Debug, Clone, Copy)]
enum Operation {
    Invite,
    List,
    Revoke,
}

/// An organization's invitations as `(email, revoked)`, sorted: what a refusal keeps.
async fn invitations_of(app: &TestApp, org_id: Uuid) -> Vec<(String, bool)> {
    let rows: Vec<(String, Option<OffsetDateTime>)> = sqlx::query_as(
        "select email, revoked_at from invitations where org_id = $1 order by email",
    )
    .bind(org_id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(email, revoked_at)| (email, revoked_at.is_some()))
        .collect()
}

/// A fresh organization with its owner, the actor in `role` (if a member) and one
/// pending invitation; returns the organization's and the invitation's ids.
async fn new_org(app: &TestApp, owner: Uuid, actor: (Option<Role>, Uuid)) -> (Uuid, Uuid) {
    let org_id = Uuid::now_v7();
    sqlx::query("insert into organizations (id, name, slug) values ($1, 'Matrix', $2)")
        .bind(org_id)
        .bind(org_id.to_string())
        .execute(&app.db)
        .await
        .unwrap();
    let mut members = vec![(owner, Role::Owner)];
    if let (Some(role), user) = actor
        && role != Role::Owner
    {
        members.push((user, role));
    }
    for (user, role) in members {
        sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, $3)")
            .bind(org_id)
            .bind(user)
            .bind(role.as_str())
            .execute(&app.db)
            .await
            .unwrap();
    }
    let in_a_week = OffsetDateTime::now_utc() + time::Duration::days(7);
    let token = org_id.to_string();
    let invitation =
        insert_invitation(app, org_id, owner, "pending@example.com", &token, in_a_week).await;
    (org_id, invitation)
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_role_and_an_outsider_on_every_invitation_route_get_what_the_table_says(db: DbPool) {
    let app = spawn_app(db).await;
    let owner: Uuid = app.signup("owner@example.com").await.parse().unwrap();
    app.verify("owner@example.com").await;
    let mut actors: Vec<(Option<Role>, Client, Uuid)> = Vec::new();
    for role in ACTORS {
        if role == Some(Role::Owner) {
            actors.push((role, app.client.clone(), owner));
            continue;
        }
        let email = role.map_or("outsider@example.com".to_owned(), |role| {
            format!("{role}@example.com")
        });
        let client = app.another_client();
        assert_eq!(
            app.signup_as(&client, &email).await.status(),
            StatusCode::CREATED
        );
        app.verify(&email).await;
        actors.push((role, client, app.user_id(&email).await));
    }

    let mut cases = 0;
    for operation in [Operation::Invite, Operation::List, Operation::Revoke] {
        for (role, client, user) in &actors {
            let case = format!("{operation:?} as {role:?}");
            let (org_id, invitation) = new_org(&app, owner, (*role, *user)).await;
            let before = invitations_of(&app, org_id).await;
            let base = app.url(&format!("/orgs/{org_id}/invitations"));
            let request = match operation {
                Operation::Invite => client
                    .request(Method::POST, &base)
                    .json(&json!({ "email": "new@example.com", "role": "member" })),
                Operation::List => client.request(Method::GET, &base),
                Operation::Revoke => client.request(Method::DELETE, format!("{base}/{invitation}")),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let after = invitations_of(&app, org_id).await;

            match role {
                None => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{case}: {body}");
                    assert_eq!(after, before, "{case}");
                }
                Some(role) if Permission::MembersInvite.allows(*role) => match operation {
                    Operation::Invite => {
                        assert_eq!(status, StatusCode::CREATED, "{case}: {body}");
                        let mut expected = before.clone();
                        expected.insert(0, ("new@example.com".to_owned(), false));
                        assert_eq!(after, expected, "{case}");
                    }
                    Operation::List => {
                        assert_eq!(status, StatusCode::OK, "{case}: {body}");
                        assert_eq!(body[0]["id"], json!(invitation), "{case}");
                        assert_eq!(after, before, "{case}");
                    }
                    Operation::Revoke => {
                        assert_eq!(status, StatusCode::NO_CONTENT, "{case}");
                        assert_eq!(after, [("pending@example.com".to_owned(), true)], "{case}");
                    }
                },
                Some(_) => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {body}");
                    assert_eq!(body["error"]["code"], "forbidden", "{case}");
                    assert_eq!(after, before, "{case}");
                }
            }
            cases += 1;
        }
    }
    assert_eq!(cases, 3 * ACTORS.len());
}

//! Organizations for tests: the personal org a sign-up created, and members added
//! straight into the database, with any role. The users these helpers sign up have
//! verified their address, as anyone who invites or accepts must have.

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use super::TestApp;

impl TestApp {
    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Signs up `email` in the main client and verifies the address; returns the user's
    /// id and their personal org's.
    pub async fn signup_with_org(&self, email: &str) -> (Uuid, Uuid) {
        let user_id: Uuid = self.signup(email).await.parse().unwrap();
        self.verify(email).await;
        (user_id, self.personal_org(user_id).await)
    }

    /// Marks the address of the account at `email` verified, as its link would.
    pub async fn verify(&self, email: &str) {
        sqlx::query("update users set email_verified_at = created_at where email = $1")
            .bind(email)
            .execute(&self.db)
            .await
            .unwrap();
    }

    /// The organization that `user_id`'s sign-up created.
    pub async fn personal_org(&self, user_id: Uuid) -> Uuid {
        sqlx::query_scalar(
            "select org_id from memberships where user_id = $1 order by created_at limit 1",
        )
        .bind(user_id)
        .fetch_one(&self.db)
        .await
        .unwrap()
    }

    /// Signs up `email` in a new client, verifies the address and makes them a member of
    /// `org_id` with `role`, writing the membership directly. Returns the signed-in client.
    pub async fn add_member(&self, org_id: Uuid, email: &str, role: &str) -> Client {
        let client = self.another_client();
        let response = self.signup_as(&client, email).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        self.verify(email).await;
        sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, $3)")
            .bind(org_id)
            .bind(self.user_id(email).await)
            .bind(role)
            .execute(&self.db)
            .await
            .unwrap();
        client
    }

    /// The id of the account at `email`.
    pub async fn user_id(&self, email: &str) -> Uuid {
        sqlx::query_scalar("select id from users where email = $1")
            .bind(email)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// `user_id`'s role in `org_id`, or `None` if they are not a member.
    pub async fn role_in(&self, org_id: Uuid, user_id: Uuid) -> Option<String> {
        sqlx::query_scalar("select role from memberships where org_id = $1 and user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&self.db)
            .await
            .unwrap()
    }

    /// Every `(user_id, role)` of `org_id`, sorted: to show that nothing changed.
    pub async fn memberships(&self, org_id: Uuid) -> Vec<(Uuid, String)> {
        sqlx::query_as("select user_id, role from memberships where org_id = $1 order by user_id")
            .bind(org_id)
            .fetch_all(&self.db)
            .await
            .unwrap()
    }
}

//! The permission matrix, generated from the table in `src/access.rs`: every role and
//! an outsider × every org route. Each case runs in an organization of its own and
//! asserts the status and the database after: the effect when allowed, nothing changed
//! when refused, and 404 for an outsider (who must not learn the organization exists).

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use app::{
    access::{Permission, Role},
    db::DbPool,
};

use crate::{
    common::{TestApp, spawn_app},
    orgs::org_name,
};

/// Every role a member can have, and `None` for a signed-in outsider.
const ACTORS: [Option<Role>; 4] = [
    Some(Role::Owner),
    Some(Role::Admin),
    Some(Role::Member),
    None,
];

/// The role a promotion gives: above member, and within what the table's managers hold.
const PROMOTED: Role = Role::Admin;

/// One org route, as the matrix exercises it.
#[derive(Debug, Clone, Copy)]
enum Operation {
    ReadOrg,
    RenameOrg,
    DeleteOrg,
    ListMembers,
    PromoteMember,
    RemoveMember,
    TransferOwnership,
}

impl Operation {
    const ALL: [Operation; 7] = [
        Self::ReadOrg,
        Self::RenameOrg,
        Self::DeleteOrg,
        Self::ListMembers,
        Self::PromoteMember,
        Self::RemoveMember,
        Self::TransferOwnership,
    ];

    /// The route in the OpenAPI document: its method and path.
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Self::ReadOrg => ("get", "/orgs/{org_id}"),
            Self::RenameOrg => ("patch", "/orgs/{org_id}"),
            Self::DeleteOrg => ("delete", "/orgs/{org_id}"),
            Self::ListMembers => ("get", "/orgs/{org_id}/members"),
            Self::PromoteMember => ("patch", "/orgs/{org_id}/members/{user_id}"),
            Self::RemoveMember => ("delete", "/orgs/{org_id}/members/{user_id}"),
            Self::TransferOwnership => ("post", "/orgs/{org_id}/transfer-ownership"),
        }
    }

    /// Whether `role` may do this by what the OpenAPI document says the route needs (its
    /// `x-permission`, as `cargo run -- routes` lists it) and the table: so a handler
    /// whose check and document disagree fails the matrix.
    fn allowed(self, role: Role) -> bool {
        let (method, path) = self.route();
        let document = serde_json::to_value(app::openapi()).unwrap();
        let needs = document["paths"][path][method]["x-permission"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} names no x-permission"))
            .to_owned();
        match Permission::ALL
            .iter()
            .find(|permission| permission.as_str() == needs)
        {
            Some(permission) => permission.allows(role),
            // Ownership is an owner's to give, whatever the table says.
            None => needs == role.as_str(),
        }
    }

    fn request(self, app: &TestApp, client: &Client, org: &Org) -> RequestBuilder {
        let (id, target) = (org.id, org.target);
        let (method, path, body) = match self {
            Self::ReadOrg => (Method::GET, format!("/orgs/{id}"), None),
            Self::RenameOrg => (
                Method::PATCH,
                format!("/orgs/{id}"),
                Some(json!({ "name": "Renamed" })),
            ),
            Self::DeleteOrg => (Method::DELETE, format!("/orgs/{id}"), None),
            Self::ListMembers => (Method::GET, format!("/orgs/{id}/members"), None),
            Self::PromoteMember => (
                Method::PATCH,
                format!("/orgs/{id}/members/{target}"),
                Some(json!({ "role": PROMOTED })),
            ),
            Self::RemoveMember => (Method::DELETE, format!("/orgs/{id}/members/{target}"), None),
            Self::TransferOwnership => (
                Method::POST,
                format!("/orgs/{id}/transfer-ownership"),
                Some(json!({ "user_id": target })),
            ),
        };
        let request = client.request(method, app.url(&path));
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
    }

    fn success(self) -> StatusCode {
        match self {
            Self::DeleteOrg | Self::RemoveMember => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        }
    }

    /// Asserts the database after the allowed request by `actor` (with `role`).
    async fn assert_done(self, app: &TestApp, org: &Org, before: &State, role: Role, body: &Value) {
        let after = State::of(app, org.id).await;
        let mut expected = before.clone();
        match self {
            Self::ReadOrg => {
                let permissions: Vec<&str> = Permission::ALL
                    .iter()
                    .filter(|permission| permission.allows(role))
                    .map(|permission| permission.as_str())
                    .collect();
                assert_eq!(body["permissions"], json!(permissions));
                assert_eq!(body["role"], json!(role));
            }
            Self::ListMembers => assert_eq!(body.as_array().unwrap().len(), before.members.len()),
            Self::RenameOrg => expected.name = Some("Renamed".to_owned()),
            Self::DeleteOrg => expected = State::default(),
            Self::PromoteMember => expected.set(org.target, PROMOTED),
            Self::RemoveMember => expected.members.retain(|(user, _)| *user != org.target),
            Self::TransferOwnership => {
                expected.set(org.target, Role::Owner);
                expected.set(org.actor, Role::after_transfer());
            }
        }
        assert_eq!(after, expected);
    }
}

/// An organization's name and memberships: what a refused request must leave as it was.
#[derive(Debug, Clone, Default, PartialEq)]
struct State {
    name: Option<String>,
    members: Vec<(Uuid, String)>,
}

impl State {
    async fn of(app: &TestApp, org_id: Uuid) -> Self {
        Self {
            name: org_name(app, org_id).await,
            members: app.memberships(org_id).await,
        }
    }

    fn set(&mut self, user_id: Uuid, role: Role) {
        for (user, current) in &mut self.members {
            if *user == user_id {
                *current = role.as_str().to_owned();
            }
        }
    }
}

/// A fresh organization for one case: its owner, the actor in their role (the owner
/// when the role is owner), and a member the operation targets.
struct Org {
    id: Uuid,
    actor: Uuid,
    target: Uuid,
}

struct People {
    owner: (Client, Uuid),
    target: Uuid,
    /// One signed-in user per role the matrix tries, and one outsider.
    actors: Vec<(Option<Role>, Client, Uuid)>,
}

async fn people(app: &TestApp) -> People {
    let sign_up = async |email: &str| {
        let client = app.another_client();
        assert_eq!(
            app.signup_as(&client, email).await.status(),
            StatusCode::CREATED
        );
        (client, app.user_id(email).await)
    };
    let owner = sign_up("owner@example.com").await;
    let (_, target) = sign_up("target@example.com").await;
    let mut actors = Vec::new();
    for actor in ACTORS {
        let (client, id) = match actor {
            Some(Role::Owner) => owner.clone(),
            Some(role) => sign_up(&format!("{role}@example.com")).await,
            None => sign_up("outsider@example.com").await,
        };
        actors.push((actor, client, id));
    }
    People {
        owner,
        target,
        actors,
    }
}

async fn new_org(app: &TestApp, people: &People, actor: (Option<Role>, Uuid)) -> Org {
    let id = Uuid::now_v7();
    sqlx::query("insert into organizations (id, name, slug) values ($1, 'Matrix', $2)")
        .bind(id)
        .bind(id.to_string())
        .execute(&app.db)
        .await
        .unwrap();
    let mut members = vec![(people.owner.1, Role::Owner), (people.target, Role::Member)];
    if let (Some(role), user) = actor
        && role != Role::Owner
    {
        members.push((user, role));
    }
    for (user, role) in members {
        sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, $3)")
            .bind(id)
            .bind(user)
            .bind(role.as_str())
            .execute(&app.db)
            .await
            .unwrap();
    }
    Org {
        id,
        actor: actor.1,
        target: people.target,
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_role_and_an_outsider_on_every_org_route_get_what_the_table_says(db: DbPool) {
    let app = spawn_app(db).await;
    let people = people(&app).await;

    let mut cases = 0;
    for operation in Operation::ALL {
        for (role, client, user) in &people.actors {
            let case = format!("{operation:?} as {role:?}");
            let org = new_org(&app, &people, (*role, *user)).await;
            let before = State::of(&app, org.id).await;
            let response = operation.request(&app, client, &org).send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);

            match role {
                None => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{case}: {body}");
                    assert_eq!(State::of(&app, org.id).await, before, "{case}");
                }
                Some(role) if operation.allowed(*role) => {
                    assert_eq!(status, operation.success(), "{case}: {body}");
                    operation
                        .assert_done(&app, &org, &before, *role, &body)
                        .await;
                }
                Some(_) => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {body}");
                    assert_eq!(body["error"]["code"], "forbidden", "{case}");
                    assert_eq!(State::of(&app, org.id).await, before, "{case}");
                }
            }
            cases += 1;
        }
    }
    assert_eq!(cases, Operation::ALL.len() * ACTORS.len());
}

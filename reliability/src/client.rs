//! The app's API as the scenarios call it, and the tally of what they saw.

use std::{collections::BTreeMap, fmt, time::Duration};

use anyhow::{Context, bail};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "reliability password";

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .expect("a plain HTTP client")
}

/// A signed-in user, with the API token the scenarios send as `Authorization: Bearer`.
#[derive(Debug, Clone)]
pub struct User {
    pub email: String,
    pub token: String,
}

/// The session cookie of a response (`name=value`), if it set one.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| !value.contains("Max-Age=0"))
        .and_then(|value| value.split(';').next())
        .map(str::to_owned)
}

pub async fn signup(
    client: &Client,
    base: &str,
    email: &str,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/auth/signup"))
        .json(&json!({ "email": email, "password": PASSWORD, "name": "Reliability" }))
        .send()
        .await
}

pub async fn login(client: &Client, base: &str, email: &str) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
}

/// Signs up `email` and creates an API token for it.
pub async fn user(client: &Client, base: &str, email: &str) -> anyhow::Result<User> {
    let response = signup(client, base, email).await?;
    if response.status() != StatusCode::CREATED {
        bail!("signup of {email}: {}", response.status());
    }
    let cookie = session_cookie(&response).context("signup sets a session cookie")?;
    let response = client
        .post(format!("{base}/auth/tokens"))
        .header(reqwest::header::COOKIE, &cookie)
        .json(&json!({ "name": "reliability" }))
        .send()
        .await?;
    if response.status() != StatusCode::CREATED {
        bail!("token for {email}: {}", response.status());
    }
    let body: Value = response.json().await?;
    Ok(User {
        email: email.to_owned(),
        token: body["token"].as_str().context("a token")?.to_owned(),
    })
}

/// POSTs `body` to `path` as `user`: the status and the body.
pub async fn post(
    client: &Client,
    base: &str,
    user: &User,
    path: &str,
    body: Value,
) -> reqwest::Result<(StatusCode, Value)> {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(&user.token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// The id of a create answered 201, as [`crate::db::hex_of`] writes it.
pub fn created_id(outcome: &reqwest::Result<(StatusCode, Value)>) -> Option<String> {
    match outcome {
        Ok((status, body)) if *status == StatusCode::CREATED => {
            body["id"].as_str().map(crate::db::hex_of)
        }
        _ => None,
    }
}

/// A new organization of `user`: its id.
pub async fn org(client: &Client, base: &str, user: &User, name: &str) -> anyhow::Result<String> {
    let (status, body) = post(client, base, user, "/orgs", json!({ "name": name })).await?;
    if status != StatusCode::CREATED {
        bail!("creating organization {name}: {status} {body}");
    }
    Ok(body["id"].as_str().context("an id")?.to_owned())
}

/// How many answers of each status a scenario saw; transport errors under "error".
#[derive(Debug, Default)]
pub struct Tally(pub BTreeMap<String, usize>);

impl Tally {
    pub fn add(&mut self, outcome: &reqwest::Result<StatusCode>) {
        let key = match outcome {
            Ok(status) => status.as_u16().to_string(),
            Err(_) => "error".to_owned(),
        };
        *self.0.entry(key).or_default() += 1;
    }

    pub fn count(&self, key: &str) -> usize {
        self.0.get(key).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.0.values().sum()
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{n}×{k}")).collect();
        write!(f, "{}", parts.join(" "))
    }
}

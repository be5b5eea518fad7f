//! Development aids, served only where `Config::serves_dev_pages` says (never in
//! production, and only on a loopback address) and not part of the API's document: a
//! page for each link the app mails, standing in for the frontend's until
//! `FRONTEND_URL` names one, and the outbox as JSON.

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::Html,
    routing::get,
};
use serde::{Deserialize, Serialize};

use crate::{
    AppState, auth::session, config::Config, error::AppError, links::MailedLink, mail::Sent,
};

/// The newest messages `GET /dev/mail` lists.
const MAIL_LISTED: usize = 50;

/// The development routes, or none.
pub fn router(config: &Config) -> Router<AppState> {
    if !config.serves_dev_pages() {
        return Router::new();
    }
    let pages = MailedLink::ALL.iter().fold(Router::new(), |router, &link| {
        router.route(
            link.page(),
            get(move |state, query| link_page(link, state, query)),
        )
    });
    pages.route("/dev/mail", get(outbox))
}

#[derive(Deserialize)]
struct LinkQuery {
    token: Option<String>,
}

/// What a mailed link's page would do, as the API call that does it.
async fn link_page(
    link: MailedLink,
    State(state): State<AppState>,
    Query(query): Query<LinkQuery>,
) -> (StatusCode, Html<String>) {
    let completion = link.completion();
    let title = completion.title;
    // Tokens are URL-safe base64; anything else is not one of ours, and is never
    // written into the page.
    let Some(token) = query.token.filter(|token| is_token(token)) else {
        let page = format!("<h1>{title}</h1>\n<p>This link has no valid token.</p>");
        return (StatusCode::BAD_REQUEST, Html(html(title, &page)));
    };
    let url = format!("{}{}", state.config.app_url, completion.route);
    let mut body = serde_json::Map::new();
    body.insert("token".to_owned(), token.into());
    for (name, example) in completion.other_fields {
        body.insert((*name).to_owned(), (*example).into());
    }
    let body = serde_json::Value::Object(body);
    let sign_in = if completion.signed_in {
        "<p>The call needs the invited user signed in: send their session cookie (curl's \
         <code>-b</code>) or an API token.</p>\n"
    } else {
        ""
    };
    let page = format!(
        "<h1>{title}</h1>\n\
         <p>This page stands in for your frontend's, in development only. \
         Set <code>FRONTEND_URL</code> to your frontend, and its page at \
         <code>{page}</code> completes the link with this call:</p>\n\
         <pre>POST {url}\ncontent-type: application/json\n\n{body}</pre>\n\
         {sign_in}\
         <p>From a terminal:</p>\n\
         <pre>curl -i -H 'content-type: application/json' \\\n    -d '{body}' \\\n    {url}</pre>",
        page = link.page(),
    );
    (StatusCode::OK, Html(html(title, &page)))
}

fn is_token(token: &str) -> bool {
    token.len() == session::TOKEN_LENGTH
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n{body}\n</html>\n"
    )
}

#[derive(Serialize)]
struct Outbox {
    /// Newest first.
    messages: Vec<Sent>,
}

/// The newest messages in `MAIL_DIR`, as the app wrote them (no MIME encoding), so
/// their links can be copied.
async fn outbox(State(state): State<AppState>) -> Result<Json<Outbox>, AppError> {
    let dir = state.config.mail_dir.clone();
    let mut messages = tokio::task::spawn_blocking(move || read_outbox(&dir))
        .await
        .map_err(anyhow::Error::from)??;
    messages.sort_by_key(|sent| std::cmp::Reverse(sent.sent_at));
    messages.truncate(MAIL_LISTED);
    Ok(Json(Outbox { messages }))
}

fn read_outbox(dir: &std::path::Path) -> anyhow::Result<Vec<Sent>> {
    let mut messages = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        // A file of another version of the app, or edited by hand, is left out, not
        // the reason the list fails.
        let read = std::fs::read(&path).map_err(anyhow::Error::from);
        match read.and_then(|bytes| Ok(serde_json::from_slice::<Sent>(&bytes)?)) {
            Ok(sent) => messages.push(sent),
            Err(error) => tracing::warn!(path = %path.display(), %error, "not a mail copy"),
        }
    }
    Ok(messages)
}

//! Refuses state-changing requests that a browser sends on behalf of another origin.
//!
//! Cookies travel with requests from other pages, so a page elsewhere, a sibling
//! subdomain included, could otherwise make a signed-in browser act here. Browsers say
//! where a request comes from: `Origin` on every POST, PATCH, PUT and DELETE, which must
//! be the app's own origin or one of `CORS_ALLOWED_ORIGINS`, exactly; older ones only
//! `Sec-Fetch-Site`, which must then say `same-origin`. Programs send neither header and
//! pass, as do requests authenticated by a bearer token, which no page can attach.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, config::Config, error::AppError};

/// Middleware: 403 for an unsafe request a browser sends from an origin the app does not trust.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let bearer = request.headers().contains_key(header::AUTHORIZATION);
    if !safe && !bearer && is_cross_site(request.headers(), &state.config) {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
        return AppError::Forbidden("cross-site requests are not allowed").into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, config: &Config) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return !config.trusts_origin(origin.as_bytes());
    }
    // `same-site` is a sibling subdomain: another origin, which only `Origin` could name.
    headers
        .get("sec-fetch-site")
        .is_some_and(|site| !matches!(site.as_bytes(), b"same-origin" | b"none"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    fn config() -> Config {
        Config::from_vars([
            ("APP_URL", "https://api.example"),
            ("CORS_ALLOWED_ORIGINS", "https://app.example"),
        ])
        .unwrap()
    }

    #[test]
    fn the_origin_decides_when_present_and_must_be_trusted_exactly() {
        let config = config();
        for trusted in ["https://api.example", "https://app.example"] {
            let sent = headers(&[("origin", trusted), ("sec-fetch-site", "same-site")]);
            assert!(!is_cross_site(&sent, &config), "{trusted}");
        }
        for foreign in [
            "https://evil.example",
            "https://other.api.example",
            "http://api.example",
            "null",
        ] {
            let sent = headers(&[("origin", foreign), ("sec-fetch-site", "same-site")]);
            assert!(is_cross_site(&sent, &config), "{foreign}");
        }
    }

    #[test]
    fn without_an_origin_fetch_metadata_must_say_same_origin() {
        let config = config();
        for (site, cross) in [
            ("cross-site", true),
            ("same-site", true),
            ("same-origin", false),
            ("none", false),
        ] {
            let sent = headers(&[("sec-fetch-site", site)]);
            assert_eq!(is_cross_site(&sent, &config), cross, "{site}");
        }
        assert!(
            !is_cross_site(&headers(&[]), &config),
            "non-browser clients pass"
        );
    }
}

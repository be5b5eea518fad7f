//! Refuses state-changing requests that a browser sends on behalf of another site.
//!
//! Cookies travel with cross-site requests, so a page elsewhere could otherwise make
//! a signed-in browser act here. Browsers say where a request comes from
//! (`Sec-Fetch-Site`, and `Origin` on older ones); programs send neither header and
//! pass, as do requests authenticated by a bearer token, which no page can attach.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, error::AppError};

/// Middleware: 403 for an unsafe request a browser marks as cross-site or from another origin.
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
    if !safe && !bearer && is_cross_site(request.headers(), &state.config.app_origin) {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
        return AppError::Forbidden("cross-site requests are not allowed").into_response();
    }
    next.run(request).await
}

/// `app_origin` is `APP_URL` reduced to its origin, as browsers write `Origin`.
fn is_cross_site(headers: &HeaderMap, app_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"cross-site";
    }
    headers.get(header::ORIGIN).is_some_and(|origin| {
        !origin
            .as_bytes()
            .eq_ignore_ascii_case(app_origin.as_bytes())
    })
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

    #[test]
    fn fetch_metadata_decides_when_present() {
        let app = "https://app.example";
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            app
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            app
        ));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "none")]), app));
    }

    #[test]
    fn otherwise_the_origin_must_be_ours() {
        let app = "https://app.example";
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            app
        ));
        assert!(!is_cross_site(
            &headers(&[("origin", "https://app.example")]),
            app
        ));
        assert!(
            !is_cross_site(&headers(&[]), app),
            "non-browser clients pass"
        );
    }
}

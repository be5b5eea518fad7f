//! What wraps every route: request ids, the request log and metrics, the security
//! headers every answer carries, CORS for the origins in `CORS_ALLOWED_ORIGINS`, and the
//! handler that turns a panic into a 500.

use std::{
    any::Any,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, header},
    middleware::Next,
    response::IntoResponse,
};
use tower_http::{
    ServiceBuilderExt,
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestId, RequestId},
    trace::TraceLayer,
};
use uuid::Uuid;

use crate::{
    config::Config,
    error::AppError,
    metrics::{Metrics, UNMATCHED},
};

/// `router` wrapped in the middleware every route shares; `metrics` counts its requests.
pub fn around<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    config: &Config,
    metrics: &Metrics,
) -> Router<S> {
    let x_request_id = HeaderName::from_static("x-request-id");
    // Only where browsers reach the app over HTTPS: it makes them refuse plain HTTP for a year.
    let hsts = config
        .is_https()
        .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    let layers = tower::ServiceBuilder::new()
        .set_request_id(x_request_id.clone(), RequestIds::new())
        // The span of every log line about the request: its method, the route it
        // matched and its id. Only these: headers carry cookies and tokens, and a path
        // may carry a token. The line that ends the request is `log_and_count`'s.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(())
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            log_and_count,
        ))
        .propagate_request_id(x_request_id)
        // Every answer carries these, errors and caught panics included: the panic
        // handler sits inside them.
        .map_response(move |mut response: Response<_>| {
            let own_policy = response.extensions().get::<OwnPolicy>().copied();
            add_security_headers(response.headers_mut(), hsts.as_ref(), own_policy);
            response
        })
        .option_layer(cors(config))
        .layer(CatchPanicLayer::custom(answer_panic));
    router.layer(layers)
}

fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route_of(request),
        request_id = %request_id,
    );
    // The caller's trace, when it sends one: the exported span is a child of its span.
    #[cfg(feature = "otel")]
    crate::otel::continue_trace(&span, request.headers());
    span
}

/// The route template `request` matched, such as `/auth/sessions/{id}`; [`UNMATCHED`]
/// for a path no route has, so that neither the log nor the metrics hold raw paths.
fn route_of<B>(request: &Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
}

/// Logs one line per request at INFO, in the request's span, with its status and
/// latency, and counts it in the metrics. Inside the panic handler's answer, so a
/// panic is logged and counted as the 500 it became.
async fn log_and_count(
    State(metrics): State<Metrics>,
    request: Request<Body>,
    next: Next,
) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let route = route_of(&request).to_owned();
    let response = next.run(request).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    tracing::info!(
        status,
        latency_ms = latency.as_micros() as f64 / 1000.0,
        "request"
    );
    #[cfg(feature = "otel")]
    crate::otel::record_status(&tracing::Span::current(), status);
    metrics.observe_request(&method, &route, status, latency);
    response
}

/// Lets pages at `CORS_ALLOWED_ORIGINS` call the app with the browser's cookies: answers
/// their preflights and marks the answers they may read. `None` when the list is empty,
/// so the app answers no preflight and browsers keep other origins' pages out.
fn cors(config: &Config) -> Option<CorsLayer> {
    if config.cors_allowed_origins.is_empty() {
        return None;
    }
    let origins = config
        .cors_allowed_origins
        .iter()
        .map(|origin| HeaderValue::from_str(origin).expect("a parsed origin is a header value"));
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-request-id")])
            // Browsers cap this (Chrome at two hours); ten minutes is what they all keep.
            .max_age(Duration::from_secs(600)),
    )
}

/// Request ids: a prefix drawn once per process and a counter, such as
/// `019ac3e1f2a47c3b8e1d5f0a9b2c4d6e-1f`. Unique across instances and restarts
/// without a random draw, a system call, per request. A request that arrives with an
/// `x-request-id` keeps it, so a proxy's id follows the request through the log.
#[derive(Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        Self {
            prefix: Uuid::now_v7().simple().to_string().into(),
            next: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = HeaderValue::try_from(format!("{}-{n:x}", self.prefix)).ok()?;
        Some(RequestId::new(id))
    }
}

/// A page's own `Content-Security-Policy`, as a response extension: the one way an
/// answer gets a policy other than the API's (a header a handler sets is replaced).
/// Only the API reference at `/docs` uses it.
#[derive(Clone, Copy)]
pub struct OwnPolicy(pub &'static str);

/// The headers every answer carries, replacing any a handler set.
fn add_security_headers(
    headers: &mut HeaderMap,
    hsts: Option<&HeaderValue>,
    own_policy: Option<OwnPolicy>,
) {
    const HEADERS: [(HeaderName, &str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // A JSON API loads nothing and is framed by no one.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        // Answers are per user: no shared cache may keep one.
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Some(OwnPolicy(policy)) = own_policy {
        let policy = HeaderValue::from_static(policy);
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if let Some(hsts) = hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
}

/// A panicking handler answers 500 with our error body; the process keeps serving.
fn answer_panic(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    AppError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::net::TcpListener;

    /// Serves `router` wrapped in the middleware; the address it listens on.
    async fn serve(router: Router, app_url: &str) -> std::net::SocketAddr {
        let config = Config::from_vars([("APP_URL", app_url)]).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let metrics = Metrics::new();
        tokio::spawn(axum::serve(listener, around(router, &config, &metrics)).into_future());
        address
    }

    /// Serves `router` wrapped in the middleware and GETs `path` from it.
    async fn get_from(router: Router, app_url: &str, path: &str) -> reqwest::Response {
        let address = serve(router, app_url).await;
        reqwest::get(format!("http://{address}{path}"))
            .await
            .unwrap()
    }

    fn assert_security_headers(response: &reqwest::Response) {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(headers["cache-control"], "no-store");
        assert!(!headers["x-request-id"].is_empty());
    }

    #[tokio::test]
    async fn only_an_own_policy_extension_replaces_the_apis_policy() {
        let loose = "default-src *";
        let router = Router::new()
            .route(
                "/header",
                get(move || async move { ([(header::CONTENT_SECURITY_POLICY, loose)], "") }),
            )
            .route(
                "/extension",
                get(move || async move { (axum::Extension(OwnPolicy(loose)), "") }),
            );
        let address = serve(router, "http://localhost:3000").await;

        let get = |path: &'static str| reqwest::get(format!("http://{address}{path}"));
        assert_security_headers(&get("/header").await.unwrap());
        let own = get("/extension").await.unwrap();
        assert_eq!(own.headers()["content-security-policy"], loose);
    }

    #[tokio::test]
    async fn a_panic_is_an_opaque_500_that_still_carries_the_security_headers() {
        async fn boom() -> &'static str {
            panic!("secret detail")
        }
        let router = Router::new().route("/boom", get(boom));

        let response = get_from(router, "https://app.example", "/boom").await;

        assert_eq!(response.status(), 500);
        assert_security_headers(&response);
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains("\"internal\""), "{body}");
        assert!(!body.contains("secret detail"), "{body}");
    }

    #[tokio::test]
    async fn every_request_gets_its_own_id_unless_it_brings_one() {
        let router = Router::new().route("/", get(|| async { "ok" }));
        let address = serve(router, "http://localhost:3000").await;
        let url = format!("http://{address}/");
        let client = reqwest::Client::new();
        let id_of = |response: reqwest::Response| response.headers()["x-request-id"].clone();

        let first = id_of(client.get(&url).send().await.unwrap());
        let second = id_of(client.get(&url).send().await.unwrap());
        let brought = client
            .get(&url)
            .header("x-request-id", "from-the-proxy")
            .send()
            .await
            .unwrap();

        assert_ne!(first, second);
        assert_eq!(id_of(brought), "from-the-proxy");
    }

    #[tokio::test]
    async fn hsts_is_sent_only_when_app_url_is_https() {
        let router = Router::new().route("/", get(|| async { "ok" }));

        let response = get_from(router, "http://localhost:3000", "/").await;

        assert_security_headers(&response);
        assert!(!response.headers().contains_key("strict-transport-security"));
    }
}

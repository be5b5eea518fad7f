//! OpenTelemetry traces (the `otel` feature), exported to a collector on 127.0.0.1 that
//! decodes what it receives: a request continues its caller's trace, a job joins the
//! trace of the request that queued it, and without an endpoint nothing is exported.

use std::sync::{Arc, Mutex};

use axum::{Router, body::Bytes, extract::State, http::header, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, any_value::Value},
    trace::v1::Span,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message;
use reqwest::StatusCode;
use serde_json::json;
use tokio::net::TcpListener;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt};

use app::{config::Config, db::DbPool, otel};

use crate::common::{PASSWORD, TestApp, log_on_this_thread, spawn_app};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A fake OTLP/HTTP collector: every export request it received on `/v1/traces`.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

impl Collector {
    /// Serves a new collector on a port the OS picks; its base URL, as
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let router = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(collector.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (collector, url)
    }

    /// Every span received, with the `service.name` of the resource that sent it.
    fn spans(&self) -> Vec<(String, Span)> {
        let requests = self.0.lock().unwrap();
        let mut spans = Vec::new();
        for resource_spans in requests.iter().flat_map(|request| &request.resource_spans) {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|resource| text_attribute(&resource.attributes, "service.name"))
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    spans.push((service.clone(), span.clone()));
                }
            }
        }
        spans
    }
}

async fn receive(
    State(collector): State<Collector>,
    body: Bytes,
) -> impl axum::response::IntoResponse {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    collector.0.lock().unwrap().push(request);
    // An empty ExportTraceServiceResponse: no field set encodes as no bytes.
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        Bytes::new(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attribute<'a>(
    attributes: &'a [opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value: &AnyValue| value.value.as_ref())
}

fn text_attribute(
    attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    match attribute(attributes, key)? {
        Value::StringValue(text) => Some(text.clone()),
        _ => None,
    }
}

/// The app over `db`, its spans exported as the app exports them when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is `endpoint`, on this thread (the tests' runtime has
/// one thread, so the app's tasks too) while the guard lives.
async fn traced_app(db: DbPool, endpoint: &str) -> (TestApp, SdkTracerProvider, DefaultGuard) {
    let config = Config::from_vars([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_SERVICE_NAME", "traced-app"),
    ])
    .unwrap();
    let provider = otel::tracer_provider(&config)
        .unwrap()
        .expect("an endpoint is set");
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(otel::layer(&provider));
    let guard = log_on_this_thread(subscriber);
    (spawn_app(db).await, provider, guard)
}

fn request_span<'a>(spans: &'a [(String, Span)], route: &str) -> &'a Span {
    spans
        .iter()
        .map(|(_, span)| span)
        .find(|span| {
            span.name == "request"
                && text_attribute(&span.attributes, "route").as_deref() == Some(route)
        })
        .unwrap_or_else(|| panic!("no request span for {route}"))
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_request_continues_the_trace_its_caller_sends(db: DbPool) {
    let (collector, endpoint) = Collector::start().await;
    let (app, provider, _guard) = traced_app(db, &endpoint).await;

    let response = app
        .client
        .get(app.url("/health/live"))
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Sends what is left, as the app does at shutdown; and the provider, stopped, no
    // longer blocks the runtime's one thread when the subscriber drops it.
    otel::shutdown(provider).await;

    let spans = collector.spans();
    let span = request_span(&spans, "/health/live");
    assert_eq!(hex(&span.trace_id), TRACE_ID);
    assert_eq!(hex(&span.parent_span_id), CALLER_SPAN_ID);
    assert_ne!(hex(&span.span_id), CALLER_SPAN_ID);
    assert_eq!(
        attribute(&span.attributes, "http.response.status_code"),
        Some(&Value::IntValue(200))
    );
    assert!(spans.iter().all(|(service, _)| service == "traced-app"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_request_without_a_traceparent_starts_a_trace_of_its_own(db: DbPool) {
    let (collector, endpoint) = Collector::start().await;
    let (app, provider, _guard) = traced_app(db, &endpoint).await;

    let response = app.get("/health/live").await;
    assert_eq!(response.status(), StatusCode::OK);
    // Sends what is left, as the app does at shutdown; and the provider, stopped, no
    // longer blocks the runtime's one thread when the subscriber drops it.
    otel::shutdown(provider).await;

    let spans = collector.spans();
    let span = request_span(&spans, "/health/live");
    assert!(span.parent_span_id.is_empty());
    assert_ne!(hex(&span.trace_id), TRACE_ID);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_job_is_a_child_of_the_request_that_queued_it(db: DbPool) {
    let (collector, endpoint) = Collector::start().await;
    let (app, provider, _guard) = traced_app(db, &endpoint).await;

    // Signing up queues the verification mail.
    let response = app
        .client
        .post(app.url("/auth/signup"))
        .header("traceparent", TRACEPARENT)
        .json(&json!({ "email": "traced@example.com", "password": PASSWORD, "name": "Traced" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Vec<Option<String>> = sqlx::query_scalar("select trace_context from jobs")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(!stored.is_empty());
    for traceparent in &stored {
        let traceparent = traceparent
            .as_deref()
            .expect("a job queued in a traced request");
        assert!(
            traceparent.starts_with(&format!("00-{TRACE_ID}-")),
            "{traceparent}"
        );
    }
    app.wait_for_jobs().await;
    // Sends what is left, as the app does at shutdown; and the provider, stopped, no
    // longer blocks the runtime's one thread when the subscriber drops it.
    otel::shutdown(provider).await;

    let spans = collector.spans();
    let request = request_span(&spans, "/auth/signup");
    let jobs: Vec<&Span> = spans
        .iter()
        .map(|(_, span)| span)
        .filter(|span| span.name == "job")
        .collect();
    assert_eq!(jobs.len(), stored.len());
    for job in jobs {
        assert_eq!(hex(&job.trace_id), TRACE_ID);
        assert_eq!(job.parent_span_id, request.span_id);
        assert!(text_attribute(&job.attributes, "kind").is_some());
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn without_an_endpoint_no_exporter_is_built_and_jobs_keep_no_trace(db: DbPool) {
    let config = Config::from_vars::<&str, &str>([]).unwrap();
    assert!(otel::tracer_provider(&config).unwrap().is_none());

    // The app's own tracing, as `telemetry::init` installs it without an endpoint.
    let app = spawn_app(db).await;
    let response = app
        .client
        .post(app.url("/auth/signup"))
        .header("traceparent", TRACEPARENT)
        .json(&json!({ "email": "untraced@example.com", "password": PASSWORD, "name": "Untraced" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    app.wait_for_jobs().await;

    let stored: Vec<Option<String>> = sqlx::query_scalar("select trace_context from jobs")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(!stored.is_empty());
    assert!(stored.iter().all(Option::is_none), "{stored:?}");
}

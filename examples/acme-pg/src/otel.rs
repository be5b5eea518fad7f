//! OpenTelemetry traces (the `otel` feature): the app's spans exported over OTLP/HTTP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context (`traceparent`,
//! `tracestate`) read from requests, sent with outgoing calls and kept with each job.
//!
//! A request's span continues the caller's trace. A job's span is a child of the span
//! of the request that queued it, not only linked to it: the job is that request's
//! work finished later, so a trace shows the request and the mail it sent together.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    runtime,
    trace::{SdkTracerProvider, Tracer, span_processor_with_async_runtime::BatchSpanProcessor},
};
use tracing::Subscriber;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::registry::LookupSpan;

use crate::config::Config;

/// The longest the exporter gets to send the spans left at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The tracer provider exporting to `OTEL_EXPORTER_OTLP_ENDPOINT` (to its `/v1/traces`),
/// as the service `OTEL_SERVICE_NAME`; `None` when the variable is unset. The exporter
/// and the SDK read the other standard variables themselves (`OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_TRACES_SAMPLER`, …). Must be called within the
/// tokio runtime, which sends the batches.
pub fn tracer_provider(config: &Config) -> anyhow::Result<Option<SdkTracerProvider>> {
    let Some(endpoint) = &config.otel_endpoint else {
        return Ok(None);
    };
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    let resource = Resource::builder()
        .with_service_name(config.otel_service_name.clone())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter, runtime::Tokio).build())
        .with_resource(resource)
        .build();
    Ok(Some(provider))
}

/// The layer that turns the app's spans into OpenTelemetry spans of `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> OpenTelemetryLayer<S, Tracer>
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
}

/// Sends the spans not yet exported and stops the exporter, within [`FLUSH_TIMEOUT`].
pub async fn shutdown(provider: SdkTracerProvider) {
    // The SDK waits for the exporter's task by blocking: off the runtime's threads.
    let stopped =
        tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT)).await;
    if let Ok(Err(error)) = stopped {
        tracing::warn!(%error, "could not export the last spans");
    }
}

/// Makes `span` continue the trace that `headers` carry in `traceparent` (and
/// `tracestate`); a request without a valid one starts a trace of its own.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    let context = TraceContextPropagator::new().extract(&Headers(headers));
    if context.span().span_context().is_valid() {
        // Fails only once the span has been entered, and this one is new.
        span.set_parent(context).ok();
    }
}

/// Adds the current span's `traceparent` (and `tracestate`) to `headers`, so that the
/// service called continues the trace.
pub fn inject(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeadersMut(headers));
}

/// The current span's `traceparent`, to keep with work done later; `None` outside a
/// traced span (the feature is on but nothing is exported, or no span is current).
pub fn current_traceparent() -> Option<String> {
    let mut headers = HeaderMap::new();
    inject(&mut headers);
    let value = headers.get("traceparent")?;
    value.to_str().ok().map(str::to_owned)
}

/// Makes `span` a child of the span that `traceparent` names; nothing if it is `None`
/// or not a valid `traceparent`.
pub fn continue_from(span: &tracing::Span, traceparent: Option<&str>) {
    let traceparent = traceparent.and_then(|value| HeaderValue::from_str(value).ok());
    let Some(traceparent) = traceparent else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", traceparent);
    continue_trace(span, &headers);
}

/// Records a request's status on its span, as OpenTelemetry's HTTP conventions name it.
pub fn record_status(span: &tracing::Span, status: u16) {
    span.set_attribute("http.response.status_code", i64::from(status));
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::Context;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_str(value).unwrap(),
                )
            })
            .collect()
    }

    fn is_remote(context: &Context) -> bool {
        let span = context.span();
        span.span_context().is_valid() && span.span_context().is_remote()
    }

    /// Runs `body` with spans bridged to a tracer that exports nowhere.
    fn traced<T>(body: impl FnOnce() -> T) -> T {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry().with(layer(&provider));
        tracing::subscriber::with_default(subscriber, body)
    }

    #[test]
    fn a_valid_traceparent_is_read_and_anything_else_ignored() {
        let propagator = TraceContextPropagator::new();
        let read = |headers: HeaderMap| propagator.extract(&Headers(&headers));
        let context = read(headers(&[("traceparent", TRACEPARENT)]));
        assert!(is_remote(&context));
        let span = context.span();
        assert_eq!(
            span.span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            span.span_context().span_id().to_string(),
            "00f067aa0ba902b7"
        );
        assert!(!is_remote(&read(headers(&[(
            "traceparent",
            "00-zz-00-01"
        )]))));
        assert!(!is_remote(&read(HeaderMap::new())));
    }

    #[test]
    fn a_span_continuing_a_trace_passes_it_on_with_its_own_span_id() {
        traced(|| {
            let span = tracing::info_span!("request");
            continue_trace(
                &span,
                &headers(&[("traceparent", TRACEPARENT), ("tracestate", "vendor=1")]),
            );
            let _entered = span.enter();
            let mut outgoing = HeaderMap::new();
            inject(&mut outgoing);
            let sent = outgoing["traceparent"].to_str().unwrap();
            assert!(
                sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{sent}"
            );
            assert!(!sent.contains("00f067aa0ba902b7"), "{sent}");
            assert_eq!(outgoing["tracestate"], "vendor=1");
            assert_eq!(current_traceparent().as_deref(), Some(sent));
        });
    }

    #[test]
    fn a_job_span_continues_the_stored_traceparent() {
        traced(|| {
            let job = tracing::info_span!("job");
            continue_from(&job, Some(TRACEPARENT));
            let stored = job.in_scope(current_traceparent).unwrap();
            assert!(stored.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));

            let orphan = tracing::info_span!("job");
            continue_from(&orphan, Some("not a traceparent"));
            continue_from(&orphan, None);
            let own = orphan.in_scope(current_traceparent).unwrap();
            assert!(!own.contains("4bf92f3577b34da6a3ce929d0e0e4736"), "{own}");
        });
    }

    #[test]
    fn without_a_traced_span_there_is_no_traceparent() {
        assert_eq!(current_traceparent(), None);
    }
}

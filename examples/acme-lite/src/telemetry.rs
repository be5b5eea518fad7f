//! Log output: readable lines in development, JSON in production; panics go through it.
//! With the `otel` feature, the same spans are exported as OpenTelemetry traces when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`crate::otel`).

use std::{fmt, io::IsTerminal, panic::PanicHookInfo, sync::Once};

use tracing::{Subscriber, subscriber::NoSubscriber};
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{
        FmtContext, FormatEvent, FormatFields, MakeWriter,
        format::{JsonFields, Writer},
    },
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
};

use crate::config::{Config, Environment};

/// Installs the global subscriber, writing to standard output, and sends panics
/// through it; the filter comes from `RUST_LOG` (default `info`). With the `otel`
/// feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans the filter keeps are exported
/// too. Call [`Telemetry::shutdown`] before exiting, to send the last of them.
pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: a log written to a file or a pipe stays plain text.
    let ansi = std::io::stdout().is_terminal();
    let registry = tracing_subscriber::registry().with(filter).with(log_layer(
        config.environment,
        ansi,
        std::io::stdout,
    ));
    #[cfg(feature = "otel")]
    let (registry, traces) = {
        let traces = crate::otel::tracer_provider(config)?;
        (
            registry.with(traces.as_ref().map(crate::otel::layer)),
            traces,
        )
    };
    registry.init();
    log_panics();
    #[cfg(not(feature = "otel"))]
    if config.otel_endpoint.is_some() {
        tracing::warn!(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build has no tracing: build with `--features otel`"
        );
    }
    Ok(Telemetry {
        #[cfg(feature = "otel")]
        traces,
    })
}

/// What [`init`] started that must be stopped before the process exits.
pub struct Telemetry {
    #[cfg(feature = "otel")]
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans not yet sent (with the `otel` feature), within a few seconds.
    pub async fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.traces {
            crate::otel::shutdown(provider).await;
        }
    }
}

/// The subscriber of `environment`, writing to `writer`: in production one JSON object
/// a line, with the service's name and version, the event's fields at the top level
/// and its spans' fields under `span` and `spans`; elsewhere a readable line.
pub fn subscriber<W>(
    environment: Environment,
    filter: EnvFilter,
    ansi: bool,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    Box::new(
        tracing_subscriber::registry()
            .with(filter)
            .with(log_layer(environment, ansi, writer)),
    )
}

/// The log of [`subscriber`], as a layer of any subscriber that stores spans.
fn log_layer<S, W>(
    environment: Environment,
    ansi: bool,
    writer: W,
) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match environment {
        Environment::Production => {
            let json = tracing_subscriber::fmt::format().json().flatten_event(true);
            Box::new(
                layer
                    .with_ansi(false)
                    .fmt_fields(JsonFields::new())
                    .event_format(WithService::new(json)),
            )
        }
        Environment::Development | Environment::Test => Box::new(layer.with_ansi(ansi)),
    }
}

/// A JSON line format with `service` and `version` (the package's) first in each object.
struct WithService<F> {
    inner: F,
    head: String,
}

impl<F> WithService<F> {
    fn new(inner: F) -> Self {
        let head = serde_json::json!({
            "service": env!("CARGO_PKG_NAME"),
            "version": env!("CARGO_PKG_VERSION"),
        })
        .to_string();
        Self {
            inner,
            // `{"service":…,"version":…,` to put before the rest of a line's object.
            head: format!("{},", head.trim_end_matches('}')),
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithService<F>
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    N: for<'writer> FormatFields<'writer> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(context, Writer::new(&mut line), event)?;
        let rest = line.strip_prefix('{').ok_or(fmt::Error)?;
        write!(writer, "{}{rest}", self.head)
    }
}

/// Makes a panic an ERROR event, with its message and where it happened, in the span
/// it happened in (a request's, with its id); where no subscriber is installed, such
/// as in tests, Rust's own message is printed instead. Calling it again does nothing.
pub fn log_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let print = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |panic| {
            let unheard =
                tracing::dispatcher::get_default(|dispatch| dispatch.is::<NoSubscriber>());
            if unheard {
                print(panic);
            } else {
                log_panic(panic);
            }
        }));
    });
}

fn log_panic(panic: &PanicHookInfo<'_>) {
    let message = panic
        .payload()
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.payload().downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    let location = panic
        .location()
        .map(ToString::to_string)
        .unwrap_or_default();
    let thread = std::thread::current();
    tracing::error!(
        panic = message,
        location,
        thread = thread.name().unwrap_or_default(),
        "panicked"
    );
}

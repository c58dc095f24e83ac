//! `rtm-server`: runs the server with the presence, storage and chat modules until SIGINT or
//! SIGTERM.
//! Logs go to stderr (`RUST_LOG` filters them); with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans
//! (one per client request) are also exported over OTLP/HTTP.

use std::process::ExitCode;

use clap::Parser;
use rtm_server::{Config, RealtimeServer, shutdown_signal};

fn main() -> ExitCode {
    // Before the runtime: the OTLP exporter's blocking HTTP client runs on threads of its own.
    let traces = telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let code = runtime.block_on(run());
    drop(runtime);
    if let Some(traces) = traces {
        telemetry::shutdown(traces);
    }
    code
}

async fn run() -> ExitCode {
    let config = Config::parse();
    match RealtimeServer::with_default_modules(config).bind().await {
        Ok(server) => {
            server.run_until(shutdown_signal()).await;
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(%err, "could not start");
            ExitCode::FAILURE
        }
    }
}

/// Logging, and OpenTelemetry traces when configured.
mod telemetry {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    /// Where traces go: the OpenTelemetry variable that turns the exporter on.
    const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// Installs the global subscriber: logs filtered by `RUST_LOG` (default `info`), plus the
    /// OpenTelemetry layer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the same filter applies to
    /// the spans it exports). Returns the tracer provider to shut down at exit.
    pub(crate) fn init() -> Option<SdkTracerProvider> {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let (provider, failed) = match std::env::var_os(ENDPOINT) {
            Some(_) => match provider() {
                Ok(provider) => (Some(provider), None),
                Err(err) => (None, Some(err)),
            },
            None => (None, None),
        };
        let otel = provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("rtm-server")));
        tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer())
            .with(otel)
            .init();
        match (&provider, failed) {
            (Some(_), _) => tracing::info!("exporting traces over OTLP"),
            (None, Some(err)) => tracing::warn!(%err, "cannot export traces over OTLP"),
            (None, None) => {}
        }
        provider
    }

    /// A tracer provider that batches spans to the OTLP/HTTP endpoint the `OTEL_EXPORTER_OTLP_*`
    /// variables name. The service is `rtm-server` unless `OTEL_SERVICE_NAME` says otherwise.
    fn provider() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("rtm-server");
        }
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build())
    }

    /// Exports the spans still buffered, then stops the exporter.
    pub(crate) fn shutdown(provider: SdkTracerProvider) {
        if let Err(err) = provider.shutdown() {
            eprintln!("rtm-server: flushing traces failed: {err}");
        }
    }
}

//! Where the metrics are scraped: `GET /metrics` on the main listener for admin callers
//! (`server.rs` checks the caller), and, with `ORPIPE_METRICS_ADDR`, a listener of its own
//! that serves only `/metrics`, without authentication, for a scraper on a private network.

use crate::runtime::Runtime;
use crate::server::whole_response;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub const METRICS_PATH: &str = "/metrics";

/// What prometheus-client writes: OpenMetrics 1.0 text, which Prometheus negotiates.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The scrape: every metric's current value.
pub fn metrics_response(runtime: &Runtime) -> Response<HyperOutgoingBody> {
    let text = runtime.metrics().render(runtime.admission());
    whole_response(StatusCode::OK, CONTENT_TYPE, text)
}

/// Serves `GET /metrics` on `listener` for as long as the process runs (a scrape during
/// shutdown still sees the last figures); any other path is 404.
pub async fn serve_metrics(listener: TcpListener, runtime: Arc<Runtime>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            // Out of file descriptors and the like: the main listener logs those.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let runtime = runtime.clone();
                async move { Ok::<_, Infallible>(answer(&runtime, &request)) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await
            {
                tracing::debug!(%error, "metrics connection ended with an error");
            }
        });
    }
}

fn answer<B>(runtime: &Runtime, request: &Request<B>) -> Response<HyperOutgoingBody> {
    if request.uri().path() != METRICS_PATH {
        return whole_response(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "only /metrics is served here\n".into(),
        );
    }
    if request.method() != hyper::Method::GET {
        return whole_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "use GET\n".into(),
        );
    }
    metrics_response(runtime)
}

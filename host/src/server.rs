//! The HTTP listener. It answers only what is not pipe logic (`/healthz`, client
//! authentication) and hands every other request to the guest.

use crate::auth::ClientKeys;
use crate::runtime::Runtime;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// How long running streams may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

pub struct Server {
    pub runtime: Arc<Runtime>,
    pub keys: ClientKeys,
}

impl Server {
    /// Accepts connections until `shutdown` resolves, then waits (bounded) for open ones.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        // Each connection task holds a clone; shutdown waits until only this one is left.
        let open_connections = Arc::new(());
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (socket, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Without this, Nagle's algorithm can hold an SSE event back for ~40 ms.
            if let Err(error) = socket.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY not set");
            }
            let server = self.clone();
            let guard = open_connections.clone();
            tokio::spawn(async move {
                let _guard = guard;
                let service = service_fn(move |request| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.route(request).await) }
                });
                if let Err(error) = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(socket), service)
                    .await
                {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        }
        drop(listener);
        tracing::info!("shutting down: no new connections, waiting for open ones");
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, wait_until_closed(open_connections)).await;
    }

    async fn route(&self, mut request: Request<Incoming>) -> Response<HyperOutgoingBody> {
        if request.uri().path() == "/healthz" {
            return json(StatusCode::OK, r#"{"status":"ok"}"#.into());
        }
        let authorization = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if !self.keys.accepts(authorization) {
            return json(
                StatusCode::UNAUTHORIZED,
                error_body(
                    "Missing or unknown API key: send `Authorization: Bearer <key>` with one of the keys in ORPIPE_API_KEYS.",
                    "invalid_api_key",
                ),
            );
        }
        // The client's key is for orpipe only; the guest never sees it.
        request.headers_mut().remove(hyper::header::AUTHORIZATION);
        let request_id = ulid::Ulid::new().to_string();
        if let Ok(value) = hyper::header::HeaderValue::from_str(&request_id) {
            request.headers_mut().insert("x-request-id", value.clone());
        }
        tracing::debug!(request_id, method = %request.method(), path = request.uri().path(), "request");
        match self.runtime.handle_http(request, &request_id).await {
            Ok(mut response) => {
                if let Ok(value) = hyper::header::HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert("x-request-id", value);
                }
                response
            }
            Err(failure) => {
                tracing::error!(request_id, error = %failure, "no response from the guest");
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    error_body(
                        &format!(
                            "orpipe failed internally (request id {request_id}); the log has the details."
                        ),
                        "internal_error",
                    ),
                )
            }
        }
    }
}

fn error_body(message: &str, code: &str) -> String {
    serde_json::json!({"error": {"message": message, "type": "gateway_error", "code": code, "param": null}}).to_string()
}

fn json(status: StatusCode, body: String) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn wait_until_closed(open_connections: Arc<()>) {
    while Arc::strong_count(&open_connections) > 1 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! The HTTP listener. It answers only what is not pipe logic (`/healthz`, client
//! authentication, `/metrics` for admins, admission control's 503, the 500 of a guest
//! that failed before responding, and `POST /admin/reload`) and hands every other request
//! to the guest. Every response is counted and timed (`metrics`).

use crate::admission::Rejected;
use crate::auth::{ADMIN_HEADER, CLIENT_HEADER, Caller, ClientKeys};
use crate::metrics::{METRICS_PATH, TimedBody, metrics_response, route_label};
use crate::reload::{Reloader, Trigger};
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
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Seconds a client refused by admission control is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 2;

/// Largest request body accepted: the guest's own limit (`REQUEST_BODY_LIMIT` in
/// guest/src/component/chat.rs), checked here too so a `Content-Length` above it is
/// refused before a guest is instantiated or a byte of the body is read. The guest
/// enforces it on bodies without a length (chunked).
pub const REQUEST_BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// The admin route that loads the `--component` file again (`reload.rs`).
pub const RELOAD_PATH: &str = "/admin/reload";

pub struct Server {
    pub runtime: Arc<Runtime>,
    pub reloader: Arc<Reloader>,
    pub keys: ClientKeys,
    /// How long running requests may finish after a shutdown signal.
    pub shutdown_grace: Duration,
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
        // Tells open connections to finish their current response and close.
        let (stopping, stop) = tokio::sync::watch::channel(false);
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
            let mut stop = stop.clone();
            tokio::spawn(async move {
                let _guard = guard;
                let service = service_fn(move |request| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.route(request).await) }
                });
                let connection = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(socket), service);
                tokio::pin!(connection);
                let result = tokio::select! {
                    result = connection.as_mut() => result,
                    () = stopping_signal(&mut stop) => {
                        // Idle keep-alive connections close now; a running response
                        // finishes, then its connection closes.
                        connection.as_mut().graceful_shutdown();
                        connection.await
                    }
                };
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        }
        drop(listener);
        let _ = stopping.send(true);
        let open = Arc::strong_count(&open_connections) - 1;
        tracing::info!(
            open_connections = open,
            grace_secs = self.shutdown_grace.as_secs(),
            "shutting down: no new connections, letting running requests finish"
        );
        let deadline = tokio::time::Instant::now() + self.shutdown_grace;
        // Then the guests still finishing after their responses (usage records, artifacts).
        let drained = async {
            wait_until_closed(open_connections).await;
            self.runtime.admission().idle().await;
        };
        match tokio::time::timeout_at(deadline, drained).await {
            Ok(()) => tracing::info!("every connection closed and every guest finished"),
            Err(_) => tracing::warn!("grace period over: cutting the remaining connections"),
        }
    }

    /// Answers one request, counted under its route and status and timed to its end.
    async fn route(&self, request: Request<Incoming>) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let route = route_label(request.uri().path());
        let response = self.handle(request).await;
        let metrics = self.runtime.metrics();
        metrics.count_request(route, response.status().as_u16());
        response.map(|body| TimedBody::new(body, metrics.clone(), route, started).boxed_unsync())
    }

    async fn handle(&self, mut request: Request<Incoming>) -> Response<HyperOutgoingBody> {
        if request.uri().path() == "/healthz" {
            return json(StatusCode::OK, r#"{"status":"ok"}"#.into());
        }
        // Only the host may say who the client is and whether it is an admin (below);
        // never the client itself.
        request.headers_mut().remove(CLIENT_HEADER);
        request.headers_mut().remove(ADMIN_HEADER);
        let authorization = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let Some(caller) = self.keys.authenticate(authorization) else {
            return json(
                StatusCode::UNAUTHORIZED,
                error_body(
                    "Missing or unknown API key: send `Authorization: Bearer <key>` with one of the keys in ORPIPE_API_KEYS (or ORPIPE_ADMIN_KEYS).",
                    "invalid_api_key",
                ),
            );
        };
        if request.uri().path() == RELOAD_PATH {
            return self.admin_reload(&caller, request.method()).await;
        }
        if request.uri().path() == METRICS_PATH {
            return self.scrape(&caller, request.method());
        }
        if let Some(length) = declared_length(&request)
            && length > REQUEST_BODY_LIMIT
        {
            tracing::warn!(length, "request refused: body larger than the limit");
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({"error": {
                    "message": format!(
                        "The request body ({length} bytes) is larger than {} MiB, the most orpipe accepts.",
                        REQUEST_BODY_LIMIT >> 20
                    ),
                    "type": "invalid_request_error",
                    "code": "request_too_large",
                    "param": null,
                }})
                .to_string(),
            );
        }
        // The client's key is for orpipe only; the guest never sees it, only its label.
        request.headers_mut().remove(hyper::header::AUTHORIZATION);
        if caller.is_admin() {
            request
                .headers_mut()
                .insert(ADMIN_HEADER, hyper::header::HeaderValue::from_static("1"));
        }
        if let Caller::Key { identity, .. } = caller
            && let Ok(value) = hyper::header::HeaderValue::from_str(&identity)
        {
            request.headers_mut().insert(CLIENT_HEADER, value);
        }
        let request_id = ulid::Ulid::new().to_string();
        if let Ok(value) = hyper::header::HeaderValue::from_str(&request_id) {
            request.headers_mut().insert("x-request-id", value.clone());
        }
        tracing::debug!(request_id, method = %request.method(), path = request.uri().path(), "request");
        let ticket = match self.runtime.admit().await {
            Ok(ticket) => ticket,
            Err(rejected) => return self.overloaded(rejected, &request_id),
        };
        match self.runtime.handle_http(request, &request_id, ticket).await {
            Ok(mut response) => {
                if let Ok(value) = hyper::header::HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert("x-request-id", value);
                }
                response
            }
            Err(failure) => {
                // The guest trapped (loop, memory, bug) before setting a head: its error
                // card cannot be rendered by a dead instance, so the host answers briefly.
                let error_id = error_id();
                tracing::error!(request_id, error_id, error = %failure, "no response from the guest");
                let mut response = json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    serde_json::json!({"error": {
                        "message": format!("An internal error occurred in orpipe and this request was stopped (error id {error_id})."),
                        "type": "internal_error",
                        "code": "internal_error",
                        "param": null,
                        "error_id": error_id,
                    }})
                    .to_string(),
                );
                set_request_id(&mut response, &request_id);
                response
            }
        }
    }

    /// `POST /admin/reload`: loads the component file again; admins only.
    async fn admin_reload(
        &self,
        caller: &Caller,
        method: &hyper::Method,
    ) -> Response<HyperOutgoingBody> {
        if !caller.is_admin() {
            return json(
                StatusCode::FORBIDDEN,
                error_body(
                    "Reloading the guest needs an admin key (one of ORPIPE_ADMIN_KEYS).",
                    "admin_key_required",
                ),
            );
        }
        if method != hyper::Method::POST {
            let mut response = json(
                StatusCode::METHOD_NOT_ALLOWED,
                error_body("Use POST to reload the guest.", "method_not_allowed"),
            );
            response.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static("POST"),
            );
            return response;
        }
        let result = self.reloader.reload(Trigger::AdminRoute).await;
        let (status, body) = crate::reload::answer(&result, &self.reloader.active());
        json(status, body.to_string())
    }

    /// `GET /metrics`: for admins only, since the figures describe every client's use.
    fn scrape(&self, caller: &Caller, method: &hyper::Method) -> Response<HyperOutgoingBody> {
        if !caller.is_admin() {
            return json(
                StatusCode::FORBIDDEN,
                error_body(
                    "Metrics are for admins: send one of the keys in ORPIPE_ADMIN_KEYS (or scrape ORPIPE_METRICS_ADDR).",
                    "admin_key_required",
                ),
            );
        }
        if method != hyper::Method::GET {
            return json(
                StatusCode::METHOD_NOT_ALLOWED,
                error_body("Use GET for /metrics.", "method_not_allowed"),
            );
        }
        metrics_response(&self.runtime)
    }

    /// The 503 of a request admission control refused.
    fn overloaded(&self, rejected: Rejected, request_id: &str) -> Response<HyperOutgoingBody> {
        let limits = self.runtime.admission().limits();
        tracing::warn!(
            request_id,
            reason = %rejected,
            max_concurrent = limits.max_concurrent,
            max_queued = limits.max_queued,
            "request refused: server overloaded"
        );
        let message = match rejected {
            Rejected::QueueFull => format!(
                "orpipe is at capacity: all {} request slots are busy and the wait queue (size {}) is full; retry in {RETRY_AFTER_SECS} seconds.",
                limits.max_concurrent, limits.max_queued
            ),
            Rejected::TimedOut => format!(
                "orpipe is at capacity: this request waited {} ms for a free slot; retry in {RETRY_AFTER_SECS} seconds.",
                limits.queue_timeout.as_millis()
            ),
            Rejected::Closed => "orpipe is shutting down; retry shortly.".to_owned(),
        };
        let mut response = json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"error": {
                "message": message,
                "type": "server_overloaded",
                "code": "server_overloaded",
                "param": null,
            }})
            .to_string(),
        );
        response.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(RETRY_AFTER_SECS),
        );
        set_request_id(&mut response, request_id);
        response
    }
}

/// The body length a request declares in `Content-Length`, when it declares one.
fn declared_length(request: &Request<Incoming>) -> Option<u64> {
    request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn set_request_id(response: &mut Response<HyperOutgoingBody>, request_id: &str) {
    if let Ok(value) = hyper::header::HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
}

/// A short id a person can quote, in the guest's format (16 hex digits, docs/errors.md).
fn error_id() -> String {
    // The low 64 bits of a ULID are random.
    format!("{:016x}", ulid::Ulid::new().0 as u64)
}

fn error_body(message: &str, code: &str) -> String {
    serde_json::json!({"error": {"message": message, "type": "gateway_error", "code": code, "param": null}}).to_string()
}

fn json(status: StatusCode, body: String) -> Response<HyperOutgoingBody> {
    whole_response(status, "application/json", body)
}

/// A response the host writes itself, whole: `body` with its status and content type.
pub(crate) fn whole_response(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

/// Resolves once the server is stopping (or gone).
async fn stopping_signal(stop: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here, not across an await.
    let _ = stop.wait_for(|stopping| *stopping).await.map(drop);
}

async fn wait_until_closed(open_connections: Arc<()>) {
    while Arc::strong_count(&open_connections) > 1 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

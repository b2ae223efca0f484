//! [`MockOpenRouter`]: an in-process stand-in for OpenRouter's `/api/v1`, one per test.
//!
//! It serves `GET /api/v1/models` from `models_sample.json` and answers
//! `POST /api/v1/responses` with programmed [`Reply`]s (FIFO), falling back to the recorded
//! text fixtures. `POST /api/v1/chat/completions` answers with the replies programmed for
//! it ([`MockOpenRouter::enqueue_chat`]: OpenRouter's chat transcripts, `chat_*` fixtures),
//! else synthetically (`chat.rs`, for the bench's peers). It records every request so tests can assert on exactly what the gateway
//! sent upstream. A [`Gate`] holds those replies until the test releases them. It binds
//! loopback only and shuts down (connections included) on drop.

mod chat;
mod gate;
mod reply;
pub(crate) mod script;
mod synthetic;
mod tool_calls;
mod tool_stream;

use crate::accept::{lock, serve_forever};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use gate::Gate;
pub use reply::{Reply, Split, StreamEnd, StreamReply, SyntheticStream};
pub use tool_calls::{LOOP_STOPPED_TEXT, TOOL_RESULTS_PREFIX, tool_calling_chooser};

use crate::fixtures::{fixture_body, read_fixture};
use chat::{DEFAULT_TOKENS, answer_chat};
use gate::Turnstile;
use script::{CompiledStream, ScriptBody, Step, compile_fixture};
use synthetic::{compile_synthetic, synthetic_whole};

/// The default stream when nothing is queued and the request asks for `stream: true`.
const DEFAULT_STREAM_FIXTURE: &str = "stream_text.sse";
/// The default non-stream body (its `body` key) otherwise.
const DEFAULT_JSON_FIXTURE: &str = "response_nonstream_text.json";

/// One HTTP request the mock received, kept for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path without the query string, e.g. `/api/v1/responses`.
    pub path: String,
    pub query: Option<String>,
    /// Header names are lower-case (as hyper delivers them), in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// What arrived: the request head and its whole body.
    pub(crate) fn of(parts: &hyper::http::request::Parts, body: &[u8]) -> Self {
        Self {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body: body.to_vec(),
        }
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Result<Value> {
        serde_json::from_slice(&self.body)
    }

    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A running mock OpenRouter. See the module docs.
pub struct MockOpenRouter {
    addr: SocketAddr,
    state: Arc<MockState>,
    /// The accept loop; it owns every connection task, so aborting it ends them all.
    server: JoinHandle<()>,
}

/// Picks a reply from the request body (the standalone mock's `--mode content`).
pub type ReplyChooser = Arc<dyn Fn(Option<&Value>) -> Option<Reply> + Send + Sync>;

/// What request handlers share with the test.
struct MockState {
    queue: Mutex<VecDeque<Reply>>,
    chooser: Mutex<Option<ReplyChooser>>,
    default_reply: Mutex<Option<Reply>>,
    /// Where `/responses` replies wait while the test's [`Gate`] is closed.
    gate: Mutex<Option<Turnstile>>,
    requests: Mutex<Vec<RecordedRequest>>,
    models: Mutex<Bytes>,
    /// Session ids seen on `/responses`: a provider keeps a sticky session's prompt cached.
    sessions: Mutex<std::collections::HashSet<String>>,
    /// Programmed replies for `/chat/completions`, apart from the `/responses` queue.
    chat_queue: Mutex<VecDeque<Reply>>,
    /// Picks a `/chat/completions` reply when none is queued (`None`: synthetic).
    chat_chooser: Mutex<Option<ReplyChooser>>,
    /// `GET /endpoints/zdr`; `None` answers 503 (the list unavailable).
    zdr: Mutex<Option<Bytes>>,
    abandoned: Arc<AtomicUsize>,
}

impl MockOpenRouter {
    /// Requests carrying this key get OpenRouter's 401 "User not found.".
    pub const BAD_KEY: &'static str = "sk-or-v1-bad";

    /// Starts a mock on an ephemeral loopback port. Must be called inside a tokio runtime.
    pub async fn start() -> anyhow::Result<MockOpenRouter> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a mock on a given address (the standalone binary uses a fixed port).
    pub async fn start_on(addr: SocketAddr) -> anyhow::Result<MockOpenRouter> {
        let models = Bytes::from(read_fixture("models_sample.json")?);
        let zdr = Bytes::from(read_fixture("endpoints_zdr.json")?);
        let listener = listen(addr).with_context(|| format!("mock OpenRouter: binding {addr}"))?;
        let addr = listener
            .local_addr()
            .context("mock OpenRouter: local address")?;
        let state = Arc::new(MockState {
            queue: Mutex::default(),
            chat_queue: Mutex::default(),
            chat_chooser: Mutex::default(),
            chooser: Mutex::default(),
            default_reply: Mutex::default(),
            gate: Mutex::default(),
            requests: Mutex::default(),
            models: Mutex::new(models),
            zdr: Mutex::new(Some(zdr)),
            sessions: Mutex::default(),
            abandoned: Arc::default(),
        });
        let server = tokio::spawn(serve_forever(
            listener,
            Arc::clone(&state),
            "mock OpenRouter",
            handle,
        ));
        Ok(MockOpenRouter {
            addr,
            state,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/api/v1`: what the gateway takes as `OPENROUTER_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// `{base_url}/responses`, for tests and the benchmark that call the mock directly.
    pub fn responses_url(&self) -> String {
        format!("{}/responses", self.base_url())
    }

    /// `{base_url}/chat/completions`, the synthetic Chat Completions endpoint (`chat.rs`).
    pub fn chat_completions_url(&self) -> String {
        format!("{}/chat/completions", self.base_url())
    }

    /// Queues a reply for the next `/responses` call that passes authentication.
    pub fn enqueue(&self, reply: impl Into<Reply>) {
        lock(&self.state.queue).push_back(reply.into());
    }

    /// Adds `entry` to the catalog `GET /models` serves (a model the sample lacks).
    pub fn add_model(&self, entry: Value) {
        let mut models = lock(&self.state.models);
        let mut list: Value =
            serde_json::from_slice(&models).unwrap_or_else(|_| json!({"data": []}));
        if let Some(data) = list.get_mut("data").and_then(Value::as_array_mut) {
            data.push(entry);
        }
        *models = Bytes::from(list.to_string());
    }

    /// Queues a reply for the next `/chat/completions` call that passes authentication.
    pub fn enqueue_chat(&self, reply: impl Into<Reply>) {
        lock(&self.state.chat_queue).push_back(reply.into());
    }

    /// Replies still queued (a test can assert the gateway made every call it expected).
    pub fn pending_replies(&self) -> usize {
        lock(&self.state.queue).len()
    }

    /// Replaces the built-in fallback (fixtures chosen by `stream`) used when the queue is
    /// empty; the benchmark sets a [`SyntheticStream`] here.
    /// Makes `GET /endpoints/zdr` answer 503 from now on.
    pub fn fail_zdr_list(&self) {
        *lock(&self.state.zdr) = None;
    }

    pub fn set_reply_chooser(&self, chooser: ReplyChooser) {
        *lock(&self.state.chooser) = Some(chooser);
    }

    /// What `/chat/completions` answers when nothing is queued for it.
    pub fn set_chat_reply_chooser(&self, chooser: ReplyChooser) {
        *lock(&self.state.chat_chooser) = Some(chooser);
    }

    pub fn set_default_reply(&self, reply: impl Into<Reply>) {
        *lock(&self.state.default_reply) = Some(reply.into());
    }

    /// Closes a gate in front of every later `/responses` reply: each call is recorded, then
    /// waits before its status line until [`Gate::open`] (or the handle is dropped). A new
    /// gate replaces the previous one for the calls that arrive after it.
    pub fn gate(&self) -> Gate {
        let (gate, turnstile) = Gate::closed();
        *lock(&self.state.gate) = Some(turnstile);
        gate
    }

    /// Streamed answers whose reader (orpipe) went away before their end.
    pub fn abandoned_streams(&self) -> usize {
        self.state.abandoned.load(Ordering::SeqCst)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Only the `POST /api/v1/responses` requests.
    pub fn responses_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests)
            .iter()
            .filter(|request| request.method == "POST" && request.path == "/api/v1/responses")
            .cloned()
            .collect()
    }

    /// Only the `POST /api/v1/chat/completions` requests.
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests)
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/api/v1/chat/completions")
            .cloned()
            .collect()
    }

    /// Forgets the recorded requests (e.g. after warm-up).
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }
}

/// How many connections may wait to be accepted. tokio's `bind` allows 1,024; the bench's
/// paced-streams mode opens thousands within a second, and a dropped SYN is retried only
/// after 1 s, 2 s, 4 s…, which would show as seconds of TTFB that are the mock's, not the
/// gateway's. The kernel caps it at `net.core.somaxconn`.
const ACCEPT_BACKLOG: u32 = 16_384;

/// A listening socket on `addr` with [`ACCEPT_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std's and tokio's `bind` do on Unix: a fixed port can be bound again at once
    // after a restart.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

impl Drop for MockOpenRouter {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    state: Arc<MockState>,
    request: Request<Incoming>,
) -> Result<Response<ScriptBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                &format!("mock: reading body: {error}"),
            ));
        }
    };
    let recorded = RecordedRequest::of(&parts, &body);
    lock(&state.requests).push(recorded);

    let auth = Auth::of(&parts.headers);
    let response = match (&parts.method, parts.uri.path()) {
        // The public catalog needs no key, but a rejected key is still rejected.
        (&Method::GET, "/api/v1/models") => match auth {
            Auth::BadKey => auth.rejection(),
            Auth::Missing | Auth::Accepted => {
                json_response(StatusCode::OK, lock(&state.models).clone())
            }
        },
        (&Method::GET, "/api/v1/endpoints/zdr") => match (auth, lock(&state.zdr).clone()) {
            (Auth::BadKey, _) => auth.rejection(),
            (_, Some(list)) => json_response(StatusCode::OK, list),
            (_, None) => error_response(StatusCode::SERVICE_UNAVAILABLE, "ZDR list unavailable"),
        },
        (&Method::POST, "/api/v1/responses") => match auth {
            Auth::Missing | Auth::BadKey => auth.rejection(),
            Auth::Accepted => {
                let turnstile = lock(&state.gate).clone();
                if let Some(turnstile) = turnstile {
                    turnstile.pass().await;
                }
                respond(&state, &body)
            }
        },
        (&Method::POST, "/api/v1/chat/completions") => match auth {
            Auth::Missing | Auth::BadKey => auth.rejection(),
            Auth::Accepted => respond_chat(&state, &body),
        },
        // For scripts driving the standalone mock (`scripts/owui-e2e.sh`): what it received.
        (&Method::GET, "/mock/requests") => {
            let recorded = lock(&state.requests).iter().map(recorded_json).collect();
            json_response(
                StatusCode::OK,
                Bytes::from(Value::Array(recorded).to_string()),
            )
        }
        _ => error_response(StatusCode::NOT_FOUND, "Not Found"),
    };
    Ok(response)
}

/// A recorded request as JSON: the body parsed when it is JSON, else as text.
fn recorded_json(request: &RecordedRequest) -> Value {
    let headers: serde_json::Map<String, Value> = request
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    let body = request
        .json()
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned()));
    json!({"method": request.method, "path": request.path, "headers": headers, "body": body})
}

/// The authentication outcome, as OpenRouter decides it before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Missing,
    BadKey,
    Accepted,
}

impl Auth {
    fn of(headers: &HeaderMap) -> Auth {
        let key = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|key| !key.is_empty());
        match key {
            None => Auth::Missing,
            Some(MockOpenRouter::BAD_KEY) => Auth::BadKey,
            Some(_) => Auth::Accepted,
        }
    }

    fn rejection(self) -> Response<ScriptBody> {
        let message = match self {
            Auth::BadKey => "User not found.",
            Auth::Missing | Auth::Accepted => "No auth credentials found",
        };
        error_response(StatusCode::UNAUTHORIZED, message)
    }
}

/// Answers an authenticated `/responses` call with the next reply.
fn respond(state: &MockState, body: &Bytes) -> Response<ScriptBody> {
    let request: Option<Value> = serde_json::from_slice(body).ok();
    let queued = lock(&state.queue).pop_front();
    let chooser = lock(&state.chooser).clone();
    let chosen = || chooser.and_then(|choose| choose(request.as_ref()));
    let reply = queued
        .or_else(chosen)
        .or_else(|| lock(&state.default_reply).clone());
    let mut reply = reply.unwrap_or_else(|| builtin_default(request.as_ref()));
    // A session seen before hits the provider's prompt cache (whole answers only: the
    // stream fixtures are replayed byte for byte).
    let session = request
        .as_ref()
        .and_then(|r| r.get("session_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(session) = session
        && !lock(&state.sessions).insert(session)
        && let Reply::Json { body, .. } = &mut reply
    {
        report_cached_prompt(body);
    }
    rendered(state, reply, request.as_ref())
}

/// A programmed reply as the HTTP response, its abandonment counted.
fn rendered(state: &MockState, reply: Reply, request: Option<&Value>) -> Response<ScriptBody> {
    match render(reply, request) {
        Ok(mut response) => {
            response
                .body_mut()
                .count_abandonment(Arc::clone(&state.abandoned));
            response
        }
        Err(error) => {
            // A broken test setup (missing fixture, bad status): make it loud on both sides.
            eprintln!("mock OpenRouter: {error:#}");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("mock: {error:#}"),
            )
        }
    }
}

/// All but one of the prompt's tokens came from the cache.
fn report_cached_prompt(response: &mut Value) {
    let Some(usage) = response.get_mut("usage").and_then(Value::as_object_mut) else {
        return;
    };
    let input = usage
        .get("input_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    usage.insert(
        "input_tokens_details".into(),
        json!({"cached_tokens": input.saturating_sub(1)}),
    );
}

/// Answers an authenticated `/chat/completions` call with the default reply's synthetic
/// options (or [`DEFAULT_TOKENS`] plain deltas).
fn respond_chat(state: &MockState, body: &Bytes) -> Response<ScriptBody> {
    let request: Option<Value> = serde_json::from_slice(body).ok();
    let queued = lock(&state.chat_queue).pop_front();
    let chooser = lock(&state.chat_chooser).clone();
    if let Some(reply) = queued.or_else(|| chooser.and_then(|choose| choose(request.as_ref()))) {
        return rendered(state, reply, request.as_ref());
    }
    let spec = match lock(&state.default_reply).as_ref() {
        Some(Reply::Synthetic(spec)) => spec.clone(),
        _ => SyntheticStream::new(DEFAULT_TOKENS),
    };
    let answer = answer_chat(&spec, request.as_ref());
    let content_type = if answer.event_stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    let mut response = Response::new(ScriptBody::streaming(answer.steps));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .body_mut()
        .count_abandonment(Arc::clone(&state.abandoned));
    response
}

/// What OpenRouter would answer a plain request: the text fixtures.
fn builtin_default(request: Option<&Value>) -> Reply {
    if wants_stream(request) {
        Reply::stream(DEFAULT_STREAM_FIXTURE).into()
    } else {
        match fixture_body(DEFAULT_JSON_FIXTURE) {
            Ok(body) => Reply::json(200, body),
            Err(error) => Reply::http_error(500, format!("mock: {error:#}")),
        }
    }
}

/// Whether the request body says `stream: true`.
fn wants_stream(request: Option<&Value>) -> bool {
    request
        .and_then(|body| body.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn render(reply: Reply, request: Option<&Value>) -> anyhow::Result<Response<ScriptBody>> {
    match reply {
        Reply::Stream(stream) => Ok(sse_response(compile_fixture(&stream)?)),
        Reply::Stall { after_events } => {
            let stream = StreamReply::new(DEFAULT_STREAM_FIXTURE).stall_after_events(after_events);
            Ok(sse_response(compile_fixture(&stream)?))
        }
        Reply::Synthetic(spec) if wants_stream(request) => {
            Ok(sse_response(compile_synthetic(&spec, request)))
        }
        Reply::Synthetic(spec) => Ok(json_response(
            StatusCode::OK,
            Bytes::from(synthetic_whole(&spec, request)),
        )),
        Reply::Json { status, body } => {
            let generation_id = body.get("id").and_then(Value::as_str).map(str::to_owned);
            let mut response = json_response(status_code(status)?, Bytes::from(body.to_string()));
            if let Some(id) = generation_id {
                insert_header(&mut response, "x-generation-id", &id)?;
            }
            Ok(response)
        }
        Reply::Events {
            blocks,
            generation_id,
        } => Ok(sse_response(CompiledStream {
            steps: blocks
                .into_iter()
                .map(|block| Step::Write(Bytes::from(block)))
                .collect(),
            generation_id,
        })),
        Reply::HttpError {
            status,
            headers,
            body,
        } => {
            let mut response = Response::new(ScriptBody::full(body));
            *response.status_mut() = status_code(status)?;
            for (name, value) in &headers {
                insert_header(&mut response, name, value)?;
            }
            Ok(response)
        }
    }
}

/// A `200 text/event-stream` response playing a compiled stream, chunked.
fn sse_response(stream: CompiledStream) -> Response<ScriptBody> {
    let mut response = Response::new(ScriptBody::streaming(stream.steps));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(id) = stream
        .generation_id
        .and_then(|id| HeaderValue::from_str(&id).ok())
    {
        headers.insert("x-generation-id", id);
    }
    response
}

fn json_response(status: StatusCode, body: Bytes) -> Response<ScriptBody> {
    let mut response = Response::new(ScriptBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// OpenRouter's generic error envelope: `{"error":{"code":<status>,"message":…}}`.
fn error_response(status: StatusCode, message: &str) -> Response<ScriptBody> {
    let body = json!({ "error": { "code": status.as_u16(), "message": message } });
    json_response(status, Bytes::from(body.to_string()))
}

fn status_code(status: u16) -> anyhow::Result<StatusCode> {
    StatusCode::from_u16(status).with_context(|| format!("invalid HTTP status {status}"))
}

fn insert_header(
    response: &mut Response<ScriptBody>,
    name: &str,
    value: &str,
) -> anyhow::Result<()> {
    let name = header::HeaderName::from_bytes(name.as_bytes())
        .with_context(|| format!("invalid header name {name:?}"))?;
    let value =
        HeaderValue::from_str(value).with_context(|| format!("invalid value for header {name}"))?;
    response.headers_mut().append(name, value);
    Ok(())
}

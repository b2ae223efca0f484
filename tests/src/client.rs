//! A small HTTP/1.1 client for tests and the benchmark.
//!
//! [`HttpClient::stream_sse`] reads a streamed body as it arrives and timestamps every SSE
//! event (decoded with the guest's own [`SseDecoder`]), which is what TTFB and
//! gap-between-events measurements need. The connector sets `TCP_NODELAY` so the client never
//! adds a Nagle delay of its own to what it measures.
//!
//! The free functions build a fresh client per call (simple, no pooled state shared between
//! test runtimes); keep an [`HttpClient`] when connection reuse matters, as in the benchmark.

use std::error::Error as StdError;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orpipe_guest::sse::{SseDecoder, SseEvent};
use serde_json::Value;
use tokio::time::Instant;

/// How long a request may take, head and body together, unless set otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A complete (non-streamed) response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn json(&self) -> serde_json::Result<Value> {
        serde_json::from_slice(&self.body)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// One SSE event and when its last byte arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Time since the request started (just before it was sent).
    pub at: Duration,
    /// The decoded event: data, `[DONE]`, or a comment.
    pub data: SseEvent,
}

/// How reading a streamed body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamOutcome {
    /// The body ended cleanly (whether or not `[DONE]` was among the frames).
    Ended,
    /// The transport failed mid-body, e.g. the server closed the connection abruptly.
    BodyError(String),
    /// The client's timeout expired while the body was still open.
    TimedOut,
    /// The SSE decoder refused the input (an event over its size limit).
    DecodeError(String),
}

/// Everything observed while reading one streamed response.
#[derive(Debug, Clone)]
pub struct StreamResult {
    pub status: u16,
    pub headers: HeaderMap,
    pub frames: Vec<Frame>,
    /// Time to the first data frame (`Data` or `Done`; comments do not count).
    pub ttfb: Option<Duration>,
    /// Every body byte received, in order: lets tests compare against a fixture byte for byte,
    /// and holds the error body when the status is not 200.
    pub raw: Vec<u8>,
    pub outcome: StreamOutcome,
}

impl StreamResult {
    /// The decoded events without timestamps.
    pub fn events(&self) -> Vec<SseEvent> {
        self.frames.iter().map(|frame| frame.data.clone()).collect()
    }

    /// The payloads of the `Data` frames.
    pub fn data(&self) -> Vec<&str> {
        self.frames
            .iter()
            .filter_map(|frame| match &frame.data {
                SseEvent::Data(data) => Some(data.as_str()),
                SseEvent::Done | SseEvent::Comment => None,
            })
            .collect()
    }

    /// The `Data` payloads parsed as JSON.
    pub fn json_events(&self) -> anyhow::Result<Vec<Value>> {
        self.data()
            .into_iter()
            .map(|data| {
                serde_json::from_str(data).with_context(|| format!("event is not JSON: {data}"))
            })
            .collect()
    }

    /// The `type` of every JSON data event (`""` for events without one).
    pub fn event_types(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .json_events()?
            .iter()
            .map(|event| {
                event
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect())
    }

    pub fn saw_done(&self) -> bool {
        self.frames.iter().any(|frame| frame.data == SseEvent::Done)
    }

    pub fn comment_count(&self) -> usize {
        self.frames
            .iter()
            .filter(|frame| frame.data == SseEvent::Comment)
            .count()
    }
}

/// A pooled HTTP/1.1 client with `TCP_NODELAY`. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self {
            inner,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Bounds every request (head and body together). A stream still open at the deadline
    /// returns what it got with [`StreamOutcome::TimedOut`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub async fn get(&self, url: &str, bearer: Option<&str>) -> anyhow::Result<HttpResponse> {
        let request = build_request(Method::GET, url, None, bearer, false)?;
        self.send(request).await
    }

    pub async fn post_json(
        &self,
        url: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> anyhow::Result<HttpResponse> {
        let request = build_request(Method::POST, url, Some(body), bearer, false)?;
        self.send(request).await
    }

    /// [`HttpClient::post_json`] with extra request headers (e.g. `X-OpenWebUI-Task`).
    pub async fn post_json_with_headers(
        &self,
        url: &str,
        body: &Value,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<HttpResponse> {
        let mut request = build_request(Method::POST, url, Some(body), bearer, false)?;
        for (name, value) in headers {
            request.headers_mut().insert(
                header::HeaderName::from_bytes(name.as_bytes()).context("header name")?,
                HeaderValue::from_str(value).context("header value")?,
            );
        }
        self.send(request).await
    }

    /// POSTs `body` and reads the response as an event stream, timestamping each event.
    /// Transport failures after the response head are reported in
    /// [`StreamResult::outcome`], not as an error, so the frames received are kept.
    pub async fn stream_sse(
        &self,
        url: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> anyhow::Result<StreamResult> {
        let request = build_request(Method::POST, url, Some(body), bearer, true)?;
        let start = Instant::now();
        let deadline = start + self.timeout;
        let response = tokio::time::timeout_at(deadline, self.inner.request(request))
            .await
            .with_context(|| format!("POST {url}: no response head within {:?}", self.timeout))?
            .map_err(|error| anyhow::anyhow!("POST {url}: {}", error_chain(&error)))?;
        let (parts, mut incoming) = response.into_parts();

        let mut decoder = SseDecoder::new();
        let mut frames = Vec::new();
        let mut raw = Vec::new();
        let outcome = loop {
            let frame = match tokio::time::timeout_at(deadline, incoming.frame()).await {
                Err(_elapsed) => break StreamOutcome::TimedOut,
                Ok(None) => break StreamOutcome::Ended,
                Ok(Some(Err(error))) => break StreamOutcome::BodyError(error_chain(&error)),
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(chunk) = frame.into_data() else {
                continue; // trailers carry no events
            };
            let at = start.elapsed();
            raw.extend_from_slice(&chunk);
            decoder.push(&chunk);
            if let Err(error) = drain_events(&mut decoder, at, &mut frames) {
                break StreamOutcome::DecodeError(error);
            }
        };
        if outcome == StreamOutcome::Ended {
            // An unterminated last event still counts (the decoder's EOF rule).
            if let Some(event) = decoder.finish() {
                frames.push(Frame {
                    at: start.elapsed(),
                    data: event,
                });
            }
        }
        let ttfb = frames
            .iter()
            .find(|frame| frame.data != SseEvent::Comment)
            .map(|frame| frame.at);
        Ok(StreamResult {
            status: parts.status.as_u16(),
            headers: parts.headers,
            frames,
            ttfb,
            raw,
            outcome,
        })
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> anyhow::Result<HttpResponse> {
        let target = format!("{} {}", request.method(), request.uri());
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|error| anyhow::anyhow!("{target}: {}", error_chain(&error)))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|error| {
                    anyhow::anyhow!("{target}: reading body: {}", error_chain(&error))
                })?
                .to_bytes();
            Ok(HttpResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .with_context(|| format!("{target}: no complete response within {:?}", self.timeout))?
    }
}

fn drain_events(
    decoder: &mut SseDecoder,
    at: Duration,
    frames: &mut Vec<Frame>,
) -> Result<(), String> {
    while let Some(event) = decoder.next_event().map_err(|error| error.to_string())? {
        frames.push(Frame { at, data: event });
    }
    Ok(())
}

fn build_request(
    method: Method,
    url: &str,
    body: Option<&Value>,
    bearer: Option<&str>,
    wants_stream: bool,
) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder().method(method).uri(url);
    if let Some(key) = bearer {
        let value = HeaderValue::from_str(&format!("Bearer {key}"))
            .context("bearer key is not a valid header value")?;
        builder = builder.header(header::AUTHORIZATION, value);
    }
    if wants_stream {
        builder = builder.header(header::ACCEPT, "text/event-stream");
    }
    let payload = match body {
        Some(json) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(serde_json::to_vec(json).context("serializing request body")?)
        }
        None => Bytes::new(),
    };
    builder
        .body(Full::new(payload))
        .with_context(|| format!("building request for {url}"))
}

/// An error and its causes on one line: hyper's top-level messages alone ("error reading a
/// body from connection") do not say what happened.
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `GET url` with a fresh client.
pub async fn get(url: &str, bearer: Option<&str>) -> anyhow::Result<HttpResponse> {
    HttpClient::new().get(url, bearer).await
}

/// `POST url` with a JSON body and a fresh client.
pub async fn post_json(
    url: &str,
    body: &Value,
    bearer: Option<&str>,
) -> anyhow::Result<HttpResponse> {
    HttpClient::new().post_json(url, body, bearer).await
}

/// [`HttpClient::stream_sse`] with a fresh client.
pub async fn stream_sse(
    url: &str,
    body: &Value,
    bearer: Option<&str>,
) -> anyhow::Result<StreamResult> {
    HttpClient::new().stream_sse(url, body, bearer).await
}

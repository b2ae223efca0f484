//! A lean stream reader for the modes that hold thousands of streams open at once.
//!
//! The kit's [`orpipe_testkit::HttpClient::stream_sse`] keeps every byte and every event of
//! a stream for the tests to inspect; with 5,000 streams open that is hundreds of MiB and
//! a JSON tree per event on the client's one core, which would then be the limit of the
//! measurement. This reader keeps only what the figures need: when the first data event
//! came, the gaps between text events, how many text events and whether `[DONE]` arrived.
//! Events are still decoded with the guest's own SSE decoder and every data event is parsed
//! (typed, borrowing, unknown fields skipped), so a malformed or missing frame is caught.

use orpipe_testkit::client::error_chain;
use std::borrow::Cow;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{self, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orpipe_guest::sse::{SseDecoder, SseEventRef};
use serde::Deserialize;
use tokio::time::Instant;

use super::{Path as Wire, Target};

/// A pooled HTTP/1.1 client with `TCP_NODELAY`, as the kit's, but reading streams leanly.
#[derive(Clone)]
pub(super) struct ProbeClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

/// A request made once and sent many times.
#[derive(Clone)]
pub(super) struct ProbeTarget {
    path: Wire,
    url: hyper::Uri,
    body: Bytes,
    authorization: HeaderValue,
}

impl ProbeTarget {
    pub(super) fn of(target: &Target) -> anyhow::Result<Self> {
        Ok(Self {
            path: target.path,
            url: target.url.parse().context("target URL")?,
            body: Bytes::from(serde_json::to_vec(&target.body)?),
            authorization: HeaderValue::from_str(&format!("Bearer {}", target.bearer))
                .context("bearer key is not a valid header value")?,
        })
    }
}

/// What one stream showed.
#[derive(Debug, Default)]
pub(super) struct StreamTrace {
    /// First data event (any kind, `[DONE]` included), from just before the request left.
    pub(super) ttfb: Option<Duration>,
    /// Between consecutive text events: a stall shows as a gap far above the pace.
    pub(super) text_gaps: Vec<Duration>,
    pub(super) text_events: usize,
    pub(super) saw_done: bool,
    /// From sending the request to the end of the body.
    pub(super) whole: Duration,
    /// Why the stream is not complete, if it is not (checked by [`StreamTrace::failure`]).
    transport: Option<String>,
    status: u16,
}

impl StreamTrace {
    /// The error kind, or `None` when the stream delivered `tokens` text events and `[DONE]`
    /// over a clean 200.
    pub(super) fn failure(&self, tokens: usize) -> Option<String> {
        if let Some(error) = &self.transport {
            return Some(error.clone());
        }
        if self.status != 200 {
            return Some(format!("HTTP {}", self.status));
        }
        if !self.saw_done {
            return Some("no [DONE]".into());
        }
        if self.text_events != tokens {
            return Some("text events != tokens".into());
        }
        None
    }
}

impl ProbeClient {
    pub(super) fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(120))
            .build(connector);
        Self { inner, timeout }
    }

    /// Sends one streaming request and reads its body to the end (or the timeout).
    pub(super) async fn stream(&self, target: &ProbeTarget) -> StreamTrace {
        let start = Instant::now();
        let mut trace = StreamTrace::default();
        let outcome = self.read(target, start, &mut trace).await;
        trace.whole = start.elapsed();
        if let Err(error) = outcome {
            trace.transport = Some(error);
        }
        trace
    }

    async fn read(
        &self,
        target: &ProbeTarget,
        start: Instant,
        trace: &mut StreamTrace,
    ) -> Result<(), String> {
        let request = Request::post(target.url.clone())
            .header(header::AUTHORIZATION, target.authorization.clone())
            .header(header::ACCEPT, "text/event-stream")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(target.body.clone()))
            .map_err(|error| format!("building the request: {error}"))?;
        let deadline = start + self.timeout;
        let response = tokio::time::timeout_at(deadline, self.inner.request(request))
            .await
            .map_err(|_| "no response head before the timeout".to_owned())?
            .map_err(|error| format!("request failed: {}", error_chain(&error)))?;
        trace.status = response.status().as_u16();
        let mut body = response.into_body();
        let mut decoder = SseDecoder::new();
        let mut previous_text: Option<Duration> = None;
        loop {
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Err(_elapsed) => return Err("timed out".into()),
                Ok(None) => return Ok(()),
                Ok(Some(Err(error))) => return Err(format!("body error: {}", error_chain(&error))),
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(chunk) = frame.into_data() else {
                continue; // trailers carry no events
            };
            let at = start.elapsed();
            decoder.push(&chunk);
            while let Some(event) = decoder
                .next_event_ref()
                .map_err(|error| format!("SSE decode error: {error}"))?
            {
                let is_text = match event {
                    SseEventRef::Comment => continue,
                    SseEventRef::Done => {
                        trace.saw_done = true;
                        false
                    }
                    SseEventRef::Data(data) => is_text(target.path, &data)?,
                };
                trace.ttfb.get_or_insert(at);
                if !is_text {
                    continue;
                }
                trace.text_events += 1;
                if let Some(previous) = previous_text {
                    trace.text_gaps.push(at.saturating_sub(previous));
                }
                previous_text = Some(at);
            }
        }
    }
}

/// Whether a data event carries generated text on this path; an event that is not JSON is
/// an error (a stream that garbles a frame has lost it).
fn is_text(path: Wire, data: &str) -> Result<bool, String> {
    let event: EventProbe<'_> =
        serde_json::from_str(data).map_err(|error| format!("event is not JSON: {error}"))?;
    Ok(match path {
        Wire::Direct => event.kind.as_deref() == Some("response.output_text.delta"),
        Wire::Chat => event.choices.first().is_some_and(|choice| {
            choice
                .delta
                .as_ref()
                .and_then(|delta| delta.content.as_deref())
                .is_some_and(|text| !text.is_empty())
        }),
    })
}

/// The few fields that say whether an event is text: a Responses event's `type`, a Chat
/// chunk's `choices[0].delta.content`. Everything else is skipped unparsed.
#[derive(Deserialize)]
struct EventProbe<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: Vec<ChoiceProbe<'a>>,
}

#[derive(Deserialize)]
struct ChoiceProbe<'a> {
    #[serde(default, borrow)]
    delta: Option<DeltaProbe<'a>>,
}

#[derive(Deserialize)]
struct DeltaProbe<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_recognised_on_both_wires() {
        let delta = r#"{"type":"response.output_text.delta","delta":"hi","sequence_number":4}"#;
        let created = r#"{"type":"response.created","response":{"id":"gen-1","output":[]}}"#;
        assert_eq!(is_text(Wire::Direct, delta), Ok(true));
        assert_eq!(is_text(Wire::Direct, created), Ok(false));
        let chunk = r#"{"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]}"#;
        let role =
            r#"{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#;
        let usage = r#"{"id":"c","choices":[],"usage":{"total_tokens":3}}"#;
        assert_eq!(is_text(Wire::Chat, chunk), Ok(true));
        assert_eq!(is_text(Wire::Chat, role), Ok(false));
        assert_eq!(is_text(Wire::Chat, usage), Ok(false));
        assert!(is_text(Wire::Chat, "not json").is_err());
    }

    #[test]
    fn a_short_stream_is_a_failure() {
        let complete = StreamTrace {
            status: 200,
            saw_done: true,
            text_events: 3,
            ..StreamTrace::default()
        };
        assert_eq!(complete.failure(3), None);
        assert_eq!(
            complete.failure(4).as_deref(),
            Some("text events != tokens")
        );
        let no_done = StreamTrace {
            saw_done: false,
            ..complete
        };
        assert_eq!(no_done.failure(3).as_deref(), Some("no [DONE]"));
    }
}

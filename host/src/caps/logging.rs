//! The guest's stderr, turned into `tracing` events: each JSON line the guest writes
//! becomes one event at the line's level, tagged with the request it belongs to. A line
//! that is a metrics event (an `event` field) is counted too (`metrics::guest_events`).

use crate::metrics::{Metrics, record_guest_event};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest line kept; a guest that never writes a newline cannot grow host memory.
const MAX_LINE: usize = 64 * 1024;

#[derive(Clone)]
pub struct GuestStderr {
    request_id: Arc<str>,
    metrics: Arc<Metrics>,
}

impl GuestStderr {
    pub fn new(request_id: &str, metrics: Arc<Metrics>) -> Self {
        Self {
            request_id: request_id.into(),
            metrics,
        }
    }
}

impl IsTerminal for GuestStderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStderr {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineSplitter {
            request_id: self.request_id.clone(),
            metrics: self.metrics.clone(),
            line: Vec::new(),
        })
    }
}

struct LineSplitter {
    request_id: Arc<str>,
    metrics: Arc<Metrics>,
    line: Vec<u8>,
}

impl AsyncWrite for LineSplitter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        for &byte in buf {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                emit(
                    &self.request_id,
                    &self.metrics,
                    &String::from_utf8_lossy(&line),
                );
            } else if self.line.len() < MAX_LINE {
                self.line.push(byte);
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            emit(
                &self.request_id,
                &self.metrics,
                &String::from_utf8_lossy(&line),
            );
        }
        Poll::Ready(Ok(()))
    }
}

/// One guest line → one event. Lines that are not the guest's JSON are kept verbatim
/// (a panic message, for instance) at warn level.
fn emit(request_id: &str, metrics: &Metrics, line: &str) {
    let line = line.trim_end_matches('\r');
    if line.is_empty() {
        return;
    }
    let parsed: Option<serde_json::Value> = serde_json::from_str(line).ok();
    let Some(serde_json::Value::Object(mut fields)) = parsed.inspect(|line| {
        // Counted from the parse the log needs anyway.
        record_guest_event(metrics, line);
    }) else {
        tracing::warn!(target: "guest", request_id, "{line}");
        return;
    };
    let level = fields
        .remove("level")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let msg = fields
        .remove("msg")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let fields = serde_json::Value::Object(fields).to_string();
    match level.as_str() {
        "error" => tracing::error!(target: "guest", request_id, fields = %fields, "{msg}"),
        "warn" => tracing::warn!(target: "guest", request_id, fields = %fields, "{msg}"),
        "debug" => tracing::debug!(target: "guest", request_id, fields = %fields, "{msg}"),
        _ => tracing::info!(target: "guest", request_id, fields = %fields, "{msg}"),
    }
}

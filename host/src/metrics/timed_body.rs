//! A response body that times itself: the first frame's arrival is the request's time
//! to first byte, the body's end (or its drop, when the client left) its total duration.

use super::Metrics;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

pub struct TimedBody<B> {
    inner: B,
    metrics: Arc<Metrics>,
    route: &'static str,
    started: Instant,
    first_byte_seen: bool,
    ended: bool,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, metrics: Arc<Metrics>, route: &'static str, started: Instant) -> Self {
        Self {
            inner,
            metrics,
            route,
            started,
            first_byte_seen: false,
            ended: false,
        }
    }

    fn note_first_byte(&mut self) {
        if !self.first_byte_seen {
            self.first_byte_seen = true;
            self.metrics
                .observe_time_to_first_byte(self.route, self.started.elapsed());
        }
    }

    fn note_end(&mut self) {
        if !self.ended {
            self.ended = true;
            // An empty body's first byte is its end.
            self.note_first_byte();
            self.metrics
                .observe_duration(self.route, self.started.elapsed());
        }
    }
}

impl<B: Body + Unpin> Body for TimedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => self.note_first_byte(),
            Poll::Ready(None | Some(Err(_))) => self.note_end(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TimedBody<B> {
    fn drop(&mut self) {
        // hyper drops a body it saw `is_end_stream` on without polling it to the end,
        // and a client that left drops it midway: either way the request is over now.
        self.note_end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    use super::super::scrape_for_test as scrape;

    fn has_line(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_is_timed_once() {
        let metrics = Arc::new(Metrics::new());
        let body = Full::new(Bytes::from_static(b"hello"));
        let mut timed = TimedBody::new(body, metrics.clone(), "/healthz", Instant::now());
        assert!(timed.frame().await.is_some());
        assert!(timed.frame().await.is_none());
        drop(timed);
        let text = scrape(&metrics);
        let ttfb = r#"orpipe_http_time_to_first_byte_seconds_count{route="/healthz"} 1"#;
        let total = r#"orpipe_http_request_duration_seconds_count{route="/healthz"} 1"#;
        assert!(has_line(&text, ttfb), "{text}");
        assert!(
            has_line(&text, total),
            "the drop after the end adds nothing: {text}"
        );
    }

    #[tokio::test]
    async fn a_body_dropped_unread_still_counts_its_duration() {
        let metrics = Arc::new(Metrics::new());
        let body = Full::new(Bytes::from_static(b"hello"));
        drop(TimedBody::new(
            body,
            metrics.clone(),
            "other",
            Instant::now(),
        ));
        let text = scrape(&metrics);
        let total = r#"orpipe_http_request_duration_seconds_count{route="other"} 1"#;
        assert!(has_line(&text, total), "{text}");
    }
}

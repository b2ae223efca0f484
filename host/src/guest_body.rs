//! The response body a guest streams, cut (not ended) when the guest dies mid-answer.
//!
//! wasmtime-wasi-http ends a body cleanly when its guest's store is dropped without
//! `finish`, so a guest that trapped mid-stream would look like a complete chunked
//! response to the client and to any proxy. [`CutOnFailure`] turns that end into an error,
//! which makes hyper close the connection without the final chunk: the client sees a
//! broken transfer, as the issue asks ("if streaming had begun, the connection ends").

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use wasmtime_wasi_http::Error;

/// Set by the guest's task when it failed, before its store (and so the body's sender)
/// is dropped; read by the body when its stream ends.
#[derive(Debug, Clone, Default)]
pub struct FailureFlag(Arc<AtomicBool>);

impl FailureFlag {
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

pub struct CutOnFailure<B> {
    inner: B,
    failed: FailureFlag,
}

impl<B> CutOnFailure<B> {
    pub fn new(inner: B, failed: FailureFlag) -> Self {
        Self { inner, failed }
    }
}

impl<B> Body for CutOnFailure<B>
where
    B: Body<Data = Bytes, Error = Error> + Unpin,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) if self.failed.is_set() => Poll::Ready(Some(Err(
                Error::InternalError(Some("the guest failed mid-response".into())),
            ))),
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never promise the end early: only `poll_frame` may decide between end and cut.
        false
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    fn body(failed: &FailureFlag) -> CutOnFailure<impl Body<Data = Bytes, Error = Error> + Unpin> {
        let inner =
            Full::new(Bytes::from_static(b"data: partial\n\n")).map_err(|never| match never {});
        CutOnFailure::new(inner, failed.clone())
    }

    #[tokio::test]
    async fn a_finished_guest_ends_the_body_cleanly() {
        let failed = FailureFlag::default();
        let mut body = body(&failed);
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(
            first.into_data().ok(),
            Some(Bytes::from_static(b"data: partial\n\n"))
        );
        assert!(body.frame().await.is_none(), "clean end");
    }

    #[tokio::test]
    async fn a_failed_guest_cuts_the_body_after_what_it_wrote() {
        let failed = FailureFlag::default();
        let mut body = body(&failed);
        failed.set();
        body.frame()
            .await
            .expect("a frame")
            .expect("the data written before the failure");
        let end = body.frame().await.expect("not a clean end");
        assert!(end.is_err(), "an error, so hyper drops the connection");
    }
}

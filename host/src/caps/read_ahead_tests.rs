//! `read_ahead` against scripted bodies: a lone chunk goes on at once, a burst leaves as
//! one frame, the bytes, errors and end are kept, and a reader that stops reading holds
//! the upstream back. The burst gap is set far from any scheduling delay (a second, or
//! pauses five times the gap), so a slow machine cannot change the cuts.

use super::{Item, ReadAhead, read_ahead_with};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use wasmtime_wasi_http::Error;

/// One step of a scripted upstream body.
enum Step {
    Data(&'static str),
    /// Not ready on this poll (wakes itself, like a chunk that arrives a moment later).
    Wait,
    /// Nothing for this long.
    Pause(Duration),
    Fail,
}

/// Long enough that nothing in these tests is slower by accident.
const ALWAYS: Duration = Duration::from_secs(1);

/// A body that plays `steps`, then ends (or never ends, with `endless`).
struct Scripted {
    steps: VecDeque<Step>,
    endless: bool,
    dropped: Arc<AtomicBool>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Scripted {
    fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            endless: false,
            dropped: Arc::default(),
            pause: None,
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl Body for Scripted {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if let Some(pause) = self.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        match self.steps.pop_front() {
            Some(Step::Data(text)) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(text))))),
            Some(Step::Wait) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Pause(time)) => {
                self.pause = Some(Box::pin(tokio::time::sleep(time)));
                self.poll_frame(cx)
            }
            Some(Step::Fail) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
            None if self.endless => Poll::Pending,
            None => Poll::Ready(None),
        }
    }
}

/// Every frame the reader gets, as text, and how the body ended.
async fn read_all(body: impl Body<Data = Bytes, Error = Error> + Unpin) -> (Vec<String>, bool) {
    let mut body = body;
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                let data = frame.into_data().expect("data");
                frames.push(String::from_utf8(data.to_vec()).expect("utf-8"));
            }
            Err(_) => return (frames, false),
        }
    }
    (frames, true)
}

#[tokio::test]
async fn a_burst_leaves_as_one_frame_after_its_first_chunk() {
    use Step::*;
    let upstream = Scripted::new([Data("a"), Data("b"), Data("c"), Wait, Data("d")]);
    let (frames, clean) = read_all(read_ahead_with(upstream, ALWAYS)).await;
    // The first chunk has no previous one, so it goes on alone; what is ready right after
    // it is gathered; "d" comes after a wait, which ends the batch.
    assert_eq!(frames, ["a", "bc", "d"]);
    assert!(clean, "ends cleanly");
}

#[tokio::test]
async fn chunks_that_come_apart_go_on_at_once_each() {
    use Step::*;
    let gap = Duration::from_millis(20);
    let pause = Pause(gap * 5);
    let upstream = Scripted::new([Data("a"), pause, Data("b"), Pause(gap * 5), Data("c")]);
    let (frames, clean) = read_all(read_ahead_with(upstream, gap)).await;
    assert_eq!(frames, ["a", "b", "c"]);
    assert!(clean);
}

#[tokio::test]
async fn an_error_comes_after_the_data_before_it_and_ends_the_body() {
    use Step::*;
    let upstream = Scripted::new([Data("a"), Data("b"), Data("c"), Fail, Data("never")]);
    let (frames, clean) = read_all(read_ahead_with(upstream, ALWAYS)).await;
    assert_eq!(frames, ["a", "bc"]);
    assert!(!clean, "the error reaches the reader");
}

#[tokio::test]
async fn an_empty_body_ends_at_once() {
    let (frames, clean) = read_all(read_ahead_with(Scripted::new([]), ALWAYS)).await;
    assert!(frames.is_empty());
    assert!(clean);
}

#[tokio::test]
async fn dropping_the_reader_drops_the_upstream_body() {
    let mut upstream = Scripted::new([Step::Data("a")]);
    upstream.endless = true;
    let dropped = upstream.dropped.clone();
    let mut reader = read_ahead_with(upstream, ALWAYS);
    let first = reader.frame().await.expect("a frame").expect("data");
    assert_eq!(first.into_data().expect("data"), "a");
    // The upstream sends nothing more; the reader goes away.
    drop(reader);
    for _ in 0..100 {
        if dropped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the upstream body was kept after its reader was dropped");
}

/// An upstream that always has another 1 KiB ready, counting what was taken from it.
struct Firehose {
    taken: Arc<AtomicUsize>,
}

impl Body for Firehose {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.taken.fetch_add(1024, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 1024])))))
    }
}

#[tokio::test]
async fn a_reader_that_stops_reading_holds_the_upstream_back() {
    let taken = Arc::new(AtomicUsize::new(0));
    let mut reader = read_ahead_with(
        Firehose {
            taken: taken.clone(),
        },
        ALWAYS,
    );
    let first = reader.frame().await.expect("a frame").expect("data");
    assert_eq!(
        first.into_data().expect("data").len(),
        1024,
        "the first goes alone"
    );
    let second = reader.frame().await.expect("a frame").expect("data");
    let batch = second.into_data().expect("data").len();
    assert!(batch > 1024, "frames ready together are gathered: {batch}");
    assert!(
        batch <= 64 * 1024 + 1024,
        "but not past the batch size: {batch}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let held = taken.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        taken.load(Ordering::SeqCst),
        held,
        "nothing more is read while the reader does not read"
    );
    // The few batches queued plus the one being gathered, and no more.
    assert!(held <= 6 * (64 * 1024 + 1024), "read ahead {held} bytes");
}

#[tokio::test]
async fn a_pump_stopped_before_the_end_is_an_error_not_an_end() {
    let (sender, receiver) = mpsc::channel(1);
    sender
        .send(Item::Data(Bytes::from_static(b"partial")))
        .await
        .expect("queued");
    drop(sender);
    let reader = ReadAhead {
        receiver,
        ended: false,
    };
    let (frames, clean) = read_all(reader).await;
    assert_eq!(frames, ["partial"]);
    assert!(!clean, "a cut body must not look complete");
}

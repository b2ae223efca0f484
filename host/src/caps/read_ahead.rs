//! Reads an upstream response body ahead of the guest and hands it over in batches.
//!
//! hyper's client hands a body over one HTTP/1 chunk at a time, from its connection task,
//! and decodes the next chunk only once the previous one was taken. A guest reading that
//! body directly wakes, reads, translates and writes once per chunk: for an SSE stream,
//! once per event, and each time pays the host↔guest transitions, the task switches and a
//! socket write to the client. Here a small task of its own takes the chunks as hyper
//! decodes them. A chunk that comes alone (a model writing one event every few
//! milliseconds) goes on at once. A chunk that follows the previous one closely is part of
//! a burst (a fast model, or what piled up behind a network stall or a busy core): then the
//! task lets hyper decode what it already has and gathers it into one frame, and the guest's
//! next read takes the whole batch, so the burst costs one guest wake-up and one write to
//! the client. The order of the bytes, the errors and the end of the body are kept; only
//! the cuts between frames change, which nothing reading a byte stream may depend on.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wasmtime_wasi_http::Error;

/// The most bytes gathered into one frame: the guest reads up to 64 KiB at a time.
const MAX_BATCH: usize = 64 * 1024;
/// Frames gathered but not yet read by the guest; past this the pump stops reading, so a
/// slow reader still holds the upstream back (no unbounded buffering).
const QUEUED_FRAMES: usize = 4;
/// A chunk that arrives within this of the previous one is part of a burst and worth
/// gathering; one that comes later goes on alone, without waiting for company.
const BURST_GAP: Duration = Duration::from_millis(1);

/// What the pump hands over: a frame, an error, or the end (so a pump that stopped
/// without reaching the end cannot pass for a complete body). Small, as the channel
/// reserves its slots in blocks: the rare trailers and errors are boxed.
enum Item {
    Data(Bytes),
    Trailers(Box<Frame<Bytes>>),
    Failed(Box<Error>),
    End,
}

impl Item {
    fn of_frame(frame: Frame<Bytes>) -> Self {
        match frame.into_data() {
            Ok(data) => Item::Data(data),
            Err(trailers) => Item::Trailers(Box::new(trailers)),
        }
    }

    /// Whether nothing comes after this item.
    fn is_last(&self) -> bool {
        matches!(self, Item::Failed(_) | Item::End)
    }
}

/// Starts reading `body` ahead on a task of its own; the returned body yields what it
/// read, in batches. Dropping the returned body stops the task and drops `body`, which
/// tells the upstream connection that nothing more is wanted.
pub fn read_ahead<B>(body: B) -> ReadAhead
where
    B: Body<Data = Bytes, Error = Error> + Send + Unpin + 'static,
{
    read_ahead_with(body, BURST_GAP)
}

/// [`read_ahead`] with its own burst gap (tests use one far from any scheduling delay).
fn read_ahead_with<B>(body: B, burst_gap: Duration) -> ReadAhead
where
    B: Body<Data = Bytes, Error = Error> + Send + Unpin + 'static,
{
    let (sender, receiver) = mpsc::channel(QUEUED_FRAMES);
    tokio::spawn(pump(body, sender, burst_gap));
    ReadAhead {
        receiver,
        ended: false,
    }
}

/// The guest's side of [`read_ahead`].
pub struct ReadAhead {
    receiver: mpsc::Receiver<Item>,
    ended: bool,
}

impl Body for ReadAhead {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let item = match self.receiver.poll_recv(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        Poll::Ready(match item {
            Some(Item::Data(data)) => Some(Ok(Frame::data(data))),
            Some(Item::Trailers(frame)) => Some(Ok(*frame)),
            Some(Item::Failed(error)) => {
                self.ended = true;
                Some(Err(*error))
            }
            Some(Item::End) => {
                self.ended = true;
                None
            }
            // Only a pump stopped from outside (the runtime shutting down) gets here.
            None => {
                self.ended = true;
                Some(Err(Error::InternalError(Some(
                    "reading the upstream body stopped before its end".into(),
                ))))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}

/// Reads `body` until it ends, fails, or the reader is gone.
async fn pump<B>(mut body: B, sender: mpsc::Sender<Item>, burst_gap: Duration)
where
    B: Body<Data = Bytes, Error = Error> + Unpin,
{
    let mut last_chunk: Option<Instant> = None;
    loop {
        let next = tokio::select! {
            next = body.frame() => next,
            // The reader is gone: stop reading the upstream.
            () = sender.closed() => return,
        };
        let (item, after) = match next.map(|frame| frame.map(Item::of_frame)) {
            None => (Item::End, None),
            Some(Err(error)) => (Item::Failed(Box::new(error)), None),
            Some(Ok(Item::Data(data))) => {
                let now = Instant::now();
                let bursting =
                    last_chunk.is_some_and(|last| now.saturating_duration_since(last) < burst_gap);
                last_chunk = Some(now);
                if bursting {
                    let (batch, after) = gather(&mut body, data).await;
                    last_chunk = Some(Instant::now());
                    (Item::Data(batch), after)
                } else {
                    (Item::Data(data), None)
                }
            }
            Some(Ok(other)) => (other, None),
        };
        for item in std::iter::once(item).chain(after) {
            let last = item.is_last();
            if sender.send(item).await.is_err() || last {
                return;
            }
        }
    }
}

/// Adds to `first` every data frame that is ready once hyper's connection task had its
/// turn; stops at the first wait, at [`MAX_BATCH`], or at anything but data, which is
/// returned to be handed over after the batch.
async fn gather<B>(body: &mut B, first: Bytes) -> (Bytes, Option<Item>)
where
    B: Body<Data = Bytes, Error = Error> + Unpin,
{
    let mut batch: Option<BytesMut> = None;
    let mut len = first.len();
    let mut after = None;
    while len < MAX_BATCH {
        // hyper decodes the next chunk on its own connection task, and only once this
        // task took the last one: let that task run before looking.
        yield_to_run_queue().await;
        let ready = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *body).poll_frame(cx)));
        let item = match ready.await {
            Poll::Pending => break,
            Poll::Ready(None) => Item::End,
            Poll::Ready(Some(Err(error))) => Item::Failed(Box::new(error)),
            Poll::Ready(Some(Ok(frame))) => Item::of_frame(frame),
        };
        match item {
            Item::Data(data) => {
                len += data.len();
                batch
                    .get_or_insert_with(|| BytesMut::from(&first[..]))
                    .extend_from_slice(&data);
            }
            other => {
                after = Some(other);
                break;
            }
        }
    }
    (batch.map_or(first, BytesMut::freeze), after)
}

/// Goes to the back of this worker's run queue, so the tasks woken before (hyper's
/// connection task among them) run first. `tokio::task::yield_now` would instead wait
/// until the worker next polls its I/O driver, which under load means many tasks later.
async fn yield_to_run_queue() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        // A task woken while it runs is queued again behind the others (tokio).
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

#[cfg(test)]
#[path = "read_ahead_tests.rs"]
mod tests;

//! [`Gate`]: holds the mock's `/responses` replies until the test opens it.
//!
//! A test that needs an upstream call to be "still running" while it does something else
//! (admission control, shutdown) would otherwise rely on a reply lasting long enough, which
//! a loaded machine does not guarantee. With a gate the test decides when calls complete.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

/// The test's handle, from [`MockOpenRouter::gate`](super::MockOpenRouter::gate).
///
/// While it is closed, every authenticated `POST /responses` is recorded as usual and then
/// waits, before its status line, until [`Gate::open`]. Dropping the handle opens the gate
/// too, so a test that fails early never leaves the gateway waiting on the mock.
#[derive(Debug)]
pub struct Gate {
    open: watch::Sender<bool>,
    held: Arc<AtomicUsize>,
}

impl Gate {
    /// A closed gate and the mock's side of it.
    pub(super) fn closed() -> (Gate, Turnstile) {
        let (open, watcher) = watch::channel(false);
        let held = Arc::new(AtomicUsize::new(0));
        let turnstile = Turnstile {
            open: watcher,
            held: Arc::clone(&held),
        };
        (Gate { open, held }, turnstile)
    }

    /// Releases the replies waiting now and lets every later one through at once.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// Replies waiting at the gate now (a call the gateway made and is waiting on).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

/// Where the mock's replies wait; one clone per reply.
#[derive(Debug, Clone)]
pub(super) struct Turnstile {
    open: watch::Receiver<bool>,
    held: Arc<AtomicUsize>,
}

impl Turnstile {
    /// Returns once the gate is open (at once if it already is).
    pub(super) async fn pass(mut self) {
        if *self.open.borrow() {
            return;
        }
        // Counted while waiting; the guard uncounts a reply whose client went away too.
        let _waiting = Waiting::count(&self.held);
        // An error means the handle is gone, which opened the gate anyway.
        let _ = self.open.wait_for(|open| *open).await;
    }
}

/// One reply counted in [`Gate::held`] for as long as this lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(held: &'a AtomicUsize) -> Self {
        held.fetch_add(1, Ordering::SeqCst);
        Waiting(held)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

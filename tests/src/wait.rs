//! [`eventually`]: waiting for an effect a test cannot be told about directly.
//!
//! The gateway's effects reach a test asynchronously: a log line through a pipe and a reader
//! thread, a row written after the last frame, a call on the mock, a port that starts
//! listening. Tests poll for them with one deadline, and a timeout fails with a message that
//! says what never happened instead of a bare `false`.

use std::fmt::Display;
use std::time::Duration;

use tokio::time::Instant;

/// The first pause between two probes; it doubles up to [`MAX_PAUSE`], so a quick effect is
/// seen quickly and a slow one is not probed hundreds of times.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// What a probe reports: a `bool` (there yet or not), or an `Option` holding the awaited
/// value once it is there.
pub trait Probe {
    type Value;
    fn ready(self) -> Option<Self::Value>;
}

impl Probe for bool {
    type Value = ();
    fn ready(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Probe for Option<T> {
    type Value = T;
    fn ready(self) -> Option<T> {
        self
    }
}

/// Calls `probe` until it reports ready and returns its value; panics after `timeout`
/// with "timed out after … waiting for {what}".
///
/// `what` is formatted only on timeout, so `std::fmt::from_fn` can put the state at that
/// moment (a log, a count) into the message.
///
/// ```no_run
/// # use orpipe_testkit::{MockOpenRouter, eventually};
/// # use std::time::Duration;
/// # async fn example(mock: &MockOpenRouter) {
/// eventually("the mock to see one /responses call", Duration::from_secs(10), async || {
///     mock.responses_requests().len() == 1
/// })
/// .await;
/// # }
/// ```
pub async fn eventually<P: Probe>(
    what: impl Display,
    timeout: Duration,
    probe: impl AsyncFnMut() -> P,
) -> P::Value {
    match poll_until(timeout, probe).await {
        Some(value) => value,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// [`eventually`] for callers that report a timeout themselves: `None` at the deadline.
/// The probe runs at least once, and once more at the deadline.
pub async fn poll_until<P: Probe>(
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> P,
) -> Option<P::Value> {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_PAUSE;
    loop {
        if let Some(value) = probe().await.ready() {
            return Some(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

//! `eventually`: returns as soon as the probe is ready, with its value, and fails with the
//! awaited thing named.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use orpipe_testkit::eventually;
use orpipe_testkit::wait::poll_until;

#[tokio::test]
async fn returns_the_value_once_the_probe_is_ready() {
    let calls = AtomicUsize::new(0);
    let started = Instant::now();
    let value = eventually("the third call", Duration::from_secs(10), async || {
        let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
        (call == 3).then_some(call * 10)
    })
    .await;
    assert_eq!(value, 30);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "no probe after the ready one"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "short first pauses"
    );
}

#[tokio::test]
async fn a_probe_that_is_never_ready_ends_at_the_deadline() {
    let calls = AtomicUsize::new(0);
    let started = Instant::now();
    let result = poll_until(Duration::from_millis(300), async || {
        calls.fetch_add(1, Ordering::SeqCst);
        false
    })
    .await;
    assert_eq!(result, None);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "probed again at the deadline"
    );
}

#[tokio::test]
#[should_panic(expected = "waiting for the row that never comes")]
async fn a_timeout_fails_naming_what_was_awaited() {
    eventually(
        "the row that never comes",
        Duration::from_millis(50),
        async || false,
    )
    .await;
}

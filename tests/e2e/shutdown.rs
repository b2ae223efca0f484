//! Graceful shutdown: on SIGTERM orpipe stops accepting connections, lets a running stream
//! finish, then exits.

use crate::admission::{assert_intact, wait_for_held_calls, wait_for_startup_jobs};
use crate::{CLIENT_KEY, LOG_WAIT, start};
use orpipe_testkit::{MockOpenRouter, client};
use serde_json::json;

#[tokio::test]
async fn sigterm_lets_a_running_stream_finish_and_refuses_new_connections() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let mut orpipe = start(&mock, &[("ORPIPE_SHUTDOWN_GRACE_SECS", "30")]).await;
    wait_for_startup_jobs(&orpipe).await;
    // The answer waits at the gate until the test has seen the shutdown begin.
    let gate = mock.gate();

    let url = orpipe.url("/v1/chat/completions");
    let running = tokio::spawn({
        let url = url.clone();
        async move {
            let chat = json!({
                "model": "openai/gpt-4o-mini",
                "stream": true,
                "messages": [{"role": "user", "content": "Hi"}]
            });
            client::stream_sse(&url, &chat, Some(CLIENT_KEY))
                .await
                .expect("request")
        }
    });
    wait_for_held_calls(&gate, 1).await;
    orpipe.terminate().expect("SIGTERM");
    assert!(
        orpipe.wait_for_log("shutting down", LOG_WAIT).await,
        "{}",
        orpipe.stderr_log()
    );

    let refused = client::get(&orpipe.url("/healthz"), None).await;
    assert!(
        refused.is_err(),
        "no new connections after the signal: {refused:?}"
    );
    gate.open();
    assert_intact(
        &running.await.expect("stream task"),
        "the stream running at the signal",
    );
    let status = orpipe
        .wait_for_exit(LOG_WAIT)
        .await
        .expect("orpipe exits once the stream is done");
    assert!(status.success(), "{status}");
}

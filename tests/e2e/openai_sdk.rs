//! The official `openai` Python SDK parses what orpipe sends, streamed and whole.
//! Needs `ORPIPE_PYTHON`: a Python with the SDK from tests/sdk/requirements.txt
//! (scripts/test.sh makes one); without it the test says so and passes (and fails under
//! `ORPIPE_REQUIRE_ALL=1`).

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{MockOpenRouter, Reply, require_tool};
use serde_json::Value;

#[tokio::test]
async fn the_openai_python_sdk_streams_reasoning_and_usage_and_reads_whole_answers() {
    let Some(python) = require_tool("ORPIPE_PYTHON") else {
        return;
    };
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_reasoning.sse").split_every(5));
    let orpipe = start(&mock, &[]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sdk/openai_client.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(orpipe.url("/v1"))
        .arg(CLIENT_KEY)
        .output()
        .await
        .expect("running python");
    assert!(
        output.status.success(),
        "the SDK failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");

    let stream = &parsed["stream"];
    // The SDK sees the hidden marker line of the stored reasoning; rendered, it is gone.
    assert_eq!(
        crate::rendered(stream["content"].as_str().unwrap_or_default()),
        "Yes. As of 2025, 1995 was exactly 30 years ago."
    );
    assert!(
        stream["reasoning"]
            .as_str()
            .is_some_and(|r| r.starts_with("The user asks whether 1995")),
        "{stream}"
    );
    assert_eq!(stream["finish_reason"], "stop");
    assert_eq!(stream["usage"]["total_tokens"], 124);
    assert_eq!(
        stream["usage"]["completion_tokens_details"]["reasoning_tokens"],
        41
    );

    assert_eq!(parsed["models"][0], "openai.gpt-4o-mini");
    assert_eq!(
        parsed["completion"]["content"],
        "The capital of France is Paris."
    );
    assert_eq!(parsed["completion"]["finish_reason"], "stop");
    assert_eq!(parsed["completion"]["usage"]["prompt_tokens"], 24);
}

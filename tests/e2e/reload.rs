//! New guest logic without a restart: orpipe loads its `--component` file again on
//! `POST /admin/reload`, on SIGHUP and, with `ORPIPE_COMPONENT_WATCH`, when the file
//! changes. A stream in flight finishes on the build it started with; the next request
//! runs the new one; a broken file leaves the running build and the route says why.
//!
//! The "new build" is the embedded guest with a custom section appended (`another_build`):
//! it behaves the same and has another hash, which every response names in
//! `x-orpipe-guest`.

use crate::{CLIENT_KEY, LOG_WAIT, another_build, rendered, start};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, Reply, StreamOutcome, eventually};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "sk-orpipe-test-admin";
const GUEST_HEADER: &str = "x-orpipe-guest";
const SWAPPED: &str = "guest component swapped";
const FAILED: &str = "guest component reload failed";
/// A compile on a busy 2-core machine can take seconds; waits for one are generous.
const COMPILE_WAIT: Duration = Duration::from_secs(90);

fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Replaces the file the way a deployment should: a new file renamed over the old one.
fn install(path: &Path, bytes: &[u8]) {
    let temp = path.with_extension("wasm.new");
    std::fs::write(&temp, bytes).expect("write the new build");
    std::fs::rename(&temp, path).expect("rename it into place");
}

/// orpipe running the build in `dir/guest.wasm` (written here), with an admin key.
async fn start_with_file(
    mock: &MockOpenRouter,
    dir: &Path,
    build: &[u8],
    extra_env: &[(&str, &str)],
) -> (Orpipe, PathBuf) {
    let path = dir.join("guest.wasm");
    install(&path, build);
    let mut env = vec![
        ("ORPIPE_ADMIN_KEYS", ADMIN_KEY),
        ("ORPIPE_COMPONENT", path.to_str().expect("utf-8 path")),
    ];
    env.extend_from_slice(extra_env);
    (start(mock, &env).await, path)
}

async fn reload(orpipe: &Orpipe, key: &str) -> orpipe_testkit::HttpResponse {
    HttpClient::new()
        .with_timeout(COMPILE_WAIT)
        .post_json(&orpipe.url("/admin/reload"), &json!({}), Some(key))
        .await
        .expect("an answer from /admin/reload")
}

/// The build that answers a guest route now.
async fn answering_build(orpipe: &Orpipe) -> String {
    let response = orpipe_testkit::client::get(&orpipe.url("/v1/models"), Some(CLIENT_KEY))
        .await
        .expect("GET /v1/models");
    assert_eq!(response.status, 200, "{}", response.text());
    response
        .header(GUEST_HEADER)
        .expect("every guest answer names its build")
        .to_owned()
}

fn chat() -> Value {
    json!({"model": "openai/gpt-4o-mini", "stream": true,
        "messages": [{"role": "user", "content": "Count slowly"}]})
}

#[tokio::test]
async fn a_swap_during_a_long_stream_leaves_it_untouched_and_the_next_request_runs_the_new_build() {
    const DELTAS: usize = 250;
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("dir");
    let old = another_build(b"old");
    let new = another_build(b"new");
    let (orpipe, path) = start_with_file(&mock, dir.path(), &old, &[]).await;
    assert_eq!(answering_build(&orpipe).await, hash(&old));

    // 25 seconds of deltas: long enough to swap during it even on a machine so busy that
    // compiling the new build takes over ten seconds (seen at a load of 10 on 2 cores), and
    // checked below rather than assumed.
    mock.enqueue(Reply::synthetic(DELTAS).pace(Duration::from_millis(100)));
    let started = Instant::now();
    let url = orpipe.url("/v1/chat/completions");
    let stream = tokio::spawn(async move {
        HttpClient::new()
            .with_timeout(Duration::from_secs(120))
            .stream_sse(&url, &chat(), Some(CLIENT_KEY))
            .await
            .expect("the stream")
    });
    eventually("the stream's upstream call", LOG_WAIT, async || {
        mock.responses_requests().len() == 1
    })
    .await;

    install(&path, &new);
    let answer = reload(&orpipe, ADMIN_KEY).await;
    let swapped_at = Instant::now();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json().expect("JSON");
    assert_eq!(body["status"], "reloaded", "{body}");
    assert_eq!(body["active"], hash(&new), "{body}");
    assert_eq!(body["previous"], hash(&old), "{body}");

    let result = stream.await.expect("the stream task");
    assert_eq!(result.status, 200);
    assert_eq!(result.outcome, StreamOutcome::Ended);
    assert_eq!(
        result
            .headers
            .get(GUEST_HEADER)
            .and_then(|v| v.to_str().ok()),
        Some(hash(&old).as_str()),
        "the stream ran on the build it started with"
    );
    // `started` is taken before the client's own clock, so this undercounts: a frame
    // counted here surely arrived after the swap.
    let after_swap = result
        .frames
        .iter()
        .filter(|frame| started + frame.at > swapped_at)
        .count();
    assert!(
        after_swap > 1,
        "the swap must happen while the stream runs; it ended first (make it longer)"
    );
    assert!(result.saw_done(), "the stream ends with [DONE]");
    let content: String = result
        .json_events()
        .expect("every frame is JSON")
        .iter()
        .filter_map(|event| event["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        rendered(&content),
        " tok".repeat(DELTAS).trim(),
        "every delta"
    );

    assert_eq!(answering_build(&orpipe).await, hash(&new));
    assert!(orpipe.wait_for_log(SWAPPED, LOG_WAIT).await);
    let log = orpipe.stderr_log();
    assert!(log.contains(&hash(&new)), "the log names the new build");
}

#[tokio::test]
async fn a_broken_file_leaves_the_running_build_and_the_admin_route_says_why() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("dir");
    let good = another_build(b"good");
    let (orpipe, path) = start_with_file(&mock, dir.path(), &good, &[]).await;

    let not_admin = reload(&orpipe, CLIENT_KEY).await;
    assert_eq!(not_admin.status, 403, "{}", not_admin.text());
    let get = HttpClient::new()
        .get(&orpipe.url("/admin/reload"), Some(ADMIN_KEY))
        .await
        .expect("GET");
    assert_eq!(get.status, 405, "{}", get.text());

    install(&path, b"\0asm garbage, not a component");
    let answer = reload(&orpipe, ADMIN_KEY).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    let body = answer.json().expect("JSON");
    assert_eq!(body["error"]["code"], "component_invalid", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("compiling the guest component"), "{body}");
    assert_eq!(body["active"], hash(&good), "{body}");

    assert!(orpipe.wait_for_log(FAILED, LOG_WAIT).await);
    assert!(!orpipe.stderr_log().contains(SWAPPED));
    assert_eq!(answering_build(&orpipe).await, hash(&good));
    mock.enqueue(Reply::stream("stream_text.sse"));
    let chat = HttpClient::new()
        .stream_sse(
            &orpipe.url("/v1/chat/completions"),
            &chat(),
            Some(CLIENT_KEY),
        )
        .await
        .expect("a chat answer");
    assert_eq!(chat.status, 200, "the old build still answers");
    assert!(chat.saw_done());

    std::fs::remove_file(&path).expect("remove the file");
    let missing = reload(&orpipe, ADMIN_KEY).await;
    assert_eq!(missing.status, 500, "{}", missing.text());
    let body = missing.json().expect("JSON");
    assert_eq!(body["error"]["code"], "component_unreadable", "{body}");
    assert_eq!(body["active"], hash(&good), "{body}");
}

#[tokio::test]
async fn the_embedded_guest_has_nothing_to_reload() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_ADMIN_KEYS", ADMIN_KEY)]).await;
    let answer = reload(&orpipe, ADMIN_KEY).await;
    assert_eq!(answer.status, 409, "{}", answer.text());
    let body = answer.json().expect("JSON");
    assert_eq!(body["error"]["code"], "no_component_file", "{body}");
    let embedded = std::fs::read(env!("ORPIPE_GUEST_WASM_PATH")).expect("guest");
    assert_eq!(body["active"], hash(&embedded), "{body}");
}

#[tokio::test]
async fn sighup_loads_the_new_build() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("dir");
    let old = another_build(b"before SIGHUP");
    let new = another_build(b"after SIGHUP");
    let (mut orpipe, path) = start_with_file(&mock, dir.path(), &old, &[]).await;
    assert_eq!(answering_build(&orpipe).await, hash(&old));

    install(&path, &new);
    orpipe.hangup().expect("SIGHUP");
    assert!(
        orpipe.wait_for_log(SWAPPED, COMPILE_WAIT).await,
        "{}",
        orpipe.stderr_log()
    );
    assert!(
        orpipe.is_running(),
        "SIGHUP reloads, it does not stop orpipe"
    );
    assert_eq!(answering_build(&orpipe).await, hash(&new));
    assert!(orpipe.stderr_log().contains(r#""trigger":"SIGHUP""#));
    // The new build is compiled through the cache like the first: a restart on it is fast.
    let cache = orpipe.data_dir().join("cache");
    eventually(
        "an artifact for each build in the compile cache",
        LOG_WAIT,
        async || {
            std::fs::read_dir(&cache).map_or(0, |entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
                    .count()
            }) == 2
        },
    )
    .await;
}

#[tokio::test]
async fn with_watching_on_a_new_file_is_loaded_by_itself() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("dir");
    let old = another_build(b"watched, old");
    let new = another_build(b"watched, new");
    let (orpipe, path) =
        start_with_file(&mock, dir.path(), &old, &[("ORPIPE_COMPONENT_WATCH", "on")]).await;
    assert!(
        orpipe
            .wait_for_log("watching the component file", LOG_WAIT)
            .await
    );
    assert_eq!(answering_build(&orpipe).await, hash(&old));

    install(&path, &new);
    assert!(
        orpipe.wait_for_log(SWAPPED, COMPILE_WAIT).await,
        "{}",
        orpipe.stderr_log()
    );
    assert_eq!(answering_build(&orpipe).await, hash(&new));
    assert!(orpipe.stderr_log().contains(r#""trigger":"file-changed""#));
}

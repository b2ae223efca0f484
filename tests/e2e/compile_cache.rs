//! The compiled guest is cached in the data directory: a second start loads it instead of
//! compiling, a damaged artifact is only a cache miss, and a different component never
//! reuses another's artifact.

use crate::{CLIENT_KEY, LOG_WAIT, another_build};
use orpipe_testkit::{MockOpenRouter, Orpipe, client};
use std::path::{Path, PathBuf};

const MISS: &str = "no cached compiled component; compiling";
const HIT: &str = "compiled component loaded from cache";
const WRITTEN: &str = "compiled component cached";
const UNUSABLE: &str = "cached compiled component unusable; compiling instead";

async fn spawn(mock: &MockOpenRouter, env: &[(&str, &str)], dir: &Path) -> Orpipe {
    let mut all = vec![("ORPIPE_API_KEYS", CLIENT_KEY)];
    all.extend_from_slice(env);
    Orpipe::spawn_in(
        Path::new(env!("CARGO_BIN_EXE_orpipe")),
        &mock.base_url(),
        &all,
        Some(dir),
    )
    .await
    .expect("orpipe starts")
}

/// A guest route answers: the component (cached or compiled) really runs.
async fn assert_serves(orpipe: &Orpipe) {
    let response = client::get(&orpipe.url("/v1/models"), Some(CLIENT_KEY))
        .await
        .expect("GET /v1/models");
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
}

fn artifacts(data_dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(data_dir.join("cache"))
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
    found.sort();
    found
}

/// Starts once on an empty data directory and waits until the artifact is written.
async fn prime(mock: &MockOpenRouter, env: &[(&str, &str)], dir: &Path) {
    let first = spawn(mock, env, dir).await;
    assert!(
        first.wait_for_log(MISS, LOG_WAIT).await,
        "{}",
        first.stderr_log()
    );
    assert!(
        first.wait_for_log(WRITTEN, LOG_WAIT).await,
        "{}",
        first.stderr_log()
    );
    assert_serves(&first).await;
}

#[tokio::test]
async fn a_second_start_loads_the_compiled_component_from_the_cache() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    prime(&mock, &[], dir.path()).await;
    assert_eq!(artifacts(dir.path()).len(), 1);

    let second = spawn(&mock, &[], dir.path()).await;
    assert!(
        second.wait_for_log(HIT, LOG_WAIT).await,
        "{}",
        second.stderr_log()
    );
    assert!(!second.stderr_log().contains(MISS));
    assert_serves(&second).await;
}

#[tokio::test]
async fn a_corrupted_artifact_falls_back_to_compiling_and_is_replaced() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    prime(&mock, &[], dir.path()).await;
    let [artifact] = artifacts(dir.path()).try_into().expect("one artifact");
    let good = std::fs::read(&artifact).expect("artifact");
    std::fs::write(&artifact, b"not a compiled component").expect("corrupt");

    let second = spawn(&mock, &[], dir.path()).await;
    assert!(
        second.wait_for_log(UNUSABLE, LOG_WAIT).await,
        "{}",
        second.stderr_log()
    );
    assert_serves(&second).await;
    assert!(
        second.wait_for_log(WRITTEN, LOG_WAIT).await,
        "{}",
        second.stderr_log()
    );
    assert_eq!(
        std::fs::read(&artifact).expect("rewritten").len(),
        good.len()
    );
}

#[tokio::test]
async fn a_different_component_does_not_reuse_another_components_artifact() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    prime(&mock, &[], dir.path()).await;

    let path = dir.path().join("other.wasm");
    std::fs::write(&path, another_build(b"another component")).expect("write component");
    let path = path.to_str().expect("utf-8 path");

    let second = spawn(&mock, &[("ORPIPE_COMPONENT", path)], dir.path()).await;
    assert!(
        second.wait_for_log(MISS, LOG_WAIT).await,
        "{}",
        second.stderr_log()
    );
    assert!(!second.stderr_log().contains(HIT));
    assert_serves(&second).await;
    assert!(
        second.wait_for_log(WRITTEN, LOG_WAIT).await,
        "{}",
        second.stderr_log()
    );
    assert_eq!(artifacts(dir.path()).len(), 2, "one artifact per component");
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    let orpipe = spawn(&mock, &[("ORPIPE_COMPILE_CACHE", "off")], dir.path()).await;
    assert_serves(&orpipe).await;
    let log = orpipe.stderr_log();
    assert!(!log.contains(MISS) && !log.contains(HIT), "{log}");
    assert!(artifacts(dir.path()).is_empty());
}

#[tokio::test]
async fn an_unwritable_data_directory_only_costs_the_cache() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    // A file where the cache directory would go: creating it fails, whoever runs the test.
    std::fs::write(dir.path().join("cache"), b"in the way").expect("block the cache dir");
    let orpipe = spawn(&mock, &[], dir.path()).await;
    assert_serves(&orpipe).await;
    assert!(
        orpipe
            .wait_for_log("could not cache the compiled component", LOG_WAIT)
            .await,
        "{}",
        orpipe.stderr_log()
    );
}

//! The harness against stand-in shell scripts that honour (or break) orpipe's start-up
//! contract. The real binary is exercised by the host's e2e tests.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use orpipe_testkit::{Orpipe, eventually};
use tokio::sync::Mutex;

/// Writing an executable while another thread forks can make exec fail with ETXTBSY (the
/// child briefly inherits the write descriptor); tests that write and run scripts take turns.
static SCRIPTS: Mutex<()> = Mutex::const_new(());

/// An executable shell script in its own temp directory, removed on drop.
struct Script {
    dir: PathBuf,
    path: PathBuf,
}

impl Script {
    fn new(name: &str, body: &str) -> Script {
        let dir =
            std::env::temp_dir().join(format!("orpipe-testkit-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("script dir");
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Script { dir, path }
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn spawn_waits_for_the_listening_line_and_cleans_up_on_drop() {
    let _turn = SCRIPTS.lock().await;
    let script = Script::new(
        "fake-orpipe-ok",
        r#"echo "args: $*" >&2
echo "env: $OPENROUTER_BASE_URL $OPENROUTER_API_KEY $ORPIPE_API_KEYS" >&2
echo "warming up"
echo "listening on http://127.0.0.1:4321"
exec sleep 30"#,
    );
    let orpipe = Orpipe::spawn(
        &script.path,
        "http://127.0.0.1:9/api/v1",
        &[("ORPIPE_API_KEYS", "sk-client")],
    )
    .await
    .expect("fake orpipe starts");

    assert_eq!(orpipe.base_url(), "http://127.0.0.1:4321");
    assert_eq!(orpipe.url("/v1/models"), "http://127.0.0.1:4321/v1/models");
    let data_dir = orpipe.data_dir().to_path_buf();
    assert!(data_dir.is_dir());
    let expected_args = format!(
        "args: --listen 127.0.0.1:0 --data-dir {}",
        data_dir.display()
    );
    let expected_env = format!(
        "env: http://127.0.0.1:9/api/v1 {} sk-client",
        Orpipe::UPSTREAM_KEY
    );
    // stderr is drained by a background thread, so the lines may arrive a little later.
    eventually(
        fmt::from_fn(|f| write!(f, "the script's lines on stderr: {}", orpipe.stderr_log())),
        Duration::from_secs(2),
        async || {
            let log = orpipe.stderr_log();
            log.contains(&expected_args) && log.contains(&expected_env)
        },
    )
    .await;
    assert!(orpipe.stdout_log().contains("warming up"));
    let memory = orpipe.memory().expect("memory readable");
    assert!(memory.peak_rss_kib >= memory.rss_kib);
    orpipe.cpu().expect("cpu readable");

    let pid = orpipe.pid();
    drop(orpipe);
    assert!(!data_dir.exists(), "data dir removed");
    assert!(!process_exists(pid), "process killed and reaped");
}

#[tokio::test]
async fn an_early_exit_is_reported_with_its_stderr() {
    let _turn = SCRIPTS.lock().await;
    let script = Script::new("fake-orpipe-fails", "echo 'boom: no config' >&2\nexit 3");
    let error = match Orpipe::spawn(&script.path, "http://127.0.0.1:9/api/v1", &[]).await {
        Ok(_) => panic!("a process that exits must not count as started"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("boom: no config"), "{error}");
    assert!(error.contains("exited before listening"), "{error}");
}

#[tokio::test]
async fn a_missing_binary_is_an_error() {
    let _turn = SCRIPTS.lock().await;
    let result = Orpipe::spawn(
        Path::new("/nonexistent/orpipe"),
        "http://127.0.0.1:9/api/v1",
        &[],
    )
    .await;
    assert!(result.is_err());
}

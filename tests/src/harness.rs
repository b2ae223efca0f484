//! [`Orpipe`]: the real gateway binary, started for one test or benchmark run.
//!
//! The contract with the binary: `orpipe --listen 127.0.0.1:0 --data-dir <dir>` with
//! `OPENROUTER_BASE_URL`, `OPENROUTER_API_KEY` (and optionally `ORPIPE_API_KEYS`) in the
//! environment; once listening it prints `listening on http://127.0.0.1:PORT` on stdout; its
//! logs (JSON lines) go to stderr. The child is killed and its data directory removed on drop.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use tokio::sync::oneshot;

use crate::wait::poll_until;

/// How long the binary may take to print its listening line. Generous: a debug build may
/// compile its Wasm component on first start, on a busy 2-core machine.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The prefix of the one stdout line that announces the listening address.
const LISTENING_PREFIX: &str = "listening on ";

/// A running `orpipe` process.
pub struct Orpipe {
    child: Child,
    base_url: String,
    data_dir: PathBuf,
    /// A data directory the caller passed in outlives the process (restart tests).
    owns_data_dir: bool,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

/// Memory figures of a process from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessMemory {
    /// `VmRSS`: resident set size now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident set size since start.
    pub peak_rss_kib: u64,
}

/// CPU time a process has used, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessCpu {
    pub user: Duration,
    pub system: Duration,
}

impl ProcessCpu {
    pub fn total(&self) -> Duration {
        self.user + self.system
    }
}

impl Orpipe {
    /// The upstream key given to the gateway unless `extra_env` sets `OPENROUTER_API_KEY`.
    pub const UPSTREAM_KEY: &'static str = "sk-or-v1-testkit";

    /// Starts `binary` against the mock at `mock_base_url` and waits (up to
    /// [`STARTUP_TIMEOUT`]) for its listening line. `extra_env` is applied last, so it can
    /// override the defaults. Inherited `OPENROUTER_*`/`ORPIPE_*` variables are removed so a
    /// developer's shell cannot leak into tests.
    ///
    /// Async because the gateway may call the mock while starting (catalog import): blocking
    /// the runtime that serves the mock would deadlock a single-threaded test.
    pub async fn spawn(
        binary: &Path,
        mock_base_url: &str,
        extra_env: &[(&str, &str)],
    ) -> anyhow::Result<Orpipe> {
        Self::spawn_in(binary, mock_base_url, extra_env, None).await
    }

    /// [`Orpipe::spawn`] with the data directory `data_dir` when given: it is kept when the
    /// process ends, so a second process can start on the same state.
    pub async fn spawn_in(
        binary: &Path,
        mock_base_url: &str,
        extra_env: &[(&str, &str)],
        data_dir: Option<&Path>,
    ) -> anyhow::Result<Orpipe> {
        let owns_data_dir = data_dir.is_none();
        let data_dir = match data_dir {
            Some(dir) => dir.to_path_buf(),
            None => unique_temp_dir()?,
        };
        let mut command = Command::new(binary);
        command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if text.starts_with("OPENROUTER_") || text.starts_with("ORPIPE_") {
                command.env_remove(&name);
            }
        }
        command
            .env("OPENROUTER_BASE_URL", mock_base_url)
            .env("OPENROUTER_API_KEY", Self::UPSTREAM_KEY)
            .envs(extra_env.iter().copied());

        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                if owns_data_dir {
                    remove_dir(&data_dir);
                }
                return Err(error).with_context(|| format!("starting {}", binary.display()));
            }
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr_reader = child
            .stderr
            .take()
            .map(|pipe| drain_into(pipe, Arc::clone(&stderr)));
        let (line_tx, line_rx) = oneshot::channel();
        if let Some(pipe) = child.stdout.take() {
            watch_stdout(pipe, Arc::clone(&stdout), line_tx);
        }
        // From here on, Drop kills the child and removes the directory on every error path.
        let mut orpipe = Orpipe {
            child,
            base_url: String::new(),
            data_dir,
            owns_data_dir,
            stderr,
            stdout,
        };

        let announced = tokio::time::timeout(STARTUP_TIMEOUT, line_rx).await;
        match announced {
            Ok(Ok(url)) => {
                orpipe.base_url = url;
                Ok(orpipe)
            }
            Ok(Err(_closed)) => {
                // stdout closed without the line: the process is exiting or exited.
                let status = match orpipe.wait_for_exit(Duration::from_secs(1)).await {
                    Some(status) => status.to_string(),
                    None => "still running with stdout closed".to_owned(),
                };
                // The process is gone, but its last stderr bytes may still be in the pipe:
                // let the reader reach EOF (bounded, in case a grandchild holds the pipe).
                if let Some(reader) = &stderr_reader {
                    poll_until(Duration::from_secs(2), async || reader.is_finished()).await;
                }
                bail!(
                    "{} exited before listening ({status}); stderr:\n{}",
                    binary.display(),
                    orpipe.stderr_log()
                )
            }
            Err(_elapsed) => bail!(
                "{} did not print `{LISTENING_PREFIX}http://…` within {STARTUP_TIMEOUT:?}; stdout:\n{}\nstderr:\n{}",
                binary.display(),
                orpipe.stdout_log(),
                orpipe.stderr_log()
            ),
        }
    }

    /// Waits (up to `timeout`) until the captured stderr contains `needle`. Log lines
    /// reach the test through a pipe and a reader thread, so a line written before a
    /// response was sent can still be in flight when the response arrives.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        poll_until(timeout, async || self.stderr_log().contains(needle))
            .await
            .is_some()
    }

    /// `http://127.0.0.1:PORT`, as announced by the binary.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `{base_url}{path}`; `path` starts with `/`, e.g. `/v1/chat/completions`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's data directory (removed on drop).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Everything the process wrote to stderr so far (its JSON log lines).
    pub fn stderr_log(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Everything the process wrote to stdout so far, the listening line included.
    pub fn stdout_log(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Current and peak resident memory (Linux only).
    pub fn memory(&self) -> anyhow::Result<ProcessMemory> {
        process_memory(self.pid())
    }

    /// CPU time used so far (Linux only).
    pub fn cpu(&self) -> anyhow::Result<ProcessCpu> {
        process_cpu(self.pid())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM (what a service manager sends to stop it), through `kill(1)`.
    pub fn terminate(&self) -> anyhow::Result<()> {
        self.signal("TERM")
    }

    /// Sends SIGHUP (what `systemctl reload` sends): orpipe loads its component file again.
    pub fn hangup(&self) -> anyhow::Result<()> {
        self.signal("HUP")
    }

    /// Sends the signal of this name (`TERM`, `HUP`) through `kill(1)`.
    fn signal(&self, name: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .context("running kill")?;
        anyhow::ensure!(status.success(), "kill -{name} {} failed", self.pid());
        Ok(())
    }

    /// Waits (up to `timeout`) for the process to exit; its exit status, or `None` if it
    /// is still running.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        poll_until(timeout, async || self.child.try_wait().ok().flatten()).await
    }
}

impl Drop for Orpipe {
    fn drop(&mut self) {
        // Errors mean the process already exited; either way it is reaped below.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_data_dir {
            remove_dir(&self.data_dir);
        }
    }
}

/// Copies a pipe into `sink` until EOF, so the child never blocks on a full pipe.
fn drain_into(
    mut pipe: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buffer = [0_u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    let text = String::from_utf8_lossy(buffer.get(..read).unwrap_or_default());
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push_str(&text);
                }
            }
        }
    })
}

/// Reads stdout line by line into `sink` and sends the URL of the first listening line.
fn watch_stdout(
    pipe: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
    announce: oneshot::Sender<String>,
) {
    thread::spawn(move || {
        let mut announce = Some(announce);
        let mut lines = BufReader::new(pipe);
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_str(&line);
            if let Some(url) = line.trim().strip_prefix(LISTENING_PREFIX)
                && let Some(sender) = announce.take()
            {
                // The receiver is gone only if spawn() already gave up; nothing to do then.
                let _ = sender.send(url.trim().to_owned());
            }
        }
        // Dropping an unused sender tells spawn() that stdout closed without the line.
    });
}

/// A fresh directory under the system temp dir, unique per process and call.
fn unique_temp_dir() -> anyhow::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "orpipe-testkit-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn remove_dir(dir: &Path) {
    if let Err(error) = std::fs::remove_dir_all(dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!(
            "orpipe harness: could not remove {}: {error}",
            dir.display()
        );
    }
}

/// Reads `VmRSS` and `VmHWM` of a process.
pub fn process_memory(pid: u32) -> anyhow::Result<ProcessMemory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{path} has no readable {name}"))
    };
    Ok(ProcessMemory {
        rss_kib: field("VmRSS:")?,
        peak_rss_kib: field("VmHWM:")?,
    })
}

/// Reads `utime` and `stime` of a process.
pub fn process_cpu(pid: u32) -> anyhow::Result<ProcessCpu> {
    // /proc reports clock ticks in USER_HZ, which the kernel ABI fixes at 100 on Linux.
    const TICKS_PER_SECOND: u64 = 100;
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) may contain spaces; fields are counted after its `)`.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("{path} is malformed"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file; after the name, field 3 is index 0.
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("{path}: field {} unreadable", index + 3))
    };
    let to_duration = |ticks: u64| Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND);
    Ok(ProcessCpu {
        user: to_duration(ticks(11)?),
        system: to_duration(ticks(12)?),
    })
}

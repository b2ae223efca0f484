//! Starting, pinning, measuring and stopping the gateways of `--mode peers`.
//!
//! Each peer is a process tree (nginx's master and worker; LiteLLM's uvicorn; TensorZero's
//! Python launcher with the gateway inside): CPU and memory are summed over the tree, read
//! from `/proc` with the harness's readers.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use orpipe_testkit::HttpClient;
use orpipe_testkit::harness::{ProcessCpu, ProcessMemory, process_cpu, process_memory};
use tokio::sync::oneshot;

/// A peer process the bench started (orpipe runs through the harness instead).
pub struct PeerProcess {
    child: Child,
    /// Held open: the TensorZero launcher exits when its stdin closes.
    _stdin: Option<ChildStdin>,
    /// Config and temp files; removed on drop.
    dir: PathBuf,
}

impl PeerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // TERM the whole tree (nginx's master then takes its worker down; a lone worker
        // would otherwise outlive us), then reap the child.
        let tree = process_tree(self.pid());
        for pid in &tree {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for pid in process_tree(self.pid()) {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory for one peer's files.
pub fn peer_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("orpipe-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A loopback port that was free a moment ago (for peers that cannot report theirs).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("probing a free port")?;
    Ok(listener.local_addr()?.port())
}

/// `command`, run under `taskset -c CORE` when a core is given.
pub fn pinned(core: Option<usize>, program: &Path) -> Command {
    match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(core.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Moves every thread of `pid` (and, through inheritance, its future threads) to `core`.
pub fn pin_process(pid: u32, core: usize) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &core.to_string(), &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset")?;
    anyhow::ensure!(status.success(), "taskset -a -p -c {core} {pid} failed");
    Ok(())
}

/// Starts `command` (its stdout and stderr go to files in `dir`) and waits until `ready`.
pub async fn start_and_wait(
    mut command: Command,
    dir: PathBuf,
    ready_url: &str,
    startup: Duration,
) -> anyhow::Result<PeerProcess> {
    let log = |name: &str| std::fs::File::create(dir.join(name));
    command
        .stdin(Stdio::null())
        .stdout(log("stdout.log")?)
        .stderr(log("stderr.log")?);
    let child = command.spawn().context("spawning")?;
    let process = PeerProcess {
        child,
        _stdin: None,
        dir,
    };
    let client = HttpClient::new().with_timeout(Duration::from_secs(5));
    let deadline = tokio::time::Instant::now() + startup;
    loop {
        if client.get(ready_url, None).await.is_ok() {
            return Ok(process);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not ready at {ready_url} within {startup:?}; see {}",
            process.dir.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts `command` and waits for a `listening on URL` line on its stdout; returns the URL.
pub async fn start_and_read_url(
    mut command: Command,
    dir: PathBuf,
    startup: Duration,
) -> anyhow::Result<(PeerProcess, String)> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("stderr.log"))?);
    let mut child = command.spawn().context("spawning")?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let (announce, announced) = oneshot::channel();
    std::thread::spawn(move || {
        let mut announce = Some(announce);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // Other lines (TensorZero logs to stdout) must not use up the sender.
            if let Some(url) = line.strip_prefix("listening on ")
                && let Some(sender) = announce.take()
            {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    let process = PeerProcess {
        child,
        _stdin: stdin,
        dir,
    };
    let url = tokio::time::timeout(startup, announced)
        .await
        .map_err(|_| anyhow::anyhow!("no listening line within {startup:?}"))?
        .map_err(|_| {
            anyhow::anyhow!(
                "exited before listening; see {}",
                process.dir.join("stderr.log").display()
            )
        })?;
    Ok((process, url))
}

/// `pid` and all its descendants, from the parent links in `/proc/*/stat`.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some(parent) = parent_pid(child) {
                children.entry(parent).or_default().push(child);
            }
        }
    }
    let mut tree = vec![pid];
    let mut next = 0;
    while let Some(&current) = tree.get(next) {
        tree.extend(children.get(&current).into_iter().flatten());
        next += 1;
    }
    tree
}

fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// CPU used between two readings of the same process (`None` when either failed).
pub fn cpu_spent(before: Option<ProcessCpu>, after: Option<ProcessCpu>) -> Option<Duration> {
    before
        .zip(after)
        .map(|(before, after)| after.total().saturating_sub(before.total()))
}

/// CPU time of `pid` and its live descendants.
pub fn tree_cpu(pid: u32) -> Option<ProcessCpu> {
    let mut total = process_cpu(pid).ok()?;
    for child in process_tree(pid).into_iter().skip(1) {
        if let Ok(cpu) = process_cpu(child) {
            total.user += cpu.user;
            total.system += cpu.system;
        }
    }
    Some(total)
}

/// Resident and peak memory of `pid` and its live descendants (peaks summed: an upper bound).
pub fn tree_memory(pid: u32) -> Option<ProcessMemory> {
    let mut total = process_memory(pid).ok()?;
    for child in process_tree(pid).into_iter().skip(1) {
        if let Ok(memory) = process_memory(child) {
            total.rss_kib += memory.rss_kib;
            total.peak_rss_kib += memory.peak_rss_kib;
        }
    }
    Some(total)
}

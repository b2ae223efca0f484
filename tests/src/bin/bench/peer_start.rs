//! The gateways of `--mode peers`: where each is installed, its config, how it starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use orpipe_testkit::{MockOpenRouter, Orpipe};

use super::peer_process::{free_port, peer_dir, pinned, start_and_read_url, start_and_wait};
use super::peers::Process;
use super::{Args, GATEWAY_KEY, UPSTREAM_KEY};

/// The peers' pinned versions (the one place they are kept).
const PEERS_ENV: &str = include_str!("../../../../scripts/peers.env");
/// TensorZero's launcher (writes its config, starts the embedded gateway).
const TENSORZERO_LAUNCHER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scripts/peers/tensorzero_gateway.py"
);
const LITELLM_KEY: &str = "sk-litellm-bench";

/// The gateways, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Peer {
    Orpipe,
    Nginx,
    TensorZero,
    LiteLlm,
}

pub(super) enum Started {
    Running {
        process: Process,
        /// Chat Completions URL.
        url: String,
        bearer: &'static str,
        model: String,
    },
    NotInstalled(String),
}

impl Peer {
    pub(super) fn name(self) -> &'static str {
        match self {
            Peer::Orpipe => "orpipe",
            Peer::Nginx => "nginx (floor)",
            Peer::TensorZero => "TensorZero",
            Peer::LiteLlm => "LiteLLM",
        }
    }

    pub(super) async fn start(
        self,
        args: &Args,
        mock: &MockOpenRouter,
        core: Option<usize>,
    ) -> anyhow::Result<Started> {
        let peers = tools_dir().join("peers");
        match self {
            Peer::Orpipe => {
                let orpipe = Orpipe::spawn(
                    &args.orpipe,
                    &mock.base_url(),
                    &[("ORPIPE_API_KEYS", GATEWAY_KEY)],
                )
                .await?;
                let url = orpipe.url("/v1/chat/completions");
                Ok(Started::Running {
                    process: Process::Orpipe(orpipe),
                    url,
                    bearer: GATEWAY_KEY,
                    model: args.model.clone(),
                })
            }
            Peer::Nginx => {
                let Some(nginx) = find_nginx() else {
                    return Ok(Started::NotInstalled(
                        "not installed (bash scripts/peers.sh install)".into(),
                    ));
                };
                let dir = peer_dir("nginx")?;
                let port = free_port()?;
                std::fs::write(dir.join("nginx.conf"), nginx_config(&dir, port, mock))?;
                let mut command = pinned(core, &nginx);
                command
                    .arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(dir.join("nginx.conf"))
                    .args(["-g", "daemon off;"]);
                let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
                let ready = format!("http://127.0.0.1:{port}/ready");
                let process = start_and_wait(command, dir, &ready, Duration::from_secs(20)).await?;
                Ok(Started::Running {
                    process: Process::Peer(process),
                    url,
                    bearer: UPSTREAM_KEY,
                    model: args.model.clone(),
                })
            }
            Peer::TensorZero => {
                let python = peers.join("tensorzero/bin/python");
                if !python.exists() {
                    return Ok(Started::NotInstalled(
                        "not installed (bash scripts/peers.sh install)".into(),
                    ));
                }
                let dir = peer_dir("tensorzero")?;
                let mut command = pinned(core, &python);
                command
                    .arg(TENSORZERO_LAUNCHER)
                    .arg(mock.base_url())
                    .arg(&dir);
                let (process, base) =
                    start_and_read_url(command, dir, Duration::from_secs(60)).await?;
                let url = format!("{base}/chat/completions");
                Ok(Started::Running {
                    process: Process::Peer(process),
                    url,
                    bearer: UPSTREAM_KEY,
                    model: "tensorzero::model_name::bench".into(),
                })
            }
            Peer::LiteLlm => {
                let litellm = peers.join("litellm/bin/litellm");
                if !litellm.exists() {
                    return Ok(Started::NotInstalled(
                        "not installed (bash scripts/peers.sh install)".into(),
                    ));
                }
                let dir = peer_dir("litellm")?;
                let port = free_port()?;
                std::fs::write(dir.join("config.yaml"), litellm_config(mock))?;
                let mut command = pinned(core, &litellm);
                command
                    .arg("--config")
                    .arg(dir.join("config.yaml"))
                    .args([
                        "--host",
                        "127.0.0.1",
                        "--port",
                        &port.to_string(),
                        "--num_workers",
                        "1",
                    ])
                    .envs([
                        ("LITELLM_LOG", "ERROR"),
                        ("LITELLM_MODE", "PRODUCTION"),
                        ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
                    ]);
                let ready = format!("http://127.0.0.1:{port}/health/liveliness");
                // LiteLLM imports a great deal before it listens: allow minutes on a busy machine.
                let process =
                    start_and_wait(command, dir, &ready, Duration::from_secs(240)).await?;
                let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
                Ok(Started::Running {
                    process: Process::Peer(process),
                    url,
                    bearer: LITELLM_KEY,
                    model: "bench".into(),
                })
            }
        }
    }

    /// The version this run used, as far as the bench knows it.
    pub(super) fn version(self) -> String {
        match self {
            Peer::Orpipe => "this build".into(),
            Peer::Nginx => std::process::Command::new(find_nginx().unwrap_or_default())
                .arg("-v")
                .output()
                .map(|out| {
                    String::from_utf8_lossy(&out.stderr)
                        .trim()
                        .trim_start_matches("nginx version: ")
                        .to_owned()
                })
                .unwrap_or_default(),
            Peer::TensorZero => pinned_version("TENSORZERO_VERSION"),
            Peer::LiteLlm => pinned_version("LITELLM_VERSION"),
        }
    }
}

fn tools_dir() -> PathBuf {
    match std::env::var_os("ORPIPE_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/orpipe-tools")
        }
    }
}

fn pinned_version(key: &str) -> String {
    PEERS_ENV
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("?")
        .trim()
        .to_owned()
}

fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// One worker, no buffering, keep-alive upstream, no access log: nginx at its leanest.
fn nginx_config(dir: &Path, port: u16, mock: &MockOpenRouter) -> String {
    let dir = dir.display();
    format!(
        r#"worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream mock {{ server {mock}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location = /ready {{ return 200 "ok"; }}
        location = /v1/chat/completions {{
            proxy_pass http://mock/api/v1/chat/completions;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"#,
        mock = mock.addr()
    )
}

/// One model, `bench`, through LiteLLM's Chat -> Responses bridge (`openai/responses/...`).
fn litellm_config(mock: &MockOpenRouter) -> String {
    format!(
        "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/responses/gpt-4o-mini\n      api_base: {}\n      api_key: {UPSTREAM_KEY}\ngeneral_settings:\n  master_key: {LITELLM_KEY}\n",
        mock.base_url()
    )
}

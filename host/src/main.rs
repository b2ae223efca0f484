//! The `orpipe` command: flags, logging, start-up. Everything else lives in the library.

use clap::Parser;
use orpipe::settings::{self, Overrides, Settings};
use std::path::PathBuf;
use std::process::ExitCode;

/// An OpenAI-compatible gateway to OpenRouter's Responses API.
///
/// Settings come from flags, then environment variables, then the config file
/// (see docs/configuration.md).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Address to listen on [env: ORPIPE_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long)]
    listen: Option<String>,
    /// Directory for the SQLite database and other state [env: ORPIPE_DATA_DIR] [default: ./orpipe-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Load this guest component instead of the embedded one [env: ORPIPE_COMPONENT]
    #[arg(long)]
    component: Option<PathBuf>,
    /// TOML file whose keys are the environment variable names [env: ORPIPE_CONFIG]
    #[arg(long)]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match start(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "orpipe stopped");
            eprintln!("orpipe: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start(cli: Cli) -> anyhow::Result<()> {
    let config_path = cli
        .config
        .clone()
        .or_else(|| std::env::var_os("ORPIPE_CONFIG").map(PathBuf::from));
    let file = match &config_path {
        Some(path) => settings::read_config_file(path)?,
        None => Default::default(),
    };
    let overrides = Overrides {
        listen: cli.listen,
        data_dir: cli.data_dir,
        component: cli.component,
    };
    let settings = Settings::resolve(&overrides, |key| std::env::var(key).ok(), &file)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(orpipe::run(settings, shutdown_signal()))
}

/// JSON lines on stderr; `RUST_LOG` (or `ORPIPE_LOG`) filters, default `info`.
fn init_logging() {
    let filter = std::env::var("ORPIPE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

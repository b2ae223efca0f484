//! orpipe's host: a wasmtime embedding that serves the guest component over HTTP and
//! supplies its capabilities (outgoing HTTP, key-value, SQL, config, timers, logs).
//! It holds none of the gateway's logic: routing, translation and templates are the guest's.

pub mod admission;
pub mod auth;
pub mod bindings;
pub mod caps;
pub mod compile_cache;
pub mod component_watch;
pub mod guest_body;
pub mod guest_component;
pub mod jobs;
pub mod listen;
pub mod mcp_servers;
pub mod metrics;
pub mod reload;
pub mod runtime;
pub mod sandbox;
pub mod server;
pub mod settings;
pub mod state;

use anyhow::Context;
use caps::Capabilities;
use runtime::Runtime;
use settings::Settings;
use std::sync::Arc;
use std::time::Duration;

/// The least time the deferred SQL writes get to flush at shutdown, even when draining
/// the requests used up the grace (or it is 0): a clean shutdown should not lose rows
/// that a healthy database writes in milliseconds.
const MIN_SQL_FLUSH: Duration = Duration::from_secs(5);

/// Starts everything and serves until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    settings.check_exposure()?;
    if settings.openrouter_api_key.is_none() {
        tracing::warn!(
            "OPENROUTER_API_KEY is not set: chat requests will be answered with 401 until it is"
        );
    }
    if !settings.artifacts_encrypted() {
        tracing::warn!(
            "ORPIPE_ARTIFACT_KEY is not set: stored reasoning artifacts are NOT encrypted"
        );
    }
    let metrics = Arc::new(metrics::Metrics::new());
    let caps = Arc::new(Capabilities::from_settings(&settings, metrics.sql_deferred()).await?);
    let component = match &settings.component {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("reading component {}", path.display()))?
        }
        None => runtime::EMBEDDED_GUEST.to_vec(),
    };
    let started = std::time::Instant::now();
    let admission = admission::Limits {
        max_concurrent: settings.max_concurrent,
        max_queued: settings.max_queued,
        queue_timeout: settings.queue_timeout,
    };
    let limits = sandbox::GuestLimits {
        memory_bytes: settings.guest_memory_mb.saturating_mul(1 << 20),
        cpu_budget: settings.guest_cpu,
    };
    let cache_dir = settings
        .compile_cache
        .then(|| settings.data_dir.join("cache"));
    let runtime = Arc::new(Runtime::new(
        &component,
        cache_dir.as_deref(),
        caps.clone(),
        admission,
        limits,
        metrics,
    )?);
    tracing::info!(
        compile_ms = started.elapsed().as_millis() as u64,
        active = %runtime.guest().hash,
        "guest component ready"
    );
    let reloader = Arc::new(reload::Reloader::new(
        runtime.clone(),
        settings.component.clone(),
    ));
    // Before the listening line: from then on a SIGHUP reloads instead of ending orpipe.
    reload::reload_on_hangup(reloader.clone()).context("listening for SIGHUP")?;
    if settings.component_watch {
        component_watch::watch(reloader.clone());
    }

    jobs::migrate(&runtime).await;
    listen::raise_fd_limit();
    let listener = listen::bind(settings.listen)?;
    let local = listener.local_addr()?;
    tracing::info!(
        addr = %local,
        client_auth = settings.client_auth(),
        admin_keys = settings.admin_api_keys.len(),
        "listening"
    );
    // The one line on stdout: scripts and tests wait for it.
    println!("listening on http://{local}");

    // Warm the catalog in the background so the first /v1/models is fast.
    let warm = runtime.clone();
    tokio::spawn(async move { jobs::run_logged(&warm, jobs::Job::RefreshCatalog).await });
    jobs::schedule(
        runtime.clone(),
        jobs::Job::RefreshCatalog,
        Duration::from_secs(settings.catalog_refresh_secs),
    );
    if !settings.mcp_servers.is_empty() {
        let first = runtime.clone();
        tokio::spawn(async move { jobs::run_logged(&first, jobs::Job::RefreshMcpTools).await });
        // The guest decides per server whether it is due (refresh period, back-off); the
        // tick only bounds how soon a server that came back is noticed.
        jobs::schedule(runtime.clone(), jobs::Job::RefreshMcpTools, jobs::MCP_TICK);
    }
    jobs::schedule(
        runtime.clone(),
        jobs::Job::CleanupArtifacts,
        Duration::from_secs(settings.artifact_cleanup_secs),
    );

    if let Some(addr) = settings.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics address {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, "serving /metrics without authentication");
        tokio::spawn(metrics::serve_metrics(listener, runtime.clone()));
    }
    let server = Arc::new(server::Server {
        runtime,
        reloader,
        keys: auth::ClientKeys::new(&settings.client_api_keys, &settings.admin_api_keys),
        shutdown_grace: settings.shutdown_grace,
    });
    // When the signal came: the grace counts from then, for the SQL flush as well.
    let signalled = Arc::new(std::sync::OnceLock::new());
    let shutdown = {
        let signalled = signalled.clone();
        async move {
            shutdown.await;
            let _ = signalled.set(tokio::time::Instant::now());
        }
    };
    server.serve(listener, shutdown).await;
    // Every guest has finished (or the grace is over): nothing defers any more, so what
    // is queued is all there is to write.
    let now = tokio::time::Instant::now();
    let grace_over = signalled.get().copied().unwrap_or(now) + settings.shutdown_grace;
    caps.sql_deferred
        .close(grace_over.max(now + MIN_SQL_FLUSH))
        .await;
    Ok(())
}

//! Start-up and periodic jobs: the host's timers call the guest's `jobs.run` export.

use crate::runtime::Runtime;
use std::sync::Arc;
use std::time::Duration;

pub use crate::bindings::exports::orpipe::gateway::jobs::Job;

/// How often `refresh-mcp-tools` runs; the guest skips servers that are not due, so
/// this is the shortest retry of a server that is down (docs/mcp.md).
pub const MCP_TICK: Duration = Duration::from_secs(5);

/// The job's name in jobs.wit, for logs.
pub fn name(job: Job) -> &'static str {
    match job {
        Job::Migrate => "migrate",
        Job::RefreshCatalog => "refresh-catalog",
        Job::CleanupArtifacts => "cleanup-artifacts",
        Job::RefreshMcpTools => "refresh-mcp-tools",
    }
}

/// Runs a job and logs its outcome; failures are logged, never fatal.
pub async fn run_logged(runtime: &Runtime, job: Job) -> bool {
    let job_name = name(job);
    match runtime.run_job(job).await {
        // An empty summary: nothing was due (the frequent `refresh-mcp-tools` ticks).
        Ok(Ok(summary)) if summary.is_empty() => {
            tracing::debug!(job = job_name, "job finished: nothing due");
            true
        }
        Ok(Ok(summary)) => {
            tracing::info!(job = job_name, summary, "job finished");
            true
        }
        Ok(Err(reason)) => {
            tracing::warn!(job = job_name, reason, "job failed");
            false
        }
        Err(error) => {
            tracing::error!(job = job_name, error = format!("{error:#}"), "job trapped");
            false
        }
    }
}

/// Creates or upgrades the guest's schema. Replicas starting together can collide on
/// `CREATE … IF NOT EXISTS` in PostgreSQL; a retry then finds the schema in place.
/// Still failing after the retries, orpipe serves anyway (records are then lost and
/// logged: answers lose their replay, not their availability).
pub async fn migrate(runtime: &Runtime) {
    const ATTEMPTS: u32 = 5;
    for attempt in 1..=ATTEMPTS {
        if run_logged(runtime, Job::Migrate).await {
            return;
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }
    tracing::error!("the schema could not be created; artifacts and usage will not be stored");
}

/// Runs `job` every `every`, starting one period from now.
pub fn schedule(runtime: Arc<Runtime>, job: Job, every: Duration) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_logged(&runtime, job).await;
        }
    });
}

//! New guest logic without a restart: the `--component` file is read again, compiled
//! beside the running build and tried; only a build that compiles, links and runs its
//! migration job becomes the one new requests and jobs use. Requests in flight finish
//! on the build they started with. A failure leaves the running build in place and says
//! why (in the log, and to the admin route's caller).
//!
//! Triggers: SIGHUP (below), `POST /admin/reload` (`server.rs`) and, when
//! `ORPIPE_COMPONENT_WATCH` is on, a change of the file (`component_watch.rs`).
//! This module never blocks the async runtime: reading and compiling run on a blocking
//! thread.

use crate::guest_component::{ComponentHash, PrepareError};
use crate::jobs::Job;
use crate::runtime::Runtime;
use hyper::StatusCode;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What asked for a reload, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Signal,
    AdminRoute,
    FileChanged,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Signal => "SIGHUP",
            Trigger::AdminRoute => "admin-route",
            Trigger::FileChanged => "file-changed",
        }
    }
}

/// A reload that left a good build active.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub active: ComponentHash,
    pub previous: ComponentHash,
    /// `false`: the file holds the build already running; nothing was compiled.
    pub changed: bool,
    pub elapsed_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(
        "orpipe runs its embedded guest: start it with --component FILE (ORPIPE_COMPONENT) to load new builds without a restart"
    )]
    NoComponentFile,
    #[error("reading {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] PrepareError),
    #[error("the new guest failed its trial run (the migrate job): {0:#}")]
    Trapped(anyhow::Error),
    #[error("the reload stopped unexpectedly: {0}")]
    Interrupted(String),
}

impl ReloadError {
    /// The admin route's status and error code for this failure.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ReloadError::NoComponentFile => (StatusCode::CONFLICT, "no_component_file"),
            ReloadError::Unreadable { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "component_unreadable")
            }
            ReloadError::Invalid(_) | ReloadError::Trapped(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "component_invalid")
            }
            ReloadError::Interrupted(_) => (StatusCode::INTERNAL_SERVER_ERROR, "reload_failed"),
        }
    }
}

pub struct Reloader {
    runtime: Arc<Runtime>,
    /// The `--component` file; `None`: the embedded guest, which cannot change.
    path: Option<PathBuf>,
    /// One reload at a time: two triggers at once must not both compile and race to swap.
    running: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub fn new(runtime: Arc<Runtime>, path: Option<PathBuf>) -> Self {
        Self {
            runtime,
            path,
            running: tokio::sync::Mutex::new(()),
        }
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// The hash of the build new requests use now.
    pub fn active(&self) -> ComponentHash {
        self.runtime.guest().hash.clone()
    }

    /// Loads the component file again and makes it active if it is good; logs the outcome.
    pub async fn reload(&self, trigger: Trigger) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self.running.lock().await;
        let result = self.load_and_swap().await;
        match &result {
            Ok(done) if done.changed => tracing::info!(
                trigger = trigger.name(),
                active = %done.active,
                previous = %done.previous,
                elapsed_ms = done.elapsed_ms,
                "guest component swapped: new requests use the new build, running ones finish on the old"
            ),
            Ok(done) => tracing::info!(
                trigger = trigger.name(),
                active = %done.active,
                "guest component unchanged: the file holds the running build"
            ),
            Err(error) => tracing::error!(
                trigger = trigger.name(),
                active = %self.active(),
                error = %error,
                "guest component reload failed: the running build stays"
            ),
        }
        result
    }

    async fn load_and_swap(&self) -> Result<Reloaded, ReloadError> {
        let path = self.path.clone().ok_or(ReloadError::NoComponentFile)?;
        let started = Instant::now();
        let previous = self.active();
        let running = previous.clone();
        let builder = self.runtime.builder();
        // Reading and compiling take seconds of CPU: off the async runtime's threads.
        let prepared = tokio::task::spawn_blocking(move || -> Result<_, ReloadError> {
            let bytes = std::fs::read(&path).map_err(|source| ReloadError::Unreadable {
                path: path.clone(),
                source,
            })?;
            let hash = ComponentHash::of(&bytes);
            if hash == running {
                return Ok(None);
            }
            Ok(Some(builder.prepare(&bytes, hash)?))
        })
        .await
        .map_err(|join| ReloadError::Interrupted(join.to_string()))??;
        let Some(next) = prepared else {
            return Ok(Reloaded {
                active: previous.clone(),
                previous,
                changed: false,
                elapsed_ms: elapsed_ms(started),
            });
        };
        // The trial instance: the new build's schema migration, which a new build may
        // need before it serves anyway. A trap refuses the build; a migration that reports
        // an error (the database is down) is logged and does not, as at start-up.
        match self.runtime.run_job_on(&next, Job::Migrate).await {
            Ok(Ok(summary)) => tracing::info!(summary, "the new guest's migrate job finished"),
            Ok(Err(reason)) => tracing::warn!(reason, "the new guest's migrate job failed"),
            Err(error) => return Err(ReloadError::Trapped(error)),
        }
        let active = next.hash.clone();
        self.runtime.swap_guest(Arc::new(next));
        Ok(Reloaded {
            active,
            previous,
            changed: true,
            elapsed_ms: elapsed_ms(started),
        })
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Reloads on every SIGHUP. Registered before orpipe announces it is listening, so a
/// SIGHUP never meets the default action (ending the process).
#[cfg(unix)]
pub fn reload_on_hangup(reloader: Arc<Reloader>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            // The outcome is logged by `reload`.
            let _ = reloader.reload(Trigger::Signal).await;
        }
    });
    Ok(())
}

#[cfg(not(unix))]
pub fn reload_on_hangup(_reloader: Arc<Reloader>) -> std::io::Result<()> {
    Ok(())
}

/// The admin route's answer: status and JSON body. Both outcomes name the active build.
pub fn answer(
    result: &Result<Reloaded, ReloadError>,
    active: &ComponentHash,
) -> (StatusCode, serde_json::Value) {
    match result {
        Ok(done) => (
            StatusCode::OK,
            serde_json::json!({
                "status": if done.changed { "reloaded" } else { "unchanged" },
                "active": done.active.hex(),
                "previous": done.previous.hex(),
                "elapsed_ms": done.elapsed_ms,
            }),
        ),
        Err(error) => {
            let (status, code) = error.status_and_code();
            (
                status,
                serde_json::json!({
                    "error": {
                        "message": error.to_string(),
                        "type": "reload_failed",
                        "code": code,
                        "param": null,
                    },
                    "active": active.hex(),
                }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_reload_answers_with_its_reason_and_the_build_still_active() {
        let active = ComponentHash::of(b"running");
        let (status, body) = answer(&Err(ReloadError::NoComponentFile), &active);
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "no_component_file");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("--component")),
            "{body}"
        );
        assert_eq!(body["active"], active.hex());

        let unreadable = ReloadError::Unreadable {
            path: PathBuf::from("/srv/guest.wasm"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let (status, body) = answer(&Err(unreadable), &active);
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("/srv/guest.wasm")),
            "{body}"
        );
    }

    #[test]
    fn a_reload_answers_with_both_builds() {
        let done = Reloaded {
            active: ComponentHash::of(b"new"),
            previous: ComponentHash::of(b"old"),
            changed: true,
            elapsed_ms: 7,
        };
        let (status, body) = answer(&Ok(done.clone()), &done.active);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "reloaded");
        assert_eq!(body["active"], done.active.hex());
        assert_eq!(body["previous"], done.previous.hex());
    }
}

//! `ORPIPE_COMPONENT_WATCH`: reloads the `--component` file when it changes. The file's
//! size and modification time are polled once a second (no platform file-event API, so
//! it works the same on every file system, network mounts included). A change is acted on
//! only once the file has looked the same for one more poll, so a copy still being
//! written is not loaded half-way; an atomic rename is picked up one poll later.

use crate::reload::{Reloader, Trigger};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the file is looked at.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// What a poll sees of the file: enough to notice a rewrite or a replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    /// `None` when the file cannot be looked at (for example, between a delete and the
    /// new file's rename).
    pub async fn of(path: &Path) -> Option<Stamp> {
        let metadata = tokio::fs::metadata(path).await.ok()?;
        Some(Stamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
        })
    }
}

/// Decides, poll by poll, when the file has changed and settled.
#[derive(Debug, Default)]
pub struct ChangeDetector {
    /// The file as it was when last loaded (or when watching began).
    loaded: Option<Stamp>,
    /// A new state seen once, waiting for one more poll to confirm it.
    settling: Option<Stamp>,
}

impl ChangeDetector {
    pub fn new(loaded: Option<Stamp>) -> Self {
        Self {
            loaded,
            settling: None,
        }
    }

    /// Feeds one poll; `true` means "reload now". A reload that then fails is not retried
    /// until the file changes again.
    pub fn poll(&mut self, now: Option<Stamp>) -> bool {
        let Some(now) = now else {
            self.settling = None;
            return false;
        };
        if Some(now) == self.loaded {
            self.settling = None;
            return false;
        }
        if self.settling == Some(now) {
            self.loaded = Some(now);
            self.settling = None;
            return true;
        }
        self.settling = Some(now);
        false
    }
}

/// Starts the polling task when `reloader` has a file; it runs until the process ends.
pub fn watch(reloader: Arc<Reloader>) {
    let Some(path) = reloader.path().map(Path::to_owned) else {
        return;
    };
    tokio::spawn(async move {
        let mut detector = ChangeDetector::new(Stamp::of(&path).await);
        let mut ticks = tokio::time::interval(POLL_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(path = %path.display(), "watching the component file for new builds");
        loop {
            ticks.tick().await;
            if detector.poll(Stamp::of(&path).await) {
                // The outcome is logged by `reload`.
                let _ = reloader.reload(Trigger::FileChanged).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(len: u64) -> Option<Stamp> {
        Some(Stamp {
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(len)),
            len,
        })
    }

    #[test]
    fn an_unchanged_file_is_never_reloaded() {
        let mut detector = ChangeDetector::new(stamp(1));
        assert!((0..5).all(|_| !detector.poll(stamp(1))));
    }

    #[test]
    fn a_change_is_reloaded_once_it_has_settled() {
        let mut detector = ChangeDetector::new(stamp(1));
        assert!(!detector.poll(stamp(2)), "first sight: maybe still written");
        assert!(!detector.poll(stamp(3)), "still growing");
        assert!(detector.poll(stamp(3)), "the same twice: settled");
        assert!(!detector.poll(stamp(3)), "loaded: nothing more to do");
    }

    #[test]
    fn a_missing_file_waits_for_the_next_one() {
        let mut detector = ChangeDetector::new(stamp(1));
        assert!(!detector.poll(stamp(2)));
        assert!(!detector.poll(None), "deleted before it settled");
        assert!(!detector.poll(stamp(2)), "back: seen once again");
        assert!(detector.poll(stamp(2)));
    }

    #[test]
    fn a_file_that_appears_later_is_loaded() {
        let mut detector = ChangeDetector::new(None);
        assert!(!detector.poll(None));
        assert!(!detector.poll(stamp(4)));
        assert!(detector.poll(stamp(4)));
    }
}

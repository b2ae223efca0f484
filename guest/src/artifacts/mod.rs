//! Durable artifacts: reasoning items kept per conversation and replayed on later turns
//! (FEATURES §4.3, §7).
//!
//! The flow, all pure here, with the I/O in `component::artifacts`:
//! 1. An answer streams; `capture` keeps reasoning items and mints a ULID for each; the
//!    answer carries one hidden marker line per artifact (`markers`).
//! 2. The items are sealed (`codec`: LZ4, AES-256-GCM-SIV under a key from `keys`) and
//!    written to the `orpipe_artifacts` table (`store`), keyed by ULID and `conversation`.
//! 3. A later turn's history carries the markers back; the artifacts are read, opened,
//!    checked (`replay`) and inserted into `input[]` where their markers stood.
//!
//! A missing or unreadable artifact never fails a request: it is skipped and logged.

pub(crate) mod capture;
pub mod codec;
pub(crate) mod conversation;
pub mod keys;
pub(crate) mod replay;
pub(crate) mod settings;
pub(crate) mod store;

/// How long unused artifacts are kept, and how many the cleanup job deletes per statement.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;
pub const DEFAULT_CLEANUP_BATCH: u32 = 500;

//! Artifact I/O: stored items loaded before a request is translated, captured ones
//! written before the answer's last frame (the client may send its next turn at once).
//! Every failure here is logged and costs only the replay, never the request.

use super::config::Config;
use super::wasi::random::random;
use super::{RequestCtx, log, sql, unix_now};
use crate::artifacts::capture::{Capture, Captured};
use crate::artifacts::codec::{self, Sealed};
use crate::artifacts::conversation::conversation_id;
use crate::artifacts::replay;
use crate::artifacts::settings::ArtifactSettings;
use crate::artifacts::store::{self, NewArtifact};
use crate::logline::Level;
use crate::markers;
use crate::translate::to_responses::Replay;
use serde_json::{Map, Value, json};

/// One request's view of its conversation's artifacts.
pub struct Session {
    chat_id: String,
    /// The OpenRouter model the request goes to.
    model: String,
    settings: ArtifactSettings,
}

impl Session {
    /// `None` when persistence is off, misconfigured (logged) or the conversation has no
    /// recognisable start.
    pub fn start(
        ctx: &RequestCtx,
        config: &Config,
        chat_id_header: Option<&str>,
        request: &Map<String, Value>,
        model: &str,
    ) -> Option<Self> {
        let settings = match config.artifact_settings() {
            Ok(settings) if settings.persist => settings,
            Ok(_) => return None,
            Err(error) => {
                warn(
                    ctx,
                    "artifacts disabled: invalid setting",
                    &error.to_string(),
                );
                return None;
            }
        };
        let messages = request.get("messages")?.as_array()?;
        Some(Self {
            chat_id: conversation_id(chat_id_header, messages)?,
            model: model.to_owned(),
            settings,
        })
    }

    /// The stored items the history's markers name, opened and checked.
    pub fn load(&self, ctx: &RequestCtx, request: &Map<String, Value>) -> Replay {
        let messages = request
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let ids = markers::referenced_ids(messages);
        if ids.is_empty() {
            return Replay::default();
        }
        let rows = match sql::query(&store::select(&self.chat_id, &ids)) {
            Ok(rows) => store::parse_rows(rows),
            Err(error) => {
                warn(ctx, "artifacts not loaded", &error);
                return Replay::default();
            }
        };
        let mut replay = Replay::default();
        let mut skipped = Vec::new();
        for row in rows {
            if !replay::replayable(&row.item_type, row.model.as_deref(), &self.model) {
                skipped.push(json!({"id": row.id, "reason": "another model's reasoning"}));
                continue;
            }
            match codec::open(&row.sealed, &row.id, &self.chat_id, &self.settings.keyring)
                .map(replay::normalize)
            {
                Ok(Some(item)) => {
                    replay.items.insert(row.id, item);
                }
                Ok(None) => skipped.push(json!({"id": row.id, "reason": "not an item"})),
                Err(error) => skipped.push(json!({"id": row.id, "reason": error.to_string()})),
            }
        }
        let missing: Vec<&String> = ids
            .iter()
            .filter(|id| !replay.items.contains_key(*id))
            .filter(|id| !skipped.iter().any(|s| s["id"] == ***id))
            .collect();
        if !skipped.is_empty() || !missing.is_empty() {
            log::emit(
                Level::Warn,
                "some artifacts were not replayed",
                &[
                    ("request_id", json!(ctx.request_id)),
                    ("chat_id", json!(self.chat_id)),
                    ("skipped", json!(skipped)),
                    ("missing", json!(missing)),
                ],
            );
        }
        if !replay.items.is_empty() {
            let ids: Vec<String> = replay.items.keys().cloned().collect();
            let (_, now_ms) = unix_now();
            if let Err(error) = sql::batch(vec![store::touch(&self.chat_id, &ids, now_ms)]) {
                warn(ctx, "artifact use not recorded", &error);
            }
        }
        replay
    }

    /// A capture minting fresh ULIDs for this answer.
    pub fn capture(&self) -> Capture {
        Capture::new(|| {
            let (_, now_ms) = unix_now();
            let random =
                (u128::from(random::get_random_u64()) << 64) | u128::from(random::get_random_u64());
            ulid::Ulid::from_parts(now_ms, random).to_string()
        })
    }

    /// Seals and writes what was captured, in one transaction.
    pub fn store(&self, ctx: &RequestCtx, captured: Vec<Captured>) {
        if captured.is_empty() {
            return;
        }
        let key = self.settings.keyring.current();
        let mut artifacts = Vec::with_capacity(captured.len());
        for c in captured {
            let Some(nonce) = codec::nonce_from(&random::get_random_bytes(12)) else {
                warn(
                    ctx,
                    "artifact not stored",
                    "the host returned too few random bytes",
                );
                continue;
            };
            let sealed: Sealed = codec::seal(&c.item, &c.id, &self.chat_id, key, nonce);
            artifacts.push(NewArtifact {
                item_type: c
                    .item
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned(),
                id: c.id,
                chat_id: self.chat_id.clone(),
                model: self.model.clone(),
                sealed,
            });
        }
        if artifacts.is_empty() {
            return;
        }
        let (_, now_ms) = unix_now();
        let count = artifacts.len();
        match sql::batch(store::insert(&artifacts, now_ms)) {
            Ok(_) => log::emit(
                Level::Debug,
                "artifacts stored",
                &[
                    ("request_id", json!(ctx.request_id)),
                    ("chat_id", json!(self.chat_id)),
                    ("count", json!(count)),
                    ("encrypted", json!(key.is_some())),
                ],
            ),
            Err(error) => warn(ctx, "artifacts not stored", &error),
        }
    }
}

fn warn(ctx: &RequestCtx, msg: &str, error: &str) {
    log::emit(
        Level::Warn,
        msg,
        &[
            ("request_id", json!(ctx.request_id)),
            ("error", json!(error)),
        ],
    );
}

/// The `cleanup-artifacts` job: deletes artifacts unused for the retention period, a
/// batch per statement, at most `MAX_BATCHES` batches per run (the timer runs it again).
pub fn cleanup() -> Result<String, String> {
    const MAX_BATCHES: u32 = 100;
    let settings = Config::read()
        .artifact_settings()
        .map_err(|e| e.to_string())?;
    let (_, now_ms) = unix_now();
    let cutoff = now_ms.saturating_sub(settings.retention_days.saturating_mul(86_400_000));
    let mut deleted = 0u64;
    for _ in 0..MAX_BATCHES {
        let changed = sql::batch(vec![store::delete_expired(cutoff, settings.cleanup_batch)])?;
        let changed = changed.first().copied().unwrap_or(0);
        deleted += changed;
        if changed < u64::from(settings.cleanup_batch) {
            break;
        }
    }
    Ok(format!(
        "deleted {deleted} artifacts unused for {} days",
        settings.retention_days
    ))
}

//! Where a finished turn's usage record goes: the SQL usage log always, and the
//! key-value store too when the export is on (`usage_log` builds both). Whom the turn is
//! billed to is settled once, while the request is read ([`UsageIds`]), and carried in
//! the request's context to the end of the answer.

use super::config::Config;
use super::{RequestCtx, kv, log, sql};
use crate::db::Statement;
use crate::logline::Level;
use crate::settings::Settings;
use crate::usage_log::{UsageRecord, user_hash};
use serde_json::json;

/// Whom a turn is billed to, and whether its record is exported.
#[derive(Debug, Clone, Default)]
pub struct UsageIds {
    /// The user identity's keyed hash (`usage_log::user_hash`); `None` without an
    /// identity or without a secret to key it with.
    pub user_hash: Option<String>,
    pub chat_id: Option<String>,
    pub export: bool,
}

impl UsageIds {
    pub fn new(
        config: &Config,
        settings: &Settings,
        identity: Option<&str>,
        chat_id: Option<&str>,
    ) -> Self {
        let secret = config.identity_secret(settings);
        Self {
            user_hash: identity
                .zip(secret.as_deref())
                .map(|(identity, secret)| user_hash(secret, identity)),
            chat_id: chat_id.filter(|id| !id.is_empty()).map(str::to_owned),
            export: settings.usage_export,
        }
    }
}

/// Stores the record; a store that fails is logged, never the user's problem. The SQL
/// row is deferred: nothing reads it back at once, so the host writes it after the
/// answer, in one transaction with other rows (and logs it should that write fail).
pub fn store(ctx: &RequestCtx, record: &UsageRecord) {
    let (statement, params) = record.insert_statement();
    let row = Statement {
        sql: statement.to_owned(),
        params,
    };
    if let Err(error) = sql::defer(vec![row]) {
        not_recorded(ctx, "usage not recorded", error);
    }
    if ctx.usage_ids.get().is_some_and(|ids| ids.export)
        && let Err(error) = kv::set(&record.export_key(), record.export_value())
    {
        not_recorded(ctx, "usage not exported", error);
    }
}

fn not_recorded(ctx: &RequestCtx, what: &str, error: String) {
    // Telemetry must never cost the user their answer: log and carry on.
    log::emit(
        Level::Warn,
        what,
        &[
            ("request_id", json!(ctx.request_id)),
            ("error", json!(error)),
        ],
    );
}

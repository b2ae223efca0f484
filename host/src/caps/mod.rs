//! One module per capability the guest imports. Each defines a backend trait, its
//! backends, and the WIT `Host` impl that delegates to it. Backends are chosen once, at
//! start-up, in `Capabilities::from_settings`.

pub mod config;
pub mod keyvalue;
pub mod logging;
pub mod outbound;
pub mod read_ahead;
pub mod sql;
pub mod ssrf;

use crate::metrics::SqlDeferredCounts;
use crate::settings::Settings;
use anyhow::Context;
use std::sync::Arc;

/// PostgreSQL connections per process. Guest SQL is a short insert per request, so a few
/// connections serve many instances; the server's `max_connections` is shared by every
/// orpipe process.
const POSTGRES_POOL_SIZE: usize = 16;

/// Everything the guest's imports are served from; shared by every instance.
pub struct Capabilities {
    pub kv: Arc<dyn keyvalue::KeyValue>,
    pub sql: Arc<dyn sql::Sql>,
    /// The `defer` call's queue in front of `sql`; closed (and flushed) at shutdown.
    pub sql_deferred: sql::deferred::DeferredWriter,
    pub outbound: Arc<outbound::Outbound>,
    pub config: config::ConfigSource,
}

impl Capabilities {
    /// Connects to the configured stores. A configured store that cannot be reached stops
    /// start-up: serving without it would silently lose records or split counters.
    /// `sql_deferred` is where the deferred SQL writer counts what became of its statements.
    pub async fn from_settings(
        settings: &Settings,
        sql_deferred: SqlDeferredCounts,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
        let kv: Arc<dyn keyvalue::KeyValue> = match &settings.redis_url {
            Some(url) => Arc::new(
                keyvalue::redis::RedisKv::connect(url, &settings.redis_prefix)
                    .await
                    .context("ORPIPE_REDIS_URL: the Redis server is not usable")?
                    .with_expiry(
                        settings
                            .usage_export_ttl
                            .map(keyvalue::expiry::Expiry::usage_export),
                    ),
            ),
            None => Arc::new(keyvalue::memory::MemoryKv::default()),
        };
        let sql: Arc<dyn sql::Sql> = match &settings.database_url {
            Some(url) => Arc::new(
                sql::postgres::PostgresDb::connect(
                    url,
                    POSTGRES_POOL_SIZE.min(settings.max_concurrent),
                )
                .await
                .context("ORPIPE_DATABASE_URL: the PostgreSQL server is not usable")?,
            ),
            None => Arc::new(sql::sqlite::SqliteDb::open(
                &settings.data_dir.join("orpipe.db"),
            )?),
        };
        let sql_deferred = sql::deferred::DeferredWriter::start(
            sql.clone(),
            sql::deferred::Grouping::with_window(settings.sql_defer_window),
            sql_deferred,
        );
        let outbound = Arc::new(outbound::Outbound::new(settings)?);
        tracing::info!(kv = kv.summary(), sql = sql.summary(), sql_deferred = sql_deferred.summary(), allowed = ?outbound.allowed_origins(), "capabilities ready");
        Ok(Self {
            kv,
            sql,
            sql_deferred,
            outbound,
            config: config::ConfigSource::from_settings(settings),
        })
    }
}

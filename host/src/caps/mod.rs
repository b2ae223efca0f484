//! One module per capability the guest imports. Each defines a backend trait, its
//! backends, and the WIT `Host` impl that delegates to it. Backends are chosen once, at
//! start-up, in `Capabilities::from_settings`.

pub mod config;
pub mod keyvalue;
pub mod logging;
pub mod outbound;
pub mod sql;

use crate::settings::Settings;
use anyhow::Context;
use std::sync::Arc;

/// Everything the guest's imports are served from; shared by every instance.
pub struct Capabilities {
    pub kv: Arc<dyn keyvalue::KeyValue>,
    pub sql: Arc<dyn sql::Sql>,
    pub outbound: Arc<outbound::Outbound>,
    pub config: config::ConfigSource,
}

impl Capabilities {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
        let kv: Arc<dyn keyvalue::KeyValue> = Arc::new(keyvalue::memory::MemoryKv::default());
        let sql: Arc<dyn sql::Sql> = Arc::new(sql::sqlite::SqliteDb::open(
            &settings.data_dir.join("orpipe.db"),
        )?);
        let outbound = Arc::new(outbound::Outbound::new(settings)?);
        tracing::info!(kv = kv.summary(), sql = sql.summary(), allowed = ?outbound.allowed_origins(), "capabilities ready");
        Ok(Self {
            kv,
            sql,
            outbound,
            config: config::ConfigSource::from_settings(settings),
        })
    }
}

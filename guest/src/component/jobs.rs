//! The `jobs` export: work the host runs at start-up and on timers.

use super::config::Config;
use super::{artifacts, models, sql};
use crate::db;

pub const KNOWN: &str = "migrate, refresh-catalog, cleanup-artifacts";

pub fn run(job: &str) -> Result<String, String> {
    match job {
        "migrate" => {
            let statements = db::migrations()
                .into_iter()
                .map(|sql| db::Statement {
                    sql: sql.to_owned(),
                    params: Vec::new(),
                })
                .collect();
            let changed = sql::batch(statements)?;
            Ok(format!("schema up to date ({} statements)", changed.len()))
        }
        "refresh-catalog" => {
            let settings = Config::read().settings().map_err(|e| e.to_string())?;
            let catalog = models::refresh(&settings).map_err(|e| e.to_string())?;
            Ok(format!(
                "catalog refreshed ({} models)",
                catalog.entries.len()
            ))
        }
        "cleanup-artifacts" => artifacts::cleanup(),
        other => Err(format!("unknown job {other:?}; known jobs: {KNOWN}")),
    }
}

//! The `jobs` export: work the host runs at start-up and on timers.

use super::{config, models, sql};
use crate::usage_log::MIGRATIONS;

pub fn run(job: &str) -> Result<String, String> {
    match job {
        "migrate" => {
            let changed = sql::batch(MIGRATIONS)?;
            Ok(format!("schema up to date ({} statements)", changed.len()))
        }
        "refresh-catalog" => {
            let settings = config::load().map_err(|e| e.to_string())?;
            let catalog = models::refresh(&settings).map_err(|e| e.to_string())?;
            Ok(format!(
                "catalog refreshed ({} models)",
                catalog.entries.len()
            ))
        }
        other => Err(format!(
            "unknown job {other:?}; known jobs: migrate, refresh-catalog"
        )),
    }
}

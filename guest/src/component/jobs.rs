//! The `jobs` export: work the host runs at start-up and on timers.

use super::config::Config;
use super::exports::orpipe::gateway::jobs::Job;
use super::{artifacts, mcp_tools, models, sql};
use crate::db;

pub fn run(job: Job) -> Result<String, String> {
    match job {
        Job::Migrate => {
            let statements = db::migrations()
                .into_iter()
                .map(|sql| db::Statement {
                    sql: sql.to_owned(),
                    params: Vec::new(),
                })
                .collect();
            let changed = sql::batch(statements)?;
            // After the tables exist; each outside a transaction, since a failed probe
            // would abort PostgreSQL's.
            let mut added = 0;
            for column in db::added_columns() {
                if !sql::has_column(column)? {
                    sql::execute(&column.add_sql(), Vec::new())?;
                    added += 1;
                }
            }
            Ok(format!(
                "schema up to date ({} statements, {added} columns added)",
                changed.len()
            ))
        }
        Job::RefreshCatalog => {
            let settings = Config::read().settings().map_err(|e| e.to_string())?;
            let catalog = models::refresh(&settings).map_err(|e| e.to_string())?;
            Ok(format!(
                "catalog refreshed ({} models)",
                catalog.entries.len()
            ))
        }
        Job::CleanupArtifacts => artifacts::cleanup(),
        Job::RefreshMcpTools => mcp_tools::refresh(&Config::read()),
    }
}

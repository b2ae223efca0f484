//! Writes `logline` JSON lines to stderr (`wasi:cli/stderr`).

use crate::logline::{self, Event, Level};
use serde_json::Value;

pub fn emit(level: Level, msg: &str, fields: &[(&str, Value)]) {
    eprintln!("{}", logline::format(level, msg, fields));
}

/// A line the host also counts as a metric (see `logline::Event`).
pub fn event(level: Level, msg: &str, event: Event, fields: &[(&str, Value)]) {
    eprintln!("{}", logline::format_event(level, msg, event, fields));
}

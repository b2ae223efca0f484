//! Writes `logline` JSON lines to stderr (`wasi:cli/stderr`).

use crate::logline::{self, Level};
use serde_json::Value;

pub fn emit(level: Level, msg: &str, fields: &[(&str, Value)]) {
    eprintln!("{}", logline::format(level, msg, fields));
}

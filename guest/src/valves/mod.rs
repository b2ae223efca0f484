//! Live settings ("valves", as Open WebUI's Pipelines tab calls them): which `wasi:config`
//! keys an admin may change while orpipe runs, how each is shown and checked, and the
//! overrides that result.
//!
//! The effective value of a key is its saved override if there is one, else its
//! `wasi:config` value (environment, flags, config file), else the built-in default.
//! Overrides are rows in SQL (`store`), cached in key-value for every request to read
//! cheaply (`component/overrides.rs`) and merged by `component/config.rs`, so every reader
//! of a setting sees them without knowing they exist.
//!
//! Pure: JSON and strings in, decisions out. This module never performs I/O.

pub mod pipelines;
mod registry;
pub mod spec;
pub mod store;
pub mod update;
pub mod value;

use crate::errors::cards::ErrorClass;

pub use registry::VALVES;

/// One live setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valve {
    /// The `wasi:config` key (`settings::keys`, `artifacts::settings::keys`, or a card
    /// template's `template_<class>`), also the property name in the Pipelines tab.
    pub key: &'static str,
    /// The label Open WebUI shows (it requires one for every property).
    pub title: &'static str,
    pub description: &'static str,
    pub kind: Kind,
}

/// What values a setting takes, and its built-in default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// On or off (a switch in Open WebUI).
    Flag { default: bool },
    /// One of a few words (a select).
    Choice {
        values: &'static [&'static str],
        default: &'static str,
    },
    /// A whole number within a range (a text box; the number comes back as a string).
    Number { min: u64, max: u64, default: u64 },
    /// Free text of at most `max_bytes`; `default` `""` means unset.
    Text {
        max_bytes: usize,
        default: &'static str,
    },
    /// A comma-separated subset of `values`, in the order given.
    List {
        values: &'static [&'static str],
        default: &'static str,
    },
    /// An error card's template (`errors::cards`); the default is the built-in card.
    Template(ErrorClass),
}

/// The live setting stored under `key`, if `key` is one.
pub fn find(key: &str) -> Option<&'static Valve> {
    VALVES.iter().find(|valve| valve.key == key)
}

/// The `ORPIPE_…` variable that sets `key` at start-up (the host's naming rule).
pub fn variable(key: &str) -> String {
    format!("ORPIPE_{}", key.to_ascii_uppercase())
}

//! orpipe's guest component: the whole gateway logic, as a pipeline of pure functions —
//! request → `translate::to_responses` → (OpenRouter) → `pipeline` (`sse` →
//! `responses` → `translate::to_chunks`) → chunks — with I/O only in `component`, the
//! wasm32 edge bound to the WIT world.
//!
//! Everything except `component` compiles natively and is unit-tested with `cargo test`.

// Dead code is judged by the wasm32 build, the product: natively `component` (the only
// caller of most modules) is not compiled, so nearly everything would read as unused.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

pub mod artifacts;
pub(crate) mod breaker;
pub(crate) mod catalog;
pub(crate) mod date;
pub(crate) mod db;
pub mod errors;
pub(crate) mod feature_settings;
pub(crate) mod intake;
pub(crate) mod logline;
pub mod markers;
pub mod mcp;
pub mod openai;
pub(crate) mod outcome;
pub mod owui;
pub mod pipeline;
pub(crate) mod responses;
pub mod retry;
pub(crate) mod routes;
pub(crate) mod setting_values;
pub(crate) mod settings;
pub mod sse;
pub mod tool_loop;
pub mod translate;
pub(crate) mod url;
pub(crate) mod usage_log;
pub(crate) mod valves;

#[cfg(target_arch = "wasm32")]
mod component;

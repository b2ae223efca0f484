//! orpipe's guest component: the whole gateway logic, as a pipeline of pure functions —
//! request → `translate::to_responses` → (OpenRouter) → `pipeline` (`sse` →
//! `responses` → `translate::to_chunks`) → chunks — with I/O only in `component`, the
//! wasm32 edge bound to the WIT world.
//!
//! Everything except `component` compiles natively and is unit-tested with `cargo test`.

pub mod artifacts;
pub mod breaker;
pub mod catalog;
pub mod date;
pub mod db;
pub mod errors;
pub mod intake;
pub mod logline;
pub mod markers;
pub mod openai;
pub mod outcome;
pub mod pipeline;
pub mod responses;
pub mod retry;
pub mod routes;
pub mod settings;
pub mod sse;
pub mod translate;
pub mod url;
pub mod usage_log;

#[cfg(target_arch = "wasm32")]
mod component;

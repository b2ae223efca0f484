//! What orpipe does for Open WebUI beyond plain Chat Completions: the chat context it
//! carries from the Pipelines inlet to the chat request (`context`, `inlet`).
//! Pure: no I/O.

pub mod context;
pub mod inlet;

pub use context::{Features, OpenWebUiContext};

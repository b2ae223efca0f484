//! What orpipe does for Open WebUI beyond plain Chat Completions: the chat context it
//! carries from the Pipelines inlet to the chat request (`context`, `inlet`), and the
//! events Open WebUI shows while and after an answer streams (`events`, `status_line`).
//! Pure: no I/O.

pub mod context;
pub mod events;
pub mod inlet;
pub mod server_tool_status;
pub mod status_line;
pub mod tool_status;

pub use context::{Features, OpenWebUiContext};

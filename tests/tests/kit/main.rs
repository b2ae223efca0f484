//! Tests of the test kit itself: the mock's replies on the wire, the client's decoding, the
//! harness's process handling (against stand-in scripts, so they run without orpipe), and
//! the waiting and skipping helpers.

mod chat;
mod harness;
mod mock;
mod require;
mod tool_calls;
mod wait;

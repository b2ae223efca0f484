//! Tests of the test kit itself: the mock's replies on the wire, the client's decoding, and
//! the harness's process handling (against stand-in scripts, so they run without orpipe).

mod harness;
mod mock;

//! Tests that need something optional (a CLI tool, a Python with the openai SDK, a
//! PostgreSQL or Redis server) say so here, in one way.
//!
//! Without the thing they skip, so `cargo test` works on a bare machine. But a skipped test
//! passes, so CI could go green without ever running them: with `ORPIPE_REQUIRE_ALL=1`
//! (`.ci/run` sets it) a skip fails the test instead.

use std::fmt::Display;
use std::path::PathBuf;

/// The variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "ORPIPE_REQUIRE_ALL";

/// The value of the environment variable `variable`, or `None` after [`skip`] when it is
/// unset or empty. For service URLs such as `ORPIPE_TEST_POSTGRES_URL`.
pub fn require_env(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            skip(format_args!(
                "{variable} is not set (.ci/run sets the service URLs)"
            ));
            None
        }
    }
}

/// The path in the environment variable `variable` when it names an existing file, or
/// `None` after [`skip`]. For tools such as `ORPIPE_WASMTIME` or `ORPIPE_PYTHON`.
pub fn require_tool(variable: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .filter(|path| path.exists());
    if path.is_none() {
        skip(format_args!(
            "{variable} is not set to an installed tool (scripts/test.sh installs it)"
        ));
    }
    path
}

/// The calling test cannot run here because of `reason`: it says `SKIPPED` on stderr, or,
/// under `ORPIPE_REQUIRE_ALL=1`, fails. The caller returns right after.
pub fn skip(reason: impl Display) {
    let current = std::thread::current();
    // libtest runs each test on a thread named after it.
    let test = current.name().unwrap_or("a test");
    if required() {
        panic!("{test} cannot run: {reason}; {REQUIRE_ALL}=1 forbids skipping it");
    }
    eprintln!("SKIPPED: {test}: {reason}");
}

/// Whether `ORPIPE_REQUIRE_ALL=1`.
pub fn required() -> bool {
    std::env::var(REQUIRE_ALL).is_ok_and(|value| value.trim() == "1")
}

//! `require_tool`: a missing tool is a skip, and a failure under `ORPIPE_REQUIRE_ALL=1`.
//! The decision reads the environment, so each case runs the helper test below in a child
//! process of this test binary with the environment it needs.

use std::process::{Command, Output};

use orpipe_testkit::require::REQUIRE_ALL;
use orpipe_testkit::require_tool;

const MISSING_TOOL: &str = "ORPIPE_TESTKIT_NO_SUCH_TOOL";

#[test]
#[ignore = "run in a child process by the tests below"]
fn child_needs_a_missing_tool() {
    assert!(require_tool(MISSING_TOOL).is_none());
}

/// Runs `child_needs_a_missing_tool` alone, with `ORPIPE_REQUIRE_ALL` set to `require_all`
/// (or unset).
fn run_child(require_all: Option<&str>) -> (Output, String) {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["child_needs_a_missing_tool", "--ignored", "--nocapture"])
        .env_remove(MISSING_TOOL)
        .env_remove(REQUIRE_ALL);
    if let Some(value) = require_all {
        command.env(REQUIRE_ALL, value);
    }
    let output = command.output().expect("running the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("1 passed") || text.contains("1 failed"),
        "{text}"
    );
    (output, text)
}

#[test]
fn a_missing_tool_is_a_skip_that_says_so() {
    let (output, text) = run_child(None);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "SKIPPED: require::child_needs_a_missing_tool: {MISSING_TOOL}"
        )),
        "{text}"
    );
}

#[test]
fn under_require_all_a_missing_tool_fails_the_test() {
    let (output, text) = run_child(Some("1"));
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("ORPIPE_REQUIRE_ALL=1 forbids skipping"),
        "{text}"
    );
    assert!(text.contains(MISSING_TOOL), "{text}");
}

#[test]
fn require_all_set_to_anything_but_1_still_skips() {
    let (output, text) = run_child(Some("0"));
    assert!(output.status.success(), "{text}");
    assert!(text.contains("SKIPPED"), "{text}");
}

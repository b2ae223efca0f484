//! The tool breaker's rules (`breaker.rs`), one test each.

use super::breaker::*;
use crate::mcp::error::{McpError, ToolCallError};
use crate::mcp::tools::ToolOutput;

fn policy(failures: u32, window_secs: u64, cooldown_secs: u64) -> ToolBreakerPolicy {
    ToolBreakerPolicy {
        failures,
        window_secs,
        cooldown_secs,
    }
}

fn after(policy: &ToolBreakerPolicy, times: &[u64]) -> ToolRecord {
    times
        .iter()
        .fold(ToolRecord::default(), |r, t| policy.record_failure(&r, *t))
}

#[test]
fn the_third_failure_within_the_window_switches_the_tool_off_for_the_cooldown() {
    let p = ToolBreakerPolicy::default();
    assert_eq!((p.failures, p.window_secs, p.cooldown_secs), (3, 300, 300));
    let two = after(&p, &[1000, 1100]);
    assert_eq!(p.reopens_in(&two, 1100), None);
    assert_eq!(two.failures, vec![1000, 1100]);
    let three = p.record_failure(&two, 1200);
    assert_eq!(three.opened_at, Some(1200), "the cool-down starts here");
    assert!(three.failures.is_empty());
    assert_eq!(p.reopens_in(&three, 1200), Some(300));
    assert_eq!(p.reopens_in(&three, 1499), Some(1));
    assert_eq!(p.reopens_in(&three, 1500), None, "offered again by itself");
}

#[test]
fn failures_spread_wider_than_the_window_never_switch_it_off() {
    let p = policy(3, 10, 60);
    let mut record = ToolRecord::default();
    for t in (0..300).step_by(6) {
        record = p.record_failure(&record, t);
        assert_eq!(p.reopens_in(&record, t), None, "at {t}: {record:?}");
        assert!(record.failures.len() <= 2, "{record:?}");
    }
}

#[test]
fn a_failure_while_off_does_not_lengthen_the_cooldown() {
    let p = policy(2, 60, 100);
    let off = after(&p, &[10, 20]);
    assert_eq!(p.record_failure(&off, 50), off);
    assert_eq!(p.reopens_in(&off, 50), Some(70));
}

#[test]
fn one_failure_soon_after_coming_back_switches_it_off_again_at_once() {
    let p = policy(3, 60, 100);
    let off = after(&p, &[0, 1, 2]);
    assert_eq!(off.opened_at, Some(2));
    // Back at 102; half-open until 162.
    let again = p.record_failure(&off, 130);
    assert_eq!(again.opened_at, Some(130));
    assert_eq!(p.reopens_in(&again, 130), Some(100));
    let last_moment = p.record_failure(&off, 161);
    assert_eq!(last_moment.opened_at, Some(161));
    // After a quiet window the old switch-off is forgotten: one failure is just one.
    let later = p.record_failure(&off, 162);
    assert_eq!(later.opened_at, None);
    assert_eq!(later.failures, vec![162]);
    assert_eq!(p.reopens_in(&later, 162), None);
}

#[test]
fn a_success_clears_everything_and_the_clean_record_is_the_default() {
    let p = ToolBreakerPolicy::default();
    assert!(ToolRecord::default().is_clean());
    assert!(!after(&p, &[5]).is_clean());
    let off = after(&p, &[5, 6, 7]);
    assert!(!off.is_clean());
    let cleared = p.record_success();
    assert!(cleared.is_clean());
    assert_eq!(p.reopens_in(&cleared, 8), None);
    // Cleared, a failure right after the cool-down is one failure again, not half-open.
    assert_eq!(p.record_failure(&cleared, 400).opened_at, None);
}

#[test]
fn a_zero_threshold_turns_the_breaker_off_and_one_failure_can_be_enough() {
    let off = policy(0, 60, 60);
    assert!(off.is_off());
    let record = after(&off, &[1, 1, 1, 1]);
    assert!(record.is_clean(), "nothing recorded: {record:?}");
    let stored = ToolRecord {
        failures: vec![],
        opened_at: Some(1),
    };
    assert_eq!(off.reopens_in(&stored, 1), None);
    let one = policy(1, 60, 60);
    assert_eq!(after(&one, &[9]).opened_at, Some(9));
}

#[test]
fn corrupt_skewed_or_stale_records_never_keep_a_tool_off() {
    let p = policy(3, 60, 100);
    for bad in [&b"not json"[..], b"{\"f\":\"x\"}", b"[]", b""] {
        assert!(ToolRecord::decode(bad).is_clean(), "{bad:?}");
    }
    let far_future = ToolRecord {
        failures: vec![],
        opened_at: Some(u64::MAX),
    };
    assert_eq!(p.reopens_in(&far_future, 1000), None);
    // A replica whose clock runs a little ahead: off, for at most one cool-down.
    let slightly_ahead = ToolRecord {
        failures: vec![],
        opened_at: Some(1050),
    };
    assert_eq!(p.reopens_in(&slightly_ahead, 1000), Some(100));
    // Failure times from the future are dropped when a failure is recorded.
    let skewed = ToolRecord {
        failures: vec![5000, 5001],
        opened_at: None,
    };
    assert_eq!(p.record_failure(&skewed, 100).failures, vec![100]);
    assert_eq!(p.reopens_in(&skewed, 100), None);
}

#[test]
fn records_are_small_and_round_trip() {
    let p = policy(3, 60, 100);
    assert_eq!(ToolRecord::default().encode(), b"{}");
    let two = after(&p, &[7, 8]);
    assert_eq!(two.encode(), b"{\"f\":[7,8]}");
    assert_eq!(ToolRecord::decode(&two.encode()), two);
    let off = after(&p, &[7, 8, 9]);
    assert_eq!(off.encode(), b"{\"o\":9}");
    assert_eq!(ToolRecord::decode(&off.encode()), off);
    let huge = policy(u32::MAX, 60, 100);
    let many = after(&huge, &[5; 150]);
    assert_eq!(many.opened_at, Some(5), "capped at {MAX_TRACKED}");
}

#[test]
fn keys_hash_the_user_and_stay_short_and_distinct() {
    let key = storage_key("user:alice", "docs__search");
    assert!(!key.contains("alice"));
    assert!(key.starts_with("toolbrk:"));
    assert!(key.ends_with(":docs__search"));
    assert_eq!(key.len(), "toolbrk:".len() + 64 + 1 + "docs__search".len());
    assert_eq!(key, storage_key("user:alice", "docs__search"), "stable");
    assert_ne!(key, storage_key("user:bob", "docs__search"));
    assert_ne!(key, storage_key("user:alice", "docs__fetch"));
    let long_a = "t".repeat(200);
    let long_b = format!("{}x", "t".repeat(199));
    let odd = "a:b c\u{e9}";
    for tool in [long_a.as_str(), long_b.as_str(), odd, ""] {
        let key = storage_key("user:alice", tool);
        assert!(key.len() <= 138, "{key}");
        assert!(key.is_ascii(), "{key}");
        assert_eq!(key.matches(':').count(), 2, "{key}");
    }
    assert_ne!(
        storage_key("user:alice", &long_a),
        storage_key("user:alice", &long_b)
    );
    assert_ne!(storage_key("u", "a:b"), storage_key("u", "ab"));
}

#[test]
fn what_counts_for_the_breaker() {
    let output = |is_error| {
        Ok(ToolOutput {
            text: "x".into(),
            is_error,
            truncated: false,
        })
    };
    assert_eq!(counts_as(&output(false)), Some(true));
    assert_eq!(
        counts_as(&output(true)),
        Some(false),
        "isError is a failure"
    );
    let server = Err(ToolCallError::Server {
        server: "docs".into(),
        error: McpError::Timeout(5),
    });
    assert_eq!(counts_as(&server), Some(false));
    assert_eq!(
        counts_as(&Err(ToolCallError::InvalidArguments("x".into()))),
        None
    );
    assert_eq!(
        counts_as(&Err(ToolCallError::UnknownTool("x".into()))),
        None
    );
}

#[test]
fn the_model_is_told_the_tool_is_unavailable_and_for_how_long() {
    let text = unavailable_output("docs__search", 300);
    assert_eq!(
        text,
        "The tool docs__search is unavailable for now after repeated failures; it is \
         offered again in about 5 minutes. Answer without it."
    );
    assert!(unavailable_output("t", 1).contains("about 1 minute. "));
    assert!(unavailable_output("t", 0).contains("about 1 minute. "));
    assert!(unavailable_output("t", 61).contains("about 2 minutes. "));
}

#[test]
fn settings_are_read_with_ranges() {
    let read = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ToolBreakerPolicy::from_lookup(move |key| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    };
    assert_eq!(read(&[]), Ok(ToolBreakerPolicy::default()));
    assert_eq!(
        read(&[
            (keys::FAILURES, "0"),
            (keys::WINDOW_SECS, " 30 "),
            (keys::COOLDOWN_SECS, "600"),
        ]),
        Ok(policy(0, 30, 600))
    );
    for (key, bad) in [
        (keys::FAILURES, "101"),
        (keys::FAILURES, "-1"),
        (keys::WINDOW_SECS, "0"),
        (keys::COOLDOWN_SECS, "86401"),
        (keys::COOLDOWN_SECS, "soon"),
    ] {
        let error = read(&[(key, bad)]).expect_err(bad);
        assert!(error.to_string().contains(key), "{key}={bad}: {error}");
    }
}

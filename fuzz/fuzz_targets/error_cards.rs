//! Untrusted text that becomes an error: OpenRouter's error bodies and Retry-After
//! headers, in-stream error events, and operator templates. Parsing and rendering never
//! panic, and a default card always carries the error id.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use orpipe_guest::errors::GatewayError;
use orpipe_guest::errors::cards::{
    CardContext, CardTemplates, ErrorClass, StreamFailure, stream_failure_card,
};
use orpipe_guest::retry::retry_after_secs;

#[derive(Arbitrary, Debug)]
struct Input {
    status: u16,
    body: Vec<u8>,
    retry_after: Option<String>,
    template: String,
    class: u8,
    now: u64,
    code: String,
}

fuzz_target!(|input: Input| {
    let header = input
        .retry_after
        .as_deref()
        .and_then(|h| retry_after_secs(h, input.now))
        .map(|s| s.to_string());
    let error = GatewayError::from_upstream_http(input.status, &input.body, header.as_deref());
    let _ = error.openai_error_body("00000000000000f3");
    let mut templates = CardTemplates::default();
    let class = ErrorClass::ALL[usize::from(input.class) % ErrorClass::ALL.len()];
    templates.set(class, &input.template);
    let ctx = CardContext {
        error_id: "00000000000000f3",
        timestamp: "2026-01-01T00:00:00Z",
        model: "m",
        facts: None,
    };
    let card = error.card(&ctx, &CardTemplates::default());
    assert!(card.contains("00000000000000f3"), "{card}");
    let _ = error.card(&ctx, &templates);
    // The body as an in-stream error event.
    let event = String::from_utf8_lossy(&input.body);
    let failure = StreamFailure {
        code: input.code.as_str(),
        message: "m",
        event: Some(&*event),
    };
    let (_, card) = stream_failure_card(&failure, &ctx, &CardTemplates::default());
    assert!(card.contains("00000000000000f3"), "{card}");
    let _ = stream_failure_card(&failure, &ctx, &templates);
});

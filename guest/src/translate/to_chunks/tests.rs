use super::*;
use crate::openai::DONE_FRAME;
use crate::pipeline::StreamPipeline;
use serde_json::{Value, json};
use std::collections::BTreeMap;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/",
            $name
        ))
    };
}

/// Runs a whole upstream body through the stream pipeline, fed in `piece`-byte reads.
fn translate(body: &str, piece: usize) -> Vec<String> {
    translate_capturing(body, piece, None).0
}

fn translate_capturing(
    body: &str,
    piece: usize,
    capture: Option<Capture>,
) -> (Vec<String>, Option<Capture>) {
    let mut translator = ChunkTranslator::new(StreamContext {
        model: "client/model".into(),
        created: 1,
        fallback_id: "chatcmpl-fallback".into(),
        error_id: "00000000000000e1".into(),
        timestamp: "2026-11-25T05:00:00Z".into(),
    });
    if let Some(capture) = capture {
        translator = translator.with_capture(capture);
    }
    let mut pipeline = StreamPipeline::new(translator);
    let mut frames = Frames::default();
    for chunk in body.as_bytes().chunks(piece) {
        frames.append(&mut pipeline.push(chunk));
    }
    frames.append(&mut pipeline.finish());
    (frames.to_strings(), pipeline.take_capture())
}

#[test]
fn an_aborted_answer_keeps_its_text_and_ends_with_card_error_and_done() {
    let mut translator = ChunkTranslator::new(StreamContext {
        model: "m".into(),
        created: 1,
        fallback_id: "f".into(),
        error_id: "00000000000000e2".into(),
        timestamp: "2026-12-02T00:00:00Z".into(),
    });
    let mut frames = Frames::default();
    let body = fixture!("stream_text.sse");
    for data in body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .take(5)
    {
        translator.on_data(data, &mut frames);
    }
    translator.abort("deadline_exceeded", "too slow", &mut frames);
    let mut again = Frames::default();
    translator.abort("again", "ignored", &mut again);
    assert!(again.is_empty());
    translator.finish(&mut frames);
    let chunks = chunks(&frames.to_strings());
    let error = chunks
        .iter()
        .find(|c| c.get("error").is_some())
        .expect("error frame");
    assert_eq!(error["error"]["code"], "deadline_exceeded");
    let content = joined(&chunks, "content");
    assert!(content.contains("00000000000000e2"), "{content}");
    assert_eq!(
        translator.failure().map(|f| f.0.as_str()),
        Some("deadline_exceeded")
    );
}

#[test]
fn captured_reasoning_is_announced_by_a_marker_after_the_text() {
    let body = fixture!("stream_reasoning_summary.sse");
    let (frames, capture) = translate_capturing(
        body,
        7,
        Some(Capture::new(|| "01KB4Y1Q6ZC3N9TQ7R4X8W2M5H".into())),
    );
    let chunks = chunks(&frames);
    let content = joined(&chunks, "content");
    assert!(
        content.starts_with("The train travels **150 miles** (60 mph × 2.5 hours)."),
        "{content:?}"
    );
    assert!(
        content.ends_with("[P:final_answer]: #\n\n[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #\n"),
        "one blank line before the block: {content:?}"
    );
    let captured = capture.expect("capture").into_captured();
    assert_eq!(captured.len(), 1);
    let item = &captured[0].item;
    assert_eq!(item["type"], "reasoning");
    assert_eq!(
        item[crate::artifacts::capture::TEXT_OFFSET_FIELD],
        0,
        "the reasoning finished before any text"
    );
    assert!(
        item["encrypted_content"]
            .as_str()
            .is_some_and(|c| c.starts_with("gAAAA"))
    );
    // The message carried `phase: final_answer`; its marker follows the text, before the
    // block of artifact markers.
    assert!(
        content.contains("hours).\n\n[P:final_answer]: #\n\n[01KB"),
        "{content:?}"
    );
    // Without a capture the same stream carries no marker.
    assert!(!joined(&chunks_of(body), "content").contains("]: #"));
}

fn chunks_of(body: &str) -> Vec<Value> {
    chunks(&translate(body, 64))
}

pub(super) fn chunks(frames: &[String]) -> Vec<Value> {
    assert_eq!(
        frames.last().map(String::as_str),
        Some(DONE_FRAME),
        "ends with [DONE]"
    );
    assert_eq!(
        frames.iter().filter(|f| f.as_str() == DONE_FRAME).count(),
        1
    );
    frames[..frames.len() - 1]
        .iter()
        .map(|f| {
            serde_json::from_str(f.strip_prefix("data: ").expect("data frame").trim_end())
                .expect("JSON")
        })
        .collect()
}

pub(super) fn joined(chunks: &[Value], field: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| {
            c.pointer(&format!("/choices/0/delta/{field}"))
                .and_then(Value::as_str)
        })
        .collect()
}

fn finish_reasons(chunks: &[Value]) -> Vec<&str> {
    chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/finish_reason")
                .and_then(Value::as_str)
        })
        .collect()
}

fn usage_chunks(chunks: &[Value]) -> Vec<&Value> {
    chunks.iter().filter(|c| c.get("usage").is_some()).collect()
}

/// The `response.completed` usage of a fixture, for comparison.
fn fixture_usage(body: &str) -> Value {
    let completed = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|e| e["type"] == "response.completed")
        .expect("fixture has response.completed");
    Usage::from_responses(&completed["response"]["usage"])
        .expect("usage")
        .to_openai()
}

pub(super) const STREAMS: [&str; 7] = [
    fixture!("stream_text.sse"),
    fixture!("stream_reasoning.sse"),
    fixture!("stream_reasoning_summary.sse"),
    fixture!("stream_tool_call.sse"),
    fixture!("stream_web_search_citations.sse"),
    fixture!("stream_error_midstream.sse"),
    fixture!("stream_error_event.sse"),
];

#[test]
fn every_fixture_translates_the_same_however_the_bytes_are_split() {
    for body in STREAMS {
        let whole = translate(body, body.len());
        assert_eq!(translate(body, 1), whole);
        assert_eq!(translate(body, 7), whole);
    }
}

#[test]
fn plain_text_streams_as_content_then_stop_then_usage() {
    let body = fixture!("stream_text.sse");
    let chunks = chunks(&translate(body, 64));
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert!(
        chunks[0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("gen-")),
        "OpenRouter's id"
    );
    assert!(
        chunks
            .iter()
            .all(|c| c["model"] == "client/model" && c["id"] == chunks[0]["id"])
    );
    assert_eq!(
        joined(&chunks, "content"),
        "Hello! How can I help you today?"
    );
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    let usage = usage_chunks(&chunks);
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["usage"], fixture_usage(body));
    assert_eq!(usage[0]["choices"], json!([]));
    assert_eq!(
        chunks.last().map(|c| c.get("usage").is_some()),
        Some(true),
        "usage is last"
    );
}

#[test]
fn reasoning_text_and_summaries_stream_as_reasoning_content() {
    for body in [
        fixture!("stream_reasoning.sse"),
        fixture!("stream_reasoning_summary.sse"),
    ] {
        let chunks = chunks(&translate(body, 64));
        let reasoning = joined(&chunks, "reasoning_content");
        assert_eq!(
            joined(&chunks, "reasoning"),
            reasoning,
            "the same text under both names"
        );
        let content = joined(&chunks, "content");
        assert!(!reasoning.is_empty() && !content.is_empty());
        let first_content = chunks.iter().position(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        });
        let last_reasoning = chunks
            .iter()
            .rposition(|c| c.pointer("/choices/0/delta/reasoning_content").is_some());
        assert!(last_reasoning < first_content);
        assert_eq!(finish_reasons(&chunks), ["stop"]);
        assert_eq!(usage_chunks(&chunks)[0]["usage"], fixture_usage(body));
    }
    let chunks = chunks(&translate(fixture!("stream_reasoning.sse"), 64));
    assert!(
        joined(&chunks, "reasoning_content")
            .starts_with("The user asks whether 1995 was 30 years ago.")
    );
    assert_eq!(
        joined(&chunks, "content"),
        "Yes. As of 2025, 1995 was exactly 30 years ago."
    );
}

#[test]
fn parallel_tool_calls_get_stable_indexes_and_finish_with_tool_calls() {
    let body = fixture!("stream_tool_call.sse");
    let chunks = chunks(&translate(body, 64));
    let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    for chunk in &chunks {
        for call in chunk
            .pointer("/choices/0/delta/tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let entry = calls
                .entry(call["index"].as_u64().expect("index"))
                .or_default();
            if let Some(id) = call["id"].as_str() {
                entry.0 = id.to_owned();
            }
            if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                entry.1 = name.to_owned();
            }
            entry.2 += call
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .unwrap_or_default();
        }
    }
    assert_eq!(calls.len(), 2, "{calls:?}");
    for (id, name, arguments) in calls.values() {
        assert!(!id.is_empty() && !name.is_empty());
        serde_json::from_str::<Value>(arguments).expect("arguments join into JSON");
    }
    assert_eq!(finish_reasons(&chunks), ["tool_calls"]);
    assert_eq!(usage_chunks(&chunks).len(), 1);
}

#[test]
fn web_search_citations_arrive_once_each_after_the_text() {
    let chunks = chunks(&translate(fixture!("stream_web_search_citations.sse"), 64));
    assert_eq!(
        joined(&chunks, "content"),
        "According to the official Rust blog, the latest stable release is listed on its releases page. The GitHub releases page mirrors the same version."
    );
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    let annotations: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/annotations"))
        .filter_map(Value::as_array)
        .flatten()
        .collect();
    assert_eq!(annotations.len(), 2, "{annotations:?}");
    assert_eq!(
        annotations[0],
        &json!({"type": "url_citation", "url_citation": {
            "url": "https://blog.rust-lang.org/releases/latest/",
            "title": "Rust Blog: latest release", "start_index": 0, "end_index": 94,
            "content": "Announcing the latest stable Rust release.\n[...]\nUpdate with `rustup update stable`."
        }})
    );
    assert_eq!(
        annotations[1]["url_citation"]["url"],
        "https://github.com/rust-lang/rust/releases"
    );
    let last_text = chunks.iter().rposition(|c| {
        c.pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty())
    });
    let first_citation = chunks
        .iter()
        .position(|c| c.pointer("/choices/0/delta/annotations").is_some());
    assert!(last_text < first_citation);
}

#[test]
fn citations_only_in_the_final_payload_are_still_sent_once() {
    let citation = r#"{"type":"url_citation","url":"https://x.example/","title":"X","start_index":0,"end_index":4}"#;
    let body = [
        r#"data: {"type":"response.created","response":{"id":"gen-c","output":[]}}"#.to_owned(),
        r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message","content":[]}}"#.to_owned(),
        r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"Text"}"#.to_owned(),
        format!(
            r#"data: {{"type":"response.completed","response":{{"id":"gen-c","output":[{{"type":"message","content":[{{"type":"output_text","text":"Text","annotations":[{citation},{citation}]}}]}}]}}}}"#
        ),
    ]
    .join("\n\n");
    let chunks = chunks(&translate(&body, 11));
    let annotations: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/annotations"))
        .collect();
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations[0][0]["url_citation"]["title"], "X");
    assert_eq!(joined(&chunks, "content"), "Text");
}

#[test]
fn errors_mid_stream_keep_the_partial_text_then_notice_error_frame_and_done() {
    for (body, heading) in [
        (
            fixture!("stream_error_midstream.sse"),
            "### 🔴 OpenRouter Service Error",
        ),
        (
            fixture!("stream_error_event.sse"),
            "### ⏸️ Rate Limit Exceeded",
        ),
    ] {
        let chunks = chunks(&translate(body, 64));
        let errors: Vec<&Value> = chunks.iter().filter(|c| c.get("error").is_some()).collect();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        let content = joined(&chunks, "content");
        assert!(content.contains(heading), "{content}");
        assert!(
            content.contains("`00000000000000e1`"),
            "the card carries the error id"
        );
        assert_eq!(errors[0]["error"]["error_id"], "00000000000000e1");
        assert!(finish_reasons(&chunks).is_empty());
        assert!(
            chunks.last().is_some_and(|c| c.get("error").is_some()),
            "nothing after the error"
        );
    }
}

#[test]
fn each_error_shape_reports_its_own_code_and_message() {
    let midstream = chunks(&translate(fixture!("stream_error_midstream.sse"), 64));
    let error = &midstream.last().expect("chunks")["error"];
    assert_eq!(error["code"], "server_error");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Provider disconnected unexpectedly"))
    );
    let event = chunks(&translate(fixture!("stream_error_event.sse"), 64));
    assert_eq!(
        event.last().expect("chunks")["error"]["code"],
        "rate_limit_exceeded"
    );
    // Q6: an error inside a normal-looking event ends the answer too.
    let embedded = [
        r#"data: {"type":"response.created","response":{"id":"gen-q6","status":"in_progress","error":null}}"#,
        r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"Par"}"#,
        r#"data: {"type":"response.in_progress","response":{"id":"gen-q6","status":"in_progress","error":{"code":"server_error","message":"gone"}}}"#,
        r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"is"}"#,
    ]
    .join("\n\n");
    let chunks = chunks(&translate(&embedded, 9));
    let content = joined(&chunks, "content");
    assert!(
        content.starts_with("Par\n\n### 🔴 OpenRouter Service Error\n"),
        "{content}"
    );
    assert!(content.contains("**Status:** 500 gone"), "{content}");
    assert_eq!(
        chunks.last().expect("chunks")["error"]["code"],
        "server_error"
    );
    assert_eq!(
        chunks.iter().filter(|c| c.get("error").is_some()).count(),
        1
    );
}

#[test]
fn text_only_in_the_finished_item_survives_a_missing_terminal_event() {
    let body = [
        r#"data: {"type":"response.created","response":{"id":"gen-q2q3","output":[]}}"#,
        r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message","content":[]}}"#,
        r#"data: {"type":"response.content_part.added","output_index":0,"part":{"type":"output_text","text":""}}"#,
        r#"data: {"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"late"}]}}"#,
    ]
    .join("\n\n");
    let without_terminal = chunks(&translate(&body, 3));
    assert_eq!(joined(&without_terminal, "content"), "late");
    assert_eq!(finish_reasons(&without_terminal), ["stop"]);
    assert!(without_terminal.iter().all(|c| c.get("error").is_none()));
    // With the terminal event as well, the text is still sent once.
    let completed = format!(
        "{body}\n\n{}",
        r#"data: {"type":"response.completed","response":{"id":"gen-q2q3","output":[{"type":"message","content":[{"type":"output_text","text":"late"}]}]}}"#
    );
    assert_eq!(
        joined(&chunks(&translate(&completed, 64)), "content"),
        "late"
    );
}

#[test]
fn a_stream_cut_short_reports_the_interruption() {
    let body = fixture!("stream_text.sse");
    let cut = &body[..body
        .find("response.output_text.done")
        .expect("has a done event")];
    let cut = &cut[..cut.rfind("\n\n").expect("event boundary")];
    let chunks = chunks(&translate(cut, 64));
    assert!(joined(&chunks, "content").starts_with("Hello"));
    assert_eq!(
        chunks.last().expect("chunks")["error"]["code"],
        "stream_interrupted"
    );
    let nothing = chunks_of_empty();
    assert_eq!(
        nothing.last().expect("chunks")["error"]["code"],
        "stream_interrupted"
    );
}

fn chunks_of_empty() -> Vec<Value> {
    chunks(&translate(": only a keep-alive\n\n", 4))
}

#[test]
fn a_complete_stream_without_its_terminal_event_still_closes_normally() {
    let chunks = chunks(&translate(fixture!("stream_eof_without_completed.sse"), 64));
    assert!(!joined(&chunks, "content").is_empty());
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    assert!(usage_chunks(&chunks).is_empty(), "no usage was reported");
    assert!(chunks.iter().all(|c| c.get("error").is_none()));
}

#[test]
fn incomplete_answers_finish_with_length() {
    let chunks = chunks(&translate(fixture!("stream_incomplete.sse"), 64));
    assert_eq!(finish_reasons(&chunks), ["length"]);
}

#[test]
fn text_present_only_in_the_final_payload_is_still_delivered() {
    let body = [
        r#"data: {"type":"response.created","response":{"id":"gen-q3","output":[]}}"#,
        r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message","content":[]}}"#,
        r#"data: {"type":"response.completed","response":{"id":"gen-q3","output":[{"type":"message","content":[{"type":"output_text","text":"only here"}]}],"usage":{"input_tokens":1,"output_tokens":2}}}"#,
    ]
    .join("\n\n");
    let chunks = chunks(&translate(&body, 5));
    assert_eq!(joined(&chunks, "content"), "only here");
    assert_eq!(finish_reasons(&chunks), ["stop"]);
}

#[test]
fn unknown_events_and_garbage_payloads_are_skipped() {
    let mut translator = ChunkTranslator::new(StreamContext {
        model: "m".into(),
        created: 0,
        fallback_id: "f".into(),
        error_id: "e".into(),
        timestamp: "t".into(),
    });
    let mut on_data = |data: &str| {
        let mut frames = Frames::default();
        translator.on_data(data, &mut frames);
        frames
    };
    assert!(on_data("not json").is_empty());
    assert!(on_data(r#"{"type":"response.fusion_call.thinking","x":1}"#).is_empty());
    assert!(on_data("[1,2]").is_empty());
    assert_eq!(translator.unreadable_events(), 2);
}

#[test]
fn known_events_of_another_shape_are_skipped_and_counted_never_fatal() {
    let body = [
        r#"data: {"type":"response.created","response":{"id":"gen-odd","output":[]}}"#,
        r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message","content":[]}}"#,
        r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"Hel"}"#,
        r#"data: {"type":"response.output_text.delta","output_index":0,"delta":7}"#,
        r#"data: {"type":"response.reasoning_text.delta","output_index":0,"delta":{"text":"x"}}"#,
        r#"data: {"type":"response.output_text.delta","output_index":"zero","delta":"lo"}"#,
        r#"data: {"type":"response.completed","response":{"id":"gen-odd","usage":"lots"}}"#,
    ]
    .join("\n\n");
    let mut pipeline = StreamPipeline::new(ChunkTranslator::new(StreamContext {
        model: "m".into(),
        created: 1,
        fallback_id: "f".into(),
        error_id: "e".into(),
        timestamp: "t".into(),
    }));
    let mut frames = pipeline.push(body.as_bytes());
    frames.append(&mut pipeline.finish());
    let chunks = chunks(&frames.to_strings());
    assert_eq!(joined(&chunks, "content"), "Hello");
    assert_eq!(joined(&chunks, "reasoning_content"), "");
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    assert!(
        usage_chunks(&chunks).is_empty(),
        "usage of another shape is none"
    );
    assert!(chunks.iter().all(|c| c.get("error").is_none()));
    assert_eq!(pipeline.unreadable_events(), 2);
    assert_eq!(pipeline.failure(), None);
}

//! The chat endpoint's answers, streamed and whole, through the same translator as
//! `/responses` answers: realistic OpenRouter chat transcripts (`tests/fixtures/chat_*`).

use super::{ChatEventAdapter, response_from_chat_completion};
use crate::artifacts::capture::Capture;
use crate::openai::Frames;
use crate::sse::{SseDecoder, SseEvent};
use crate::translate::image_output::ImageOutput;
use crate::translate::to_chunks::{ChunkTranslator, StreamContext};
use crate::translate::to_completion::completion_with_images;
use serde_json::{Value, json};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/",
            $name
        ))
    };
}

fn translator() -> ChunkTranslator {
    ChunkTranslator::new(StreamContext {
        model: "client-model".into(),
        created: 7,
        fallback_id: "fallback".into(),
        error_id: "0123456789abcdef".into(),
        timestamp: "2026-12-02T20:00:00Z".into(),
    })
}

/// Runs a chat SSE transcript through the adapter and the translator: the chunks a
/// client would read (parsed), and the translator for its usage and failure.
fn run(sse: &str, mut translator: ChunkTranslator) -> (Vec<Value>, ChunkTranslator) {
    let mut decoder = SseDecoder::new();
    decoder.push(sse.as_bytes());
    let mut adapter = ChatEventAdapter::new();
    let mut frames = Frames::default();
    let mut events = Vec::new();
    while let Ok(Some(event)) = decoder.next_event() {
        match event {
            SseEvent::Data(data) => events.extend(adapter.push(&data)),
            SseEvent::Done => break,
            _ => {}
        }
    }
    events.extend(adapter.finish());
    for event in &events {
        translator.on_data(event, &mut frames);
    }
    translator.finish(&mut frames);
    let chunks = frames
        .to_strings()
        .iter()
        .filter_map(|frame| frame.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect();
    (chunks, translator)
}

fn joined(chunks: &[Value], field: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"][field].as_str())
        .collect()
}

fn finish_reason(chunks: &[Value]) -> Option<&str> {
    chunks
        .iter()
        .find_map(|c| c["choices"][0]["finish_reason"].as_str())
}

#[test]
fn a_reasoning_stream_keeps_its_text_reasoning_usage_and_ids() {
    let (chunks, translator) = run(fixture!("chat_stream_reasoning.sse"), translator());
    assert_eq!(joined(&chunks, "content"), "Hello there!");
    assert_eq!(
        joined(&chunks, "reasoning"),
        "The user asks for a greeting."
    );
    assert_eq!(finish_reason(&chunks), Some("stop"));
    assert!(chunks.iter().all(|c| c["model"] == "client-model"));
    assert!(chunks.iter().all(|c| c["id"] == "gen-chat-reason-1"));
    let usage = translator.usage().expect("usage");
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
            usage.reasoning_tokens
        ),
        (42, 17, 32, 9)
    );
    assert_eq!(usage.cost, Some(0.000381));
    assert_eq!(translator.failure(), None);
}

#[test]
fn reasoning_details_are_merged_with_their_signature_and_captured_with_a_marker() {
    let mut next = 0;
    let capture = Capture::new(move || {
        next += 1;
        format!("01ARZ3NDEKTSV4RRFFQ69G5FA{next}")
    });
    let (chunks, mut translator) = run(
        fixture!("chat_stream_reasoning.sse"),
        translator().with_capture(capture),
    );
    let content = joined(&chunks, "content");
    assert!(
        content.starts_with("Hello there!") && content.contains("01ARZ3NDEKTSV4RRFFQ69G5FA1"),
        "the marker ends the answer: {content:?}"
    );
    let captured = translator.take_capture().expect("capture").into_captured();
    assert_eq!(captured.len(), 1);
    let details = &captured[0].item["reasoning_details"];
    assert_eq!(
        details,
        &json!([{"type": "reasoning.text", "text": "The user asks for a greeting.",
            "signature": "EqQBCkgIBxABGAIiQJx4sig", "format": "anthropic-claude-v1", "index": 0}])
    );
}

#[test]
fn tool_calls_stream_in_openai_shape_and_finish_with_tool_calls() {
    let (chunks, _) = run(fixture!("chat_stream_tool_call.sse"), translator());
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls[0]["id"], "call_Wx3kP9");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let arguments: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"city":"Paris"}"#);
    assert_eq!(finish_reason(&chunks), Some("tool_calls"));
}

#[test]
fn generated_images_come_as_images_and_as_markdown_when_asked() {
    let (chunks, _) = run(fixture!("chat_stream_image.sse"), translator());
    let images: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["images"].get(0))
        .collect();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["type"], "image_url");
    let url = images[0]["image_url"]["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("data:image/png;base64,iVBOR"), "{url}");
    assert_eq!(joined(&chunks, "content"), "Here is a red dot.");

    let markdown = translator().with_image_output(ImageOutput {
        markdown: true,
        ..ImageOutput::default()
    });
    let (chunks, _) = run(fixture!("chat_stream_image.sse"), markdown);
    let content = joined(&chunks, "content");
    assert!(
        content
            .starts_with("Here is a red dot.\n\n![Generated image 1](data:image/png;base64,iVBOR"),
        "{content}"
    );
}

#[test]
fn an_image_over_the_cap_is_a_note_not_an_image() {
    let capped = translator().with_image_output(ImageOutput {
        markdown: true,
        max_bytes: 20,
        ..ImageOutput::default()
    });
    let (chunks, _) = run(fixture!("chat_stream_image.sse"), capped);
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"][0]["delta"]["images"].is_null())
    );
    assert!(joined(&chunks, "content").contains("Image 1 was left out"));
}

#[test]
fn a_midstream_error_ends_with_a_card_and_an_error_frame() {
    let (chunks, translator) = run(fixture!("chat_stream_error_midstream.sse"), translator());
    let content = joined(&chunks, "content");
    assert!(content.starts_with("The first part"), "{content}");
    assert!(
        content.contains("0123456789abcdef"),
        "the card names the error id: {content}"
    );
    assert!(chunks.iter().any(|c| c["error"]["code"] == "server_error"));
    assert_eq!(
        translator.failure().map(|f| f.1.as_str()),
        Some("Provider disconnected unexpectedly")
    );
}

#[test]
fn a_stream_cut_before_its_finish_reason_is_interrupted() {
    let sse = fixture!("chat_stream_reasoning.sse");
    let cut = &sse[..sse.find("\"content\":\" there!\"").unwrap_or(sse.len())];
    let cut = &cut[..cut.rfind("\n\n").unwrap_or(0)];
    let (_, translator) = run(cut, translator());
    assert_eq!(
        translator.failure().map(|f| f.0.as_str()),
        Some("stream_interrupted")
    );
}

#[test]
fn garbage_and_odd_shapes_never_panic() {
    let mut adapter = ChatEventAdapter::new();
    for data in [
        "not json",
        "[]",
        "{}",
        r#"{"choices":"x"}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":"x","function":7}],"images":[{}],"reasoning_details":[1]}}]}"#,
        r#"{"choices":[{"delta":{"content":5,"annotations":[{"type":"url_citation"}]},"finish_reason":3}]}"#,
        r#"{"usage":[],"error":"x"}"#,
    ] {
        let _ = adapter.push(data);
    }
    let _ = adapter.finish();
    assert!(response_from_chat_completion(b"[1]").is_err());
    assert!(response_from_chat_completion(b"{").is_err());
    assert!(response_from_chat_completion(br#"{"choices":[{"message":7}]}"#).is_ok());
}

#[test]
fn whole_answers_keep_text_reasoning_images_and_usage() {
    let body = response_from_chat_completion(fixture!("chat_completion_image.json").as_bytes())
        .expect("a response");
    let completion =
        completion_with_images(&body, "client-model", 7, None, &ImageOutput::default())
            .expect("a completion")
            .to_json();
    let completion: Value = serde_json::from_str(&completion).expect("JSON");
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], "Here is a red dot.");
    assert_eq!(message["images"][0]["type"], "image_url");
    assert_eq!(completion["usage"]["completion_tokens"], 1300);
    assert_eq!(completion["usage"]["cost"], 0.0387);

    let body = response_from_chat_completion(fixture!("chat_completion_text.json").as_bytes())
        .expect("a response");
    let completion = completion_with_images(&body, "m", 7, None, &ImageOutput::default())
        .expect("a completion")
        .to_json();
    let completion: Value = serde_json::from_str(&completion).expect("JSON");
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "Hello there!"
    );
    assert_eq!(
        completion["choices"][0]["message"]["reasoning"],
        "The user asks for a greeting."
    );
    assert_eq!(
        completion["usage"]["prompt_tokens_details"]["cached_tokens"],
        32
    );
}

#[test]
fn a_whole_answer_error_becomes_an_upstream_error() {
    let body = response_from_chat_completion(
        br#"{"id":"gen-x","error":{"code":502,"message":"Provider returned error"}}"#,
    )
    .expect("a response");
    let error =
        completion_with_images(&body, "m", 7, None, &ImageOutput::default()).expect_err("an error");
    assert!(
        error.to_string().contains("Provider returned error"),
        "{error}"
    );
}

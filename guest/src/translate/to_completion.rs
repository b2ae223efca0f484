//! A non-streaming Responses body → one `chat.completion` object.
//!
//! The same content a client would get by joining the streamed chunks: message text,
//! reasoning, tool calls, finish reason and usage. This module never performs I/O.

use super::citations::{Citations, message_annotations};
use crate::artifacts::capture::Capture;
use crate::errors::GatewayError;
use crate::markers;
use crate::openai::Usage;
use serde_json::{Value, json};

/// `capture`, when given, keeps the answer's reasoning items; their markers go into the
/// content where the items stood.
pub fn completion_from_response(
    body: &[u8],
    model: &str,
    created: u64,
    mut capture: Option<&mut Capture>,
) -> Result<String, GatewayError> {
    let response: Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::UpstreamProtocol(format!("the response is not JSON: {e}")))?;
    if !response.is_object() {
        return Err(GatewayError::UpstreamProtocol(
            "the response is not a JSON object".into(),
        ));
    }
    let status = response
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("completed");
    if status == "failed" || response.get("error").is_some_and(Value::is_object) {
        let error = response.get("error").unwrap_or(&Value::Null);
        return Err(GatewayError::Upstream {
            status: 502,
            // Codes are strings on this API, but OpenRouter's generic envelope uses numbers.
            code: error.get("code").and_then(|c| match c {
                Value::String(code) => Some(code.clone()),
                Value::Number(code) => Some(code.to_string()),
                _ => None,
            }),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the model's provider failed")
                .to_owned(),
            provider_raw: None,
            retry_after: None,
        });
    }
    let output = response
        .get("output")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut content = String::new();
    let mut refusal = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    let mut citations = Citations::default();
    let mut annotations = Vec::new();
    for item in output {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                annotations.extend(citations.new_ones(message_annotations(item)));
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => content
                            .push_str(part.get("text").and_then(Value::as_str).unwrap_or_default()),
                        Some("refusal") => refusal.push_str(
                            part.get("refusal")
                                .and_then(Value::as_str)
                                .unwrap_or_default(),
                        ),
                        _ => {}
                    }
                }
                // As in the stream: the phase marker follows the message's text.
                if let Some(phase) = item.get("phase").and_then(Value::as_str)
                    && capture.is_some()
                    && markers::is_phase_marker(&markers::phase_marker_line(phase))
                {
                    content.push_str(&format!("\n\n{}\n\n", markers::phase_marker_line(phase)));
                }
            }
            Some("reasoning") => {
                append_reasoning(item, &mut reasoning);
                if let Some(id) = capture.as_deref_mut().and_then(|c| c.item_done(item)) {
                    content.push_str(&markers::marker_insert(&id, !content.is_empty()));
                }
            }
            Some("function_call") => tool_calls.push(json!({
                "id": item.get("call_id").and_then(Value::as_str).unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": item.get("name").and_then(Value::as_str).unwrap_or_default(),
                    "arguments": item.get("arguments").and_then(Value::as_str).unwrap_or_default(),
                },
            })),
            _ => {}
        }
    }
    let finish_reason = match status {
        "incomplete"
            if response
                .pointer("/incomplete_details/reason")
                .and_then(Value::as_str)
                == Some("content_filter") =>
        {
            "content_filter"
        }
        "incomplete" => "length",
        _ if !tool_calls.is_empty() => "tool_calls",
        _ => "stop",
    };
    let mut message = json!({"role": "assistant", "content": if content.is_empty() && !tool_calls.is_empty() { Value::Null } else { Value::String(content) }});
    if !reasoning.is_empty() {
        message["reasoning"] = Value::String(reasoning.clone());
        message["reasoning_content"] = Value::String(reasoning);
    }
    if !refusal.is_empty() {
        message["refusal"] = Value::String(refusal);
    }
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    if !annotations.is_empty() {
        message["annotations"] = Value::Array(annotations);
    }
    let id = response
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("chatcmpl-orpipe");
    let mut completion = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
    });
    if let Some(usage) = response.get("usage").and_then(Usage::from_responses) {
        completion["usage"] = usage.to_openai();
    }
    Ok(completion.to_string())
}

/// Reasoning text, else its summaries, in order, as the stream would have shown them.
fn append_reasoning(item: &Value, reasoning: &mut String) {
    let texts = |field: &str, part_type: &str| -> Vec<String> {
        item.get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some(part_type))
            .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let content = texts("content", "reasoning_text");
    let parts = if content.is_empty() {
        texts("summary", "summary_text")
    } else {
        content
    };
    let joined = parts.join("\n\n");
    if !joined.is_empty() {
        if !reasoning.is_empty() {
            reasoning.push_str("\n\n");
        }
        reasoning.push_str(&joined);
    }
}

/// The `usage` of a completion produced by [`completion_from_response`].
pub fn usage_of(completion: &Value) -> Option<Usage> {
    let usage = completion.get("usage")?;
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    Some(Usage {
        prompt_tokens: count("/prompt_tokens"),
        completion_tokens: count("/completion_tokens"),
        total_tokens: count("/total_tokens"),
        cached_tokens: count("/prompt_tokens_details/cached_tokens"),
        reasoning_tokens: count("/completion_tokens_details/reasoning_tokens"),
        cost: usage.get("cost").and_then(Value::as_f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_body(text: &str) -> Vec<u8> {
        let wrapped: Value = serde_json::from_str(text).expect("fixture JSON");
        wrapped["body"].to_string().into_bytes()
    }

    fn complete(body: &[u8]) -> Value {
        serde_json::from_str(
            &completion_from_response(body, "client/model", 9, None).expect("completion"),
        )
        .expect("JSON")
    }

    #[test]
    fn captured_reasoning_puts_its_marker_where_the_item_stood() {
        let body = json!({"id": "resp_1", "status": "completed", "output": [
            {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAA", "summary": []},
            {"type": "message", "content": [{"type": "output_text", "text": "Answer."}]},
            {"type": "reasoning", "id": "rs_2", "summary": []}]});
        let mut capture = Capture::new(|| "01KB4Y1Q6ZC3N9TQ7R4X8W2M5H".into());
        let completion: Value = serde_json::from_str(
            &completion_from_response(body.to_string().as_bytes(), "m", 1, Some(&mut capture))
                .expect("completion"),
        )
        .expect("JSON");
        assert_eq!(
            completion["choices"][0]["message"]["content"],
            "[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #\n\nAnswer."
        );
        assert_eq!(
            capture.captured().len(),
            1,
            "the empty reasoning item is not kept"
        );
    }

    #[test]
    fn a_text_answer_becomes_one_message_with_usage() {
        let body = fixture_body(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/response_nonstream_text.json"
        )));
        let completion = complete(&body);
        assert_eq!(completion["object"], "chat.completion");
        assert_eq!(completion["model"], "client/model");
        assert_eq!(completion["created"], 9);
        assert_eq!(
            completion["choices"][0]["message"],
            json!({"role": "assistant", "content": "The capital of France is Paris."})
        );
        assert_eq!(completion["choices"][0]["finish_reason"], "stop");
        assert_eq!(completion["usage"]["prompt_tokens"], 24);
        assert_eq!(completion["usage"]["cost"], 8.4e-06);
        let usage = usage_of(&completion).expect("usage");
        assert_eq!(
            (usage.prompt_tokens, usage.completion_tokens, usage.cost),
            (24, 8, Some(8.4e-06))
        );
    }

    #[test]
    fn tool_calls_come_back_in_openai_shape() {
        let body = fixture_body(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/response_nonstream_tool_call.json"
        )));
        let completion = complete(&body);
        let choice = &completion["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        let calls = choice["message"]["tool_calls"]
            .as_array()
            .expect("tool calls");
        assert!(!calls.is_empty());
        for call in calls {
            assert_eq!(call["type"], "function");
            assert!(call["id"].as_str().is_some_and(|id| !id.is_empty()));
            serde_json::from_str::<Value>(
                call["function"]["arguments"].as_str().expect("arguments"),
            )
            .expect("JSON arguments");
        }
    }

    /// Joins what a client would assemble from a translated stream.
    fn assembled_from_stream(body: &str) -> (Value, Option<Value>) {
        use crate::sse::{SseDecoder, SseEvent};
        use crate::translate::to_chunks::{ChunkTranslator, StreamContext};
        let mut decoder = SseDecoder::new();
        decoder.push(body.as_bytes());
        let mut translator = ChunkTranslator::new(StreamContext {
            model: "client/model".into(),
            created: 9,
            fallback_id: "chatcmpl-fallback".into(),
            error_id: "e".into(),
            timestamp: "t".into(),
        });
        let mut frames = Vec::new();
        let mut events = Vec::new();
        while let Some(event) = decoder.next_event().expect("no oversize event") {
            events.push(event);
        }
        events.extend(decoder.finish());
        for event in events {
            if let SseEvent::Data(data) = event {
                frames.extend(translator.on_data(&data));
            }
        }
        frames.extend(translator.finish());
        let (mut content, mut reasoning, mut finish, mut usage) =
            (String::new(), String::new(), Value::Null, None);
        let mut calls: Vec<Value> = Vec::new();
        let mut annotations: Vec<Value> = Vec::new();
        for frame in frames.iter().filter(|f| f.as_str() != "data: [DONE]\n\n") {
            let chunk: Value =
                serde_json::from_str(frame.strip_prefix("data: ").expect("data frame").trim_end())
                    .expect("JSON chunk");
            if let Some(u) = chunk.get("usage") {
                usage = Some(u.clone());
            }
            let Some(choice) = chunk.pointer("/choices/0") else {
                continue;
            };
            let delta = &choice["delta"];
            content += delta["content"].as_str().unwrap_or_default();
            reasoning += delta["reasoning_content"].as_str().unwrap_or_default();
            annotations.extend(
                delta["annotations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                // The first fragment of a call has its index, id and name; later ones
                // add arguments.
                let index = call["index"].as_u64().expect("index") as usize;
                if index == calls.len() {
                    calls.push(json!({"id": call["id"], "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""}}));
                }
                let arguments = format!(
                    "{}{}",
                    calls[index]["function"]["arguments"]
                        .as_str()
                        .expect("text"),
                    call["function"]["arguments"].as_str().unwrap_or_default()
                );
                calls[index]["function"]["arguments"] = json!(arguments);
            }
            if !choice["finish_reason"].is_null() {
                finish = choice["finish_reason"].clone();
            }
        }
        let mut message = json!({"role": "assistant",
            "content": if content.is_empty() && !calls.is_empty() { Value::Null } else { json!(content) }});
        if !reasoning.is_empty() {
            message["reasoning"] = json!(reasoning);
            message["reasoning_content"] = json!(reasoning);
        }
        if !calls.is_empty() {
            message["tool_calls"] = json!(calls);
        }
        if !annotations.is_empty() {
            message["annotations"] = json!(annotations);
        }
        (json!({"message": message, "finish_reason": finish}), usage)
    }

    #[test]
    fn a_completion_says_what_the_stream_of_the_same_answer_says() {
        let streams = [
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/stream_text.sse"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/stream_reasoning.sse"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/stream_reasoning_summary.sse"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/stream_tool_call.sse"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/stream_web_search_citations.sse"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/stream_incomplete.sse"
            )),
        ];
        for stream in streams {
            // The non-streaming body is the same object as the terminal event's `response`.
            let terminal = stream
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find(|e| {
                    matches!(
                        e["type"].as_str(),
                        Some("response.completed" | "response.incomplete")
                    )
                })
                .expect("fixture has a terminal event");
            let completion = complete(terminal["response"].to_string().as_bytes());
            let (streamed, streamed_usage) = assembled_from_stream(stream);
            let choice = &completion["choices"][0];
            assert_eq!(
                choice["message"], streamed["message"],
                "{}",
                terminal["response"]["id"]
            );
            assert_eq!(choice["finish_reason"], streamed["finish_reason"]);
            assert_eq!(completion.get("usage"), streamed_usage.as_ref());
        }
        let cited = complete(stream_terminal_response(streams[4]).to_string().as_bytes());
        let annotations = cited["choices"][0]["message"]["annotations"]
            .as_array()
            .expect("the web search answer has citations");
        assert_eq!(annotations.len(), 2);
        assert_eq!(
            annotations[1]["url_citation"]["title"],
            "Releases · rust-lang/rust · GitHub"
        );
    }

    fn stream_terminal_response(stream: &str) -> Value {
        stream
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find(|e| e["type"] == "response.completed")
            .map(|e| e["response"].clone())
            .expect("a completed event")
    }

    #[test]
    fn reasoning_incomplete_and_failed_responses() {
        let reasoning = json!({"status": "completed", "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Think."}]},
            {"type": "message", "content": [{"type": "output_text", "text": "Answer."}]}
        ]});
        let completion = complete(reasoning.to_string().as_bytes());
        assert_eq!(
            completion["choices"][0]["message"]["reasoning_content"],
            "Think."
        );
        let incomplete = json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": []});
        assert_eq!(
            complete(incomplete.to_string().as_bytes())["choices"][0]["finish_reason"],
            "length"
        );
        let failed = json!({"status": "failed", "error": {"code": "server_error", "message": "Provider disconnected"}});
        let error = completion_from_response(failed.to_string().as_bytes(), "m", 0, None)
            .expect_err("failed");
        assert_eq!(error.http_status(), 502);
        assert!(error.to_string().contains("Provider disconnected"));
        assert!(
            matches!(&error, GatewayError::Upstream { code: Some(code), .. } if code == "server_error")
        );
        let numeric = json!({"status": "failed", "error": {"code": 429, "message": "slow down"}});
        assert!(matches!(
            completion_from_response(numeric.to_string().as_bytes(), "m", 0, None),
            Err(GatewayError::Upstream { code: Some(code), .. }) if code == "429"
        ));
        assert_eq!(
            completion_from_response(b"<html>", "m", 0, None)
                .expect_err("garbage")
                .http_status(),
            502
        );
    }
}

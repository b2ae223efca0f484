//! A non-streaming Responses body → one `chat.completion` object.
//!
//! The same content a client would get by joining the streamed chunks: message text,
//! reasoning, tool calls, finish reason and usage, decided by the rules the stream uses
//! (see [`super::to_chunks`]). This module never performs I/O.

use super::citations::Citations;
use super::image_output::ImageOutput;
use super::phase;
use crate::artifacts::capture::Capture;
use crate::errors::GatewayError;
use crate::markers;
use crate::openai::{ChatCompletion, CompletionMessage, FinishReason, ToolCall, Usage};
use crate::responses::{OutputItem, Response, Status};
use serde_json::error::Category;

/// [`completion_with_images`] with the default image output (the tests' shorthand).
#[cfg(test)]
pub fn completion_from_response(
    body: &[u8],
    model: &str,
    created: u64,
    capture: Option<&mut Capture>,
) -> Result<ChatCompletion, GatewayError> {
    completion_with_images(body, model, created, capture, &ImageOutput::default())
}

/// `capture`, when given, keeps the answer's reasoning items; their markers go into the
/// content where the items stood. Generated images are shown as `image_output` says.
pub fn completion_with_images(
    body: &[u8],
    model: &str,
    created: u64,
    capture: Option<&mut Capture>,
    image_output: &ImageOutput,
) -> Result<ChatCompletion, GatewayError> {
    completion_of_turn(body, model, created, capture, image_output, &|_| false)
}

/// [`completion_with_images`] for a turn in which orpipe ran server tools: `body` holds
/// every round's output (`component::whole_rounds`), with each server call followed by
/// its `function_call_output`. Those calls (`is_server_tool` claims their names) and
/// outputs are not the client's: they are kept (`capture`) where they stood, for replay.
pub fn completion_of_turn(
    body: &[u8],
    model: &str,
    created: u64,
    mut capture: Option<&mut Capture>,
    image_output: &ImageOutput,
    is_server_tool: &dyn Fn(&str) -> bool,
) -> Result<ChatCompletion, GatewayError> {
    let response: Response = serde_json::from_slice(body).map_err(|e| {
        GatewayError::UpstreamProtocol(match e.classify() {
            Category::Data => "the response is not a JSON object".into(),
            _ => format!("the response is not JSON: {e}"),
        })
    })?;
    if let Some(error) = response.failure() {
        return Err(GatewayError::Upstream {
            status: 502,
            code: error.code,
            message: error
                .message
                .unwrap_or_else(|| "the model's provider failed".into()),
            provider_raw: None,
            retry_after: None,
            detail: None,
        });
    }
    let mut content = String::new();
    let mut refusal = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    let mut citations = Citations::default();
    let mut annotations = Vec::new();
    let mut marker_ids = Vec::new();
    let mut images = Vec::new();
    let mut image_number = 0;
    for item in response.output() {
        match OutputItem::of(item) {
            OutputItem::Message(message) => {
                annotations.extend(citations.new_ones(message.annotations()));
                content.push_str(&message.text());
                refusal.push_str(&message.refusal());
                // As in the stream: the phase marker follows the message's text.
                if let Some(marker) =
                    phase::marker_after_message(message.phase(), capture.is_some())
                {
                    content.push_str(&marker);
                }
            }
            OutputItem::Reasoning(item_reasoning) => {
                let text = item_reasoning.text();
                if !text.is_empty() {
                    if !reasoning.is_empty() {
                        reasoning.push_str("\n\n");
                    }
                    reasoning.push_str(&text);
                }
                let offset = content.len();
                if let Some(id) = capture
                    .as_deref_mut()
                    .and_then(|c| c.item_done(item, offset))
                {
                    marker_ids.push(id);
                }
            }
            OutputItem::FunctionCall(call) if is_server_tool(&call.name) => {
                marker_ids.extend(capture.as_deref_mut().map(|c| c.keep(item, content.len())));
            }
            OutputItem::Unknown
                if item.get("type").and_then(serde_json::Value::as_str)
                    == Some("function_call_output") =>
            {
                marker_ids.extend(capture.as_deref_mut().map(|c| c.keep(item, content.len())));
            }
            OutputItem::FunctionCall(call) => tool_calls.push(ToolCall::function(
                &call.call_id,
                &call.name,
                &call.arguments,
            )),
            OutputItem::Image(call) => {
                image_number += 1;
                let shown = image_output.show(&call, image_number);
                if let Some(text) = shown.text {
                    if !content.is_empty() {
                        content.push_str("\n\n");
                    }
                    content.push_str(&text);
                }
                images.extend(shown.image);
            }
            OutputItem::WebSearch(_) | OutputItem::ServerTool(_) | OutputItem::Unknown => {}
        }
    }
    // The stored reasoning's markers end the text, as in the stream.
    let block = markers::marker_block(&marker_ids, &content);
    content.push_str(&block);
    let finish_reason = if response.status() == Some(Status::Incomplete) {
        FinishReason::cut_short(response.incomplete_reason())
    } else {
        FinishReason::whole(!tool_calls.is_empty())
    };
    let only_tool_calls = content.is_empty() && !tool_calls.is_empty();
    let non_empty = |text: String| (!text.is_empty()).then_some(text);
    let message = CompletionMessage {
        role: "assistant",
        content: (!only_tool_calls).then_some(content),
        reasoning: non_empty(reasoning.clone()),
        reasoning_content: non_empty(reasoning),
        refusal: non_empty(refusal),
        tool_calls,
        annotations,
        images,
    };
    Ok(ChatCompletion::new(
        response.id().unwrap_or("chatcmpl-orpipe").to_owned(),
        model.to_owned(),
        created,
        message,
        finish_reason,
        response.usage().map(Usage::from),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn fixture_body(text: &str) -> Vec<u8> {
        let wrapped: Value = serde_json::from_str(text).expect("fixture JSON");
        wrapped["body"].to_string().into_bytes()
    }

    fn complete(body: &[u8]) -> Value {
        serde_json::to_value(
            completion_from_response(body, "client/model", 9, None).expect("completion"),
        )
        .expect("JSON")
    }

    #[test]
    fn captured_reasoning_puts_its_marker_after_the_text_and_its_place_in_the_item() {
        let body = json!({"id": "resp_1", "status": "completed", "output": [
            {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAA", "summary": []},
            {"type": "message", "content": [{"type": "output_text", "text": "Answer."}]},
            {"type": "reasoning", "id": "rs_2", "summary": []}]});
        let mut capture = Capture::new(|| "01KB4Y1Q6ZC3N9TQ7R4X8W2M5H".into());
        let completion: Value = serde_json::to_value(
            completion_from_response(body.to_string().as_bytes(), "m", 1, Some(&mut capture))
                .expect("completion"),
        )
        .expect("JSON");
        assert_eq!(
            completion["choices"][0]["message"]["content"],
            "Answer.\n\n[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #\n"
        );
        assert_eq!(
            capture.captured()[0].item[crate::artifacts::capture::TEXT_OFFSET_FIELD],
            0,
            "the reasoning stood before the text"
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
        let usage = completion_from_response(&body, "client/model", 9, None)
            .expect("completion")
            .usage
            .expect("usage");
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
        use crate::pipeline::StreamPipeline;
        use crate::translate::to_chunks::{ChunkTranslator, StreamContext};
        let mut pipeline = StreamPipeline::new(ChunkTranslator::new(StreamContext {
            model: "client/model".into(),
            created: 9,
            fallback_id: "chatcmpl-fallback".into(),
            error_id: "e".into(),
            timestamp: "t".into(),
        }));
        let mut out = pipeline.push(body.as_bytes());
        out.append(&mut pipeline.finish());
        let frames = out.to_strings();
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

    #[test]
    fn a_turn_with_server_tools_keeps_their_items_where_they_stood_and_hides_them() {
        let body = json!({"id": "resp_1", "status": "completed", "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "Looking."}]},
            {"type": "function_call", "call_id": "c1", "name": "calc__add", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "5"},
            {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": "{}"},
            {"type": "message", "content": [{"type": "output_text", "text": " Five."}]}
        ]});
        let mut n = 0;
        let mut capture = Capture::new(move || {
            n += 1;
            format!("01KB4Y1Q6ZC3N9TQ7R4X8W2M{n:02}")
        });
        let completion = completion_of_turn(
            body.to_string().as_bytes(),
            "m",
            1,
            Some(&mut capture),
            &ImageOutput::default(),
            &|name| name.starts_with("calc__"),
        )
        .expect("completion");
        let json = serde_json::to_value(&completion).expect("JSON");
        let message = &json["choices"][0]["message"];
        let calls = message["tool_calls"].as_array().expect("tool calls");
        assert_eq!(calls.len(), 1, "only the client's call");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        let content = message["content"].as_str().expect("content");
        assert!(content.starts_with("Looking. Five."), "{content}");
        let kept = capture.into_captured();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].item["type"], "function_call");
        assert_eq!(kept[1].item["type"], "function_call_output");
        assert_eq!(
            kept[1].item[crate::artifacts::capture::TEXT_OFFSET_FIELD],
            json!("Looking.".len())
        );
        assert!(content.contains(&kept[1].id), "announced by its marker");
    }
}

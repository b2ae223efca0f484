//! A whole `chat.completion` → the Responses object orpipe's completion builder reads
//! (`to_completion`), so a non-streaming answer from `/chat/completions` gets the same
//! markers, reasoning capture, images and usage as one from `/responses`. Pure.

use super::chunk::{ChatChunk, entries, incomplete_reason, merge_details, responses_usage, text};
use super::stream::{image_item, reasoning_item};
use crate::errors::GatewayError;
use crate::responses::valid;
use serde_json::error::Category;
use serde_json::{Map, Value, json};

/// The Responses body (as JSON bytes) equivalent to the chat completion `body`.
pub fn response_from_chat_completion(body: &[u8]) -> Result<Vec<u8>, GatewayError> {
    let completion: ChatChunk = serde_json::from_slice(body).map_err(|e| {
        GatewayError::UpstreamProtocol(match e.classify() {
            Category::Data => "the chat completion is not a JSON object".into(),
            _ => format!("the chat completion is not JSON: {e}"),
        })
    })?;
    let id = completion.id().map(str::to_owned);
    if let Some(error) = valid(&completion.error) {
        let response = json!({"id": id, "status": "failed", "error": error, "output": []});
        return Ok(response.to_string().into_bytes());
    }
    let mut output = Vec::new();
    let choice = completion.choice();
    let message = choice.and_then(|c| valid(&c.message));
    if let Some(message) = message {
        let mut details = Vec::new();
        for entry in entries(&message.reasoning_details) {
            merge_details(&mut details, entry);
        }
        let reasoning = message.reasoning_text(&details.iter().collect::<Vec<_>>());
        if !reasoning.is_empty() || !details.is_empty() {
            let item_id = format!("rs_{}_0", id.as_deref().unwrap_or("chat"));
            output.push(reasoning_item(item_id, &reasoning, details));
        }
        let annotations: Vec<Value> = entries(&message.annotations)
            .filter_map(|a| a.to_responses())
            .collect();
        let mut content = vec![
            json!({"type": "output_text", "text": text(&message.content), "annotations": annotations}),
        ];
        let refusal = text(&message.refusal);
        if !refusal.is_empty() {
            content.push(json!({"type": "refusal", "refusal": refusal}));
        }
        output.push(json!({"type": "message", "role": "assistant", "status": "completed", "content": content}));
        for (position, call) in entries(&message.tool_calls).enumerate() {
            let function = valid(&call.function);
            output.push(json!({
                "type": "function_call",
                "call_id": call.call_id(position as u64),
                "name": function.map(|f| text(&f.name)).unwrap_or_default(),
                "arguments": function.map(|f| f.arguments()).unwrap_or_default(),
            }));
        }
        for (number, url) in entries(&message.images).filter_map(|i| i.url()).enumerate() {
            output.push(image_item(id.as_deref(), number as u64 + 1, url));
        }
    }
    let mut response = Map::new();
    response.insert("id".into(), json!(id));
    match choice
        .and_then(|c| c.finish_reason())
        .and_then(incomplete_reason)
    {
        Some(why) => {
            response.insert("status".into(), json!("incomplete"));
            response.insert("incomplete_details".into(), json!({"reason": why}));
        }
        None => {
            response.insert("status".into(), json!("completed"));
        }
    }
    response.insert("output".into(), Value::Array(output));
    if let Some(usage) = valid(&completion.usage) {
        response.insert("usage".into(), responses_usage(usage));
    }
    Ok(Value::Object(response).to_string().into_bytes())
}

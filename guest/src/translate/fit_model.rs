//! Fitting a translated Responses body to the model it is for: never send a model a
//! parameter, tool or input modality its catalog entry says it lacks.
//!
//! A step after `to_responses`, pure: the body and the model's `CatalogEntry` in, the
//! body changed in place and a note per change out (for the log). What is dropped is
//! what OpenRouter would drop or reject anyway (API.md §2.9); where dropping would
//! silently change the answer the client relies on, the request is refused instead:
//!
//! | the body has | the model lacks | then |
//! |---|---|---|
//! | `temperature`, `top_p`, `top_k`, `frequency_penalty`, `presence_penalty`, `top_logprobs`, `text.verbosity` | that name in `supported_parameters` | dropped (sampling hints) |
//! | function tools with `tool_choice` absent, `auto` or `none` | tool calling | tools, `tool_choice`, `parallel_tool_calls`, `max_tool_calls` dropped (the model may always answer without a tool) |
//! | function tools with `tool_choice` `required` or naming a tool | tool calling | 400 |
//! | `text.format` `json_object` / `json_schema` | `response_format` and `structured_outputs` | 400 |
//! | an image, audio or video part | that input modality | 400 |
//! | `reasoning` | reasoning (`reasoning` or `include_reasoning`) | dropped |
//! | `reasoning.effort` not among the model's listed efforts | — | the closest listed one (`efforts`) |
//! | `reasoning.max_tokens` | `supports_max_tokens` | dropped |
//! | `max_output_tokens` above the model's `max_completion_tokens` | — | capped |
//!
//! Files are not checked: OpenRouter parses PDFs for models without file input (its
//! `file-parser` plugin), which is also why the original pipe treats every model as
//! taking files. `openrouter:*` server tools run on OpenRouter and work with every model.
//! An empty `supported_parameters` list means the catalog does not say, and nothing is
//! dropped for it. A model the catalog does not know is sent the body as it is.

use super::efforts::closest_effort;
use crate::catalog::entry::{CatalogEntry, ReasoningControl};
use crate::errors::GatewayError;
use serde_json::{Map, Value};

/// Top-level sampling fields and the `supported_parameters` names that allow each.
const SAMPLING: &[(&str, &[&str])] = &[
    ("temperature", &["temperature"]),
    ("top_p", &["top_p"]),
    ("top_k", &["top_k"]),
    ("frequency_penalty", &["frequency_penalty"]),
    ("presence_penalty", &["presence_penalty"]),
    ("top_logprobs", &["top_logprobs", "logprobs"]),
];

/// Input part types that need an input modality, with how a person would name it.
const MODALITIES: &[(&str, &str, &str)] = &[
    ("input_image", "image", "images"),
    ("input_audio", "audio", "audio"),
    ("input_video", "video", "video"),
];

/// Fits `body` to `entry`; returns what was changed, one short note each.
pub fn fit_to_model(body: &mut Value, entry: &CatalogEntry) -> Result<Vec<String>, GatewayError> {
    let Some(body) = body.as_object_mut() else {
        return Ok(Vec::new());
    };
    let mut notes = Vec::new();
    check_modalities(body, entry)?;
    check_text_format(body, entry)?;
    fit_tools(body, entry, &mut notes)?;
    fit_sampling(body, entry, &mut notes);
    fit_reasoning(body, entry, &mut notes);
    cap_output(body, entry, &mut notes);
    Ok(notes)
}

fn check_modalities(body: &Map<String, Value>, entry: &CatalogEntry) -> Result<(), GatewayError> {
    let parts = body
        .get("input")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("content").and_then(Value::as_array))
        .flatten();
    let accepted = &entry.architecture.input_modalities;
    if accepted.is_empty() {
        // The catalog does not say what the model takes.
        return Ok(());
    }
    for part in parts {
        let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
        if let Some((_, modality, plural)) = MODALITIES.iter().find(|(t, _, _)| *t == kind)
            && !accepted.iter().any(|m| m == modality)
        {
            return Err(GatewayError::InvalidRequest(format!(
                "model `{}` does not take {plural} (it takes: {}); remove the {modality} or choose a model that accepts it",
                entry.id,
                accepted.join(", "),
            )));
        }
    }
    Ok(())
}

fn check_text_format(body: &Map<String, Value>, entry: &CatalogEntry) -> Result<(), GatewayError> {
    let format = body
        .get("text")
        .and_then(|t| t.pointer("/format/type"))
        .and_then(Value::as_str);
    let structured = matches!(format, Some("json_object" | "json_schema"));
    if structured && says_what_it_supports(entry) && !entry.capabilities().structured_outputs {
        return Err(GatewayError::InvalidRequest(format!(
            "model `{}` does not support `response_format` (structured output); remove it or choose a model that supports it",
            entry.id
        )));
    }
    Ok(())
}

fn fit_tools(
    body: &mut Map<String, Value>,
    entry: &CatalogEntry,
    notes: &mut Vec<String>,
) -> Result<(), GatewayError> {
    if entry.capabilities().tools || !says_what_it_supports(entry) {
        return Ok(());
    }
    let Some(Value::Array(tools)) = body.get("tools") else {
        return Ok(());
    };
    let is_function = |t: &Value| t.get("type").and_then(Value::as_str) == Some("function");
    if !tools.iter().any(is_function) {
        return Ok(());
    }
    let choice_allows_none = match body.get("tool_choice") {
        None | Some(Value::Null) => true,
        Some(Value::String(choice)) => choice == "auto" || choice == "none",
        Some(_) => false,
    };
    if !choice_allows_none {
        return Err(GatewayError::InvalidRequest(format!(
            "model `{}` does not support tool calling, and `tool_choice` requires a tool call; choose a model with tool support",
            entry.id
        )));
    }
    let kept: Vec<Value> = tools.iter().filter(|t| !is_function(t)).cloned().collect();
    notes.push("function tools dropped: the model has no tool calling".into());
    body.remove("parallel_tool_calls");
    if kept.is_empty() {
        body.remove("tools");
        body.remove("tool_choice");
        body.remove("max_tool_calls");
    } else {
        body.insert("tools".into(), Value::Array(kept));
    }
    Ok(())
}

fn fit_sampling(body: &mut Map<String, Value>, entry: &CatalogEntry, notes: &mut Vec<String>) {
    if !says_what_it_supports(entry) {
        return;
    }
    for (field, allowed_by) in SAMPLING {
        if body.contains_key(*field) && !allowed_by.iter().any(|p| entry.supports(p)) {
            body.remove(*field);
            notes.push(format!("`{field}` dropped: not supported by the model"));
        }
    }
    if let Some(Value::Object(text)) = body.get_mut("text")
        && text.contains_key("verbosity")
        && !entry.supports("verbosity")
    {
        text.remove("verbosity");
        notes.push("`text.verbosity` dropped: not supported by the model".into());
        if text.is_empty() {
            body.remove("text");
        }
    }
}

fn fit_reasoning(body: &mut Map<String, Value>, entry: &CatalogEntry, notes: &mut Vec<String>) {
    if !body.contains_key("reasoning") {
        return;
    }
    let caps = entry.capabilities();
    if entry.reasoning_control() == ReasoningControl::None {
        // Only a catalog that lists the model's parameters can say it does not reason.
        if says_what_it_supports(entry) {
            body.remove("reasoning");
            notes.push("`reasoning` dropped: the model does not reason".into());
        }
        return;
    }
    let Some(Value::Object(reasoning)) = body.get_mut("reasoning") else {
        return;
    };
    if let (Some(effort), Some(efforts)) = (
        reasoning.get("effort").and_then(Value::as_str),
        caps.reasoning_efforts.as_deref(),
    ) && !efforts.iter().any(|e| e.eq_ignore_ascii_case(effort))
        && let Some(closest) = closest_effort(effort, efforts)
    {
        notes.push(format!(
            "reasoning effort `{effort}` → `{closest}`: the closest the model accepts"
        ));
        reasoning.insert("effort".into(), Value::String(closest));
    }
    let no_budget = entry.reasoning.as_ref().and_then(|r| r.supports_max_tokens) == Some(false);
    if no_budget && reasoning.remove("max_tokens").is_some() {
        notes.push("`reasoning.max_tokens` dropped: the model takes no thinking budget".into());
    }
}

fn cap_output(body: &mut Map<String, Value>, entry: &CatalogEntry, notes: &mut Vec<String>) {
    let (Some(asked), Some(limit)) = (
        body.get("max_output_tokens").and_then(Value::as_u64),
        entry.max_completion_tokens().filter(|l| *l > 0),
    ) else {
        return;
    };
    if asked > limit {
        body.insert("max_output_tokens".into(), Value::from(limit));
        notes.push(format!(
            "`max_output_tokens` {asked} capped at the model's {limit}"
        ));
    }
}

/// Whether the catalog lists the model's parameters at all.
fn says_what_it_supports(entry: &CatalogEntry) -> bool {
    !entry.supported_parameters.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(id: &str) -> CatalogEntry {
        crate::catalog::entry::sample_entries()
            .into_iter()
            .find(|m| m.id == id)
            .expect("in the sample")
    }

    fn user(parts: Value) -> Value {
        json!([{"type": "message", "role": "user", "content": parts}])
    }

    #[test]
    fn unsupported_sampling_parameters_are_dropped_and_supported_ones_kept() {
        let mut body = json!({
            "model": "openai/gpt-4o-mini", "input": user(json!([{"type": "input_text", "text": "hi"}])),
            "temperature": 0.3, "top_p": 0.9, "top_k": 40.0, "top_logprobs": 2,
            "text": {"verbosity": "low"}
        });
        let notes = fit_to_model(&mut body, &sample("openai/gpt-4o-mini")).expect("fits");
        assert_eq!(body["temperature"], 0.3);
        assert_eq!(body["top_p"], 0.9);
        assert_eq!(body["top_logprobs"], 2);
        assert!(body.get("top_k").is_none(), "gpt-4o-mini lists no top_k");
        assert!(
            body.get("text").is_none(),
            "verbosity unsupported, text empty"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn media_a_model_cannot_take_is_refused_and_files_are_not() {
        let r1 = sample("deepseek/deepseek-r1-0528:free");
        let image =
            json!([{"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}]);
        let mut body = json!({"input": user(image.clone())});
        let error = fit_to_model(&mut body, &r1).expect_err("text-only model");
        assert_eq!(error.http_status(), 400);
        assert!(
            error.to_string().contains("does not take images"),
            "{error}"
        );
        assert!(
            fit_to_model(
                &mut json!({"input": user(image)}),
                &sample("openai/gpt-4o-mini")
            )
            .is_ok()
        );
        let audio =
            json!([{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]);
        assert!(
            fit_to_model(
                &mut json!({"input": user(audio.clone())}),
                &sample("openai/gpt-4o-mini")
            )
            .is_err()
        );
        assert!(
            fit_to_model(
                &mut json!({"input": user(audio)}),
                &sample("google/gemini-2.5-flash")
            )
            .is_ok()
        );
        let video = json!([{"type": "input_video", "video_url": "https://x/v.mp4"}]);
        assert!(fit_to_model(&mut json!({"input": user(video)}), &r1).is_err());
        let file = json!([{"type": "input_file", "file_data": "data:application/pdf;base64,AAAA"}]);
        assert!(fit_to_model(&mut json!({"input": user(file)}), &r1).is_ok());
    }

    #[test]
    fn tools_are_dropped_when_optional_and_refused_when_required() {
        let r1 = sample("deepseek/deepseek-r1-0528:free");
        let tools = json!([
            {"type": "function", "name": "f", "parameters": {"type": "object"}},
            {"type": "openrouter:web_search"}
        ]);
        let mut body = json!({"tools": tools, "tool_choice": "auto", "parallel_tool_calls": true});
        let notes = fit_to_model(&mut body, &r1).expect("auto allows answering without");
        assert_eq!(body["tools"], json!([{"type": "openrouter:web_search"}]));
        assert_eq!(body["tool_choice"], "auto", "server tools remain");
        assert!(body.get("parallel_tool_calls").is_none());
        assert_eq!(notes.len(), 1);

        let mut only_functions =
            json!({"tools": [{"type": "function", "name": "f"}], "max_tool_calls": 2});
        fit_to_model(&mut only_functions, &r1).expect("fits");
        assert_eq!(only_functions, json!({}));

        for choice in [json!("required"), json!({"type": "function", "name": "f"})] {
            let mut body =
                json!({"tools": [{"type": "function", "name": "f"}], "tool_choice": choice});
            assert_eq!(
                fit_to_model(&mut body, &r1)
                    .expect_err("needs a call")
                    .http_status(),
                400
            );
        }
        let mut kept =
            json!({"tools": [{"type": "function", "name": "f"}], "tool_choice": "required"});
        fit_to_model(&mut kept, &sample("openai/gpt-4o-mini")).expect("has tools");
        assert_eq!(kept["tool_choice"], "required");
    }

    #[test]
    fn structured_output_to_a_model_without_it_is_refused() {
        let r1 = sample("deepseek/deepseek-r1-0528:free");
        let mut body = json!({"text": {"format": {"type": "json_object"}}});
        assert_eq!(
            fit_to_model(&mut body, &r1)
                .expect_err("refused")
                .http_status(),
            400
        );
        let mut plain = json!({"text": {"format": {"type": "text"}}});
        assert!(fit_to_model(&mut plain, &r1).is_ok());
        assert!(fit_to_model(&mut body, &sample("openai/gpt-4o-mini")).is_ok());
    }

    #[test]
    fn reasoning_is_dropped_clamped_or_kept_as_the_model_allows() {
        let mut body = json!({"reasoning": {"effort": "high", "summary": "auto"}});
        fit_to_model(&mut body, &sample("openai/gpt-4o-mini")).expect("fits");
        assert!(
            body.get("reasoning").is_none(),
            "gpt-4o-mini does not reason"
        );

        let mut body = json!({"reasoning": {"effort": "xhigh", "max_tokens": 100}});
        fit_to_model(&mut body, &sample("anthropic/claude-sonnet-4.5")).expect("fits");
        assert_eq!(
            body["reasoning"],
            json!({"effort": "xhigh", "max_tokens": 100}),
            "efforts not listed: any; budgets supported"
        );

        let mut entry = sample("anthropic/claude-sonnet-4.5");
        entry.reasoning = serde_json::from_value(json!({
            "supported_efforts": ["low", "medium", "high"], "supports_max_tokens": false
        }))
        .expect("spec");
        let notes = fit_to_model(&mut body, &entry).expect("fits");
        assert_eq!(body["reasoning"], json!({"effort": "high"}));
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn a_model_that_only_takes_include_reasoning_keeps_its_reasoning_switch() {
        let switch: CatalogEntry = serde_json::from_value(
            json!({"id": "o/s", "supported_parameters": ["include_reasoning", "temperature"]}),
        )
        .expect("entry");
        let mut body = json!({"reasoning": {"enabled": true, "summary": "auto"}});
        let notes = fit_to_model(&mut body, &switch).expect("fits");
        assert_eq!(
            body["reasoning"],
            json!({"enabled": true, "summary": "auto"})
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn output_is_capped_at_the_models_limit() {
        let mut body = json!({"max_output_tokens": 100000});
        fit_to_model(&mut body, &sample("openai/gpt-4o-mini")).expect("fits");
        assert_eq!(body["max_output_tokens"], 16384);
        let mut small = json!({"max_output_tokens": 50});
        fit_to_model(&mut small, &sample("openai/gpt-4o-mini")).expect("fits");
        assert_eq!(small["max_output_tokens"], 50);
        let mut unknown_limit = json!({"max_output_tokens": 100000});
        fit_to_model(&mut unknown_limit, &sample("openrouter/auto")).expect("fits");
        assert_eq!(unknown_limit["max_output_tokens"], 100000);
    }

    #[test]
    fn an_entry_that_lists_no_parameters_drops_nothing() {
        let entry: CatalogEntry =
            serde_json::from_value(json!({"id": "new/model"})).expect("entry");
        let original = json!({
            "temperature": 1.0, "reasoning": {"effort": "low"},
            "tools": [{"type": "function", "name": "f"}], "tool_choice": "required",
            "text": {"format": {"type": "json_object"}, "verbosity": "low"}
        });
        let mut body = original.clone();
        assert_eq!(
            fit_to_model(&mut body, &entry).expect("fits"),
            Vec::<String>::new()
        );
        assert_eq!(body, original);
        let mut not_an_object = json!([1, 2]);
        assert!(fit_to_model(&mut not_an_object, &entry).is_ok());
    }
}

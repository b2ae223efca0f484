//! Whole-request tests: the entry points, every parameter (golden table), the acceptance
//! cases of FEATURES §11.2 that concern whole requests, and the "everything" request.

use super::*;
use serde_json::json;

fn translate(request: Value) -> Result<TranslatedRequest, GatewayError> {
    translate_request(request.to_string().as_bytes())
}

fn user_text(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

#[test]
fn roles_become_input_items_in_order_with_text_kept_exactly() {
    let t = translate(json!({
        "model": "openai/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "  Be brief.\n"},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "How far is the moon?"}
        ]
    }))
    .expect("valid");
    assert_eq!(t.model, "openai/gpt-4o-mini");
    assert!(!t.stream);
    assert_eq!(
        t.body,
        json!({
            "model": "openai/gpt-4o-mini",
            "stream": false,
            "input": [
                {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "  Be brief.\n"}]},
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Use metric."}]},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Hi"}, {"type": "input_text", "text": "there"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello!"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "How far is the moon?"}]}
            ]
        })
    );
}

/// The body tests/e2e/spine.rs expects for a plain text request stays exactly this.
#[test]
fn a_plain_text_request_translates_to_the_minimal_body() {
    let t = translate(
        json!({"model": "openai/gpt-4o-mini", "stream": true, "temperature": 0.2, "max_tokens": 50,
        "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .expect("valid");
    assert_eq!(
        t.body,
        json!({"model": "openai/gpt-4o-mini", "stream": true, "temperature": 0.2, "max_output_tokens": 50,
            "input": [user_text("Hi")]})
    );
}

#[test]
fn sampling_and_length_parameters_are_renamed_and_nulls_never_sent() {
    let t = translate(json!({
        "model": "m", "stream": true, "temperature": 0.7, "top_p": 0.9,
        "max_tokens": 100, "max_completion_tokens": 64, "user": "u-1",
        "messages": [{"role": "user", "content": "x"}],
        "presence_penalty": null, "reasoning_effort": null, "tools": null, "response_format": null
    }))
    .expect("valid");
    assert!(t.stream);
    assert_eq!(t.body["temperature"], 0.7);
    assert_eq!(t.body["top_p"], 0.9);
    assert_eq!(
        t.body["max_output_tokens"], 64,
        "max_completion_tokens wins"
    );
    assert_eq!(t.body["user"], "u-1");
    assert!(t.body.get("max_tokens").is_none());
    assert!(
        t.body
            .as_object()
            .expect("object")
            .values()
            .all(|v| !v.is_null())
    );
}

/// Golden table: (extra request fields, the fields they add to the body).
#[test]
fn every_parameter_has_its_exact_responses_form() {
    let long_user = "u".repeat(300);
    let cases = [
        (
            json!({"frequency_penalty": 0.5, "presence_penalty": -1}),
            json!({"frequency_penalty": 0.5, "presence_penalty": -1}),
        ),
        (json!({"top_k": 40}), json!({"top_k": 40.0})),
        (json!({"top_k": "40"}), json!({"top_k": 40.0})),
        (json!({"max_tokens": 10}), json!({"max_output_tokens": 10})),
        (
            json!({"reasoning_effort": "high"}),
            json!({"reasoning": {"effort": "high", "summary": "auto"}}),
        ),
        (
            json!({"reasoning_effort": "none"}),
            json!({"reasoning": {"effort": "none"}}),
        ),
        (
            json!({"reasoning": {"effort": "low", "summary": "detailed", "max_tokens": 2048, "foo": 1}, "reasoning_effort": "high"}),
            json!({"reasoning": {"effort": "low", "summary": "detailed", "max_tokens": 2048}}),
        ),
        (
            json!({"reasoning": {"enabled": true}}),
            json!({"reasoning": {"enabled": true, "summary": "auto"}}),
        ),
        (
            json!({"reasoning_effort": "medium", "include_reasoning": false}),
            json!({"reasoning": {"effort": "medium", "exclude": true}}),
        ),
        (
            json!({"response_format": {"type": "json_object"}}),
            json!({"text": {"format": {"type": "json_object"}}}),
        ),
        (
            json!({"response_format": {"type": "text"}}),
            json!({"text": {"format": {"type": "text"}}}),
        ),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": true, "description": "A person",
                "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": false}}}}),
            json!({"text": {"format": {"type": "json_schema", "name": "person", "strict": true, "description": "A person",
                "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": false}}}}),
        ),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}}),
            json!({"text": {"format": {"type": "json_schema", "name": "response", "schema": {"type": "object"}}}}),
        ),
        (
            json!({"verbosity": "low"}),
            json!({"text": {"verbosity": "low"}}),
        ),
        (
            json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
                   "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": false}),
            json!({"tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}],
                   "tool_choice": {"type": "function", "name": "f"}, "parallel_tool_calls": false}),
        ),
        (
            json!({"tools": [], "tool_choice": "none"}),
            json!({"tool_choice": "none"}),
        ),
        (
            json!({"web_search_options": {"search_context_size": "low"}}),
            json!({"tools": [{"type": "openrouter:web_search", "parameters": {"search_context_size": "low"}}]}),
        ),
        (json!({"user": long_user}), json!({"user": "u".repeat(128)})),
        (
            json!({"user": {"id": "owui-1", "name": "Ada"}}),
            json!({"user": "owui-1"}),
        ),
        (
            json!({"session_id": "s-1", "metadata": {"chat_id": "c1"}}),
            json!({"session_id": "s-1", "metadata": {"chat_id": "c1"}}),
        ),
        (json!({"metadata": {"n": 5}}), json!({})),
        (
            json!({"provider": {"order": ["openai"], "zdr": true}, "models": ["a/b", "c/d"], "plugins": [{"id": "web", "max_results": 3}]}),
            json!({"provider": {"order": ["openai"], "zdr": true}, "models": ["a/b", "c/d"], "plugins": [{"id": "web", "max_results": 3}]}),
        ),
        (
            json!({"transforms": ["middle-out"]}),
            json!({"plugins": [{"id": "context-compression"}]}),
        ),
        (
            json!({"transforms": []}),
            json!({"plugins": [{"id": "context-compression", "enabled": false}]}),
        ),
        (
            json!({"logprobs": true, "top_logprobs": 3}),
            json!({"top_logprobs": 3}),
        ),
        (json!({"logprobs": false, "top_logprobs": 3}), json!({})),
        (
            json!({"instructions": "Be kind.", "include": ["reasoning.encrypted_content"], "safety_identifier": "h",
                   "prompt_cache_key": "k", "service_tier": "flex", "truncation": "auto", "max_tool_calls": 4,
                   "cache_control": {"type": "ephemeral"}, "trace": {"trace_id": "t"},
                   "stop_server_tools_when": [{"type": "max_cost", "max_cost_in_dollars": 1}]}),
            json!({"instructions": "Be kind.", "include": ["reasoning.encrypted_content"], "safety_identifier": "h",
                   "prompt_cache_key": "k", "service_tier": "flex", "truncation": "auto", "max_tool_calls": 4,
                   "cache_control": {"type": "ephemeral"}, "trace": {"trace_id": "t"},
                   "stop_server_tools_when": [{"type": "max_cost", "max_cost_in_dollars": 1}]}),
        ),
        (
            json!({"n": 1, "stream_options": {"include_usage": true}, "seed": 7, "logit_bias": {"50256": -100}, "min_p": 0.1,
                   "top_a": 0.2, "repetition_penalty": 1.1, "prediction": {"type": "content", "content": "x"}, "store": true,
                   "usage": {"include": true}, "modalities": ["text"], "stop": [], "functions": [], "function_call": null,
                   "audio": null, "route": "fallback", "something_new": 1}),
            json!({}),
        ),
    ];
    for (extra, added) in cases {
        let mut request = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        let (Some(request_fields), Some(extra_fields)) =
            (request.as_object_mut(), extra.as_object())
        else {
            panic!("objects");
        };
        request_fields.extend(extra_fields.clone());
        let mut expected = json!({"model": "m", "stream": false, "input": [user_text("x")]});
        if let (Some(expected_fields), Some(added_fields)) =
            (expected.as_object_mut(), added.as_object())
        {
            expected_fields.extend(added_fields.clone());
        }
        assert_eq!(translate(request).expect("valid").body, expected, "{extra}");
    }
}

#[test]
fn bad_requests_say_which_field_is_wrong() {
    let message = json!([{"role": "user", "content": "x"}]);
    let with = |extra: Value| {
        let mut request = json!({"model": "m", "messages": message.clone()});
        if let (Some(fields), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
            fields.extend(extra.clone());
        }
        request
    };
    let cases = [
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            "`model`",
        ),
        (json!({"model": "m"}), "`messages`"),
        (json!({"model": "m", "messages": []}), "`messages`"),
        (
            json!({"model": "m", "messages": [{"content": "x"}]}),
            "messages[0]",
        ),
        (
            json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
            "wizard",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}),
            "messages[0].content[0]",
        ),
        (
            json!({"model": "m", "messages": [{"role": "tool", "content": "x", "tool_call_id": "c"}]}),
            "nothing to send",
        ),
        (with(json!({"temperature": "hot"})), "`temperature`"),
        (with(json!({"max_tokens": -1})), "`max_tokens`"),
        (with(json!({"stream": "yes"})), "`stream`"),
        (with(json!({"n": 2})), "`n`"),
        (with(json!({"n": "1"})), "`n`"),
        (with(json!({"stop": ["\n"]})), "`stop`"),
        (with(json!({"stop": "END"})), "`stop`"),
        (
            with(json!({"audio": {"voice": "alloy", "format": "wav"}})),
            "`audio`",
        ),
        (
            with(json!({"modalities": ["text", "audio"]})),
            "`modalities`",
        ),
        (with(json!({"functions": [{"name": "f"}]})), "`functions`"),
        (with(json!({"function_call": "auto"})), "`function_call`"),
        (with(json!({"top_k": "many"})), "`top_k`"),
        (with(json!({"reasoning_effort": "extreme"})), "effort"),
        (with(json!({"reasoning": {"summary": "long"}})), "summary"),
        (with(json!({"reasoning": "high"})), "`reasoning`"),
        (
            with(json!({"reasoning": {"max_tokens": "lots"}})),
            "`reasoning.max_tokens`",
        ),
        (
            with(json!({"response_format": {"type": "xml"}})),
            "`response_format.type`",
        ),
        (
            with(json!({"response_format": {"type": "json_schema"}})),
            "`response_format.json_schema`",
        ),
        (
            with(json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}})),
            "schema",
        ),
        (with(json!({"verbosity": "chatty"})), "`verbosity`"),
        (with(json!({"tools": [{"type": "function"}]})), "tools[0]"),
        (with(json!({"tool_choice": "always"})), "`tool_choice`"),
        (
            with(json!({"parallel_tool_calls": "yes"})),
            "`parallel_tool_calls`",
        ),
        (with(json!({"user": 5})), "`user`"),
        (with(json!({"metadata": "x"})), "`metadata`"),
        (with(json!({"provider": []})), "`provider`"),
        (with(json!({"models": "a/b"})), "`models`"),
        (with(json!({"plugins": [{"engine": "x"}]})), "`plugins`"),
        (with(json!({"top_logprobs": 50})), "`top_logprobs`"),
        (with(json!({"truncation": "sometimes"})), "`truncation`"),
        (
            with(json!({"web_search_options": true})),
            "`web_search_options`",
        ),
    ];
    for (request, needle) in cases {
        let error = translate(request.clone()).expect_err("invalid");
        assert_eq!(error.http_status(), 400);
        assert!(error.to_string().contains(needle), "{request}: {error}");
    }
    for raw in [&b"{not json"[..], b"[1,2]", b""] {
        assert_eq!(
            translate_request(raw).expect_err("invalid").http_status(),
            400
        );
    }
}

#[test]
fn the_json_entry_point_returns_the_body_or_the_reason() {
    let ok = translate_request_json(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        .expect("ok");
    assert!(ok.contains("\"input_text\""));
    assert!(
        translate_request_json("{}")
            .expect_err("invalid")
            .contains("model")
    );
}

/// Tool history through the whole pipeline: ids are minimized away and orphans repaired.
#[test]
fn tool_history_reaches_the_wire_minimized_and_paired() {
    let t = translate(json!({"model": "m", "messages": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking both.", "tool_calls": [
            {"id": "call_p", "type": "function", "function": {"name": "w", "arguments": "{\"c\":\"Paris\"}"}},
            {"id": "call_r", "type": "function", "function": {"name": "w", "arguments": "{\"c\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "call_p", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_x", "content": "stray"},
        {"role": "assistant", "content": "Paris is 18C."},
        {"role": "user", "content": "Thanks"}]}))
    .expect("valid");
    assert_eq!(
        t.body["input"],
        json!([user_text("Weather in Paris and Rome?"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking both."}]},
            {"type": "function_call", "call_id": "call_p", "name": "w", "arguments": "{\"c\":\"Paris\"}"},
            {"type": "function_call", "call_id": "call_r", "name": "w", "arguments": "{\"c\":\"Rome\"}"},
            {"type": "function_call_output", "call_id": "call_r", "output": pairs::ORPHAN_STUB_OUTPUT},
            {"type": "function_call_output", "call_id": "call_p", "output": "18C"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris is 18C."}]},
            user_text("Thanks")])
    );
}

/// FEATURES §11.2 C9, adapted to orpipe: no catalog or valves are involved here, so the
/// client's `max_tokens` is kept, no reasoning defaults, plugin or session id are injected,
/// the model id is not mapped (chat.rs does that), and `n: 2` is refused rather than
/// dropped (with `n: 1` the rest translates as below); the client's `user` is kept.
#[test]
fn c9_full_open_webui_body() {
    let mut request = json!({"model": "openai/gpt-5", "stream": true, "temperature": 0.7, "max_tokens": 2000,
        "reasoning_effort": null, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "Look up",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}}, "n": 2, "user": "spoof"});
    let error = translate(request.clone()).expect_err("n = 2 is refused");
    assert!(error.to_string().contains("`n`"), "{error}");
    request["n"] = json!(1);
    assert_eq!(
        translate(request).expect("valid").body,
        json!({"model": "openai/gpt-5", "input": [
                {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
                user_text("Hi")],
            "stream": true, "temperature": 0.7, "max_output_tokens": 2000,
            "tool_choice": {"type": "function", "name": "lookup"},
            "tools": [{"type": "function", "name": "lookup", "description": "Look up",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}],
            "user": "spoof"})
    );
}

/// FEATURES §11.2 C10 (allow-list), adapted: the same fields arrive as a Chat Completions
/// request. `top_k` becomes a float, `reasoning` keeps its known keys, bad metadata pairs
/// are left out, `seed`, `verbosity: "max"` at the top level… are handled as documented:
/// `verbosity` becomes `text.verbosity` (the Responses home of the field), `cache_control`
/// is kept (orpipe adds none of its own), and `temperature: null` is never sent.
#[test]
fn c10_allow_list() {
    let t = translate(json!({"model": "openai/gpt-5", "messages": [{"role": "user", "content": "x"}], "stream": true,
        "temperature": null, "top_k": "40", "reasoning": {"effort": "high", "summary": "auto", "enabled": true, "foo": 1},
        "verbosity": "max", "metadata": {"ok": "v", "bad[key]": "x", "n": 5}, "seed": 7, "text": {},
        "response_format": {"type": "json_object"}, "unknown_field": 1, "cache_control": {"type": "ephemeral"}}))
    .expect("valid");
    assert_eq!(
        t.body,
        json!({"model": "openai/gpt-5", "input": [user_text("x")], "stream": true, "top_k": 40.0,
            "reasoning": {"effort": "high", "enabled": true, "summary": "auto"}, "metadata": {"ok": "v"},
            "text": {"format": {"type": "json_object"}, "verbosity": "max"}, "cache_control": {"type": "ephemeral"}})
    );
}

/// FEATURES §11.2 C26: the original's fallback and provider-routing custom parameters.
#[test]
fn c26_model_fallback_and_provider_routing_params() {
    let t = translate(
        json!({"model": "openai/gpt-5", "messages": [{"role": "user", "content": "x"}],
        "models": ["a/b"], "model_fallback": "x/y, a/b ,z/w",
        "provider": {"order": ["openai"]}, "openrouter_provider_order": "Together, openai",
        "openrouter_provider_ignore": "azure,Bad Slug!"}),
    )
    .expect("valid");
    assert_eq!(t.body["models"], json!(["a/b", "x/y", "z/w"]));
    assert_eq!(
        t.body["provider"],
        json!({"order": ["openai", "together"], "ignore": ["azure"]})
    );
    for key in [
        "model_fallback",
        "openrouter_provider_order",
        "openrouter_provider_ignore",
    ] {
        assert!(t.body.get(key).is_none(), "{key} is not sent");
    }
}

/// tests/fixtures/chat_request_full.json is the Chat Completions equivalent of OpenRouter's
/// "everything" request (tests/fixtures/request_full.json, copied from API.md's fixtures).
/// Its translation has every field of that request, in the shape API.md §2 documents,
/// except what Chat Completions cannot express: the replayed reasoning item (artifact
/// replay is a later step), `store` (orpipe never sends it: OpenRouter is stateless), and
/// the replay ids/status of output items (the sanitizer sends tool items minimized).
#[test]
fn the_everything_request_has_the_documented_responses_shape() {
    let chat = include_str!("../../../../tests/fixtures/chat_request_full.json");
    let fixture: Value =
        serde_json::from_str(include_str!("../../../../tests/fixtures/request_full.json"))
            .expect("fixture");
    let reference = fixture["body"].as_object().expect("body").clone();
    let translated = translate_request(chat.as_bytes()).expect("valid");
    assert!(translated.stream);
    let body = translated.body.as_object().expect("object").clone();

    let mut expected_keys: Vec<&String> = reference.keys().filter(|k| *k != "store").collect();
    let mut keys: Vec<&String> = body.keys().collect();
    expected_keys.sort();
    keys.sort();
    assert_eq!(
        keys, expected_keys,
        "the same top-level fields, `store` aside"
    );
    for (key, value) in &reference {
        if key != "input" && key != "store" {
            assert_eq!(
                body.get(key),
                Some(value),
                "`{key}` as in request_full.json"
            );
        }
    }

    let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    assert_eq!(
        body.get("input"),
        Some(&json!([
            {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Answer in English."}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What's in this image, this PDF and this clip? Then check the weather in Boston."},
                {"type": "input_image", "detail": "auto", "image_url": png},
                {"type": "input_file", "filename": "report.pdf",
                 "file_data": "data:application/pdf;base64,JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg=="},
                {"type": "input_file", "filename": "spec.pdf", "file_url": "https://example.com/spec.pdf"},
                {"type": "input_audio", "input_audio": {"data": "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA", "format": "mp3"}}]},
            {"type": "function_call", "call_id": "toolu_01A9xQ3mZ7kLp2Vt8Rc5Nw4Y", "name": "get_weather",
             "arguments": "{\"location\":\"Boston, MA\"}"},
            {"type": "function_call_output", "call_id": "toolu_01A9xQ3mZ7kLp2Vt8Rc5Nw4Y",
             "output": "{\"temperature_f\":72,\"conditions\":\"sunny\"}"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It's 72°F and sunny in Boston."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Is that good picnic weather?"}]}
        ]))
    );
    // Each translated item matches the reference item of the same kind field for field,
    // apart from the replay-only fields (`id`, `status`, `annotations`) and the string
    // shorthand the reference uses for the system message.
    let reference_items: Vec<&Value> = reference["input"]
        .as_array()
        .expect("input")
        .iter()
        .filter(|item| item["type"] != "reasoning")
        .collect();
    let items = body.get("input").and_then(Value::as_array).expect("input");
    assert_eq!(items.len(), reference_items.len());
    for (ours, theirs) in items.iter().zip(reference_items) {
        assert_eq!(ours["type"], theirs["type"]);
        assert_eq!(ours.get("role"), theirs.get("role"));
        for key in ["call_id", "name", "arguments", "output"] {
            assert_eq!(ours.get(key), theirs.get(key), "{key} of {theirs}");
        }
        if let (Some(Value::Array(ours)), Some(Value::Array(theirs))) =
            (ours.get("content"), theirs.get("content"))
        {
            for (part, reference_part) in ours.iter().zip(theirs) {
                let mut reference_part = reference_part.clone();
                if let Some(fields) = reference_part.as_object_mut() {
                    fields.remove("annotations");
                }
                assert_eq!(part, &reference_part);
            }
        }
    }
}

/// C3 (replay at marker positions) followed by C4's sanitizer: what is finally sent.
#[test]
fn c3_stored_items_are_replayed_where_their_markers_stood() {
    let request = json!({"model": "openai/gpt-5", "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "id": "msg-a1", "content": "Checking.\n\n[01J2VVZBDQTP1ZQJ8DSN]: #\n[01J2VVZBDQTP1ZQJ8DSP]: #\n[01J2VVZBDQTP1ZQJ8DSQ]: #\nIt is -2C with snow in Oslo.\n"},
        {"role": "user", "content": "Thanks [01J2VVZBDQTP1ZQJ8DSN]: #\n[01J2VVZBDQTP1ZQJ8DSN]: #\n"}]});
    let stored = [
        (
            "01J2VVZBDQTP1ZQJ8DSN",
            json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need weather"}], "encrypted_content": "gAAAA..."}),
        ),
        (
            "01J2VVZBDQTP1ZQJ8DSP",
            json!({"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}),
        ),
        (
            "01J2VVZBDQTP1ZQJ8DSQ",
            json!({"type": "function_call_output", "call_id": "call_9", "output": "-2C snow"}),
        ),
    ];
    let replay = Replay {
        items: stored
            .into_iter()
            .filter_map(|(id, item)| {
                Some((id.to_owned(), crate::artifacts::replay::normalize(item)?))
            })
            .collect(),
        phases: false,
    };
    let Value::Object(request) = request else {
        unreachable!()
    };
    let t = translate_request_with(request, &replay).expect("valid");
    assert_eq!(
        t.body["input"],
        json!([user_text("Weather in Oslo?"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need weather"}], "encrypted_content": "gAAAA...", "content": [], "status": "completed"},
            {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
            {"type": "function_call_output", "call_id": "call_9", "output": "-2C snow"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It is -2C with snow in Oslo."}]},
            // A user's marker line is removed; an inline one is just text.
            user_text("Thanks [01J2VVZBDQTP1ZQJ8DSN]: #\n")])
    );
}

/// FEATURES §5.6: orpipe's markers end the answer in one block; each stored item goes back
/// where it finished in the text (its stored offset), and the offset never goes upstream.
#[test]
fn items_of_a_trailing_marker_block_go_back_to_their_place_in_the_text() {
    let text = "Checking.\nIt is -2C.\n\n[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #\n\n[01KB4Y1Q6ZC3N9TQ7R4X8W2M5J]: #\n";
    let request = json!({"model": "openai/gpt-5", "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": text},
        {"role": "user", "content": "Thanks"}]});
    let stored = [
        // Finished after "Checking.\n" (10 bytes) and before any text.
        (
            "01KB4Y1Q6ZC3N9TQ7R4X8W2M5J",
            json!({"type": "reasoning", "id": "rs_2", "encrypted_content": "B", "orpipe_text_offset": 10}),
        ),
        (
            "01KB4Y1Q6ZC3N9TQ7R4X8W2M5H",
            json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "A", "orpipe_text_offset": 0}),
        ),
    ];
    let replay = Replay {
        items: stored
            .into_iter()
            .filter_map(|(id, item)| {
                Some((id.to_owned(), crate::artifacts::replay::normalize(item)?))
            })
            .collect(),
        phases: false,
    };
    let Value::Object(request) = request else {
        unreachable!()
    };
    let t = translate_request_with(request, &replay).expect("valid");
    let reasoning = |id: &str, content: &str| {
        json!({"type": "reasoning", "id": id, "encrypted_content": content,
            "summary": [], "content": [], "status": "completed"})
    };
    assert_eq!(
        t.body["input"],
        json!([user_text("Weather?"),
            reasoning("rs_1", "A"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
            reasoning("rs_2", "B"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It is -2C."}]},
            user_text("Thanks")])
    );
    assert!(!t.body.to_string().contains("orpipe_text_offset"));
}

#[test]
fn markers_without_a_stored_item_are_dropped_and_never_reach_the_model() {
    let t = translate(json!({"model": "m", "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #\n\nHello\n[P:final_answer]: #\n"}]},
        {"role": "assistant", "content": "[01KB4Y1Q6ZC3N9TQ7R4X8W2M5J]: #\n", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        {"role": "system", "content": "[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #\nRules"}]}))
    .expect("valid");
    let sent = t.body["input"].to_string();
    assert!(!sent.contains("]: #"), "{sent}");
    assert_eq!(
        t.body["input"],
        json!([user_text("Hi"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
            {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Rules"}]}])
    );
}

#[test]
fn c5_phase_markers_split_messages_for_phase_models_only() {
    let request = |model: &str| {
        json!({"model": model, "messages": [
            {"role": "assistant", "content": "Thinking...\n[P:commentary]: #\nDone.\n[P:final_answer]: #\n"},
            {"role": "user", "content": "ok"}]})
    };
    let Value::Object(phase_request) = request("openai/gpt-5.4") else {
        unreachable!()
    };
    let replay = Replay {
        phases: true,
        ..Replay::default()
    };
    let t = translate_request_with(phase_request, &replay).expect("valid");
    assert_eq!(
        t.body["input"],
        json!([{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Thinking..."}], "phase": "commentary"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done."}], "phase": "final_answer"},
            user_text("ok")])
    );
    let t = translate(request("openai/gpt-5")).expect("valid");
    assert_eq!(
        t.body["input"],
        json!([{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Thinking...\nDone."}]},
            user_text("ok")])
    );
}

//! Whole turns driven the way the component will drive them (the module doc's steps),
//! with made-up responses and tool results in place of OpenRouter and the MCP servers.

use super::*;
use crate::mcp::tools::ToolOutput;
use crate::openai::Usage;
use serde_json::{Map, Value, json};

fn is_server(name: &str) -> bool {
    name.starts_with("docs__")
}

fn call(call_id: &str, name: &str) -> Value {
    json!({"type": "function_call", "call_id": call_id, "name": name, "arguments": "{}"})
}

fn answer(text: &str) -> Value {
    json!({"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": text}]})
}

fn usage(tokens: u64, cost: f64) -> Usage {
    Usage {
        prompt_tokens: tokens,
        completion_tokens: 1,
        total_tokens: tokens.saturating_add(1),
        cost: Some(cost),
        ..Usage::default()
    }
}

/// Runs `calls` in batches the way the component will, finishing each batch's calls in
/// reverse order; the call named `docs__down` fails.
fn run(calls: Vec<ToolCall>, settings: &ToolLoopSettings) -> Vec<Value> {
    let mut results = RoundResults::new(calls);
    for batch in batches(results.calls().len(), settings.parallel_calls) {
        let finished: Vec<(usize, CallResult)> = batch
            .rev()
            .filter_map(|index| {
                let call = results.calls().get(index)?;
                let result = if call.name == "docs__down" {
                    CallResult::Failed("the server could not be reached: refused".into())
                } else {
                    CallResult::Output(ToolOutput {
                        text: format!("result of {}", call.call_id),
                        is_error: false,
                        truncated: false,
                    })
                };
                Some((index, result))
            })
            .collect();
        for (index, result) in finished {
            results.record(index, result);
        }
    }
    results.into_output_items(settings.output_max_bytes)
}

fn outputs_of(body: &Map<String, Value>) -> Vec<(String, String)> {
    body.get("input")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|item| item["type"] == "function_call_output")
        .map(|item| {
            (
                item["call_id"].as_str().unwrap_or_default().to_owned(),
                item["output"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn two_rounds_with_parallel_calls_and_a_failing_tool_end_in_an_answer() {
    let settings = ToolLoopSettings {
        parallel_calls: 2,
        ..ToolLoopSettings::default()
    };
    let mut body = json!({"model": "m", "input": "Find it"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut rounds = ToolRounds::new(settings.max_rounds);
    let mut total = RoundsUsage::default();

    let first = [
        call("a", "docs__search"),
        call("b", "docs__down"),
        call("c", "docs__fetch"),
    ];
    total.add(Some(&usage(100, 0.01)));
    let RoundOutcome::RunServerTools(calls) = rounds.finish_response(&first, is_server) else {
        panic!("the first round runs its server calls")
    };
    let outputs = run(calls, &settings);
    continuation::next_round(&mut body, &first, outputs);
    assert_eq!(
        outputs_of(&body),
        [
            ("a".to_owned(), "result of a".to_owned()),
            (
                "b".to_owned(),
                "tool docs__down failed: the server could not be reached: refused".to_owned()
            ),
            ("c".to_owned(), "result of c".to_owned()),
        ]
    );

    let second = [answer("Found it.")];
    total.add(Some(&usage(200, 0.02)));
    assert_eq!(
        rounds.finish_response(&second, is_server),
        RoundOutcome::Done
    );
    assert!(!rounds.answer_missing(&second));
    let total = total.total().cloned().unwrap_or_default();
    assert_eq!((total.prompt_tokens, total.completion_tokens), (300, 2));
    assert!(total.cost.is_some_and(|cost| (cost - 0.03).abs() < 1e-9));
}

#[test]
fn a_model_that_keeps_calling_tools_is_stopped_and_asked_to_answer() {
    let settings = ToolLoopSettings {
        max_rounds: 2,
        ..ToolLoopSettings::default()
    };
    let mut body = json!({"input": [], "tool_choice": "required"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut rounds = ToolRounds::new(settings.max_rounds);
    let mut requests = 1;
    let last_outcome = loop {
        let output = [call(&format!("c{requests}"), "docs__search")];
        match rounds.finish_response(&output, is_server) {
            RoundOutcome::RunServerTools(calls) => {
                let outputs = run(calls, &settings);
                continuation::next_round(&mut body, &output, outputs);
            }
            RoundOutcome::RoundLimit { skipped } => {
                continuation::synthesis_round(&mut body, &output, &skipped, settings.max_rounds);
            }
            other => break other,
        }
        requests += 1;
    };
    assert_eq!(last_outcome, RoundOutcome::GaveUp);
    assert_eq!(
        requests, 4,
        "two tool rounds, the limited one, the synthesis one"
    );
    assert_eq!(body.get("tool_choice"), Some(&json!("none")));
    let outputs = outputs_of(&body);
    assert_eq!(outputs.len(), 3);
    assert_eq!(
        outputs.last().map(|(_, text)| text.clone()),
        Some(notices::skipped_call_output(2))
    );
}

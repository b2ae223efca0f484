//! The mock's tool-calling model (`MockOpenRouter::answer_tool_calls`) on the wire: a
//! stream a Responses client can read, a whole answer, and the queue still first.

use orpipe_testkit::client::{self, HttpClient};
use orpipe_testkit::{LOOP_STOPPED_TEXT, MockOpenRouter, Reply};
use serde_json::{Value, json};

const KEY: &str = "sk-or-v1-test";

fn request(stream: bool, input: Value) -> Value {
    json!({
        "model": "openai/gpt-4o-mini",
        "stream": stream,
        "input": input,
        "tools": [{"type": "function", "name": "f__ok", "parameters": {}},
                  {"type": "function", "name": "f__slow", "parameters": {}}],
    })
}

#[tokio::test]
async fn a_cue_streams_function_calls_and_their_results_are_answered_in_text() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.answer_tool_calls();
    let first = request(
        true,
        json!("run [mock:call ok {\"text\":\"a\"}] and [mock:call slow {\"seconds\":1}]"),
    );
    let streamed = client::stream_sse(&mock.responses_url(), &first, Some(KEY))
        .await
        .expect("stream");
    assert_eq!(streamed.status, 200);
    assert!(streamed.saw_done());
    let events = streamed.json_events().expect("json events");
    let completed = events.last().expect("events");
    assert_eq!(completed["type"], "response.completed");
    let output = completed["response"]["output"].as_array().expect("output");
    let calls: Vec<(&str, &str)> = output
        .iter()
        .map(|item| {
            (
                item["name"].as_str().unwrap_or(""),
                item["arguments"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("f__ok", "{\"text\":\"a\"}"),
            ("f__slow", "{\"seconds\":1}")
        ]
    );
    assert_eq!(completed["response"]["usage"]["total_tokens"], 15);
    // The arguments also arrive as deltas, joined per item.
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta" && e["output_index"] == 0)
        .filter_map(|e| e["delta"].as_str())
        .collect();
    assert_eq!(deltas, "{\"text\":\"a\"}");

    // The next round sends the calls and their outputs back: a text answer, whole.
    let mut input = vec![json!({"role": "user", "content": first["input"].clone()})];
    for (item, out) in output.iter().zip(["A", "B"]) {
        input.push(item.clone());
        input.push(
            json!({"type": "function_call_output", "call_id": item["call_id"], "output": out}),
        );
    }
    let response = HttpClient::new()
        .post_json(
            &mock.responses_url(),
            &request(false, json!(input)),
            Some(KEY),
        )
        .await
        .expect("request");
    assert_eq!(response.status, 200);
    let body = response.json().expect("json");
    assert_eq!(
        body["output"][0]["content"][0]["text"],
        "Tool results: A | B"
    );
    assert_eq!(body["usage"]["cost"], 0.001);
}

#[tokio::test]
async fn queued_replies_and_plain_prompts_keep_their_usual_answers() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.answer_tool_calls();
    mock.enqueue(Reply::http_error(503, "{}"));
    let looping = request(false, json!("[mock:loop] [mock:call ok {}]"));
    let queued = HttpClient::new()
        .post_json(&mock.responses_url(), &looping, Some(KEY))
        .await
        .expect("request");
    assert_eq!(queued.status, 503);
    let plain = HttpClient::new()
        .post_json(
            &mock.responses_url(),
            &request(false, json!("hi")),
            Some(KEY),
        )
        .await
        .expect("request");
    let text = plain.json().expect("json")["output"][0]["content"][0]["text"].clone();
    assert!(
        text.as_str().is_some_and(|t| !t.contains("Tool results")),
        "{text}"
    );
    let mut stop = looping;
    stop["tool_choice"] = json!("none");
    let stopped = HttpClient::new()
        .post_json(&mock.responses_url(), &stop, Some(KEY))
        .await
        .expect("request");
    assert_eq!(
        stopped.json().expect("json")["output"][0]["content"][0]["text"],
        LOOP_STOPPED_TEXT
    );
}

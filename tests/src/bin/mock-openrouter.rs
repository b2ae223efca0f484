//! The mock OpenRouter as a standalone server, for manual runs (curl, the openai Python SDK,
//! a gateway started by hand). Prints its base URL, serves until Ctrl-C.
//!
//! `cargo run -p orpipe-testkit --bin mock-openrouter -- --mode synthetic --tokens 64 --pace-ms 20`

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use orpipe_testkit::fixtures::read_json_fixture;
use orpipe_testkit::{MockOpenRouter, Reply, ReplyChooser, tool_calling_chooser};
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Replay the recorded fixtures (`stream_text.sse`, `response_nonstream_text.json`).
    Fixture,
    /// Generate paced text streams for every `/responses` call (a whole answer without `stream: true`).
    Synthetic,
    /// Pick the fixture a real OpenRouter would resemble for the request: a web search
    /// answer with citations when the request offers the web search tool, a reasoning
    /// answer with a summary when it asks for reasoning, else the text fixtures.
    Content,
}

/// Mock OpenRouter `/api/v1` on loopback.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on; keep it on loopback.
    #[arg(long, default_value = "127.0.0.1:18999")]
    listen: SocketAddr,
    #[arg(long, value_enum, default_value_t = Mode::Fixture)]
    mode: Mode,
    /// Synthetic mode: text deltas per response.
    #[arg(long, default_value_t = 64)]
    tokens: usize,
    /// Synthetic mode: milliseconds between deltas.
    #[arg(long, default_value_t = 20)]
    pace_ms: u64,
    /// Synthetic mode: milliseconds before `response.created`.
    #[arg(long, default_value_t = 0)]
    ttft_ms: u64,
    /// Play a model that calls the tools it is offered on `[mock:call <name-part> <args>]`
    /// cues and answers `Tool results: …` once their outputs come back (tool_calls.rs);
    /// requests without cues or outputs get the mode's reply.
    #[arg(long)]
    answer_tool_calls: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mock = MockOpenRouter::start_on(args.listen).await?;
    if args.mode == Mode::Synthetic {
        mock.set_default_reply(
            Reply::synthetic(args.tokens)
                .pace(Duration::from_millis(args.pace_ms))
                .ttft(Duration::from_millis(args.ttft_ms)),
        );
    }
    if args.mode == Mode::Content {
        mock.set_reply_chooser(Arc::new(fixture_for));
        mock.set_chat_reply_chooser(Arc::new(chat_fixture_for));
        mock.add_model(read_json_fixture("model_image_output.json")?);
    }
    if args.answer_tool_calls {
        mock.set_reply_chooser(tool_calls_first(args.mode));
    }
    println!("{}", mock.base_url());
    eprintln!(
        "mock OpenRouter ({:?} mode) ready; any key but {} is accepted. Ctrl-C stops it.",
        args.mode,
        MockOpenRouter::BAD_KEY
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// `--answer-tool-calls`: the tool-calling model's turn when a cue or a tool output asks
/// for one, else what the mode would answer (content mode: its fixtures; the others: the
/// default reply, which a `None` from the chooser falls back to).
fn tool_calls_first(mode: Mode) -> ReplyChooser {
    let tools = tool_calling_chooser();
    Arc::new(move |request| {
        tools(request).or_else(|| match mode {
            Mode::Content => fixture_for(request),
            Mode::Fixture | Mode::Synthetic => None,
        })
    })
}

/// `--mode content`, `/chat/completions`: OpenRouter's chat transcripts, an image answer
/// when the request asks for images.
fn chat_fixture_for(request: Option<&Value>) -> Option<Reply> {
    let request = request?;
    let images = request
        .get("modalities")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|m| m == "image"));
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        let fixture = if images {
            "chat_stream_image.sse"
        } else {
            "chat_stream_reasoning.sse"
        };
        return Some(Reply::stream(fixture).into());
    }
    let fixture = if images {
        "chat_completion_image.json"
    } else {
        "chat_completion_text.json"
    };
    read_json_fixture(fixture)
        .ok()
        .map(|body| Reply::json(200, body))
}

/// The text of the request's last input item, where a test puts its cue.
fn last_text(request: &Value) -> String {
    request
        .get("input")
        .and_then(Value::as_array)
        .and_then(|items| items.last())
        .map(Value::to_string)
        .unwrap_or_default()
}

/// `--mode content`: the fixture for a streamed request (`None`: the default text ones).
/// A user turn containing `[mock:credits]` is refused with OpenRouter's 402.
fn fixture_for(request: Option<&Value>) -> Option<Reply> {
    let request = request?;
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    if last_text(request).contains("[mock:credits]") {
        return Reply::http_error_case("insufficient_credits").ok();
    }
    let searches = request
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| {
            tools.iter().any(|tool| {
                tool.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind.contains("web_search"))
            })
        });
    if searches {
        return Some(Reply::stream("stream_web_search_citations.sse").into());
    }
    request
        .get("reasoning")
        .map(|_| Reply::stream("stream_reasoning_summary.sse").into())
}

//! Sending an answer back: the stream loop (one write per upstream read, deadlines,
//! artifacts captured and stored before `[DONE]`) and the whole, non-streaming answer.
//! Nothing buffers a whole streamed answer.

use super::breaker::UserBreaker;
use super::http_io::{self, ReadError, ResponseWriter};
use super::outcome::{Finished, fail_before_first_byte, log_internal, record_usage, settle};
use super::tool_turn::{Advance, Progress, ToolTurn};
use super::upstream::{self, UpstreamResponse};
use super::wasi::http::types::ResponseOutparam;
use super::whole_rounds;
use super::{RequestCtx, artifacts, log, random_id};
use crate::errors::GatewayError;
use crate::errors::cards::CardTemplates;
use crate::errors::cards::ModelFacts;
use crate::logline::Level;
use crate::openai::Frames;
use crate::outcome::Outcome;
use crate::owui::events::{Event, OpenWebUiEvents};
use crate::owui::status_line::Timing;
use crate::owui::tool_status;
use crate::pipeline::{StreamPipeline, Upstream};
use crate::settings::Deadlines;
use crate::translate::endpoint::Endpoint;
use crate::translate::from_chat::response_from_chat_completion;
use crate::translate::image_output::ImageOutput;
use crate::translate::to_chunks::{ChunkTranslator, StreamContext};
use crate::translate::to_completion::{completion_of_turn, completion_with_images};
use serde_json::{Value, json};

/// Largest non-streaming upstream answer accepted.
const RESPONSE_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub(super) const SSE_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    // Tells nginx-style proxies in front of orpipe not to buffer the stream.
    ("x-accel-buffering", "no"),
];

/// What an answer needs besides the upstream response.
pub(super) struct Answer<'a> {
    pub(super) model: String,
    pub(super) created: u64,
    pub(super) session: Option<&'a artifacts::Session>,
    pub(super) breaker: Option<&'a UserBreaker>,
    pub(super) templates: CardTemplates,
    pub(super) deadlines: Deadlines,
    /// Open WebUI's event chunks, for Open WebUI only (streamed answers).
    pub(super) events: Option<OpenWebUiEvents>,
    /// The endpoint that answered, which decides how its body reads.
    pub(super) endpoint: Endpoint,
    pub(super) image_output: ImageOutput,
    /// The catalog's facts about the model, for error cards.
    pub(super) facts: Option<ModelFacts>,
    /// The server tools' loop, when the model is offered some.
    pub(super) tool_turn: Option<ToolTurn>,
    /// Configured MCP servers whose tools are not offered now (said to Open WebUI).
    pub(super) tools_unavailable: Vec<String>,
}

impl Answer<'_> {
    /// Sends the answer to `out`: streamed as chunks, or whole as one completion.
    pub(super) fn send(
        self,
        ctx: &RequestCtx,
        out: ResponseOutparam,
        response: UpstreamResponse,
        stream: bool,
    ) {
        if stream {
            self.stream(ctx, out, response);
        } else {
            self.whole(ctx, out, response);
        }
    }

    fn stream(self, ctx: &RequestCtx, out: ResponseOutparam, response: UpstreamResponse) {
        let Answer {
            model,
            created,
            session,
            breaker,
            templates,
            deadlines,
            events,
            endpoint,
            image_output,
            facts,
            mut tool_turn,
            tools_unavailable,
        } = self;
        let mut writer = match ResponseWriter::start(out, 200, SSE_HEADERS) {
            Ok(writer) => writer,
            Err(error) => return log_internal(ctx, &error),
        };
        let fallback_id = response
            .generation_id
            .clone()
            .unwrap_or_else(|| format!("chatcmpl-{}", random_id()));
        let mut translator = ChunkTranslator::new(StreamContext {
            model: model.clone(),
            created,
            fallback_id,
            error_id: ctx.error_id.clone(),
            timestamp: ctx.started_at.clone(),
        });
        translator = translator
            .with_templates(templates)
            .with_image_output(image_output)
            .with_facts(facts);
        if let Some(session) = session {
            translator = translator.with_capture(session.capture());
        }
        if let Some(turn) = &tool_turn {
            translator = translator.with_tool_loop(turn.client_tools().clone());
        }
        // Only the status line needs to know when the model started answering.
        let timed = events.is_some();
        if let Some(events) = events {
            translator = translator.with_events(events);
        }
        let mut pipeline = match endpoint {
            Endpoint::Responses => StreamPipeline::new(translator),
            Endpoint::ChatCompletions => StreamPipeline::for_chat(translator),
        };
        let mut frames = Frames::default();
        let names: Vec<&str> = tools_unavailable.iter().map(String::as_str).collect();
        if let Some(event) = tool_status::servers_unavailable(&names) {
            pipeline.translator().push_event(&event, &mut frames);
        }
        let mut reading = Reading {
            deadlines,
            timed,
            first_output_ms: None,
        };
        let mut response = response;
        let mut outcome;
        // One round per upstream response: more than one only when the model calls
        // server tools, which `tool_turn` runs before asking again.
        loop {
            outcome = reading.read(ctx, &response, &mut pipeline, &mut writer, &mut frames);
            if outcome != Outcome::Completed {
                break;
            }
            let Some(turn) = tool_turn.as_mut() else {
                break;
            };
            let Some(output) = pipeline.translator().take_held() else {
                break;
            };
            let mut progress = StreamProgress {
                pipeline: &mut pipeline,
                writer: &mut writer,
                frames: &mut frames,
                client_gone: false,
            };
            let advance = turn.advance(ctx, &output, &mut progress);
            if progress.client_gone {
                outcome = Outcome::ClientGone;
                break;
            }
            match advance {
                Ok(Advance::Next(next)) => {
                    response = next;
                    pipeline.next_round();
                }
                Ok(Advance::Finish) => {
                    pipeline.translator().release(&mut frames);
                    break;
                }
                Err(error) => {
                    warn_upstream(ctx, "the next tool round failed", &error);
                    // The held response is over; the card and error frame end the answer.
                    pipeline.next_round();
                    let code = error.code().unwrap_or_else(|| "upstream_error".into());
                    frames.append(&mut pipeline.abort(&code, &error.to_string()));
                    outcome = Outcome::UpstreamError;
                    break;
                }
            }
        }
        if outcome != Outcome::ClientGone {
            let timing = Timing {
                elapsed_ms: ctx.elapsed_ms(),
                first_output_ms: reading.first_output_ms,
            };
            frames.append(&mut pipeline.finish_at(Some(&timing)));
            // Stored before `[DONE]` goes out: a client may send its next turn at once.
            if let (Some(session), Some(capture)) = (session, pipeline.take_capture()) {
                session.store(ctx, capture.into_captured());
            }
            if outcome == Outcome::Completed && pipeline.failure().is_some() {
                outcome = Outcome::UpstreamError;
            }
            settle(breaker, outcome);
            if flush(&mut writer, &mut frames).is_err() {
                outcome = Outcome::ClientGone;
            }
        }
        // Dropping the upstream body first tells the host to stop reading from OpenRouter.
        drop(response);
        writer.finish();
        record_usage(
            ctx,
            Finished {
                model: &model,
                response_id: pipeline.response_id().map(str::to_owned),
                outcome,
                usage: pipeline.usage(),
                unreadable_events: pipeline.unreadable_events(),
                failure: pipeline.failure_class(),
            },
        );
    }

    fn whole(self, ctx: &RequestCtx, out: ResponseOutparam, response: UpstreamResponse) {
        let Answer {
            model,
            created,
            session,
            breaker,
            endpoint,
            image_output,
            mut tool_turn,
            ..
        } = self;
        let mut capture = session.map(artifacts::Session::capture);
        let result = response
            .body
            .read_to_end(RESPONSE_BODY_LIMIT)
            .and_then(|body| match endpoint {
                Endpoint::Responses => Ok(body),
                Endpoint::ChatCompletions => response_from_chat_completion(&body),
            })
            .and_then(|body| match tool_turn.as_mut() {
                None => {
                    completion_with_images(&body, &model, created, capture.as_mut(), &image_output)
                }
                Some(turn) => {
                    let merged = whole_rounds::read_rounds(ctx, turn, body, RESPONSE_BODY_LIMIT)?;
                    let mut completion = completion_of_turn(
                        &merged.body,
                        &model,
                        created,
                        capture.as_mut(),
                        &image_output,
                        &|name| turn.owns(name),
                    )?;
                    completion.usage = merged.usage;
                    Ok(completion)
                }
            });
        match result {
            Ok(completion) => {
                if let (Some(session), Some(capture)) = (session, capture) {
                    session.store(ctx, capture.into_captured());
                }
                settle(breaker, Outcome::Completed);
                http_io::respond_json(out, 200, &completion.to_json());
                record_usage(
                    ctx,
                    Finished {
                        model: &model,
                        response_id: Some(completion.id.clone()),
                        outcome: Outcome::Completed,
                        usage: completion.usage.as_ref(),
                        unreadable_events: 0,
                        failure: None,
                    },
                );
            }
            // An unreadable or broken whole answer counts like any other upstream failure.
            Err(error) => fail_before_first_byte(ctx, out, &error, breaker),
        }
    }
}

/// Reading one upstream response into the client's stream.
struct Reading {
    deadlines: Deadlines,
    /// Whether the status line wants to know when the model started answering.
    timed: bool,
    first_output_ms: Option<f64>,
}

impl Reading {
    /// Reads `response` until it ends: one write per upstream read, deadlines kept.
    /// `Completed` when the upstream body ended normally.
    fn read(
        &mut self,
        ctx: &RequestCtx,
        response: &UpstreamResponse,
        pipeline: &mut StreamPipeline,
        writer: &mut ResponseWriter,
        frames: &mut Frames,
    ) -> Outcome {
        let deadlines = &self.deadlines;
        let mut last_bytes_ms = ctx.elapsed_ms();
        loop {
            let bytes = match response.body.read() {
                Ok(Some(bytes)) => {
                    // One clock read per upstream read (each is a call into the host):
                    // it serves the idle check and the deadline below.
                    last_bytes_ms = ctx.elapsed_ms();
                    bytes
                }
                Ok(None) => return Outcome::Completed,
                Err(ReadError::Transport(code)) => {
                    let error = upstream::transport_error(code);
                    warn_upstream(ctx, "upstream stream broke", &error);
                    // The host's idle timeout does not always arrive as a timeout code, so
                    // the silence before the failure decides too.
                    let silent_ms = ctx.elapsed_ms() - last_bytes_ms;
                    if matches!(error, GatewayError::UpstreamTimeout(_))
                        || silent_ms >= deadlines.idle.as_secs_f64() * 1000.0 * 0.9
                    {
                        frames.append(&mut pipeline.abort(
                            "upstream_timeout",
                            &format!(
                                "OpenRouter sent nothing for {} seconds, so the answer was cut off",
                                deadlines.idle.as_secs()
                            ),
                        ));
                    }
                    return Outcome::Interrupted;
                }
            };
            if last_bytes_ms > deadlines.total.as_secs_f64() * 1000.0 {
                log::emit(
                    Level::Warn,
                    "request deadline exceeded",
                    &[
                        ("request_id", json!(ctx.request_id)),
                        ("deadline_secs", json!(deadlines.total.as_secs())),
                    ],
                );
                frames.append(&mut pipeline.abort(
                    "deadline_exceeded",
                    &format!(
                        "the answer took longer than the {}-second limit for one request",
                        deadlines.total.as_secs()
                    ),
                ));
                return Outcome::Interrupted;
            }
            frames.append(&mut pipeline.push(&bytes));
            if self.timed && self.first_output_ms.is_none() && pipeline.output_started() {
                self.first_output_ms = Some(ctx.elapsed_ms());
            }
            let upstream_ended = match pipeline.upstream() {
                Upstream::Open => false,
                Upstream::Ended => true,
                Upstream::Rejected(error) => {
                    warn_upstream(ctx, "upstream event rejected", error);
                    return Outcome::Interrupted;
                }
            };
            // One write per upstream read: every frame translated from it goes out now.
            if flush(writer, frames).is_err() {
                return Outcome::ClientGone;
            }
            if upstream_ended {
                return Outcome::Completed;
            }
        }
    }
}

/// The tool loop's progress in a stream: statuses go out at once (the user sees which
/// tool runs while it runs), notices and kept items join the answer.
struct StreamProgress<'p> {
    pipeline: &'p mut StreamPipeline,
    writer: &'p mut ResponseWriter,
    frames: &'p mut Frames,
    client_gone: bool,
}

impl Progress for StreamProgress<'_> {
    fn event(&mut self, event: &Event) {
        let translator = self.pipeline.translator();
        if !translator.sends_events() {
            return;
        }
        translator.push_event(event, self.frames);
        if flush(self.writer, self.frames).is_err() {
            self.client_gone = true;
        }
    }

    fn notice(&mut self, text: &str) {
        self.pipeline.translator().notice(text, self.frames);
    }

    fn keep(&mut self, items: &[Value]) {
        self.pipeline.translator().keep_items(items);
    }
}

fn flush(writer: &mut ResponseWriter, frames: &mut Frames) -> Result<(), http_io::ClientGone> {
    if frames.is_empty() {
        return Ok(());
    }
    let result = writer.write(frames.as_bytes());
    frames.clear();
    result
}

/// Logs why the stream from OpenRouter ended early.
fn warn_upstream(ctx: &RequestCtx, message: &str, error: &impl std::fmt::Display) {
    log::emit(
        Level::Warn,
        message,
        &[
            ("request_id", json!(ctx.request_id)),
            ("error", json!(error.to_string())),
        ],
    );
}

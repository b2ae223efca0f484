//! MCP exchanges under way: each one sent, its answer read as it comes. [`drive`] waits
//! on all of them at once (`wasi:io/poll`) and reads whichever has something, so a slow
//! server holds up no other; each exchange stops at its own deadline.

use super::http_io::{BodyReader, ReadError, header};
use super::mcp_http::{Exchange, send_error, transport_error};
use super::outgoing::Pending;
use super::wasi::clocks::monotonic_clock::{self, Instant};
use super::wasi::http::types::IncomingResponse;
use super::wasi::io::poll::{self, Pollable};
use crate::mcp::answer::AnswerReader;
use crate::mcp::envelope::SESSION_HEADER;
use crate::mcp::error::McpError;
use std::time::Duration;

/// The most bytes one answer may have: room for a large tool list or a capped tool
/// output's source; a server sending more is broken or hostile.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// An error answer (non-2xx) is read only this far.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// One exchange, from sent to answered (or failed, or out of time).
pub struct PendingExchange {
    /// The request's id; `None` for a notification, which gets no answer.
    id: Option<u64>,
    limit: Duration,
    deadline: Instant,
    state: State,
}

enum State {
    /// The host is waiting for the response head.
    Head(Pending),
    /// Reading the answer; for a non-2xx status only an explanation is looked for.
    Body {
        status: u16,
        session_id: Option<String>,
        answer: AnswerReader,
        // Field order is drop order: the body before the response it came from.
        body: BodyReader,
        _response: IncomingResponse,
    },
    Done(Result<Exchange, McpError>),
}

impl PendingExchange {
    pub fn new(pending: Pending, id: Option<u64>, started: Instant, limit: Duration) -> Self {
        Self {
            id,
            limit,
            deadline: started.saturating_add(super::nanos(limit)),
            state: State::Head(pending),
        }
    }

    /// Waits for this exchange alone.
    pub fn wait(mut self) -> Result<Exchange, McpError> {
        drive(&mut [&mut self]);
        self.finish()
    }

    /// What came back. Only meaningful once [`drive`] has returned.
    pub fn finish(self) -> Result<Exchange, McpError> {
        match self.state {
            State::Done(result) => result,
            State::Head(_) | State::Body { .. } => Err(McpError::timeout_after(self.limit)),
        }
    }

    fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// What to wait on before [`PendingExchange::advance`] can make progress.
    fn subscribe(&self) -> Option<Pollable> {
        match &self.state {
            State::Head(pending) => Some(pending.subscribe()),
            State::Body { body, .. } => Some(body.subscribe()),
            State::Done(_) => None,
        }
    }

    /// Ends an exchange that is still under way at `now`, past its deadline. A refusal
    /// whose explanation is late stays a bare HTTP status.
    fn expire(&mut self, now: Instant) {
        if self.is_done() || now < self.deadline {
            return;
        }
        let result = match &self.state {
            State::Body {
                status, session_id, ..
            } if !(200..300).contains(status) => Ok(Exchange {
                status: *status,
                session_id: session_id.clone(),
                reply: None,
            }),
            _ => Err(McpError::timeout_after(self.limit)),
        };
        self.state = State::Done(result);
    }

    /// Takes whatever has come, without blocking.
    fn advance(&mut self) {
        let state = std::mem::replace(
            &mut self.state,
            State::Done(Err(McpError::Malformed(
                "the exchange was interrupted".into(),
            ))),
        );
        self.state = match state {
            State::Head(pending) => match pending.ready() {
                None => State::Head(pending),
                Some(Err(error)) => State::Done(Err(send_error(error, self.limit))),
                Some(Ok(response)) => self.head(response),
            },
            State::Body {
                status,
                session_id,
                mut answer,
                body,
                _response,
            } => match read_available(&mut answer, &body, self.limit) {
                Ok(Some(last)) => {
                    let reply = match last {
                        Last::Reply(reply) => Ok(reply),
                        Last::End => answer.finish().map_err(McpError::from),
                    };
                    State::Done(exchange(status, session_id, reply))
                }
                Err(error) => State::Done(exchange(status, session_id, Err(error))),
                Ok(None) => State::Body {
                    status,
                    session_id,
                    answer,
                    body,
                    _response,
                },
            },
            done @ State::Done(_) => done,
        };
    }

    /// The response head has come: a notification is done, a request's answer is read.
    fn head(&self, response: IncomingResponse) -> State {
        let status = response.status();
        let fields = response.headers();
        let session_id = header(&fields, SESSION_HEADER);
        let content_type = header(&fields, "content-type");
        drop(fields);
        let Some(id) = self.id else {
            return State::Done(Ok(Exchange {
                status,
                session_id,
                reply: None,
            }));
        };
        let limit = if (200..300).contains(&status) {
            MAX_ANSWER_BYTES
        } else {
            MAX_ERROR_BYTES
        };
        let reader = AnswerReader::new(content_type.as_deref(), id, limit)
            .map_err(McpError::from)
            .and_then(|answer| {
                let body = response.consume().map_err(|()| {
                    McpError::Unreachable("the response body was taken twice".into())
                })?;
                let body =
                    BodyReader::new(body).map_err(|e| McpError::Unreachable(e.to_string()))?;
                Ok((answer, body))
            });
        match reader {
            Ok((answer, body)) => State::Body {
                status,
                session_id,
                answer,
                body,
                _response: response,
            },
            Err(error) => State::Done(exchange(status, session_id, Err(error))),
        }
    }
}

/// How the answer was completed.
enum Last {
    Reply(crate::mcp::jsonrpc::Reply),
    End,
}

/// Feeds what the body has now to `answer`; `None` while the answer is incomplete.
fn read_available(
    answer: &mut AnswerReader,
    body: &BodyReader,
    limit: Duration,
) -> Result<Option<Last>, McpError> {
    loop {
        match body.read_ready() {
            Ok(Some(bytes)) if bytes.is_empty() => return Ok(None),
            Ok(Some(bytes)) => {
                if let Some(reply) = answer.feed(&bytes)? {
                    return Ok(Some(Last::Reply(reply)));
                }
            }
            Ok(None) => return Ok(Some(Last::End)),
            Err(ReadError::Transport(code)) => return Err(transport_error(code, limit)),
        }
    }
}

/// The exchange for `status` and what reading its answer gave. Some servers explain a
/// refusal in a JSON-RPC error (an unsupported revision); anything else wrong with a
/// non-2xx answer leaves a bare HTTP status.
fn exchange(
    status: u16,
    session_id: Option<String>,
    reply: Result<crate::mcp::jsonrpc::Reply, McpError>,
) -> Result<Exchange, McpError> {
    let reply = if (200..300).contains(&status) {
        Some(reply?)
    } else {
        reply.ok()
    };
    Ok(Exchange {
        status,
        session_id,
        reply,
    })
}

/// Runs `exchanges` until each is answered, failed or past its deadline. Waits on all at
/// once and reads whichever is ready, so the servers' time overlaps.
pub fn drive(exchanges: &mut [&mut PendingExchange]) {
    loop {
        let now = monotonic_clock::now();
        for exchange in exchanges.iter_mut() {
            exchange.expire(now);
        }
        let Some(next_deadline) = exchanges
            .iter()
            .filter(|e| !e.is_done())
            .map(|e| e.deadline)
            .min()
        else {
            return;
        };
        // The pollables are children of the exchanges' resources: all are dropped before
        // any exchange moves on.
        let ready: Vec<usize> = {
            let waiting: Vec<(usize, Pollable)> = exchanges
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.subscribe().map(|p| (i, p)))
                .collect();
            let timer = monotonic_clock::subscribe_instant(next_deadline);
            let mut list: Vec<&Pollable> = waiting.iter().map(|(_, p)| p).collect();
            list.push(&timer);
            poll::poll(&list)
                .into_iter()
                .filter_map(|k| usize::try_from(k).ok())
                .filter_map(|k| waiting.get(k).map(|(i, _)| *i))
                .collect()
        };
        for i in ready {
            if let Some(exchange) = exchanges.get_mut(i) {
                exchange.advance();
            }
        }
    }
}

//! Open WebUI status lines for the server tools orpipe runs (issue 10): which tool runs,
//! then how long it took or that it failed; a tool switched off for the user, and MCP
//! servers that are down, are said too. Pure: names and times in, events out.

use super::events::Event;
use std::borrow::Cow;

/// How a tool is shown: its own name and its server's.
#[derive(Debug, Clone, Copy)]
pub struct ToolLabel<'a> {
    pub tool: &'a str,
    pub server: &'a str,
}

fn status(description: String, done: bool) -> Event {
    Event::Status {
        description: Cow::Owned(description),
        done,
    }
}

/// While the calls of one round run: one line naming them.
pub fn running(labels: &[ToolLabel<'_>]) -> Event {
    let names = match labels {
        [one] => format!("{} ({})", one.tool, one.server),
        many => {
            let names: Vec<&str> = many.iter().map(|l| l.tool).collect();
            names.join(", ")
        }
    };
    status(format!("Running {names}…"), false)
}

/// How one call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    Ran,
    Failed,
    TimedOut,
    /// Switched off for this user by its breaker: not called.
    SwitchedOff,
}

/// After a call: "Ran search (docs) in 1.2 s", "search (docs) failed after 0.3 s", …
pub fn finished(label: ToolLabel<'_>, end: CallEnd, elapsed_ms: f64) -> Event {
    let name = format!("{} ({})", label.tool, label.server);
    let secs = seconds(elapsed_ms);
    let description = match end {
        CallEnd::Ran => format!("Ran {name} in {secs}"),
        CallEnd::Failed => format!("{name} failed after {secs}"),
        CallEnd::TimedOut => format!("{name} timed out after {secs}"),
        CallEnd::SwitchedOff => format!("{name} is switched off for now after repeated failures"),
    };
    status(description, true)
}

/// Configured MCP servers whose tools are not offered right now.
pub fn servers_unavailable(names: &[&str]) -> Option<Event> {
    let description = match names {
        [] => return None,
        [one] => format!("The tools of {one} are unavailable right now"),
        many => format!("The tools of {} are unavailable right now", many.join(", ")),
    };
    Some(status(description, true))
}

/// The round limit stopped the tools.
pub fn round_limit(max_rounds: u32) -> Event {
    status(
        format!("Stopped calling tools after {max_rounds} rounds"),
        true,
    )
}

/// `1234.5` ms → "1.2 s"; under a second, in ms.
fn seconds(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.max(0.0).round())
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(event: &Event) -> (&str, bool) {
        match event {
            Event::Status { description, done } => (description, *done),
            Event::Source { .. } => ("source", false),
        }
    }

    const SEARCH: ToolLabel<'static> = ToolLabel {
        tool: "search",
        server: "docs",
    };

    #[test]
    fn a_round_names_its_tools_then_each_call_says_how_it_ended() {
        assert_eq!(text(&running(&[SEARCH])), ("Running search (docs)…", false));
        let add = ToolLabel {
            tool: "add",
            server: "calc",
        };
        assert_eq!(
            text(&running(&[SEARCH, add])),
            ("Running search, add…", false)
        );
        assert_eq!(
            text(&finished(SEARCH, CallEnd::Ran, 1234.0)),
            ("Ran search (docs) in 1.2 s", true)
        );
        assert_eq!(
            text(&finished(SEARCH, CallEnd::Failed, 300.4)),
            ("search (docs) failed after 300 ms", true)
        );
        assert_eq!(
            text(&finished(SEARCH, CallEnd::TimedOut, 60_000.0)).0,
            "search (docs) timed out after 60.0 s"
        );
        assert!(
            text(&finished(SEARCH, CallEnd::SwitchedOff, 0.0))
                .0
                .contains("switched off")
        );
    }

    #[test]
    fn unavailable_servers_are_named_and_none_says_nothing() {
        assert!(servers_unavailable(&[]).is_none());
        let event = servers_unavailable(&["docs", "calc"]).expect("event");
        assert_eq!(
            text(&event).0,
            "The tools of docs, calc are unavailable right now"
        );
        assert_eq!(
            text(&round_limit(8)).0,
            "Stopped calling tools after 8 rounds"
        );
    }
}

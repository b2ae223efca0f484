//! The samples of `--mode tool-round` and the table it prints.

use std::collections::BTreeMap;
use std::time::Duration;

use orpipe_testkit::stats::percentile;

/// Every measurement of a run, per kind.
#[derive(Debug, Default)]
pub(crate) struct Samples {
    /// Total time (request to the end of the stream) through orpipe.
    plain: Vec<Duration>,
    tool: Vec<Duration>,
    /// orpipe's CPU time around each of those requests.
    plain_cpu: Vec<Duration>,
    tool_cpu: Vec<Duration>,
    /// The same upstream requests straight to the mock.
    direct_plain: Vec<Duration>,
    /// The call round and the results round, summed per iteration.
    direct_rounds: Vec<Duration>,
    /// The MCP mock's own time for each `tools/call`.
    pub(crate) mcp_call: Vec<Duration>,
    /// Other MCP requests during the measured part, by method (should be none).
    pub(crate) mcp_other: BTreeMap<String, usize>,
    pub(crate) errors: BTreeMap<String, usize>,
}

impl Samples {
    pub(crate) fn add_through(&mut self, is_tool: bool, took: Duration, cpu: Option<Duration>) {
        let (times, cpus) = if is_tool {
            (&mut self.tool, &mut self.tool_cpu)
        } else {
            (&mut self.plain, &mut self.plain_cpu)
        };
        times.push(took);
        cpus.extend(cpu);
    }

    pub(crate) fn add_direct(&mut self, plain: Duration, call: Duration, results: Duration) {
        self.direct_plain.push(plain);
        self.direct_rounds.push(call + results);
    }

    pub(crate) fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }
}

const QUANTILES: [f64; 3] = [50.0, 90.0, 99.0];

/// p50, p90, p99 in microseconds (signed, so rows can be subtracted).
type Row = Option<[i64; 3]>;

fn row(samples: &[Duration]) -> Row {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let mut out = [0_i64; 3];
    for (slot, q) in out.iter_mut().zip(QUANTILES) {
        *slot = i64::try_from(percentile(&sorted, q)?.as_micros()).ok()?;
    }
    Some(out)
}

fn minus(a: Row, b: Row) -> Row {
    let (a, b) = (a?, b?);
    Some([a[0] - b[0], a[1] - b[1], a[2] - b[2]])
}

fn mean_ms(samples: &[Duration]) -> Option<f64> {
    let total: Duration = samples.iter().sum();
    (!samples.is_empty()).then(|| total.as_secs_f64() * 1000.0 / samples.len() as f64)
}

pub(crate) struct Report<'a> {
    pub(crate) samples: &'a Samples,
    pub(crate) elapsed: Duration,
}

impl Report<'_> {
    pub(crate) fn print(&self) {
        let s = self.samples;
        println!(
            "orpipe tool-round bench: {} plain + {} tool requests through orpipe, concurrency 1, {:.1} s",
            s.plain.len(),
            s.tool.len(),
            self.elapsed.as_secs_f64()
        );
        let through_plain = row(&s.plain);
        let through_tool = row(&s.tool);
        let added = minus(through_tool, through_plain);
        let direct_plain = row(&s.direct_plain);
        let direct_rounds = row(&s.direct_rounds);
        let upstream_share = minus(direct_rounds, direct_plain);
        let mcp = row(&s.mcp_call);
        let own = minus(minus(added, upstream_share), mcp);
        println!(
            "{:<52} {:>10} {:>10} {:>10}",
            "total latency (ms)", "p50", "p90", "p99"
        );
        let rows: [(&str, Row); 8] = [
            ("A through orpipe, no tool call", through_plain),
            ("B through orpipe, one tool round", through_tool),
            ("C = B − A: added by the tool round", added),
            ("D direct to mock: the plain request", direct_plain),
            (
                "E direct to mock: call round + results round",
                direct_rounds,
            ),
            ("F = E − D: the mock OpenRouter's share", upstream_share),
            ("G MCP mock's own time per tools/call", mcp),
            ("C − F − G: orpipe's own time for one round", own),
        ];
        for (label, figures) in rows {
            let cells = figures.map_or_else(
                || ["n/a".to_owned(), "n/a".to_owned(), "n/a".to_owned()],
                |f| f.map(|us| format!("{:.3}", us as f64 / 1000.0)),
            );
            println!(
                "{label:<52} {:>10} {:>10} {:>10}",
                cells[0], cells[1], cells[2]
            );
        }
        println!("(differences of percentiles, not percentiles of differences)");
        let cpu = |samples: &[Duration]| {
            mean_ms(samples).map_or("n/a".to_owned(), |ms| format!("{ms:.2} ms"))
        };
        let cpu_added = mean_ms(&s.tool_cpu)
            .zip(mean_ms(&s.plain_cpu))
            .map_or("n/a".to_owned(), |(t, p)| format!("{:+.2} ms", t - p));
        println!(
            "orpipe CPU per request (mean; 10 ms tick resolution): no tool {}, one tool round {}, added {cpu_added}",
            cpu(&s.plain_cpu),
            cpu(&s.tool_cpu),
        );
        println!(
            "MCP requests measured: {} tools/call, others {:?}; errors: {:?}",
            s.mcp_call.len(),
            s.mcp_other,
            s.errors
        );
    }
}

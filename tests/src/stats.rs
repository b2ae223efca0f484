//! Percentiles over latency samples, as the benchmark reports them.
//!
//! Nearest-rank percentiles on the sorted samples: no interpolation, so every figure is a
//! latency that was actually observed (a p99 of 40 ms means one request really waited 40 ms).

use std::time::Duration;

use serde::Serialize;

/// p50 / p99 / max of a set of durations, in microseconds for the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// The nearest-rank `percentile` (0–100) of `sorted`, or `None` when there are no samples.
pub fn percentile(sorted: &[Duration], percentile: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied()
}

/// Summarizes `samples` (in any order); `None` when empty.
pub fn summarize(samples: &[Duration]) -> Option<Summary> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    Some(Summary {
        count: sorted.len(),
        p50_us: micros(percentile(&sorted, 50.0)?),
        p99_us: micros(percentile(&sorted, 99.0)?),
        max_us: micros(*sorted.last()?),
    })
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn nearest_rank_picks_observed_samples() {
        let sorted = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&sorted, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&sorted, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&sorted, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summary_of_unsorted_samples() {
        let summary = summarize(&ms(&[40, 1, 2, 3])).expect("non-empty");
        assert_eq!(
            summary,
            Summary {
                count: 4,
                p50_us: 2_000,
                p99_us: 40_000,
                max_us: 40_000
            }
        );
        assert_eq!(summarize(&[]), None);
    }
}

//! How one round's calls run: in batches of at most the per-request parallel limit, in
//! call order. The component starts every call of a batch, waits for all of them (or
//! their timeouts), then starts the next batch; results go into `RoundResults` by index,
//! so the outputs keep the calls' order however the calls finish. Pure.

use std::ops::Range;

/// Index ranges into the round's calls (`0..count`), each at most `parallel` long
/// (a limit of 0 counts as 1), consecutive and covering every call once.
pub fn batches(count: usize, parallel: usize) -> Vec<Range<usize>> {
    let size = parallel.max(1);
    (0..count)
        .step_by(size)
        .map(|start| start..start.saturating_add(size).min(count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_cut_into_ordered_batches_of_the_limit() {
        assert_eq!(batches(5, 2), [0..2, 2..4, 4..5]);
        let whole = |count: usize| {
            vec![Range {
                start: 0,
                end: count,
            }]
        };
        assert_eq!(batches(4, 4), whole(4));
        assert_eq!(batches(3, 10), whole(3));
        assert!(batches(0, 3).is_empty());
    }

    #[test]
    fn a_limit_of_zero_runs_calls_one_by_one() {
        assert_eq!(batches(2, 0), [0..1, 1..2]);
    }

    #[test]
    fn every_call_is_in_exactly_one_batch() {
        for count in 0..20 {
            for parallel in 0..6 {
                let covered: Vec<usize> = batches(count, parallel).into_iter().flatten().collect();
                assert_eq!(
                    covered,
                    (0..count).collect::<Vec<_>>(),
                    "{count} by {parallel}"
                );
            }
        }
    }
}

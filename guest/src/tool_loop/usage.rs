//! Usage summed over the rounds of one turn, for the final usage chunk, the usage log
//! and the status line: tokens add up (saturating: the counts come from upstream), and
//! so does the cost when any round reported one. Pure.

use crate::openai::Usage;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundsUsage {
    total: Option<Usage>,
}

impl RoundsUsage {
    /// Adds one round's usage; a round that reported none adds nothing.
    pub fn add(&mut self, round: Option<&Usage>) {
        let Some(round) = round else {
            return;
        };
        let total = self.total.get_or_insert_with(Usage::default);
        total.prompt_tokens = total.prompt_tokens.saturating_add(round.prompt_tokens);
        total.completion_tokens = total
            .completion_tokens
            .saturating_add(round.completion_tokens);
        total.total_tokens = total.total_tokens.saturating_add(round.total_tokens);
        total.cached_tokens = total.cached_tokens.saturating_add(round.cached_tokens);
        total.reasoning_tokens = total
            .reasoning_tokens
            .saturating_add(round.reasoning_tokens);
        total.cost = match (total.cost, round.cost) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// The sum, or `None` when no round reported usage.
    pub fn total(&self) -> Option<&Usage> {
        self.total.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(tokens: u64, cost: Option<f64>) -> Usage {
        Usage {
            prompt_tokens: tokens,
            completion_tokens: tokens,
            total_tokens: tokens.saturating_mul(2),
            cached_tokens: tokens,
            reasoning_tokens: tokens,
            cost,
        }
    }

    #[test]
    fn rounds_add_up_tokens_and_cost() {
        let mut sum = RoundsUsage::default();
        assert_eq!(sum.total(), None);
        sum.add(Some(&usage(10, Some(0.5))));
        sum.add(None);
        sum.add(Some(&usage(5, None)));
        sum.add(Some(&usage(1, Some(0.25))));
        assert_eq!(sum.total(), Some(&usage(16, Some(0.75))));
    }

    #[test]
    fn a_cost_from_any_round_counts() {
        let mut sum = RoundsUsage::default();
        sum.add(Some(&usage(1, None)));
        assert_eq!(sum.total().and_then(|u| u.cost), None);
        sum.add(Some(&usage(1, Some(0.1))));
        assert_eq!(sum.total().and_then(|u| u.cost), Some(0.1));
    }

    #[test]
    fn huge_counts_saturate() {
        let mut sum = RoundsUsage::default();
        sum.add(Some(&usage(u64::MAX, None)));
        sum.add(Some(&usage(7, None)));
        let total = sum.total().cloned().unwrap_or_default();
        assert_eq!(total.prompt_tokens, u64::MAX);
        assert_eq!(total.total_tokens, u64::MAX);
    }
}

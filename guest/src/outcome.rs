//! How an answer ended, and what that means for the user's breaker. The component
//! records it in the usage log and the finish log line; the strings are the log's.

/// How a chat completion ended once its answer had started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The whole answer went out.
    Completed,
    /// OpenRouter reported an error inside the stream (an error event, a failed
    /// response): the provider's verdict on this request.
    UpstreamError,
    /// The connection to OpenRouter broke, went silent or overran a deadline.
    Interrupted,
    /// The client left before the answer was written.
    ClientGone,
}

/// What an outcome tells the user's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerVerdict {
    Success,
    Failure,
    /// Says nothing about upstream health.
    Neither,
}

impl Outcome {
    /// The name the usage log and the finish log line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::UpstreamError => "upstream_error",
            Self::Interrupted => "interrupted",
            Self::ClientGone => "client_gone",
        }
    }

    pub fn breaker_verdict(self) -> BreakerVerdict {
        match self {
            Self::Completed => BreakerVerdict::Success,
            // The connection to OpenRouter broke mid-answer: upstream trouble.
            Self::Interrupted => BreakerVerdict::Failure,
            // An error event is the provider's verdict on this request, not an outage;
            // a client that left says nothing about upstream.
            Self::UpstreamError | Self::ClientGone => BreakerVerdict::Neither,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_keep_their_log_names_and_breaker_meaning() {
        let all = [
            (Outcome::Completed, "completed", BreakerVerdict::Success),
            (
                Outcome::UpstreamError,
                "upstream_error",
                BreakerVerdict::Neither,
            ),
            (Outcome::Interrupted, "interrupted", BreakerVerdict::Failure),
            (Outcome::ClientGone, "client_gone", BreakerVerdict::Neither),
        ];
        for (outcome, name, verdict) in all {
            assert_eq!(outcome.as_str(), name);
            assert_eq!(outcome.breaker_verdict(), verdict, "{name}");
        }
    }
}

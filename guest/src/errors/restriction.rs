//! A model the operator's filters exclude (`catalog::filter`): what was asked for and
//! what excludes it. Its text is the one-line refusal clients get; its card is the
//! original pipe's "Model restricted" card (case C18).

use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelRestriction {
    /// The model id the client asked for.
    pub requested: String,
    pub openrouter_id: String,
    /// The settings that exclude the model, e.g. `ORPIPE_MODEL_ALLOW`,
    /// `ORPIPE_MODEL_FREE_ONLY=true`.
    pub reasons: Vec<String>,
    /// `ORPIPE_MODEL_ALLOW`'s patterns (empty: no allow-list).
    pub allow: Vec<String>,
    pub free_only: bool,
    pub tools_only: bool,
}

impl fmt::Display for ModelRestriction {
    /// Worded after the original's `MODEL_RESTRICTED_TEMPLATE`, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let requested = &self.requested;
        write!(
            f,
            "Model restricted: orpipe's configuration does not allow model `{requested}`"
        )?;
        if self.requested != self.openrouter_id {
            write!(f, " (OpenRouter id `{}`)", self.openrouter_id)?;
        }
        write!(f, "; restricted by: {}", self.reasons.join(", "))?;
        if self.reasons.iter().any(|r| r == "ORPIPE_MODEL_ALLOW") {
            write!(f, "; ORPIPE_MODEL_ALLOW is `{}`", self.allow.join(","))?;
        }
        write!(
            f,
            ". Choose an allowed model (GET /v1/models lists them) or ask your admin to update the filters."
        )
    }
}

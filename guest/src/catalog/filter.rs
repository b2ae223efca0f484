//! Which models an operator lets clients use (FEATURES §3.4): an allow-list of ids or
//! `*` patterns, free models only, tool-calling models only. The same filter shortens
//! `GET /v1/models` and refuses chat requests for models outside it.
//!
//! Pure: settings in, decisions out. Patterns match the OpenRouter id
//! (`openai/gpt-4o`) or the listed id (`openai.gpt-4o`), case-insensitively; `*` matches
//! any run of characters, so `openai/*` allows every OpenAI model and `*:free` every free
//! variant. A `:variant` is part of the id: `openai/gpt-4o` does not allow
//! `openai/gpt-4o:nitro`, `openai/gpt-4o*` does.

use super::entry::CatalogEntry;
use super::ids::public_id;
use crate::errors::restriction::ModelRestriction;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelFilter {
    /// Ids or patterns; empty allows every model.
    pub allow: Vec<String>,
    pub free_only: bool,
    pub tools_only: bool,
    /// List and admit only models OpenRouter can serve with zero data retention.
    pub zdr_only: bool,
    /// Admit only ZDR models and ask OpenRouter for ZDR endpoints (`provider.zdr`).
    pub zdr_enforce: bool,
}

impl ModelFilter {
    /// Reads the comma-separated allow-list; blanks are skipped.
    pub fn parse_allow(csv: &str) -> Vec<String> {
        csv.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether deciding needs the model's catalog entry (the allow-list alone does not).
    pub fn needs_catalog(&self) -> bool {
        self.free_only || self.tools_only || self.zdr_only || self.zdr_enforce
    }

    /// `Ok` when the model may be used; otherwise which settings exclude it, e.g.
    /// `["ORPIPE_MODEL_ALLOW", "ORPIPE_MODEL_FREE_ONLY=true"]`. `entry` is `None` for a
    /// model the catalog does not know: free-only and tools-only cannot admit it then.
    pub fn admits(
        &self,
        openrouter_id: &str,
        entry: Option<&CatalogEntry>,
    ) -> Result<(), Vec<String>> {
        let mut reasons = Vec::new();
        if !self.allow.is_empty() && !self.allow.iter().any(|p| matches_id(p, openrouter_id)) {
            reasons.push("ORPIPE_MODEL_ALLOW".to_owned());
        }
        let caps = entry.map(CatalogEntry::capabilities);
        if self.free_only && !caps.as_ref().is_some_and(|c| c.free) {
            reasons.push("ORPIPE_MODEL_FREE_ONLY=true".to_owned());
        }
        if self.tools_only && !caps.as_ref().is_some_and(|c| c.tools) {
            reasons.push("ORPIPE_MODEL_TOOLS_ONLY=true".to_owned());
        }
        for (on, setting) in [
            (self.zdr_only, "ORPIPE_ZDR_ONLY=true"),
            (self.zdr_enforce, "ORPIPE_ZDR_ENFORCE=true"),
        ] {
            match entry.and_then(|e| e.zdr) {
                _ if !on => {}
                Some(true) => {}
                Some(false) => reasons.push(setting.to_owned()),
                // Fail closed: without the list nothing is known to keep no data.
                None => reasons.push(format!(
                    "{setting} (OpenRouter's ZDR list could not be loaded)"
                )),
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons)
        }
    }

    /// Why the model is refused: its one-line text is what a client gets, its card the
    /// original's `MODEL_RESTRICTED_TEMPLATE` (case C18).
    pub fn refusal(
        &self,
        requested: &str,
        openrouter_id: &str,
        reasons: &[String],
    ) -> ModelRestriction {
        ModelRestriction {
            requested: requested.to_owned(),
            openrouter_id: openrouter_id.to_owned(),
            reasons: reasons.to_vec(),
            allow: self.allow.clone(),
            free_only: self.free_only,
            tools_only: self.tools_only,
        }
    }
}

/// Whether `pattern` names `openrouter_id`, as the OpenRouter id or the listed id.
pub fn matches_id(pattern: &str, openrouter_id: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let id = openrouter_id.to_ascii_lowercase();
    glob(&pattern, &id) || glob(&pattern, &public_id(&id))
}

/// `*`-only glob matching, iterative with one backtrack point (linear in practice, never
/// exponential, so hostile patterns cost nothing).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&tc) = t.get(ti) {
        let pc = p.get(pi).copied();
        if pc == Some('*') {
            star = Some((pi, ti));
            pi += 1;
        } else if pc == Some(tc) {
            pi += 1;
            ti += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p.iter().skip(pi).all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn sample() -> Catalog {
        Catalog::parse(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/models_sample.json"
        )))
        .expect("sample")
    }

    fn admitted(filter: &ModelFilter) -> Vec<String> {
        sample()
            .entries
            .iter()
            .filter(|e| filter.admits(&e.id, Some(e)).is_ok())
            .map(|e| e.id.clone())
            .collect()
    }

    #[test]
    fn patterns_match_either_id_form_with_stars() {
        assert!(matches_id("openai/gpt-4o", "openai/gpt-4o"));
        assert!(matches_id("OpenAI.GPT-4o", "openai/gpt-4o"));
        assert!(!matches_id("openai/gpt-4o", "openai/gpt-4o:nitro"));
        assert!(matches_id("openai/gpt-4o*", "openai/gpt-4o:nitro"));
        assert!(matches_id("openai/*", "openai/gpt-4.1"));
        assert!(matches_id("*:free", "deepseek/deepseek-r1-0528:free"));
        assert!(matches_id("*", "x/y"));
        assert!(matches_id("a*b*c", "a/xxbyyc"));
        assert!(!matches_id("a*b*c", "a/xxbyy"));
        assert!(!matches_id("", "x/y"));
        assert!(matches_id(&"*".repeat(200), "x/y"));
    }

    #[test]
    fn zdr_filters_admit_listed_models_and_fail_closed_without_a_list() {
        let list: std::collections::BTreeSet<String> =
            ["anthropic/claude-sonnet-4.5".to_owned()].into();
        let catalog = sample().with_zdr(Some(&list));
        for filter in [
            ModelFilter {
                zdr_only: true,
                ..Default::default()
            },
            ModelFilter {
                zdr_enforce: true,
                ..Default::default()
            },
        ] {
            let admitted: Vec<&str> = catalog
                .entries
                .iter()
                .filter(|e| filter.admits(&e.id, Some(e)).is_ok())
                .map(|e| e.id.as_str())
                .collect();
            assert_eq!(admitted, ["anthropic/claude-sonnet-4.5"]);
            assert!(filter.needs_catalog());
        }
        let enforce = ModelFilter {
            zdr_enforce: true,
            ..Default::default()
        };
        let unknown = sample().with_zdr(None);
        let entry = unknown.entry("anthropic/claude-sonnet-4.5");
        let reasons = enforce
            .admits("anthropic/claude-sonnet-4.5", entry)
            .expect_err("no list: refused");
        assert!(reasons[0].contains("could not be loaded"), "{reasons:?}");
        assert!(enforce.admits("x/unknown", None).is_err());
    }

    #[test]
    fn the_allow_list_reads_comma_separated_values() {
        assert_eq!(
            ModelFilter::parse_allow(" openai/*, ,anthropic.claude-sonnet-4.5 ,"),
            ["openai/*", "anthropic.claude-sonnet-4.5"]
        );
        assert!(ModelFilter::parse_allow(" , ").is_empty());
    }

    #[test]
    fn each_filter_keeps_only_its_models() {
        assert_eq!(admitted(&ModelFilter::default()).len(), 5);
        let allow = ModelFilter {
            allow: vec!["openai/*".into(), "anthropic.claude-sonnet-4.5".into()],
            ..Default::default()
        };
        assert_eq!(
            admitted(&allow),
            ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5"]
        );
        let free = ModelFilter {
            free_only: true,
            ..Default::default()
        };
        assert_eq!(admitted(&free), ["deepseek/deepseek-r1-0528:free"]);
        let tools = ModelFilter {
            tools_only: true,
            ..Default::default()
        };
        assert_eq!(
            admitted(&tools),
            [
                "openai/gpt-4o-mini",
                "anthropic/claude-sonnet-4.5",
                "google/gemini-2.5-flash",
                "openrouter/auto"
            ]
        );
        let both = ModelFilter {
            free_only: true,
            tools_only: true,
            ..Default::default()
        };
        assert!(admitted(&both).is_empty());
    }

    #[test]
    fn unknown_models_pass_the_allow_list_only() {
        let allow = ModelFilter {
            allow: vec!["new/*".into()],
            ..Default::default()
        };
        assert!(allow.admits("new/model", None).is_ok());
        let free = ModelFilter {
            free_only: true,
            ..Default::default()
        };
        assert_eq!(
            free.admits("new/model", None),
            Err(vec!["ORPIPE_MODEL_FREE_ONLY=true".to_owned()])
        );
    }

    #[test]
    fn c18_the_refusal_names_the_model_and_what_restricts_it() {
        let filter = ModelFilter {
            allow: vec!["anthropic/claude-sonnet-4.5".into()],
            free_only: true,
            ..Default::default()
        };
        let reasons = filter
            .admits("openai/gpt-4o", None)
            .expect_err("restricted");
        assert_eq!(
            filter
                .refusal("openai.gpt-4o", "openai/gpt-4o", &reasons)
                .to_string(),
            "Model restricted: orpipe's configuration does not allow model `openai.gpt-4o` \
             (OpenRouter id `openai/gpt-4o`); restricted by: ORPIPE_MODEL_ALLOW, \
             ORPIPE_MODEL_FREE_ONLY=true; ORPIPE_MODEL_ALLOW is `anthropic/claude-sonnet-4.5`. \
             Choose an allowed model (GET /v1/models lists them) or ask your admin to update the filters."
        );
    }
}

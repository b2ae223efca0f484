//! Zero data retention (FEATURES §2.3, §3.1): which models OpenRouter can serve from
//! endpoints that keep no data (`GET /endpoints/zdr`), fetched with the catalog.
//!
//! Each catalog entry carries the answer (`CatalogEntry::zdr`): `Some(true|false)` when the
//! list was loaded, `None` when it could not be, in which case the ZDR filters refuse the
//! model (fail closed) rather than guess. A `:variant` is judged by its base model.
//!
//! Pure: payload in, ids out.

use crate::errors::GatewayError;
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Deserialize)]
struct Listing {
    data: Vec<serde_json::Value>,
}

/// The OpenRouter ids of models with at least one ZDR endpoint. Entries name the model as
/// `model_id` (or `id`); others are skipped. An empty or unreadable list is an error: it
/// says nothing about which models keep no data.
pub fn parse_zdr_list(payload: &[u8]) -> Result<BTreeSet<String>, GatewayError> {
    let listing: Listing = serde_json::from_slice(payload).map_err(|e| {
        GatewayError::UpstreamProtocol(format!("the ZDR endpoint list is not readable: {e}"))
    })?;
    let ids: BTreeSet<String> = listing
        .data
        .iter()
        .filter_map(|endpoint| {
            endpoint
                .get("model_id")
                .or_else(|| endpoint.get("id"))
                .and_then(serde_json::Value::as_str)
        })
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err(GatewayError::UpstreamProtocol(
            "OpenRouter's ZDR endpoint list names no model".into(),
        ));
    }
    Ok(ids)
}

/// Whether `openrouter_id` (or, for a `:variant`, its base) is in the list.
pub fn is_zdr(list: &BTreeSet<String>, openrouter_id: &str) -> bool {
    list.contains(openrouter_id)
        || openrouter_id
            .split_once(':')
            .is_some_and(|(base, _)| list.contains(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_read_from_endpoints() {
        let list = parse_zdr_list(
            br#"{"data":[{"name":"A | x","model_id":"a/x","provider_name":"P"},
                {"id":"b/y"},{"model_id":""},{"model_id":5},{"other":1},{"model_id":"a/x"}]}"#,
        )
        .unwrap();
        assert_eq!(list.into_iter().collect::<Vec<_>>(), ["a/x", "b/y"]);
    }

    #[test]
    fn empty_or_malformed_lists_are_errors() {
        for bad in [
            &b"{\"data\":[]}"[..],
            b"{\"data\":[{\"name\":\"no id\"}]}",
            b"[]",
            b"<html>",
            b"{\"data\":{}}",
        ] {
            assert!(
                parse_zdr_list(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn variants_are_judged_by_their_base() {
        let list: BTreeSet<String> = ["a/x".to_owned()].into();
        assert!(is_zdr(&list, "a/x"));
        assert!(is_zdr(&list, "a/x:nitro"));
        assert!(!is_zdr(&list, "a/y"));
        assert!(!is_zdr(&list, "a/y:x"));
    }
}

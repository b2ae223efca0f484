//! Reading one setting's raw `wasi:config` value as a typed value, with an error that
//! names the key: the shared vocabulary of every `from_lookup` (flags, choices, numbers
//! in a range). Blank counts as unset. Pure.

use crate::settings::{SettingsError, parse_flag};
use std::ops::RangeInclusive;

pub struct Reader<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The trimmed value; blank counts as unset.
    pub fn value(&self, key: &str) -> Option<String> {
        (self.lookup)(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn flag(&self, key: &'static str, default: bool) -> Result<bool, SettingsError> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => parse_flag(&v).ok_or_else(|| SettingsError::Invalid {
                key,
                reason: format!("{v:?} is not true or false"),
            }),
        }
    }

    /// One of `allowed` (any case), as the allowed spelling.
    pub fn one_of(
        &self,
        key: &'static str,
        allowed: &'static [&'static str],
        default: &'static str,
    ) -> Result<&'static str, SettingsError> {
        let Some(raw) = self.value(key) else {
            return Ok(default);
        };
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&raw))
            .copied()
            .ok_or_else(|| SettingsError::Invalid {
                key,
                reason: format!("{raw:?} is not one of {}", allowed.join(", ")),
            })
    }

    /// A whole number within `range`.
    pub fn number_in(
        &self,
        key: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, SettingsError> {
        let Some(raw) = self.value(key) else {
            return Ok(default);
        };
        raw.parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| SettingsError::Invalid {
                key,
                reason: format!(
                    "{raw:?} is not a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(value: &'static str) -> Reader<impl Fn(&str) -> Option<String>> {
        Reader::new(move |_| Some(value.to_owned()))
    }

    #[test]
    fn values_are_read_or_refused_naming_the_key() {
        assert_eq!(reader(" On ").flag("k", false), Ok(true));
        assert_eq!(reader("  ").flag("k", true), Ok(true), "blank: default");
        assert!(reader("maybe").flag("k", false).is_err());
        assert_eq!(
            reader("HIGH").one_of("k", &["low", "high"], "low"),
            Ok("high")
        );
        let error = reader("x")
            .one_of("k", &["low", "high"], "low")
            .unwrap_err();
        assert!(error.to_string().contains("setting k"), "{error}");
        assert_eq!(reader("7").number_in("k", 1, 1..=10), Ok(7));
        for bad in ["0", "11", "-1", "1.5", "many"] {
            assert!(reader(bad).number_in("k", 1, 1..=10).is_err(), "{bad}");
        }
    }
}

//! Client authentication: `Authorization: Bearer <key>` against `ORPIPE_API_KEYS`.
//! Keys are compared in constant time and never logged.

use subtle::ConstantTimeEq;

pub struct ClientKeys {
    keys: Vec<Vec<u8>>,
}

impl ClientKeys {
    pub fn new(keys: &[String]) -> Self {
        Self {
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
        }
    }

    pub fn required(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether an `Authorization` header value carries one of the keys. Every key is
    /// compared, so the time taken does not tell which one nearly matched.
    pub fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        if !self.required() {
            return true;
        }
        let Some(presented) = authorization.and_then(bearer_token) else {
            return false;
        };
        self.keys.iter().fold(0u8, |found, key| {
            found | key.as_slice().ct_eq(presented).unwrap_u8()
        }) == 1
    }
}

fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = header.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| token.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_bearer_keys_pass_when_keys_are_set() {
        let keys = ClientKeys::new(&["alpha".into(), "beta".into()]);
        assert!(keys.accepts(Some(b"Bearer beta")));
        assert!(keys.accepts(Some(b"bearer  alpha ")));
        for bad in [
            &b"Bearer gamma"[..],
            b"Bearer alph",
            b"Basic alpha",
            b"alpha",
            b"Bearer ",
        ] {
            assert!(!keys.accepts(Some(bad)), "{}", String::from_utf8_lossy(bad));
        }
        assert!(!keys.accepts(None));
    }

    #[test]
    fn no_keys_means_no_authentication() {
        let open = ClientKeys::new(&[]);
        assert!(!open.required());
        assert!(open.accepts(None));
    }
}

//! Client authentication: `Authorization: Bearer <key>` against `ORPIPE_API_KEYS`.
//! Keys are compared in constant time and never logged.
//!
//! The guest never sees a key. It learns which key a request came with through
//! [`CLIENT_HEADER`], a non-secret label derived from the key (its per-user breaker needs
//! to tell clients apart when requests carry no user id).

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The request header the host sets to the matched key's [`identity`]. Whatever a client
/// sends under this name is removed first, so it cannot pose as another client.
pub const CLIENT_HEADER: &str = "x-orpipe-client";

pub struct ClientKeys {
    keys: Vec<Vec<u8>>,
    /// `identities[i]` labels `keys[i]`.
    identities: Vec<String>,
}

/// Who passed authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Client authentication is off; nothing identifies the client.
    Anonymous,
    /// A client presenting one of the keys; its label (see [`identity`]).
    Key(String),
}

impl ClientKeys {
    pub fn new(keys: &[String]) -> Self {
        Self {
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            identities: keys.iter().map(|k| identity(k.as_bytes())).collect(),
        }
    }

    pub fn required(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Who an `Authorization` header value belongs to, or `None` when it carries none of
    /// the keys. Every key is compared, so the time taken does not tell which one
    /// (nearly) matched.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Option<Caller> {
        if !self.required() {
            return Some(Caller::Anonymous);
        }
        let presented = authorization.and_then(bearer_token)?;
        let mut found = 0u8;
        let mut index = 0u32;
        for (i, key) in self.keys.iter().enumerate() {
            let equal = key.as_slice().ct_eq(presented);
            found |= equal.unwrap_u8();
            index.conditional_assign(&u32::try_from(i).unwrap_or(u32::MAX), equal);
        }
        if found != 1 {
            return None;
        }
        let index = usize::try_from(index).ok()?;
        self.identities.get(index).cloned().map(Caller::Key)
    }
}

/// A key's label for the guest: `key-` and the first 16 hex digits of its SHA-256. It
/// tells keys apart without revealing them (the digest of a high-entropy key cannot be
/// reversed, and 64 bits are too few to help a guess).
pub fn identity(key: &[u8]) -> String {
    let digest = Sha256::digest(key);
    let hex: String = digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("key-{hex}")
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
        assert_eq!(
            keys.authenticate(Some(b"Bearer beta")),
            Some(Caller::Key(identity(b"beta")))
        );
        assert_eq!(
            keys.authenticate(Some(b"bearer  alpha ")),
            Some(Caller::Key(identity(b"alpha")))
        );
        for bad in [
            &b"Bearer gamma"[..],
            b"Bearer alph",
            b"Basic alpha",
            b"alpha",
            b"Bearer ",
        ] {
            assert_eq!(
                keys.authenticate(Some(bad)),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(keys.authenticate(None), None);
    }

    #[test]
    fn no_keys_means_no_authentication() {
        let open = ClientKeys::new(&[]);
        assert!(!open.required());
        assert_eq!(open.authenticate(None), Some(Caller::Anonymous));
    }

    #[test]
    fn identities_are_short_distinct_and_hide_the_key() {
        let alpha = identity(b"sk-alpha-secret");
        assert_eq!(alpha.len(), "key-".len() + 16);
        assert!(alpha.starts_with("key-"));
        assert!(alpha[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!alpha.contains("alpha"));
        assert_ne!(alpha, identity(b"sk-beta-secret"));
        // SHA-256("abc") starts ba7816bf8f01cfea.
        assert_eq!(identity(b"abc"), "key-ba7816bf8f01cfea");
    }
}

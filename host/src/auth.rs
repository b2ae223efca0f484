//! Client authentication: `Authorization: Bearer <key>` against `ORPIPE_API_KEYS` and
//! `ORPIPE_ADMIN_KEYS` (admin keys are client keys too). Keys are compared in constant
//! time and never logged.
//!
//! The guest never sees a key. It learns which key a request came with through
//! [`CLIENT_HEADER`], a non-secret label derived from the key (its per-user breaker needs
//! to tell clients apart when requests carry no user id), and whether the caller may change
//! settings through [`ADMIN_HEADER`].

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The request header the host sets to the matched key's [`identity`]. Whatever a client
/// sends under this name is removed first, so it cannot pose as another client.
pub const CLIENT_HEADER: &str = "x-orpipe-client";

/// The request header the host sets to `1` when the caller is an admin (see
/// [`Caller::is_admin`]); the guest lets only admins read and change its live settings.
/// Like [`CLIENT_HEADER`], whatever a client sends under this name is removed first.
pub const ADMIN_HEADER: &str = "x-orpipe-admin";

pub struct ClientKeys {
    keys: Vec<Vec<u8>>,
    /// `identities[i]` labels `keys[i]`.
    identities: Vec<String>,
    /// `admin[i]`: `keys[i]` is one of the admin keys.
    admin: Vec<bool>,
}

/// Who passed authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Client authentication is off (no keys of either kind); nothing identifies the
    /// client. orpipe then listens on loopback only, so whoever reaches it runs it.
    Anonymous,
    /// A client presenting one of the keys: its label (see [`identity`]), and whether the
    /// key is an admin key.
    Key { identity: String, admin: bool },
}

impl Caller {
    /// Admins may read and change the live settings: a caller with an admin key, or
    /// anyone when no keys are configured at all (a loopback-only deployment).
    pub fn is_admin(&self) -> bool {
        match self {
            Caller::Anonymous => true,
            Caller::Key { admin, .. } => *admin,
        }
    }
}

impl ClientKeys {
    /// `client`: `ORPIPE_API_KEYS`; `admin`: `ORPIPE_ADMIN_KEYS`, which are accepted as
    /// client keys as well. A key in both lists is an admin key.
    pub fn new(client: &[String], admin: &[String]) -> Self {
        let keys = client
            .iter()
            .map(|k| (k, false))
            .chain(admin.iter().map(|k| (k, true)));
        let (mut bytes, mut identities, mut admins) = (Vec::new(), Vec::new(), Vec::new());
        for (key, is_admin) in keys {
            bytes.push(key.as_bytes().to_vec());
            identities.push(identity(key.as_bytes()));
            admins.push(is_admin);
        }
        Self {
            keys: bytes,
            identities,
            admin: admins,
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
        let mut admin = 0u8;
        let mut index = 0u32;
        for (i, (key, is_admin)) in self.keys.iter().zip(&self.admin).enumerate() {
            let equal = key.as_slice().ct_eq(presented);
            found |= equal.unwrap_u8();
            admin |= equal.unwrap_u8() & u8::from(*is_admin);
            index.conditional_assign(&u32::try_from(i).unwrap_or(u32::MAX), equal);
        }
        if found != 1 {
            return None;
        }
        let index = usize::try_from(index).ok()?;
        let identity = self.identities.get(index).cloned()?;
        Some(Caller::Key {
            identity,
            admin: admin == 1,
        })
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
        let keys = ClientKeys::new(&["alpha".into(), "beta".into()], &[]);
        let client = |key: &[u8]| {
            Some(Caller::Key {
                identity: identity(key),
                admin: false,
            })
        };
        assert_eq!(keys.authenticate(Some(b"Bearer beta")), client(b"beta"));
        assert_eq!(keys.authenticate(Some(b"bearer  alpha ")), client(b"alpha"));
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
        let open = ClientKeys::new(&[], &[]);
        assert!(!open.required());
        assert_eq!(open.authenticate(None), Some(Caller::Anonymous));
        assert!(
            Caller::Anonymous.is_admin(),
            "without any keys (loopback only) whoever reaches orpipe is its admin"
        );
    }

    #[test]
    fn admin_keys_are_client_keys_that_make_the_caller_an_admin() {
        let keys = ClientKeys::new(
            &["client".into(), "both".into()],
            &["root".into(), "both".into()],
        );
        assert!(keys.required());
        let caller = |header: &[u8]| keys.authenticate(Some(header));
        assert_eq!(
            caller(b"Bearer root"),
            Some(Caller::Key {
                identity: identity(b"root"),
                admin: true
            })
        );
        assert_eq!(
            caller(b"Bearer client"),
            Some(Caller::Key {
                identity: identity(b"client"),
                admin: false
            })
        );
        assert!(
            caller(b"Bearer both").is_some_and(|c| c.is_admin()),
            "a key in both lists is an admin key"
        );
        assert_eq!(caller(b"Bearer roo"), None);
        assert_eq!(keys.authenticate(None), None);
        // Admin keys alone turn authentication on: nobody is anonymous then.
        let admins_only = ClientKeys::new(&[], &["root".into()]);
        assert!(admins_only.required());
        assert_eq!(admins_only.authenticate(None), None);
        assert!(
            admins_only
                .authenticate(Some(b"Bearer root"))
                .is_some_and(|c| c.is_admin())
        );
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

//! Artifact encryption keys, derived from operator secrets.
//!
//! A secret (`ORPIPE_ARTIFACT_KEY`) is turned into a 256-bit AES-GCM-SIV key with
//! HKDF-SHA256 under a fixed, versioned salt, so every replica derives the same key from
//! the same secret and the raw secret is never used as a key. A second HKDF output names
//! the key: the key id stored beside each record, so a record says which key sealed it
//! and rotation only needs the old secrets kept for reading (`ORPIPE_ARTIFACT_OLD_KEYS`).
//! HKDF assumes a high-entropy secret: use a random one (`openssl rand -base64 32`), not a
//! password.

use hkdf::Hkdf;
use sha2::Sha256;

const SALT: &[u8] = b"orpipe/artifacts/v1";

#[derive(Clone)]
pub struct ArtifactKey {
    /// 16 lowercase hex characters; reveals nothing about the key.
    pub id: String,
    pub(super) bytes: [u8; 32],
}

impl std::fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ArtifactKey {
    pub fn derive(secret: &str) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(SALT), secret.as_bytes());
        let mut bytes = [0u8; 32];
        let mut id = [0u8; 8];
        // Both lengths are far below HKDF-SHA256's limit of 8160 bytes, so neither fails.
        let ok = hkdf.expand(b"aes-256-gcm-siv key", &mut bytes).is_ok()
            && hkdf.expand(b"key id", &mut id).is_ok();
        debug_assert!(ok);
        Self {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            bytes,
        }
    }
}

/// The key new records are sealed with (if any) and every key records may be opened with.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    current: Option<ArtifactKey>,
    old: Vec<ArtifactKey>,
}

impl Keyring {
    /// Blank secrets are ignored; without a current secret new records are stored plain.
    pub fn from_secrets<'a>(current: Option<&str>, old: impl IntoIterator<Item = &'a str>) -> Self {
        let current = current
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(ArtifactKey::derive);
        let old = old
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(ArtifactKey::derive)
            .collect();
        Self { current, old }
    }

    pub fn current(&self) -> Option<&ArtifactKey> {
        self.current.as_ref()
    }

    pub fn find(&self, id: &str) -> Option<&ArtifactKey> {
        self.current
            .iter()
            .chain(&self.old)
            .find(|key| key.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_secret_gives_the_same_key_and_id_everywhere() {
        let a = ArtifactKey::derive("correct horse battery staple");
        let b = ArtifactKey::derive("correct horse battery staple");
        let c = ArtifactKey::derive("another secret");
        assert_eq!(a.id, b.id);
        assert_eq!(a.bytes, b.bytes);
        assert_ne!(a.id, c.id);
        assert_ne!(a.bytes, c.bytes);
        assert_eq!(a.id.len(), 16);
        assert!(a.id.bytes().all(|b| b.is_ascii_hexdigit()));
        // Neither the key id nor the key is a plain hash of the secret.
        assert!(!format!("{a:?}").contains("bytes"));
    }

    #[test]
    fn the_keyring_finds_current_and_old_keys_by_id() {
        let ring = Keyring::from_secrets(Some("new"), ["old-1", " ", "old-2"]);
        let new_id = ArtifactKey::derive("new").id;
        let old_id = ArtifactKey::derive("old-2").id;
        assert_eq!(ring.current().map(|k| k.id.clone()), Some(new_id.clone()));
        assert!(ring.find(&new_id).is_some());
        assert!(ring.find(&old_id).is_some());
        assert!(ring.find("0000000000000000").is_none());
        assert!(Keyring::from_secrets(Some("  "), []).current().is_none());
    }
}

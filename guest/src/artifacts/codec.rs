//! How an artifact becomes the bytes stored in its row, and back.
//!
//! `payload = version(1) ‖ flags(1) ‖ [nonce(12)] ‖ body`, where body is the item's
//! compact JSON, LZ4-compressed when that saves space on a payload of at least
//! `COMPRESS_FROM` bytes (size-prepended block format), then sealed with AES-256-GCM-SIV
//! when a key is configured. The record's id and conversation are the associated data,
//! so a sealed payload copied into another row does not open. The key id is stored in
//! its own column (see `store`).

use super::keys::{ArtifactKey, Keyring};
use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use serde_json::Value;

const VERSION: u8 = 1;
const FLAG_LZ4: u8 = 1;
const FLAG_SEALED: u8 = 2;
/// Smaller payloads rarely shrink enough to pay for the decompression.
pub const COMPRESS_FROM: usize = 256;
/// Largest item accepted when opening: a corrupt size prefix must not allocate gigabytes.
pub const MAX_ITEM_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the record was sealed with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the record does not decrypt with its key (wrong key, or altered bytes)")]
    Undecryptable,
    #[error("the record is damaged: {0}")]
    Damaged(&'static str),
}

/// Stored form of one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: Option<String>,
    pub payload: Vec<u8>,
}

fn associated_data(record_id: &str, chat_id: &str) -> Vec<u8> {
    format!("orpipe-artifact-v1\n{record_id}\n{chat_id}").into_bytes()
}

/// The nonce for one seal, from the host's random bytes: their first 12, or `None` when
/// the host returned fewer (the artifact is then not stored; a made-up nonce could
/// repeat, and a repeated nonce weakens the seal).
pub fn nonce_from(random: &[u8]) -> Option<[u8; 12]> {
    random.get(..12)?.try_into().ok()
}

/// Encodes `item` for the row `(record_id, chat_id)`; `nonce` must be fresh random bytes.
pub fn seal(
    item: &Value,
    record_id: &str,
    chat_id: &str,
    key: Option<&ArtifactKey>,
    nonce: [u8; 12],
) -> Sealed {
    let json = item.to_string().into_bytes();
    let mut flags = 0;
    let mut body = json;
    if body.len() >= COMPRESS_FROM {
        let compressed = lz4_flex::compress_prepend_size(&body);
        if compressed.len() < body.len() {
            flags |= FLAG_LZ4;
            body = compressed;
        }
    }
    let mut payload = vec![VERSION];
    let key_id = match key {
        Some(key) => {
            let cipher = Aes256GcmSiv::new((&key.bytes).into());
            let aad = associated_data(record_id, chat_id);
            // Encryption only fails for plaintexts beyond 64 GiB.
            let Ok(ciphertext) = cipher.encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &body,
                    aad: &aad,
                },
            ) else {
                unreachable!("artifact larger than AES-GCM-SIV's limit")
            };
            payload.push(flags | FLAG_SEALED);
            payload.extend_from_slice(&nonce);
            payload.extend_from_slice(&ciphertext);
            Some(key.id.clone())
        }
        None => {
            payload.push(flags);
            payload.extend_from_slice(&body);
            None
        }
    };
    Sealed { key_id, payload }
}

/// Decodes a stored artifact, decrypting with the key its row names.
pub fn open(
    sealed: &Sealed,
    record_id: &str,
    chat_id: &str,
    keys: &Keyring,
) -> Result<Value, OpenError> {
    let [version, flags, rest @ ..] = sealed.payload.as_slice() else {
        return Err(OpenError::Damaged("too short"));
    };
    if *version != VERSION {
        return Err(OpenError::Damaged("unknown format version"));
    }
    let plain;
    let body: &[u8] = if flags & FLAG_SEALED != 0 {
        let key_id = sealed
            .key_id
            .as_deref()
            .ok_or(OpenError::Damaged("sealed without a key id"))?;
        let key = keys
            .find(key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_owned()))?;
        if rest.len() < 12 {
            return Err(OpenError::Damaged("too short for its nonce"));
        }
        let (nonce, ciphertext) = rest.split_at(12);
        let cipher = Aes256GcmSiv::new((&key.bytes).into());
        let aad = associated_data(record_id, chat_id);
        plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Undecryptable)?;
        &plain
    } else {
        rest
    };
    let decompressed;
    let json: &[u8] = if flags & FLAG_LZ4 != 0 {
        let [a, b, c, d, block @ ..] = body else {
            return Err(OpenError::Damaged("compressed body without its size"));
        };
        let size = u32::from_le_bytes([*a, *b, *c, *d]) as usize;
        if size > MAX_ITEM_BYTES {
            return Err(OpenError::Damaged("declared size beyond the limit"));
        }
        decompressed = lz4_flex::decompress(block, size)
            .map_err(|_| OpenError::Damaged("LZ4 block does not decompress"))?;
        &decompressed
    } else {
        body
    };
    serde_json::from_slice(json).map_err(|_| OpenError::Damaged("not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn big_item() -> Value {
        json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAA".repeat(200),
            "summary": [{"type": "summary_text", "text": "thinking about sums"}]})
    }

    #[test]
    fn a_nonce_needs_twelve_random_bytes() {
        let random: Vec<u8> = (1..=16).collect();
        assert_eq!(
            nonce_from(&random[..12]),
            Some([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        );
        assert_eq!(
            nonce_from(&random),
            Some([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        );
        for short in [&random[..0], &random[..1], &random[..11]] {
            assert_eq!(nonce_from(short), None, "{} bytes", short.len());
        }
    }

    #[test]
    fn items_round_trip_plain_and_sealed_small_and_large() {
        let ring = Keyring::from_secrets(Some("k1"), []);
        let small = json!({"type": "reasoning", "id": "rs_2", "summary": []});
        for item in [small, big_item()] {
            for key in [None, ring.current()] {
                let sealed = seal(&item, "01ID", "chat", key, [7; 12]);
                assert_eq!(sealed.key_id.is_some(), key.is_some());
                assert_eq!(open(&sealed, "01ID", "chat", &ring), Ok(item.clone()));
            }
        }
    }

    #[test]
    fn numbers_open_exactly_as_they_were_sealed() {
        // Found by the artifact_codec fuzz target: serde_json's default float parser may
        // land one step off the written value, so a stored item came back altered.
        let item: Value =
            serde_json::from_str(&format!(r#"{{"n": {}}}"#, "6".repeat(39))).expect("a number");
        let ring = Keyring::from_secrets(None, []);
        let sealed = seal(&item, "01ID", "chat", None, [7; 12]);
        assert_eq!(open(&sealed, "01ID", "chat", &ring), Ok(item));
    }

    #[test]
    fn large_items_are_compressed_and_sealed_ones_hold_no_plaintext() {
        let ring = Keyring::from_secrets(Some("k1"), []);
        let item = big_item();
        let plain = seal(&item, "01ID", "chat", None, [0; 12]);
        assert_eq!(plain.payload[1], FLAG_LZ4);
        assert!(plain.payload.len() < item.to_string().len() / 2);
        let sealed = seal(&item, "01ID", "chat", ring.current(), [1; 12]);
        assert_eq!(sealed.payload[1], FLAG_LZ4 | FLAG_SEALED);
        let tiny = seal(
            &json!({"a": "gAAAAgAAAA"}),
            "01ID",
            "chat",
            ring.current(),
            [1; 12],
        );
        for bytes in [&sealed.payload, &tiny.payload] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains("gAAAA") && !text.contains("reasoning"),
                "{text}"
            );
        }
    }

    #[test]
    fn rotation_reads_old_records_and_seals_new_ones_with_the_new_key() {
        let before = Keyring::from_secrets(Some("old"), []);
        let record = seal(&big_item(), "01ID", "chat", before.current(), [3; 12]);
        let after = Keyring::from_secrets(Some("new"), ["old"]);
        assert_eq!(open(&record, "01ID", "chat", &after), Ok(big_item()));
        let fresh = seal(&big_item(), "01ID", "chat", after.current(), [4; 12]);
        assert_ne!(fresh.key_id, record.key_id);
        let forgotten = Keyring::from_secrets(Some("new"), []);
        assert!(matches!(
            open(&record, "01ID", "chat", &forgotten),
            Err(OpenError::UnknownKey(_))
        ));
    }

    #[test]
    fn altered_moved_or_garbled_records_fail_cleanly() {
        let ring = Keyring::from_secrets(Some("k"), []);
        let sealed = seal(&big_item(), "01ID", "chat", ring.current(), [5; 12]);
        assert_eq!(
            open(&sealed, "01ID", "other-chat", &ring),
            Err(OpenError::Undecryptable),
            "bound to its conversation"
        );
        let mut altered = sealed.clone();
        let last = altered.payload.len() - 1;
        altered.payload[last] ^= 1;
        assert_eq!(
            open(&altered, "01ID", "chat", &ring),
            Err(OpenError::Undecryptable)
        );
        let garbage = [
            vec![],
            vec![1],
            vec![9, 0, b'{', b'}'],
            vec![1, FLAG_SEALED, 1, 2],
            vec![1, FLAG_LZ4, 0xff, 0xff, 0xff, 0x7f, 0],
            vec![1, FLAG_LZ4, 4, 0, 0, 0, 0xff],
            vec![1, 0, b'n', b'o'],
        ];
        for payload in garbage {
            let record = Sealed {
                key_id: Some(ring.current().map(|k| k.id.clone()).unwrap_or_default()),
                payload,
            };
            assert!(open(&record, "01ID", "chat", &ring).is_err());
        }
    }
}

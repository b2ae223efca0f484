//! Artifact sealing and opening: the host's random bytes may be short (no nonce, no
//! seal), any item seals and opens back to itself, and stored bytes of any shape open
//! to an error, never a panic.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use orpipe_guest::artifacts::codec::{Sealed, nonce_from, open, seal};
use orpipe_guest::artifacts::keys::Keyring;

#[derive(Arbitrary, Debug)]
struct Input {
    /// What `wasi:random` returned; fewer than 12 bytes must be handled.
    random: Vec<u8>,
    item: String,
    secret: Option<String>,
    record_id: String,
    chat_id: String,
    stored_key_id: Option<String>,
    stored: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let ring = Keyring::from_secrets(input.secret.as_deref(), []);
    match nonce_from(&input.random) {
        None => assert!(input.random.len() < 12),
        Some(nonce) => {
            assert_eq!(nonce.as_slice(), &input.random[..12]);
            if let Ok(item) = serde_json::from_str::<serde_json::Value>(&input.item) {
                let sealed = seal(&item, &input.record_id, &input.chat_id, ring.current(), nonce);
                let opened = open(&sealed, &input.record_id, &input.chat_id, &ring);
                assert_eq!(opened.as_ref(), Ok(&item));
            }
        }
    }
    let stored = Sealed {
        key_id: input.stored_key_id,
        payload: input.stored,
    };
    let _ = open(&stored, &input.record_id, &input.chat_id, &ring);
});

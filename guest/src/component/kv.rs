//! The shared key-value store (`wasi:keyvalue`): the catalog cache and request counters.
//!
//! `wasi:keyvalue` has no expiry, so a cached value is stored beside an `expires-at`
//! key and both are read and written together with the batch interface.

use super::wasi::keyvalue::{atomics, batch, store};

/// The bucket every host serves by default (the wasmtime CLI serves only this one).
const BUCKET: &str = "";

fn open() -> Option<store::Bucket> {
    store::open(BUCKET).ok()
}

/// Returns the cached value if it has not expired at `now_ms`.
pub fn get_fresh(key: &str, now_ms: u64) -> Option<Vec<u8>> {
    let bucket = open()?;
    let expiry_key = format!("{key}:expires-at-ms");
    let values = batch::get_many(&bucket, &[key.to_owned(), expiry_key]).ok()?;
    let mut values = values.into_iter();
    let (_, value) = values.next()??;
    let (_, expires) = values.next()??;
    let expires_at: u64 = std::str::from_utf8(&expires).ok()?.parse().ok()?;
    (now_ms < expires_at).then_some(value)
}

/// Stores a value that counts as fresh until `expires_at_ms`. Failures are returned so
/// callers can log them; a cache that cannot be written only costs a refetch.
pub fn put_until(key: &str, value: &[u8], expires_at_ms: u64) -> Result<(), String> {
    let bucket = open().ok_or("key-value store unavailable")?;
    batch::set_many(
        &bucket,
        &[
            (key.to_owned(), value.to_vec()),
            (
                format!("{key}:expires-at-ms"),
                expires_at_ms.to_string().into_bytes(),
            ),
        ],
    )
    .map_err(|e| format!("{e:?}"))
}

/// Adds one to a counter under `metrics:`; metrics are best effort.
pub fn count(name: &str) {
    if let Some(bucket) = open() {
        let _ = atomics::increment(&bucket, &format!("metrics:{name}"), 1);
    }
}

//! The shared key-value store (`wasi:keyvalue`): the catalog cache and the per-user
//! breaker records.
//! A store that is missing or failing only costs refetches; it never fails a request.

use super::wasi::keyvalue::{batch, store};

/// The bucket every host serves by default (the wasmtime CLI serves only this one).
const BUCKET: &str = "";

fn open() -> Option<store::Bucket> {
    store::open(BUCKET).ok()
}

/// Reads several keys at once; a key that is missing or unreadable is `None`.
pub fn get_many(keys: &[&str]) -> Vec<Option<Vec<u8>>> {
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    let found = open()
        .and_then(|bucket| batch::get_many(&bucket, &keys).ok())
        .unwrap_or_default();
    let mut found = found.into_iter();
    keys.iter()
        .map(|_| found.next().flatten().map(|(_, value)| value))
        .collect()
}

pub fn get(key: &str) -> Option<Vec<u8>> {
    get_many(&[key]).into_iter().next().flatten()
}

/// Writes several keys together, so readers see them change as one.
pub fn set_many(pairs: &[(&str, Vec<u8>)]) -> Result<(), String> {
    let bucket = open().ok_or("key-value store unavailable")?;
    let pairs: Vec<(String, Vec<u8>)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    batch::set_many(&bucket, &pairs).map_err(|e| format!("{e:?}"))
}

pub fn set(key: &str, value: Vec<u8>) -> Result<(), String> {
    set_many(&[(key, value)])
}

pub fn delete(key: &str) -> Result<(), String> {
    let bucket = open().ok_or("key-value store unavailable")?;
    bucket.delete(key).map_err(|e| format!("{e:?}"))
}

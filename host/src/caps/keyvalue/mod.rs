//! `wasi:keyvalue` (store, atomics, batch): one logical store shared by every instance.
//!
//! The embedded backend is an in-process map (`memory`); the scale-out backend is Redis
//! (`redis`), behind the same `KeyValue` trait. Only the default bucket (`""`) exists, as under the
//! wasmtime CLI, so the guest behaves the same in both hosts.

pub mod expiry;
pub mod memory;
pub mod redis;

use crate::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::state::State;
use async_trait::async_trait;
use wasmtime::component::Resource;

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("value of {0:?} is not a counter")]
    NotACounter(String),
    #[error("counter {0:?} would overflow")]
    Overflow(String),
    #[error("{0}")]
    Backend(String),
}

#[async_trait]
pub trait KeyValue: Send + Sync {
    /// One line for the start-up log.
    fn summary(&self) -> String;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), KvError>;
    async fn delete(&self, key: &str) -> Result<(), KvError>;
    async fn exists(&self, key: &str) -> Result<bool, KvError>;
    /// A page of keys; the cursor is opaque to the guest.
    async fn list_keys(&self, cursor: Option<u64>) -> Result<(Vec<String>, Option<u64>), KvError>;
    /// Counters are stored as decimal text, so every backend reads them the same way.
    async fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError>;
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<(String, Vec<u8>)>>, KvError>;
    async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError>;
    async fn delete_many(&self, keys: &[String]) -> Result<(), KvError>;
}

/// The guest's handle to the (only) bucket.
pub struct Bucket;

fn to_wit(error: KvError) -> store::Error {
    store::Error::Other(error.to_string())
}

impl store::Host for State {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, store::Error>> {
        if !identifier.is_empty() {
            return Ok(Err(store::Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(Bucket)?))
    }
}

impl store::HostBucket for State {
    async fn get(
        &mut self,
        _: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(self.caps.kv.get(&key).await.map_err(to_wit))
    }

    async fn set(
        &mut self,
        _: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.caps.kv.set(&key, value).await.map_err(to_wit))
    }

    async fn delete(
        &mut self,
        _: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.caps.kv.delete(&key).await.map_err(to_wit))
    }

    async fn exists(
        &mut self,
        _: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, store::Error>> {
        Ok(self.caps.kv.exists(&key).await.map_err(to_wit))
    }

    async fn list_keys(
        &mut self,
        _: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        Ok(self
            .caps
            .kv
            .list_keys(cursor)
            .await
            .map(|(keys, cursor)| store::KeyResponse { keys, cursor })
            .map_err(to_wit))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for State {
    async fn increment(
        &mut self,
        _: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> wasmtime::Result<Result<u64, store::Error>> {
        Ok(self.caps.kv.increment(&key, delta).await.map_err(to_wit))
    }
}

impl batch::Host for State {
    async fn get_many(
        &mut self,
        _: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<Option<(String, Vec<u8>)>>, store::Error>> {
        Ok(self.caps.kv.get_many(&keys).await.map_err(to_wit))
    }

    async fn set_many(
        &mut self,
        _: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.caps.kv.set_many(key_values).await.map_err(to_wit))
    }

    async fn delete_many(
        &mut self,
        _: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.caps.kv.delete_many(&keys).await.map_err(to_wit))
    }
}

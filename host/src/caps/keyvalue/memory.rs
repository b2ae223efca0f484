//! The embedded key-value backend: one map in this process, shared by every instance
//! (wasmtime's sample store copies its map per `open`, so writes would not be shared).

use super::{KeyValue, KvError};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Keys returned per `list-keys` page.
const PAGE: usize = 1000;

#[derive(Default)]
pub struct MemoryKv {
    map: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryKv {
    fn with_map<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R) -> R {
        // A panic while holding the lock cannot leave the map half-written (every
        // operation is a single insert/remove), so a poisoned lock is still usable.
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut map)
    }
}

#[async_trait]
impl KeyValue for MemoryKv {
    fn summary(&self) -> String {
        "in-memory".into()
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.with_map(|m| m.get(key).cloned()))
    }

    async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.with_map(|m| m.insert(key.to_owned(), value));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.with_map(|m| m.remove(key));
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.with_map(|m| m.contains_key(key)))
    }

    async fn list_keys(&self, cursor: Option<u64>) -> Result<(Vec<String>, Option<u64>), KvError> {
        let skip = usize::try_from(cursor.unwrap_or(0)).unwrap_or(usize::MAX);
        Ok(self.with_map(|m| {
            let keys: Vec<String> = m.keys().skip(skip).take(PAGE).cloned().collect();
            let next = (skip + keys.len() < m.len()).then(|| (skip + keys.len()) as u64);
            (keys, next)
        }))
    }

    async fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError> {
        self.with_map(|m| {
            let current = match m.get(key) {
                None => 0,
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| KvError::NotACounter(key.to_owned()))?,
            };
            let next = current
                .checked_add(delta)
                .ok_or_else(|| KvError::Overflow(key.to_owned()))?;
            m.insert(key.to_owned(), next.to_string().into_bytes());
            Ok(next)
        })
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<(String, Vec<u8>)>>, KvError> {
        Ok(self.with_map(|m| {
            keys.iter()
                .map(|k| m.get(k).map(|v| (k.clone(), v.clone())))
                .collect()
        }))
    }

    async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        self.with_map(|m| m.extend(pairs));
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
        self.with_map(|m| keys.iter().for_each(|k| drop(m.remove(k))));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_counters_batches_and_pages_behave_like_one_store() {
        let kv = MemoryKv::default();
        kv.set("a", b"1".to_vec()).await.expect("set");
        assert_eq!(kv.get("a").await.expect("get"), Some(b"1".to_vec()));
        assert_eq!(kv.increment("a", 4).await.expect("increment"), 5);
        assert_eq!(kv.increment("new", 2).await.expect("increment"), 2);
        kv.set("text", b"x".to_vec()).await.expect("set");
        assert!(matches!(
            kv.increment("text", 1).await,
            Err(KvError::NotACounter(_))
        ));

        kv.set_many(vec![("b".into(), b"2".to_vec())])
            .await
            .expect("set_many");
        let got = kv
            .get_many(&["b".into(), "missing".into()])
            .await
            .expect("get_many");
        assert_eq!(got, vec![Some(("b".into(), b"2".to_vec())), None]);
        kv.delete_many(&["b".into()]).await.expect("delete_many");
        assert!(!kv.exists("b").await.expect("exists"));

        for i in 0..(PAGE + 5) {
            kv.set(&format!("k{i:05}"), Vec::new()).await.expect("set");
        }
        let (first, cursor) = kv.list_keys(None).await.expect("page 1");
        assert_eq!(first.len(), PAGE);
        let (rest, end) = kv.list_keys(cursor).await.expect("page 2");
        assert_eq!(end, None);
        assert_eq!(
            first.len() + rest.len(),
            PAGE + 5 + 3,
            "k-keys plus a, new, text"
        );
    }
}

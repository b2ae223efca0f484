//! The scale-out key-value backend: Redis, selected by `ORPIPE_REDIS_URL=redis://…`, so
//! several orpipe processes share one store.
//!
//! Every key is stored under a prefix (`ORPIPE_REDIS_PREFIX`, default `orpipe:`) so a
//! shared Redis is safe; the guest never sees it. Counters are Redis integers, which Redis
//! keeps as decimal text — the same bytes the memory backend writes, so a counter reads
//! the same through `get` in both. Unlike the memory backend, Redis also counts negative
//! values and stops at `i64::MAX` rather than `u64::MAX`; the guest writes neither.
//!
//! `list-keys` is SCAN: its cursor is Redis's own (opaque, not an offset), a page may be
//! empty while more follow, and a key may appear on more than one page, exactly as SCAN
//! documents. Plain TCP only (no TLS yet).
//!
//! Keys under an expiring prefix (`expiry.rs`: the usage export) are written with `EX`.

use super::expiry::Expiry;
use super::{KeyValue, KvError};
use anyhow::Context;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// Keys asked of Redis per SCAN step (a hint: Redis may return more or fewer).
const PAGE: usize = 1000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A command that takes longer than this is reported as an error rather than holding
/// the guest's request indefinitely.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RedisKv {
    conn: ConnectionManager,
    prefix: String,
    summary: String,
    expiry: Option<Expiry>,
}

impl RedisKv {
    /// Connects and pings once, so a wrong URL or an unreachable server stops start-up.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("the URL is not a valid Redis URL")?;
        let info = client.get_connection_info();
        let summary = format!(
            "redis {}/{} prefix {prefix:?}",
            info.addr(),
            info.redis_settings().db()
        );
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // Reconnects after start-up keep retrying per command; at start-up a couple
            // of attempts are enough to tell "down" from "blip".
            .set_number_of_retries(2);
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .with_context(|| format!("connecting to {summary}"))?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .with_context(|| format!("pinging {summary}"))?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            summary,
            expiry: None,
        })
    }

    /// Keys under `expiry`'s prefix are written to expire.
    pub fn with_expiry(mut self, expiry: Option<Expiry>) -> Self {
        self.expiry = expiry;
        self
    }

    /// `SET key value`, with `EX` when the key expires.
    fn set_command(&self, key: &str, value: Vec<u8>) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(seconds) = self.expiry.and_then(|e| e.seconds_for(key)) {
            cmd.arg("EX").arg(seconds);
        }
        cmd
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, KvError> {
        // The manager is a cheap handle onto one multiplexed connection.
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn).await.map_err(backend)
    }
}

fn backend(error: redis::RedisError) -> KvError {
    KvError::Backend(format!("redis: {error}"))
}

/// SCAN's MATCH is a glob; the prefix must match literally.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[async_trait]
impl KeyValue for RedisKv {
    fn summary(&self) -> String {
        self.summary.clone()
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.run(redis::cmd("GET").arg(self.key(key))).await
    }

    async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.run(&self.set_command(key, value)).await
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.run::<u64>(redis::cmd("DEL").arg(self.key(key)))
            .await
            .map(drop)
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        let n: u64 = self.run(redis::cmd("EXISTS").arg(self.key(key))).await?;
        Ok(n > 0)
    }

    async fn list_keys(&self, cursor: Option<u64>) -> Result<(Vec<String>, Option<u64>), KvError> {
        let (next, keys): (u64, Vec<Vec<u8>>) = self
            .run(
                redis::cmd("SCAN")
                    .arg(cursor.unwrap_or(0))
                    .arg("MATCH")
                    .arg(format!("{}*", glob_escape(&self.prefix)))
                    .arg("COUNT")
                    .arg(PAGE),
            )
            .await?;
        let keys = keys
            .into_iter()
            .filter_map(|k| {
                k.strip_prefix(self.prefix.as_bytes())
                    .map(|k| String::from_utf8_lossy(k).into_owned())
            })
            .collect();
        Ok((keys, (next != 0).then_some(next)))
    }

    async fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError> {
        let delta = i64::try_from(delta).map_err(|_| KvError::Overflow(key.to_owned()))?;
        let mut conn = self.conn.clone();
        let result = redis::cmd("INCRBY")
            .arg(self.key(key))
            .arg(delta)
            .query_async::<i64>(&mut conn)
            .await;
        match result {
            Ok(n) => u64::try_from(n).map_err(|_| KvError::NotACounter(key.to_owned())),
            // Redis reports both as a plain ERR; its wording is the only distinction.
            Err(e) if e.to_string().contains("overflow") => Err(KvError::Overflow(key.to_owned())),
            Err(e) if e.to_string().contains("not an integer") => {
                Err(KvError::NotACounter(key.to_owned()))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<(String, Vec<u8>)>>, KvError> {
        // MGET without keys is a Redis error, not an empty answer.
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for key in keys {
            cmd.arg(self.key(key));
        }
        let values: Vec<Option<Vec<u8>>> = self.run(&cmd).await?;
        Ok(keys
            .iter()
            .zip(values)
            .map(|(k, v)| v.map(|v| (k.clone(), v)))
            .collect())
    }

    async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let expiring = |key: &str| self.expiry.and_then(|e| e.seconds_for(key)).is_some();
        if pairs.iter().any(|(key, _)| expiring(key)) {
            // MSET takes no expiry: one SET each, applied together as MSET would be.
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (key, value) in pairs {
                pipe.add_command(self.set_command(&key, value)).ignore();
            }
            let mut conn = self.conn.clone();
            return pipe.query_async(&mut conn).await.map_err(backend);
        }
        let mut cmd = redis::cmd("MSET");
        for (key, value) in pairs {
            cmd.arg(self.key(&key)).arg(value);
        }
        self.run(&cmd).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("DEL");
        for key in keys {
            cmd.arg(self.key(key));
        }
        self.run::<u64>(&cmd).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A store under a prefix no other test (or run) uses; `None` (after saying so) when
    /// `ORPIPE_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379`) is unset.
    async fn kv() -> Option<RedisKv> {
        let url = orpipe_testkit::require_env("ORPIPE_TEST_REDIS_URL")?;
        let prefix = format!("orpipe-test:{}:", ulid::Ulid::new());
        Some(RedisKv::connect(&url, &prefix).await.expect("connect"))
    }

    async fn all_keys(kv: &RedisKv) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        let mut cursor = None;
        loop {
            let (page, next) = kv.list_keys(cursor).await.expect("list");
            keys.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return keys,
            }
        }
    }

    async fn clean(kv: &RedisKv) {
        let keys: Vec<String> = all_keys(kv).await.into_iter().collect();
        kv.delete_many(&keys).await.expect("clean");
    }

    /// Seconds Redis says `key` has left (-1: no expiry).
    async fn ttl(kv: &RedisKv, key: &str) -> i64 {
        kv.run(redis::cmd("TTL").arg(kv.key(key)))
            .await
            .expect("TTL")
    }

    #[tokio::test]
    async fn keys_under_the_expiring_prefix_are_written_to_expire() {
        let Some(kv) = kv().await else {
            return;
        };
        let kv = kv.with_expiry(Some(Expiry::usage_export(Duration::from_secs(600))));
        kv.set_many(vec![
            ("usage:u1:r1".into(), b"{}".to_vec()),
            ("breaker:u1".into(), b"[]".to_vec()),
        ])
        .await
        .expect("set_many");
        kv.set("usage:u1:r2", b"{}".to_vec()).await.expect("set");
        for key in ["usage:u1:r1", "usage:u1:r2"] {
            let left = ttl(&kv, key).await;
            assert!((1..=600).contains(&left), "{key} expires: {left}");
        }
        assert_eq!(ttl(&kv, "breaker:u1").await, -1, "other keys never expire");
        assert_eq!(
            kv.get("usage:u1:r1").await.expect("get"),
            Some(b"{}".to_vec())
        );
        clean(&kv).await;
    }

    #[tokio::test]
    async fn values_counters_and_batches_behave_like_the_memory_store() {
        let Some(kv) = kv().await else {
            return;
        };
        kv.set("a", b"1".to_vec()).await.expect("set");
        assert_eq!(kv.get("a").await.expect("get"), Some(b"1".to_vec()));
        assert!(kv.exists("a").await.expect("exists"));
        assert_eq!(kv.increment("a", 4).await.expect("increment"), 5);
        assert_eq!(
            kv.get("a").await.expect("get"),
            Some(b"5".to_vec()),
            "counters are decimal text"
        );
        assert_eq!(kv.increment("new", 2).await.expect("increment"), 2);
        kv.set("text", b"x".to_vec()).await.expect("set");
        assert!(matches!(
            kv.increment("text", 1).await,
            Err(KvError::NotACounter(_))
        ));
        assert!(matches!(
            kv.increment("a", u64::MAX).await,
            Err(KvError::Overflow(_))
        ));
        kv.set("big", i64::MAX.to_string().into_bytes())
            .await
            .expect("set");
        assert!(matches!(
            kv.increment("big", 1).await,
            Err(KvError::Overflow(_))
        ));
        kv.set("bin", vec![0, 255, 10]).await.expect("set");
        assert_eq!(kv.get("bin").await.expect("get"), Some(vec![0, 255, 10]));

        kv.set_many(vec![("b".into(), b"2".to_vec()), ("c".into(), Vec::new())])
            .await
            .expect("set_many");
        let got = kv
            .get_many(&["b".into(), "missing".into(), "c".into()])
            .await
            .expect("get_many");
        assert_eq!(
            got,
            vec![
                Some(("b".into(), b"2".to_vec())),
                None,
                Some(("c".into(), Vec::new()))
            ]
        );
        assert_eq!(kv.get_many(&[]).await.expect("empty get_many"), vec![]);
        kv.set_many(Vec::new()).await.expect("empty set_many");
        kv.delete_many(&["b".into(), "c".into()])
            .await
            .expect("delete_many");
        assert!(!kv.exists("b").await.expect("exists"));
        kv.delete("a").await.expect("delete");
        assert_eq!(kv.get("a").await.expect("get"), None);
        clean(&kv).await;
    }

    #[tokio::test]
    async fn pages_reach_every_key_and_prefixes_isolate_stores() {
        let Some(kv) = kv().await else {
            return;
        };
        let Some(other) = self::kv().await else {
            return;
        };
        other.set("k00000", b"other".to_vec()).await.expect("set");
        other.set("only-other", Vec::new()).await.expect("set");

        let wanted: BTreeSet<String> = (0..(PAGE * 2 + 5)).map(|i| format!("k{i:05}")).collect();
        let pairs: Vec<(String, Vec<u8>)> =
            wanted.iter().map(|k| (k.clone(), Vec::new())).collect();
        kv.set_many(pairs).await.expect("set_many");
        assert_eq!(all_keys(&kv).await, wanted, "every key, prefix stripped");
        assert_eq!(kv.get("k00000").await.expect("get"), Some(Vec::new()));
        assert!(!kv.exists("only-other").await.expect("exists"));
        assert_eq!(
            all_keys(&other).await,
            BTreeSet::from(["k00000".to_string(), "only-other".to_string()])
        );

        clean(&kv).await;
        clean(&other).await;
        assert!(all_keys(&kv).await.is_empty());
    }

    #[test]
    fn prefixes_are_matched_literally() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_fast() {
        let started = std::time::Instant::now();
        let error = RedisKv::connect("redis://127.0.0.1:1", "x:")
            .await
            .err()
            .expect("nothing listens on port 1");
        assert!(started.elapsed() < Duration::from_secs(15), "{error:#}");
        assert!(
            format!("{error:#}").contains("127.0.0.1:1"),
            "names the server: {error:#}"
        );
    }
}

//! One build of the guest, ready to instantiate: compiled (or loaded from the compile
//! cache), linked against the host's imports (`GatewayPre`), and named by the SHA-256 of
//! its bytes. The runtime holds the active one behind an atomic pointer (`runtime.rs`); a
//! reload (`reload.rs`) prepares another beside it. Instances keep the build they were
//! created from, so swapping never touches a request in flight.
//!
//! Preparing is CPU-bound (cranelift, seconds on a small machine): callers on the async
//! runtime run it on a blocking thread.

use crate::bindings::GatewayPre;
use crate::state::State;
use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};
use std::path::Path;
use wasmtime::Engine;
use wasmtime::component::Linker;

/// The response header naming the guest build that answered (its [`ComponentHash`]).
pub const GUEST_HEADER: &str = "x-orpipe-guest";

pub struct GuestComponent {
    pub pre: GatewayPre<State>,
    pub hash: ComponentHash,
}

/// The SHA-256 of a component's bytes, in hex: what logs, the admin route and the
/// `x-orpipe-guest` header call a guest build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHash {
    hex: String,
    /// The same, ready to be set on every response without a check per request.
    header: HeaderValue,
}

impl ComponentHash {
    pub fn of(component: &[u8]) -> Self {
        let hex: String = Sha256::digest(component)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // Hex digits are always a valid header value.
        let header =
            HeaderValue::from_str(&hex).unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Self { hex, header }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    pub fn header(&self) -> &HeaderValue {
        &self.header
    }
}

impl std::fmt::Display for ComponentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex)
    }
}

/// Why a component could not be made ready; the message names the step that failed.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {cause:#}")]
pub struct PrepareError {
    step: &'static str,
    cause: anyhow::Error,
}

impl PrepareError {
    fn at(step: &'static str) -> impl FnOnce(wasmtime::Error) -> Self {
        move |error| Self {
            step,
            cause: error.into(),
        }
    }
}

impl GuestComponent {
    /// Compiles `component`, whose hash is `hash` (through the compile cache in
    /// `cache_dir`, when on), and links it. Blocks for as long as cranelift runs.
    pub fn prepare(
        engine: &Engine,
        linker: &Linker<State>,
        component: &[u8],
        hash: ComponentHash,
        cache_dir: Option<&Path>,
    ) -> Result<Self, PrepareError> {
        let compiled = crate::compile_cache::load_or_compile(engine, component, cache_dir)
            .map_err(PrepareError::at("compiling the guest component"))?;
        let instance_pre = linker.instantiate_pre(&compiled).map_err(PrepareError::at(
            "the component's imports do not match what this host provides",
        ))?;
        let pre = GatewayPre::new(instance_pre).map_err(PrepareError::at(
            "the component does not export the orpipe gateway world",
        ))?;
        Ok(Self { pre, hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_the_sha256_of_the_bytes_in_hex() {
        let hash = ComponentHash::of(b"abc");
        assert_eq!(
            hash.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash.header().as_bytes(), hash.hex().as_bytes());
        assert_ne!(hash, ComponentHash::of(b"abd"));
    }
}

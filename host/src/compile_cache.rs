//! The compiled guest, cached on disk so a restart skips cranelift (seconds on a small
//! machine) and is serving in milliseconds.
//!
//! The artifact lives at `<data dir>/cache/guest-<key>.cwasm`, where the key is a SHA-256
//! of the component's bytes and of everything that makes a compiled artifact
//! incompatible: wasmtime's version and the engine's configuration (compiler target and
//! flags, tunables, wasm features: `Engine::precompile_compatibility_hash`). A new guest,
//! a new wasmtime or a new setting that changes compilation gets a new file; nothing is
//! ever reused across them.
//!
//! The cache never stops orpipe: a missing or read-only directory, an unreadable or
//! rejected artifact, a failed write are logged and orpipe compiles as without a cache.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Bump when the way the artifact is written or keyed changes.
const FORMAT: &[u8] = b"orpipe-compile-cache-1";

/// The compiled component: from `dir` when it holds an artifact for these bytes and this
/// engine, compiled otherwise (and then written to `dir` in the background for next time).
/// `dir: None` means the cache is off.
pub fn load_or_compile(
    engine: &Engine,
    component: &[u8],
    dir: Option<&Path>,
) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, component);
    };
    let path = artifact_path(dir, engine, component);
    if let Some(loaded) = load(engine, &path) {
        return Ok(loaded);
    }
    let compiled = Component::new(engine, component)?;
    store_in_background(dir.to_owned(), path, compiled.clone());
    Ok(compiled)
}

/// Where the artifact for these bytes and this engine lives.
pub fn artifact_path(dir: &Path, engine: &Engine, component: &[u8]) -> PathBuf {
    let mut key = Sha256Hasher(Sha256::new());
    key.0.update(FORMAT);
    engine.precompile_compatibility_hash().hash(&mut key);
    key.0.update(component);
    let digest = key.0.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("guest-{hex}.cwasm"))
}

fn load(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        tracing::info!(path = %path.display(), "no cached compiled component; compiling");
        return None;
    }
    // SAFETY: `deserialize_file` trusts the file to be an artifact wasmtime wrote (it runs
    // the machine code in it) and maps it, so it must not change while mapped. Both hold:
    // only this process writes the cache directory (created private to the user), each
    // file is written whole to a temporary name and renamed into place (never rewritten
    // in place: a replacement is a new inode, the mapped one stays intact), and the name
    // is keyed by the component's bytes and the engine's compatibility hash. wasmtime
    // still checks the header, its version and the engine's settings on load, and any
    // error is a cache miss, never fatal.
    match unsafe { Component::deserialize_file(engine, path) } {
        Ok(component) => {
            tracing::info!(path = %path.display(), "compiled component loaded from cache");
            Some(component)
        }
        Err(error) => {
            tracing::warn!(
                path = %path.display(),
                error = %error,
                "cached compiled component unusable; compiling instead"
            );
            // Best effort: the fresh compile writes a good one in its place.
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// Serializes and writes the artifact on a thread of its own, so the first start is no
/// slower than without a cache.
fn store_in_background(dir: PathBuf, path: PathBuf, component: Component) {
    let spawned = std::thread::Builder::new()
        .name("compile-cache".into())
        .spawn(move || match store(&dir, &path, &component) {
            Ok(()) => tracing::info!(path = %path.display(), "compiled component cached"),
            Err(error) => tracing::warn!(
                path = %path.display(),
                error = format!("{error:#}"),
                "could not cache the compiled component; the next start compiles again"
            ),
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the compile-cache writer");
    }
}

fn store(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    use anyhow::Context;
    create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bytes = component
        .serialize()
        .map_err(|e| anyhow::Error::from(e).context("serializing"))?;
    // A unique temporary name in the same directory: the rename below is atomic, so a
    // reader sees the old state or the whole file, never a partial one.
    let temp = path.with_extension(format!("cwasm.tmp-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Feeds `Hash` output into SHA-256: stable across processes and Rust versions, unlike
/// the standard library's hashers.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Unused: the digest is read from the inner SHA-256.
    fn finish(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(config: &wasmtime::Config) -> Engine {
        Engine::new(config).unwrap()
    }

    #[test]
    fn the_key_covers_the_bytes_and_the_engine() {
        let dir = Path::new("/cache");
        let default = engine(&wasmtime::Config::new());
        let a = artifact_path(dir, &default, b"component a");
        assert_eq!(
            a,
            artifact_path(dir, &engine(&wasmtime::Config::new()), b"component a")
        );
        assert_ne!(a, artifact_path(dir, &default, b"component b"));
        let mut config = wasmtime::Config::new();
        config.cranelift_opt_level(wasmtime::OptLevel::None);
        assert_ne!(a, artifact_path(dir, &engine(&config), b"component a"));
    }
}

//! Builds the guest component from source and embeds it, so `orpipe` is one binary.
//!
//! The guest is compiled by a nested `cargo build --target wasm32-wasip2` into its own
//! target directory (the outer build holds a lock on the usual one). The `wasm32-wasip2`
//! target is installed with `rustup target add` when it is missing: automatic toolchain
//! installs are off on many machines, so `rust-toolchain.toml` alone does not do it.
//! `ORPIPE_GUEST_WASM=path` skips all of this and embeds a component built elsewhere.
//!
//! Besides the shipped guest it builds a test guest with the cargo feature `test-faults`
//! (routes that loop or allocate without bound, for the sandbox tests). That one is never
//! embedded: tests load it with `--component`, from the path in `ORPIPE_TEST_GUEST_WASM`.
//! It uses a lighter profile (no LTO, `opt-level = 1`), defined here with `--config`
//! because it concerns only this nested build.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a build script reports failure by panicking: cargo shows the message and stops"
)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";
const TEST_PROFILE: &str = "guest-test";

fn main() {
    for path in [
        "../guest/src",
        "../guest/Cargo.toml",
        "../wit",
        "../tests/sql-stub",
        "../Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=ORPIPE_GUEST_WASM");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let embedded = out_dir.join("orpipe_guest.wasm");

    if let Some(prebuilt) = env::var_os("ORPIPE_GUEST_WASM") {
        std::fs::copy(&prebuilt, &embedded)
            .unwrap_or_else(|e| panic!("ORPIPE_GUEST_WASM={prebuilt:?}: {e}"));
        println!("cargo:rustc-env=ORPIPE_SQL_STUB_WASM=");
        // Nothing is built here, so tests that need the test guest say they were skipped.
        println!("cargo:rustc-env=ORPIPE_TEST_GUEST_WASM=");
        println!(
            "cargo:rustc-env=ORPIPE_GUEST_WASM_PATH={}",
            embedded.display()
        );
        return;
    }

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir.parent().expect("host/ lives in the workspace");
    let target_dir = workspace.join("target").join("guest");
    ensure_target_installed();
    build_components(workspace, &target_dir);
    build_test_guest(workspace, &target_dir);

    let built = target_dir.join(TARGET).join(PROFILE);
    std::fs::copy(built.join("orpipe_guest.wasm"), &embedded).expect("guest component was built");
    // The stub is not embedded; component-level tests compose it with the guest.
    println!(
        "cargo:rustc-env=ORPIPE_SQL_STUB_WASM={}",
        built.join("orpipe_sql_stub.wasm").display()
    );
    println!(
        "cargo:rustc-env=ORPIPE_GUEST_WASM_PATH={}",
        built.join("orpipe_guest.wasm").display()
    );
    println!(
        "cargo:rustc-env=ORPIPE_TEST_GUEST_WASM={}",
        target_dir
            .join(TARGET)
            .join(TEST_PROFILE)
            .join("orpipe_guest.wasm")
            .display()
    );
}

fn ensure_target_installed() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == TARGET) => {}
        Ok(_) => {
            println!(
                "cargo:warning=installing the {TARGET} target with rustup (needed to build the guest)"
            );
            let status = Command::new("rustup")
                .args(["target", "add", TARGET])
                .status()
                .expect("running rustup");
            assert!(status.success(), "`rustup target add {TARGET}` failed");
        }
        // No rustup: the toolchain may still have the target (distro packages); let cargo say.
        Err(_) => println!("cargo:warning=rustup not found; assuming {TARGET} is available"),
    }
}

fn build_components(workspace: &Path, target_dir: &Path) {
    let status = nested_cargo(workspace, target_dir)
        .args(["build", "-p", "orpipe-guest", "-p", "orpipe-sql-stub"])
        .args(["--target", TARGET, "--profile", PROFILE])
        .status()
        .expect("running cargo for the guest");
    assert!(
        status.success(),
        "building the guest component failed (see the errors above)"
    );
}

fn build_test_guest(workspace: &Path, target_dir: &Path) {
    let status = nested_cargo(workspace, target_dir)
        .args(["build", "-p", "orpipe-guest", "--features", "test-faults"])
        .args(["--target", TARGET, "--profile", TEST_PROFILE])
        .args([
            "--config",
            &format!("profile.{TEST_PROFILE}.inherits=\"release\""),
        ])
        .args(["--config", &format!("profile.{TEST_PROFILE}.opt-level=1")])
        .args(["--config", &format!("profile.{TEST_PROFILE}.lto=false")])
        .args([
            "--config",
            &format!("profile.{TEST_PROFILE}.codegen-units=16"),
        ])
        .args([
            "--config",
            &format!("profile.{TEST_PROFILE}.panic=\"abort\""),
        ])
        .status()
        .expect("running cargo for the test guest");
    assert!(
        status.success(),
        "building the test guest component failed (see the errors above)"
    );
}

/// `cargo` for a wasm build in `target_dir`, cleared of the outer build's settings.
fn nested_cargo(workspace: &Path, target_dir: &Path) -> Command {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", target_dir)
        // These describe the outer build (host flags, clippy's wrapper) and must not
        // leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CARGO_BUILD_TARGET");
    command
}

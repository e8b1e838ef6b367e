//! Helpers shared by the in-guest integration tests of `netatop.ko`.
//!
//! These tests need the module and root, so they run only inside the test VM
//! (`make check`); `cargo test` on the host excludes this crate.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static MODULE_LOCK: RwLock<()> = RwLock::new(());

/// Held by a test that needs the module loaded; tests run in parallel.
pub fn module_loaded() -> RwLockReadGuard<'static, ()> {
    MODULE_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by a test that unloads and reloads the module; excludes all others.
pub fn module_exclusive() -> RwLockWriteGuard<'static, ()> {
    MODULE_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

/// Path of the netatop.ko under test (the harness sets `NETATOP_KO`).
pub fn module_path() -> String {
    std::env::var("NETATOP_KO").expect("NETATOP_KO must name the netatop.ko under test")
}

/// Runs a command and panics with its output when it fails.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

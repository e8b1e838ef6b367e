//! The sockopt surface under random input (fixed seed), from root, an
//! unprivileged user, a user namespace and a pid namespace.
//!
//! Runs as root inside the test VM with netatop.ko loaded (make check).

use netatop_guest_tests::module_exclusive;

/// Iterations per caller in `make check`; `NETATOP_FUZZ_ITERATIONS` runs
/// longer on demand (and `NETATOP_FUZZ_SEED` another seed).
const ITERATIONS: u64 = 3000;

#[test]
fn fuzzed_sockopts_get_documented_answers_only() {
    let _m = module_exclusive();
    let exe = std::env::current_exe().unwrap();
    let fuzz = exe.parent().unwrap().parent().unwrap().join("netatop-fuzz");
    let iterations = std::env::var("NETATOP_FUZZ_ITERATIONS").unwrap_or(ITERATIONS.to_string());
    let seed = std::env::var("NETATOP_FUZZ_SEED").unwrap_or("7959583957616751".into());
    let out = std::process::Command::new(fuzz)
        .args(["--seed", &seed, "--iterations", &iterations])
        .output()
        .expect("run netatop-fuzz");
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    assert!(
        out.status.success(),
        "violations:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = text.lines().last().unwrap_or("");
    assert!(last.ends_with(" 0 violations"), "{last}");
    assert!(
        last.contains(&format!("{} calls", 4 * iterations.parse::<u64>().unwrap())),
        "{last}"
    );
}

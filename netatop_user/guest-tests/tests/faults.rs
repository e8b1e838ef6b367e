//! Allocation failures (debug flavour only: `make check-debug` runs this
//! binary, on a kernel with failslab and fail_page_alloc): a share of the
//! module's own atomic allocations fails during traffic and process churn,
//! and nothing is printed, nothing crashes and nothing is lost from the
//! ledger. Runs as root in the test VM with netatop.ko loaded.

use std::path::Path;

use netatop_guest_tests::{
    ledger_balance, ledger_traffic, module_exclusive, module_path, proc_counters, run,
    ModuleParams, Netns,
};

/// A fault-injection attribute directory of debugfs.
struct Injector(&'static str);

impl Injector {
    fn set(&self, attr: &str, value: &str) {
        let p = Path::new(self.0).join(attr);
        std::fs::write(&p, value).unwrap_or_else(|e| panic!("write {value} to {p:?}: {e}"));
    }
}

/// The address range of the module's code: every `.text*` section, from
/// its load address (sysfs) and size (the .ko's section headers).
fn module_text() -> (u64, u64) {
    let headers = run("readelf", &["-SW", &module_path()]);
    let (mut start, mut end) = (u64::MAX, 0);
    // "  [Nr] Name Type Address Off Size ...": the fields after the "]".
    for line in headers.lines() {
        let Some((_, fields)) = line.split_once(']') else {
            continue;
        };
        let w: Vec<&str> = fields.split_whitespace().collect();
        let Some(name) = w.first().filter(|n| n.starts_with(".text")) else {
            continue;
        };
        let size = u64::from_str_radix(w[4], 16).unwrap();
        let sysfs = format!("/sys/module/netatop/sections/{name}");
        let Ok(addr) = std::fs::read_to_string(&sysfs) else {
            continue;
        };
        let addr = u64::from_str_radix(addr.trim().trim_start_matches("0x"), 16).unwrap();
        start = start.min(addr);
        end = end.max(addr + size);
    }
    assert!(
        start < end,
        "no .text section of netatop.ko found:\n{headers}"
    );
    (start, end)
}

/// 10 % of the atomic allocations made with the module's code on the stack
/// fail, silently, while traffic and churn run; afterwards Σ live + Σ exit
/// records + unidentified equals the global counters, some allocations
/// really failed, and the kernel log stays clean (checked by the harness
/// after the run).
#[test]
fn failed_allocations_lose_nothing_from_the_ledger() {
    let _m = module_exclusive();
    // No periodic collection: it would expire exit records nobody read
    // within 15-30 s while this runs (minutes on a debug kernel).
    let _params = ModuleParams::load(&["gc_interval_ms=3600000"]);
    let injectors = [
        Injector("/sys/kernel/debug/failslab"),
        Injector("/sys/kernel/debug/fail_page_alloc"),
    ];
    for i in &injectors {
        assert!(
            Path::new(i.0).is_dir(),
            "{} missing: this kernel lacks CONFIG_FAILSLAB/CONFIG_FAIL_PAGE_ALLOC (tests/config/netatop-debug.config)",
            i.0
        );
    }
    let (start, end) = module_text();
    for i in &injectors {
        i.set("verbose", "0");
        i.set("ignore-gfp-wait", "Y");
        i.set("task-filter", "N");
        i.set("require-start", &start.to_string());
        i.set("require-end", &end.to_string());
        i.set("stacktrace-depth", "32");
        i.set("interval", "1");
        i.set("times", "-1");
        i.set("probability", "10");
    }
    let ns = Netns::new("faults-ledger");
    let traffic = std::panic::catch_unwind(|| ledger_traffic(&ns, 6, 5));
    for i in &injectors {
        i.set("probability", "0");
    }
    let (echo4, echo6) = traffic.expect("traffic under fault injection");
    let refused = proc_counters();
    // Collections retry what a failed allocation postponed.
    let records = ledger_balance(3);
    println!(
        "faults: sockinfo refused {}, taskinfo refused {}, {records} exit records",
        refused.sockinfo_overflow, refused.taskinfo_overflow
    );
    // Far below the caps: every refusal is a failed allocation.
    let causes = refused.refused.expect("refusals by cause");
    assert_eq!(
        (causes.sockinfo_full, causes.taskinfo_full),
        (0, 0),
        "{refused:?}"
    );
    assert_eq!(
        causes.sockinfo_nomem, refused.sockinfo_overflow,
        "{refused:?}"
    );
    assert_eq!(
        causes.taskinfo_nomem, refused.taskinfo_overflow,
        "{refused:?}"
    );
    assert!(
        causes.sockinfo_nomem + causes.taskinfo_nomem > 0,
        "no allocation of the module failed: {refused:?}"
    );
    echo4.finish();
    echo6.finish();
}

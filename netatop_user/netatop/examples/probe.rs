//! Probes the netatop module and prints its global counters.
//!
//! `cargo run --example probe`; exits 0 when the module answers, 1 otherwise.

use netatop::{Netatop, ProcCounters};

fn main() {
    let answer = Netatop::open().and_then(|n| n.probe());
    match answer {
        Ok(()) => println!("NETATOP_PROBE: ok (module loaded, caller privileged)"),
        Err(e) => {
            println!(
                "NETATOP_PROBE: {e} (errno {})",
                e.raw_os_error().unwrap_or(0)
            );
            std::process::exit(1);
        }
    }
    match ProcCounters::read() {
        Ok(c) => println!(
            "netatop {}: {} connections, {} processes/threads, {} finished processes waiting",
            c.modversion, c.sockinfo, c.taskinfo, c.taskexit
        ),
        Err(e) => println!("/proc/netatop: {e}"),
    }
}

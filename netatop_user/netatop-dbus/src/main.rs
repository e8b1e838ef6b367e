//! netatop-dbus: serves `org.gnome.GTopNetStats` on the system bus.

use std::process::ExitCode;

use clap::Parser;
use netatop_dbus::{serve, Bus, Service};

/// System D-Bus service org.gnome.GTopNetStats: each user's per-process
/// network counters from the netatop kernel module (see netatop-dbus(8)).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Serve on the session bus instead of the system bus (for tests).
    #[arg(long, conflicts_with = "address")]
    session: bool,
    /// Serve on the bus at this D-Bus address (for tests), e.g.
    /// unix:path=/tmp/bus.
    #[arg(long, value_name = "ADDR")]
    address: Option<String>,
    /// Members of this group see every process, as root does (empty: none).
    #[arg(long, value_name = "GROUP", default_value = "netdev")]
    admin_group: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let bus = match (args.session, args.address) {
        (_, Some(a)) => Bus::Address(a),
        (true, None) => Bus::Session,
        (false, None) => Bus::System,
    };
    // A UDP socket: opening it needs no privilege; the commands need
    // CAP_NET_ADMIN (root). The socket stays valid across module reloads.
    let netatop = match netatop::Netatop::open() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("netatop-dbus: cannot open a socket: {e}");
            return ExitCode::FAILURE;
        }
    };
    let service = Service::new(netatop, &args.admin_group);
    match async_io::block_on(serve(&bus, service)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netatop-dbus: {e}");
            ExitCode::FAILURE
        }
    }
}

//! Prints the counters of the processes (or, with `-t`, threads) given.
//!
//! `cargo run --example show -- [-t] PID...`

use netatop::Netatop;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let threads = args.first().is_some_and(|a| a == "-t");
    if threads {
        args.remove(0);
    }
    let netatop = match Netatop::open() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("netatop: {e}");
            std::process::exit(1);
        }
    };
    for arg in args {
        let Ok(id) = arg.parse::<i32>() else {
            eprintln!("not a pid: {arg}");
            std::process::exit(2);
        };
        let answer = if threads {
            netatop.thread(id)
        } else {
            netatop.process(id)
        };
        match answer {
            Ok(n) => println!("{} {} btime={} {:?}", n.id, n.command(), n.btime, n.tc),
            Err(e) => println!("{id}: {e}"),
        }
    }
}

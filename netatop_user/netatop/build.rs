//! The user ABI as the C compiler sees it, for `src/abi.rs` to assert its
//! copy against.
//!
//! `include/netatop.h` (two directories up, in the netatop-rs source tree)
//! is the one source of the ABI. This script compiles `layout.c`, which
//! includes it, to assembly with the C compiler (`CC_<target>`,
//! `TARGET_CC` or `CC`, else `cc`; cross-compiling needs one of them set),
//! collects its `->NAME VALUE` markers (the kernel's asm-offsets technique)
//! and writes them as Rust constants to `$OUT_DIR/abi_layout.rs`, nested
//! modules by the `::` in NAME:
//!
//! ```text
//! ->taskcount::tcpsndbytes::OFFSET $8   pub mod taskcount { pub mod tcpsndbytes {
//!                                           pub const OFFSET: usize = 8; } }
//! ->NETATOP_BASE_CTL $15661             pub const NETATOP_BASE_CTL: i64 = 15661;
//! ```
//!
//! Sizes and offsets are `usize`, the header's constants `i64`. A missing
//! header (the crate built outside the source tree) or a failing compiler
//! fails the build with a message naming it: the check is never skipped.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

/// The constants of one module of the generated file, and its submodules,
/// in the order of `layout.c`.
#[derive(Default)]
struct Module {
    consts: Vec<(String, i64)>,
    mods: Vec<(String, Module)>,
}

impl Module {
    /// Adds the constant `path` (`["taskcount", "SIZE"]`); false if it is
    /// there already.
    fn insert(&mut self, path: &[&str], value: i64) -> bool {
        match path {
            [name] => {
                if self.consts.iter().any(|(n, _)| n == name) {
                    return false;
                }
                self.consts.push((name.to_string(), value));
                true
            }
            [module, rest @ ..] => {
                let i = match self.mods.iter().position(|(n, _)| n == module) {
                    Some(i) => i,
                    None => {
                        self.mods.push((module.to_string(), Module::default()));
                        self.mods.len() - 1
                    }
                };
                self.mods[i].1.insert(rest, value)
            }
            [] => unreachable!("split never yields nothing"),
        }
    }

    fn write(&self, out: &mut String, depth: usize) {
        let indent = "    ".repeat(depth);
        // Inside a struct's module everything is a size or an offset.
        let ty = if depth == 0 { "i64" } else { "usize" };
        for (name, value) in &self.consts {
            writeln!(out, "{indent}pub const {name}: {ty} = {value};").unwrap();
        }
        for (name, module) in &self.mods {
            writeln!(out, "{indent}pub mod {name} {{").unwrap();
            module.write(out, depth + 1);
            writeln!(out, "{indent}}}").unwrap();
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: netatop: {msg}");
    exit(1);
}

/// The C compiler for the target, as the `cc` crate looks for it, split
/// into the program and its arguments (`CC="gcc -m32"`).
fn c_compiler() -> Vec<String> {
    let target = env::var("TARGET").unwrap_or_default();
    let host = env::var("HOST").unwrap_or_default();
    let mut names = vec![
        format!("CC_{target}"),
        format!("CC_{}", target.replace('-', "_")),
    ];
    if target != host {
        names.push("TARGET_CC".into());
    }
    names.push("CC".into());
    for name in &names {
        println!("cargo:rerun-if-env-changed={name}");
    }
    for name in &names {
        if let Ok(cc) = env::var(name) {
            let words: Vec<String> = cc.split_whitespace().map(String::from).collect();
            if !words.is_empty() {
                return words;
            }
        }
    }
    if target != host {
        fail(&format!(
            "cross-compiling for {target}: set CC_{} (or TARGET_CC) to a C compiler \
             for it; the ABI check (build.rs) compiles include/netatop.h with it",
            target.replace('-', "_")
        ));
    }
    vec!["cc".into()]
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    // netatop_user/netatop -> the top of the source tree.
    let top = manifest.ancestors().nth(2).unwrap_or(&manifest);
    let include = top.join("include");
    let header = include.join("netatop.h");
    let source = manifest.join("layout.c");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-changed=build.rs");
    if !header.is_file() {
        fail(&format!(
            "{} not found: the netatop crate asserts its copy of the user ABI \
             (src/abi.rs) against the module's header, include/netatop.h, so it \
             builds only inside the netatop-rs source tree (netatop_user/netatop)",
            header.display()
        ));
    }

    let cc = c_compiler();
    let output = Command::new(&cc[0])
        .args(&cc[1..])
        .arg("-S")
        .arg("-o")
        .arg("-")
        .arg("-I")
        .arg(&include)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| {
            fail(&format!(
                "cannot run the C compiler `{}` ({e}): it compiles include/netatop.h \
                 for the ABI check; install one (gcc, build-essential) or set CC",
                cc[0]
            ))
        });
    if !output.status.success() {
        fail(&format!(
            "the C compiler failed on include/netatop.h: `{} -S -o - -I {} {}` ({}):\n{}",
            cc.join(" "),
            include.display(),
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }

    let asm = String::from_utf8_lossy(&output.stdout);
    let mut root = Module::default();
    let mut n = 0;
    for line in asm.lines() {
        // .ascii "->taskcount::SIZE $64" (x86: $64; arm: #64; others: 64)
        let Some(marker) = line.split("\"->").nth(1) else {
            continue;
        };
        let marker = marker.trim_end().trim_end_matches('"');
        let parsed = marker.split_once(' ').and_then(|(name, value)| {
            let value = value.trim().trim_start_matches(['$', '#']);
            Some((name, value.parse::<i64>().ok()?))
        });
        let Some((name, value)) = parsed else {
            fail(&format!(
                "unreadable marker in the C compiler's output: {line}"
            ));
        };
        let path: Vec<&str> = name.split("::").collect();
        if path.len() > 1 && value < 0 {
            fail(&format!("negative size or offset: {line}"));
        }
        if !root.insert(&path, value) {
            fail(&format!("{name} twice in {}", source.display()));
        }
        n += 1;
    }
    if n == 0 {
        fail(&format!(
            "no ->NAME VALUE markers in the assembly `{}` made of {}",
            cc.join(" "),
            source.display()
        ));
    }

    let mut out = String::from(
        "// Generated by build.rs from include/netatop.h (layout.c): the C\n\
         // compiler's layout of the user ABI. Do not edit.\n",
    );
    root.write(&mut out, 0);
    let dest = Path::new(&env::var_os("OUT_DIR").unwrap()).join("abi_layout.rs");
    fs::write(&dest, out).unwrap_or_else(|e| fail(&format!("{}: {e}", dest.display())));
}

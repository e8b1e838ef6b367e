#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The C/Rust mirror of the glue's structs, checked mechanically.

The C hook fills `struct netatop_pkt` and `struct netatop_sender` from
rust/netatop_glue.h; Rust reads them as `Packet` and `Sender` (rust/packet.rs). Swapping two same-sized neighbours on one side
would still compile and silently mis-attribute packets, so:

- the C compiler gives the C layout: the struct definitions are taken from
  the header as they are and compiled on the host, printing every field's
  offset and the struct's size;
- the Rust side asserts every field's offset and the size (rustc checks
  those asserts against the Rust struct at build time);
- this script requires the two to agree field by field: the same fields in
  the same order, each asserted in Rust at the offset the C compiler gives,
  and the same size.

The same for the structs of include/netatop.h (the user ABI: netpertask and
netatop-rs's netatop_cgroupcount, netatop_listhdr, netatop_procinfo) against
the size and offsets rust/uapi.rs asserts, and for the constants both sides
use (`NETATOP_NR_STATS`, `NETATOP_STAT_NONE`).

`--self-test` also checks that the comparison catches a swap (sport/dport
exchanged in a copy of the C struct).

Prints `check-abi: N passed, M failed` and exits 1 on any failure.
"""

import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADER = os.path.join(TOP, "rust", "netatop_glue.h")
# C struct -> (Rust file, Rust struct)
MIRRORS = {
    "netatop_pkt": ("rust/packet.rs", "Packet"),
    "netatop_sender": ("rust/packet.rs", "Sender"),
}
# The user ABI (include/netatop.h, what atop compiles against): each struct,
# the fields whose offsets rust/uapi.rs asserts, and its size.
UAPI_HEADER, UAPI_RUST = "include/netatop.h", "rust/uapi.rs"
UAPI = [
    ("netpertask", ["btime", "command", "tc"], "NetPerTask"),
    ("netatop_cgroupcount", ["nprocs", "pad", "tc"], "CgroupCount"),
    ("netatop_listhdr", ["count", "overflow"], "ListHeader"),
    ("netatop_procinfo", ["pad", "btime", "command", "cgroup", "tc"], "ProcInfo"),
]


def c_struct_body(header_text, name):
    m = re.search(r"^struct %s \{\n(.*?)^\};" % re.escape(name), header_text, re.S | re.M)
    if not m:
        raise SystemExit(f"check-abi: struct {name} not found in {HEADER}")
    return m.group(1)


def c_fields(body):
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$", decl)
        if not m:
            raise SystemExit(f"check-abi: cannot parse C declaration '{decl}'")
        names.append(m.group(1))
    return names


def compile_and_run(lines):
    """Compiles the C program `lines` with the host compiler, runs it and
    returns what it printed."""
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "probe.c"), os.path.join(d, "probe")
        with open(src, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        subprocess.run(["cc", "-Wall", "-Werror", "-o", exe, src], check=True)
        return subprocess.run([exe], check=True, capture_output=True, text=True).stdout


def c_layout(header_text):
    """{struct: (size, [(field, offset)])} as the C compiler lays them out."""
    bodies = {s: c_struct_body(header_text, s) for s in MIRRORS}
    prog = ["#include <stddef.h>", "#include <stdio.h>", "#include <linux/types.h>"]
    for s, body in bodies.items():
        prog.append("struct %s {\n%s};" % (s, body))
    prog.append("int main(void) {")
    for s, body in bodies.items():
        prog.append('printf("S %s %%zu\\n", sizeof(struct %s));' % (s, s))
        for f in c_fields(body):
            prog.append(
                'printf("F %s %s %%zu\\n", offsetof(struct %s, %s));' % (s, f, s, f)
            )
    prog.append("return 0; }")
    out = compile_and_run(prog)
    layout = {s: [None, []] for s in MIRRORS}
    for line in out.splitlines():
        w = line.split()
        if w[0] == "S":
            layout[w[1]][0] = int(w[2])
        else:
            layout[w[1]][1].append((w[2], int(w[3])))
    return layout


def rust_side(path, name):
    text = open(os.path.join(TOP, path)).read()
    m = re.search(r"^pub\(crate\) struct %s \{\n(.*?)^\}" % name, text, re.S | re.M)
    if not m:
        raise SystemExit(f"check-abi: struct {name} not found in {path}")
    fields = re.findall(r"^\s*pub\(crate\) ([a-z_0-9]+):", m.group(1), re.M)
    offsets = {
        f: int(o)
        for f, o in re.findall(r"offset_of!\(%s, ([a-z_0-9]+)\) == (\d+)\)" % name, text)
    }
    size = re.search(r"size_of::<%s>\(\) == (\d+)\)" % name, text)
    return fields, offsets, int(size.group(1)) if size else None


# C #define -> (Rust file, Rust const): numbers both sides must agree on.
CONSTANTS = {
    "NETATOP_NR_STATS": ("rust/ffi.rs", "NR_STATS"),
    "NETATOP_STAT_NONE": ("rust/stats.rs", "NO_SLOT"),
}


def constants(header):
    """Failures of the mirrored constants, as lines; and how many were checked."""
    bad = []
    for c, (path, name) in CONSTANTS.items():
        m = re.search(r"^#define %s\s+(\S+)" % c, header, re.M)
        r = re.search(r"const %s: \w+ = ([^;]+);" % name, open(os.path.join(TOP, path)).read())
        if not m or not r or int(m.group(1), 0) != int(r.group(1).replace("_", ""), 0):
            bad.append(f"{c} ({m and m.group(1)}) != {path}:{name} ({r and r.group(1)})")
    return bad


def uapi(struct, fields, name):
    """Failures of one struct of include/netatop.h against rust/uapi.rs, as lines."""
    header, path = UAPI_HEADER, UAPI_RUST
    prog = ["#include <stddef.h>", "#include <stdio.h>", '#include "%s"' % os.path.join(TOP, header),
            "int main(void) {", 'printf("%%zu\\n", sizeof(struct %s));' % struct]
    prog += ['printf("%%zu\\n", offsetof(struct %s, %s));' % (struct, f) for f in fields]
    prog.append("return 0; }")
    got = [int(x) for x in compile_and_run(prog).split()]
    text = open(os.path.join(TOP, path)).read()
    size = re.search(r"size_of::<%s>\(\) == (\d+)\)" % name, text)
    want = [int(size.group(1)) if size else None]
    for f in fields:
        m = re.search(r"offset_of!\(%s, %s\) == (\d+)\)" % (name, f), text)
        want.append(int(m.group(1)) if m else None)
    if got != want:
        return [f"struct {struct} in {header}: size and offsets of {fields} are {got}, {path} asserts {want}"]
    return []


def compare(layout):
    """Failures, as lines."""
    bad = []
    for s, (path, name) in MIRRORS.items():
        size, cfields = layout[s]
        rfields, roffsets, rsize = rust_side(path, name)
        if [f for f, _ in cfields] != rfields:
            bad.append(f"{s}: fields differ: C {[f for f, _ in cfields]} vs Rust {rfields}")
        for f, off in cfields:
            if roffsets.get(f) != off:
                bad.append(
                    f"{s}.{f}: C offset {off}, {path} asserts {roffsets.get(f, 'nothing')}"
                )
        if rsize != size:
            bad.append(f"{s}: C size {size}, {path} asserts {rsize}")
    return bad


def main():
    passed = failed = 0
    header = open(HEADER).read()
    layout = c_layout(header)
    bad = compare(layout)
    for s in MIRRORS:
        path, name = MIRRORS[s]
        mine = [b for b in bad if b.startswith(s)]
        if mine:
            failed += 1
            print(f"FAIL {s} vs {path}:{name}")
            for b in mine:
                print(f"     {b}")
        else:
            passed += 1
            print(f"ok   {s} vs {path}:{name}: {len(layout[s][1])} fields, {layout[s][0]} bytes")
    for struct, fields, name in UAPI:
        ubad = uapi(struct, fields, name)
        for b in ubad:
            failed += 1
            print(f"FAIL {b}")
        if not ubad:
            passed += 1
            print(f"ok   struct {struct} ({UAPI_HEADER}) vs {UAPI_RUST}:{name}: size and {len(fields)} offsets")
    cbad = constants(header)
    for b in cbad:
        failed += 1
        print(f"FAIL constant {b}")
    if not cbad:
        passed += 1
        print(f"ok   constants: {', '.join(CONSTANTS)} equal in C and Rust")
    if "--self-test" in sys.argv[1:]:
        swapped = header.replace("__u16 sport;", "__u16 @@;").replace(
            "__u16 dport;", "__u16 sport;").replace("__u16 @@;", "__u16 dport;")
        caught = any("netatop_pkt.sport" in b for b in compare(c_layout(swapped)))
        if caught and swapped != header:
            passed += 1
            print("ok   self-test: sport/dport swapped in C is caught")
        else:
            failed += 1
            print("FAIL self-test: sport/dport swapped in C was not caught")
    print(f"check-abi: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints make insns' table from the counts tests/bench/insns-gdb.py wrote:
instructions per hook pass (median); per packet (a loopback packet passes
LOCAL_OUT and LOCAL_IN) netatop-rs against the C original it replaces
(netatop 3.2.2, when counted) and the empty hook, with netatop-rs / C as a
ratio; and where a pass's instructions are, by function.

usage: insns-report.py COUNTS PCS SYMS SYSTEM_MAP NF_HOOK_SLOW_ADDRESS
  SYMS: "<variant> <address> <name>" of the module's symbols in the guest;
  SYSTEM_MAP: the kernel's, shifted by KASLR to nf_hook_slow's address.
"""

import bisect
import re
import sys

VARIANTS = ["empty", "netatop", "base", "c322"]
NAMES = {"empty": "empty hook", "netatop": "netatop.ko", "base": "netatop.ko (base)",
         "c322": "C netatop 3.2.2"}


def main():
    rows, conns = {}, {}
    for line in open(sys.argv[1], encoding="ascii"):
        words = line.split()
        if words[3] == "conn":
            # variant pattern pf conn connections insns rust calls locked passes
            conns[(words[0], words[1])] = tuple(int(w) for w in words[4:])
            continue
        variant, pattern, pf, hook, passes, insns, rust, calls, locked = words
        rows[(variant, pattern, hook)] = (pf, int(passes), int(insns), int(rust), int(calls), int(locked))
    patterns = []
    for (_, pattern, _) in rows:
        if pattern not in patterns:
            patterns.append(pattern)
    print("instructions per nf_hook_slow() pass, median of the passes counted (single-stepped,")
    print("interrupts masked): all of it, inside netatop_rs_packet_* (Rust), calls, locked RMW")
    print()
    print("%-8s %-18s %-5s %7s %7s %7s %6s %6s" % ("flow", "variant", "hook", "passes", "insns", "Rust", "calls", "locked"))
    for pattern in patterns:
        for variant in VARIANTS:
            for hook in ("out", "in"):
                r = rows.get((variant, pattern, hook))
                if r:
                    print("%-8s %-18s %-5s %7d %7d %7d %6d %6d" % (pattern, NAMES[variant], hook, r[1], r[2], r[3], r[4], r[5]))
    print()
    print("per packet (out + in): netatop-rs against the C original (netatop 3.2.2) and the empty hook")
    print("%-8s %-18s %10s %10s %10s %10s" % ("flow", "variant", "netatop-rs", "C 3.2.2", "empty hook", "rs / C"))

    def per_packet(variant, pattern):
        if all((variant, pattern, h) in rows for h in ("out", "in")):
            return sum(rows[(variant, pattern, h)][2] for h in ("out", "in"))
        return None

    for pattern in patterns:
        if pattern in [p for (_, p) in conns]:
            continue
        c = per_packet("c322", pattern)
        empty = per_packet("empty", pattern)
        for variant in ("netatop", "base"):
            n = per_packet(variant, pattern)
            if n is None:
                continue
            print("%-8s %-18s %10d %10s %10s %10s" % (
                pattern, NAMES[variant], n, c if c is not None else "-",
                empty if empty is not None else "-", "%.2fx" % (n / c) if c else "-"))
    if not conns:
        return
    print()
    print("per connection (tcp_crr: connect, 1-byte request and answer, close; every pass of both")
    print("ends from the SYN to the last ACK), the median connection counted (by instructions)")
    print("%-8s %-18s %6s %7s %7s %7s %6s %6s" % ("flow", "variant", "conns", "passes", "insns", "Rust", "calls", "locked"))
    for (variant, pattern), (n, insns, rust, calls, locked, passes) in sorted(
            conns.items(), key=lambda kv: (kv[0][1], VARIANTS.index(kv[0][0]))):
        print("%-8s %-18s %6d %7d %7d %7d %6d %6d" % (pattern, NAMES[variant], n, passes, insns, rust, calls, locked))
    for pattern in sorted({p for (_, p) in conns}):
        c, empty = conns.get(("c322", pattern)), conns.get(("empty", pattern))
        for variant in ("netatop", "base"):
            r = conns.get((variant, pattern))
            if r is None:
                continue
            print("%-8s %-18s netatop-rs %d, C 3.2.2 %s, empty hook %s per connection: %s" % (
                pattern, NAMES[variant], r[1], c[1] if c else "-", empty[1] if empty else "-",
                "%.2fx the C original" % (r[1] / c[1]) if c else "-"))


def demangle(name):
    """Rust v0 symbols (_R...) as their last path segments; others as they are."""
    if not name.startswith("_R"):
        return name
    parts, i = [], 2
    while i < len(name):
        m = re.match(r"(\d+)_?", name[i:])
        if m and m.group(1)[0] != "0":
            n, start = int(m.group(1)), i + m.end()
            ident = name[start:start + n]
            if len(ident) == n and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident):
                parts.append(ident)
                i = start + n
                continue
        i += 1
    parts = [p for p in parts if not re.fullmatch(r"Cs\w*|B\d*", p)]
    return "::".join(parts[-2:]) if parts else name


def symbols(system_map, slow_runtime, syms, variant):
    table = []
    slow_map = None
    for line in open(system_map, encoding="ascii"):
        addr, kind, name = line.split()[:3]
        if kind in "TtWw":
            table.append((int(addr, 16), name))
        if name == "nf_hook_slow":
            slow_map = int(addr, 16)
    slide = int(slow_runtime, 16) - slow_map
    table = [(a + slide, n) for a, n in table]
    for line in open(syms, encoding="ascii"):
        v, addr, name = line.split()[:3]
        if v == variant:
            table.append((int(addr, 16), demangle(name)))
    table.sort()
    return [a for a, _ in table], [n for _, n in table]


def by_function(pcs, syms, system_map, slow):
    hist = {}
    for line in open(pcs, encoding="ascii"):
        variant, pattern, _pf, hook, passes, pc, n = line.split()
        hist.setdefault((variant, pattern, hook), []).append((int(pc, 16), int(n) / int(passes)))
    tables = {}
    print()
    print("where a pass's instructions are (per pass, tcp_crr per connection, by function, the largest first):")
    for (variant, pattern, hook), entries in hist.items():
        if variant == "empty":
            continue
        if variant not in tables:
            tables[variant] = symbols(system_map, slow, syms, variant)
        addrs, names = tables[variant]
        per = {}
        for pc, n in entries:
            i = bisect.bisect_right(addrs, pc) - 1
            name = names[i] if i >= 0 else "?"
            per[name] = per.get(name, 0) + n
        top = sorted(per.items(), key=lambda kv: -kv[1])
        print("  %s, %s, %s: %s" % (pattern, NAMES[variant], hook,
                                   ", ".join("%s %.0f" % (k, v) for k, v in top[:14])))


main()
if len(sys.argv) > 5:
    by_function(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])

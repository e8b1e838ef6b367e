#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The module's structure, checked mechanically (make check).

1. The `use crate::` graph of rust/*.rs is a DAG: every reference from one
   module of the crate to another (`crate::x` in code, comments and doc
   links excluded; a `#[macro_export]` macro counts as its defining module)
   is an edge, and a cycle fails the check. The graph is printed in layers,
   from the crate root down to the leaves.
2. The C glue is mechanism only and small: rust/netatop_glue.c and .h
   together have at most 300 lines of code (blank and comment lines not
   counted).

`--self-test` also checks that a cycle is caught (an edge from the leaf
`ffi` back up to `state` added to the real graph).

Prints `check-deps: N passed, M failed` and exits 1 on any failure.
"""

import os
import re
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUST = os.path.join(TOP, "rust")
ROOT = "netatop_main"
C_FILES = ["netatop_glue.c", "netatop_glue.h"]
C_MAX = 300


def strip_comments(text):
    """Rust or C source without comments (string literals are not parsed:
    the crate has no '//' or '/*' inside strings that matter here)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def graph():
    mods = {f[:-3]: strip_comments(open(os.path.join(RUST, f)).read())
            for f in sorted(os.listdir(RUST)) if f.endswith(".rs")}
    macros = {}
    for m, text in mods.items():
        for name in re.findall(r"#\[macro_export\]\s*macro_rules!\s*([a-z_0-9]+)", text):
            macros[name] = m
    edges = {m: set() for m in mods}
    for m, text in mods.items():
        names = set(re.findall(r"\bcrate::([a-z_0-9]+)", text))
        if m == ROOT:
            # The root names its modules without `crate::`.
            names.update(re.findall(r"\b([a-z_0-9]+)::", text))
        # use crate::{a, b::c, d};
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            names.update(re.findall(r"(?:^|,)\s*([a-z_0-9]+)", group))
        for n in names:
            dep = macros.get(n, n)
            if dep in mods and dep != m:
                edges[m].add(dep)
    return edges


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def layers(edges):
    """Modules by depth: 0 = depends on nothing in the crate."""
    depth = {}

    def d(v, seen=()):
        if v not in depth:
            depth[v] = 0 if not edges[v] else 1 + max(d(w, seen + (v,)) for w in edges[v])
        return depth[v]

    for v in edges:
        d(v)
    return depth


def c_code_lines(path):
    text = strip_comments(open(path).read())
    return sum(1 for line in text.splitlines() if line.strip())


def main():
    passed = failed = 0
    edges = graph()
    found = cycles(edges)
    if found:
        failed += 1
        for c in found:
            print(f"FAIL dependency cycle among {', '.join(c)}:")
            for m in c:
                print(f"       {m} -> {', '.join(sorted(edges[m] & set(c)))}")
    else:
        passed += 1
        depth = layers(edges)
        print("ok   the crate's module graph is acyclic; layers, root first:")
        for level in sorted(set(depth.values()), reverse=True):
            for m in sorted(v for v in depth if depth[v] == level):
                print(f"       [{level}] {m} -> {', '.join(sorted(edges[m])) or '(leaf)'}")
    if [m for m, e in edges.items() if ROOT in e]:
        failed += 1
        print(f"FAIL modules depend on the crate root: {[m for m, e in edges.items() if ROOT in e]}")
    counts = {f: c_code_lines(os.path.join(RUST, f)) for f in C_FILES}
    total = sum(counts.values())
    detail = ", ".join(f"{f} {n}" for f, n in counts.items())
    if total <= C_MAX:
        passed += 1
        print(f"ok   C glue: {total} lines of code ({detail}), at most {C_MAX}")
    else:
        failed += 1
        print(f"FAIL C glue: {total} lines of code ({detail}), more than {C_MAX}")
    if "--self-test" in sys.argv[1:]:
        # A call back up from the leaf must be caught.
        edges["ffi"].add("state")
        if any("ffi" in c and "state" in c for c in cycles(edges)):
            passed += 1
            print("ok   self-test: an edge ffi -> state is caught as a cycle")
        else:
            failed += 1
            print("FAIL self-test: an edge ffi -> state was not caught")
    print(f"check-deps: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

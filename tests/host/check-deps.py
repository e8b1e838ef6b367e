#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The module's structure, checked mechanically (make check).

1. The `use crate::` graph of the crate's files (rust/*.rs and the
   kernel-services layer's rust/kernel_services/*.rs, each a node such as
   `kernel_services::lock`) is a DAG: every reference from one module of
   the crate to another (`crate::x::y` or, in the layer, `super::y`; code
   only, comments and doc links excluded; a `#[macro_export]` macro counts
   as its defining module) is an edge, and a cycle fails the check. The
   graph is printed in layers, from the crate root down to the leaves.
2. Only the kernel-services layer (rust/kernel_services.rs and
   rust/kernel_services/) has `unsafe` or `bindings::`.
3. The C glue is mechanism only and small: rust/netatop_glue.c and .h
   together have at most 300 lines of code (blank and comment lines not
   counted); rust/netatop_layout.c is not linked and not counted.

`--self-test` also checks that a cycle is caught (an edge from the leaf
`kernel_services::time` back up to `state` added to the real graph) and
that an `unsafe` block planted in `state.rs` is found.

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
LAYER = "kernel_services"


def strip_comments(text):
    """Rust or C source without comments (string literals are not parsed:
    the crate has no '//' or '/*' inside strings that matter here)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def sources():
    """Module name -> source without comments, for every file of the crate."""
    mods = {}
    for f in sorted(os.listdir(RUST)):
        if f.endswith(".rs"):
            mods[f[:-3]] = strip_comments(open(os.path.join(RUST, f)).read())
    sub = os.path.join(RUST, LAYER)
    for f in sorted(os.listdir(sub)) if os.path.isdir(sub) else []:
        if f.endswith(".rs"):
            mods[f"{LAYER}::{f[:-3]}"] = strip_comments(open(os.path.join(sub, f)).read())
    return mods


def graph(mods):
    macros = {}
    for m, text in mods.items():
        for name in re.findall(r"#\[macro_export\]\s*macro_rules!\s*([a-z_0-9]+)", text):
            macros[name] = m
    edges = {m: set() for m in mods}

    def resolve(path):
        """The module a path names: `a::b` if that is a node, else `a`."""
        parts = path.split("::")
        two = "::".join(parts[:2])
        return two if two in mods else parts[0]

    for m, text in mods.items():
        paths = set(re.findall(r"\bcrate::([a-z_0-9]+(?:::[a-z_0-9]+)?)", text))
        if m == ROOT:
            # The root names its modules without `crate::`.
            paths.update(re.findall(r"\b([a-z_0-9]+(?:::[a-z_0-9]+)?)::", text))
        if m.startswith(LAYER + "::") or m == LAYER:
            # The layer names its own modules with `super::` (or, in its
            # root, by name).
            for p in re.findall(r"\bsuper::([a-z_0-9]+)", text):
                paths.add(f"{LAYER}::{p}")
            if m == LAYER:
                for p in re.findall(r"\bmod\s+([a-z_0-9]+)\s*;", text):
                    paths.add(f"{LAYER}::{p}")
        # use crate::{a, b::c, d};
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            paths.update(re.findall(r"(?:^|,)\s*([a-z_0-9]+(?:::[a-z_0-9]+)?)", group))
        for p in paths:
            dep = macros.get(p.split("::")[-1], resolve(p))
            if dep in mods and dep != m:
                edges[m].add(dep)
    return edges


def outside_layer(mods):
    """Modules outside the kernel-services layer with unsafe or bindings::."""
    bad = []
    for m, text in mods.items():
        if m == LAYER or m.startswith(LAYER + "::"):
            continue
        found = sorted(set(re.findall(r"\bunsafe\b|\bbindings::", text)))
        if found:
            bad.append(f"{m} ({', '.join(found)})")
    return bad


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
    mods = sources()
    edges = graph(mods)
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
    bad = outside_layer(mods)
    if bad:
        failed += 1
        print(f"FAIL unsafe or bindings:: outside the kernel-services layer: {'; '.join(bad)}")
    else:
        passed += 1
        layer = sorted(m for m in mods if m == LAYER or m.startswith(LAYER + "::"))
        print(f"ok   unsafe and bindings:: only in the kernel-services layer ({', '.join(layer)})")
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
        # A call back up from a leaf of the layer must be caught.
        leaf = f"{LAYER}::time"
        edges[leaf].add("state")
        if any(leaf in c and "state" in c for c in cycles(edges)):
            passed += 1
            print(f"ok   self-test: an edge {leaf} -> state is caught as a cycle")
        else:
            failed += 1
            print(f"FAIL self-test: an edge {leaf} -> state was not caught")
        planted = dict(mods, state=mods["state"] + "\nfn f() { unsafe { g() } }\n")
        if any(b.startswith("state ") for b in outside_layer(planted)):
            passed += 1
            print("ok   self-test: an unsafe block planted in state.rs is found")
        else:
            failed += 1
            print("FAIL self-test: an unsafe block planted in state.rs was not found")
    print(f"check-deps: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

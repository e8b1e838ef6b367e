#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""debian/copyright (machine-readable, DEP-5) of netatop-rs, and its check.

netatop-rs is GPL-2.0 (include/netatop.h: with the Linux syscall note).
Its binary package netatop-rs holds Rust programs that embed, statically
linked, the crates Cargo downloads for them (pinned by
netatop_user/Cargo.lock): each is listed with its copyright notices and its
license. Every crate must be usable under a license compatible with GPL-2:
Apache-2.0 alone is not, so a crate offered "MIT OR Apache-2.0" is used
under MIT (Expat); the paragraph says which terms apply.

The crates are those the four programs (netatopd, netatop, netatop-exporter,
netatop-dbus) link for x86_64 Linux: normal dependencies, not build scripts
and not procedural macros (which only run in the compiler); found with
`cargo metadata`, their notices in the sources Cargo unpacked.

usage: tests/host/copyright.py            compare debian/copyright with what
                                          it must say (ok/FAIL lines; exit 1)
       tests/host/copyright.py --write    write it
       tests/host/copyright.py --self-test  the check, then a crate added to
                                          and one dropped from a copy of the
                                          file, and a crate under Apache-2.0
                                          only: each must FAIL
"""

import json
import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKSPACE = os.path.join(TOP, "netatop_user")
COPYRIGHT = os.path.join(TOP, "debian", "copyright")
BINARIES = ("netatopd", "netatop-cli", "netatop-exporter", "netatop-dbus")
TARGET = "x86_64-unknown-linux-gnu"

# SPDX ids a crate may be used under in a GPL-2 program, and their DEP-5
# short names. (Apache-2.0 is not GPL-2-compatible; with the LLVM exception
# it is, but every crate that offers it also offers MIT.)
COMPATIBLE = {
    "MIT": "Expat",
    "BSL-1.0": "BSL-1.0",
    "Zlib": "Zlib",
    "Unlicense": "Unlicense",
    "Unicode-3.0": "Unicode-3.0",
}
DEP5_NAME = dict(COMPATIBLE, **{"Apache-2.0": "Apache-2.0"})
EXCEPTIONS = {"LLVM-exception": "LLVM exception"}


def parse_spdx(expr):
    """An SPDX expression ('/' is an old OR) as nested ('or'|'and', [...])
    tuples and ('id', name[, exception]) leaves."""
    tokens = re.findall(r"\(|\)|[^\s()/]+|/", expr)
    tokens = ["OR" if t == "/" else t for t in tokens]
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def atom():
        if peek() == "(":
            take()
            e = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced: {expr}")
            return e
        name = take()
        if peek() == "WITH":
            take()
            return ("id", name, take())
        return ("id", name)

    def conjunction():
        parts = [atom()]
        while peek() == "AND":
            take()
            parts.append(atom())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def disjunction():
        parts = [conjunction()]
        while peek() == "OR":
            take()
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else ("or", parts)

    e = disjunction()
    if peek() is not None:
        raise ValueError(f"cannot parse: {expr}")
    return e


def dep5(e, top=True):
    """The DEP-5 License text of a parsed expression: 'or'/'and', and a
    comma before an 'and' whose parts are alternatives (lower precedence)."""
    if e[0] == "id":
        name = DEP5_NAME.get(e[1], e[1])
        return f"{name} with {EXCEPTIONS.get(e[2], e[2])}" if len(e) == 3 else name
    if e[0] == "or":
        return " or ".join(dep5(p, False) for p in e[1])
    parts = [dep5(p, False) for p in e[1]]
    if any(p[0] == "or" for p in e[1]):
        return ", and ".join(parts)
    return " and ".join(parts)


def usable(e):
    """The GPL-2-compatible terms a parsed expression allows (a list of
    SPDX ids, all of which apply), or None."""
    if e[0] == "id":
        return [e[1]] if len(e) == 2 and e[1] in COMPATIBLE else None
    if e[0] == "or":
        for p in e[1]:
            u = usable(p)
            if u is not None:
                return u
        return None
    out = []
    for p in e[1]:
        u = usable(p)
        if u is None:
            return None
        out += u
    return out


def embedded_crates():
    """(name, version, license expression, source directory, authors) of
    every crate linked into the binaries, sorted."""
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--offline",
         "--filter-platform", TARGET], cwd=WORKSPACE))
    pkgs = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

    def proc_macro(p):
        return any("proc-macro" in t["kind"] for t in p["targets"])

    todo = [i for i, p in pkgs.items() if p["name"] in BINARIES and p["source"] is None]
    if len(todo) != len(BINARIES):
        raise SystemExit(f"copyright: not all of {BINARIES} are in the workspace")
    seen = set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        for d in nodes[i]["deps"]:
            normal = any(k["kind"] is None for k in d["dep_kinds"])
            if normal and not proc_macro(pkgs[d["pkg"]]):
                todo.append(d["pkg"])
    crates = []
    for i in seen:
        p = pkgs[i]
        if p["source"] is None:
            continue
        crates.append((p["name"], p["version"], p["license"] or "",
                       os.path.dirname(p["manifest_path"]), p["authors"]))
    return sorted(crates)


NOTICE = re.compile(r"^\s*copyright\s*(\(c\)|©)?\s*(.*\S)\s*$", re.IGNORECASE)
TEMPLATE = re.compile(r"\[yyyy\]|\{yyyy\}|\[year\]|<year>|\[name of copyright owner\]"
                      r"|copyright (notice|owner|holder|license|and permission)", re.IGNORECASE)


def notices(src, name, authors):
    """The copyright notices of a crate's license files; else its authors."""
    found = set()
    for f in sorted(os.listdir(src)):
        if not re.match(r"(?i)(license|licence|copying|copyright|unlicense)", f):
            continue
        path = os.path.join(src, f)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = NOTICE.match(line)
                if m and not TEMPLATE.search(line) and re.search(r"\w", m.group(2)):
                    found.add(m.group(2))
    if found:
        return sorted(found)
    if authors:
        return [f"the {name} authors: " + "; ".join(authors)]
    return [f"the {name} authors"]


HEADER = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: netatop-rs
Upstream-Contact: netatop-rs developers <netatop-rs@example.invalid>
Source: https://example.invalid/netatop-rs
Comment: The programs of the binary package netatop-rs (netatopd, netatop,
 netatop-exporter, netatop-dbus) are written in Rust and embed, statically
 linked, the crates from crates.io that Cargo downloads when the package is
 built (pinned by netatop_user/Cargo.lock). They are listed below, one
 paragraph each, as "Files: cargo-registry/NAME-VERSION/*": the directory
 Cargo unpacks the crate into, not a part of the source package. Each is
 used under the GPL-2-compatible terms its Comment names (a crate offered
 under "Expat or Apache-2.0" is used under Expat: Apache-2.0 is not
 compatible with GPL-2). This file is generated and checked by
 tests/host/copyright.py.

Files: *
Copyright: 2026 netatop-rs developers
License: GPL-2

Files: include/netatop.h
Copyright: 2026 netatop-rs developers
License: GPL-2 with Linux-syscall-note exception
Comment: The user ABI of the module, for C programs; byte-compatible with
 the header of netatop 3.2.2.
"""

GPL2 = """\
License: GPL-2
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License version 2 as published by
 the Free Software Foundation.
 .
 This program is distributed in the hope that it will be useful, but WITHOUT
 ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or
 FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public License for
 more details.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in /usr/share/common-licenses/GPL-2.
"""

SYSCALL_NOTE = """\
License: GPL-2 with Linux-syscall-note exception
 NOTE! This copyright does *not* cover user programs that use kernel
 services by normal system calls - this is merely considered normal use of
 the kernel, and does *not* fall under the heading of "derived work". Also
 note that the GPL below is copyrighted by the Free Software Foundation, but
 the instance of code that it refers to (the Linux kernel) is copyrighted by
 me and others who actually wrote it.
 .
 Also note that the only valid version of the GPL as far as the kernel is
 concerned is _this_ particular version of the license (ie v2, not v2.2 or
 v3.x or whatever), unless explicitly otherwise stated.
 .
 Linus Torvalds
 .
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License version 2 as published by
 the Free Software Foundation.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in /usr/share/common-licenses/GPL-2.
"""

LICENSES = {
    "Expat": """\
 Permission is hereby granted, free of charge, to any person obtaining a
 copy of this software and associated documentation files (the "Software"),
 to deal in the Software without restriction, including without limitation
 the rights to use, copy, modify, merge, publish, distribute, sublicense,
 and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE.
""",
    "Apache-2.0": """\
 Licensed under the Apache License, Version 2.0 (the "License"); you may not
 use this file except in compliance with the License. Unless required by
 applicable law or agreed to in writing, software distributed under the
 License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR
 CONDITIONS OF ANY KIND, either express or implied.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0 can
 be found in /usr/share/common-licenses/Apache-2.0.
""",
    "Apache-2.0 with LLVM exception": """\
 Licensed under the Apache License, Version 2.0 (the "License"), with the
 LLVM exceptions below. On Debian systems, the complete text of the Apache
 License, Version 2.0 can be found in /usr/share/common-licenses/Apache-2.0.
 .
 ---- LLVM Exceptions to the Apache 2.0 License ----
 .
 As an exception, if, as a result of your compiling your source code,
 portions of this Software are embedded into an Object form of such source
 code, you may redistribute such embedded portions in such Object form
 without complying with the conditions of Sections 4(a), 4(b) and 4(d) of
 the License.
 .
 In addition, if you combine or link compiled forms of this Software with
 software that is licensed under the GPLv2 ("Combined Software") and if a
 court of competent jurisdiction determines that the patent provision
 (Section 3), the indemnity provision (Section 9) or other Section of the
 License conflicts with the conditions of the GPLv2, you may retroactively
 and prospectively choose to deem waived or otherwise exclude such
 Section(s) of the License, but only in their entirety and only with respect
 to the Combined Software.
""",
    "BSL-1.0": """\
 Boost Software License - Version 1.0 - August 17th, 2003
 .
 Permission is hereby granted, free of charge, to any person or organization
 obtaining a copy of the software and accompanying documentation covered by
 this license (the "Software") to use, reproduce, display, distribute,
 execute, and transmit the Software, and to prepare derivative works of the
 Software, and to permit third-parties to whom the Software is furnished to
 do so, all subject to the following:
 .
 The copyright notices in the Software and this entire statement, including
 the above license grant, this restriction and the following disclaimer,
 must be included in all copies of the Software, in whole or in part, and
 all derivative works of the Software, unless such copies or derivative
 works are solely in the form of machine-executable object code generated by
 a source language processor.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE, TITLE AND NON-INFRINGEMENT. IN NO EVENT
 SHALL THE COPYRIGHT HOLDERS OR ANYONE DISTRIBUTING THE SOFTWARE BE LIABLE
 FOR ANY DAMAGES OR OTHER LIABILITY, WHETHER IN CONTRACT, TORT OR OTHERWISE,
 ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE.
""",
    "Zlib": """\
 This software is provided 'as-is', without any express or implied
 warranty. In no event will the authors be held liable for any damages
 arising from the use of this software.
 .
 Permission is granted to anyone to use this software for any purpose,
 including commercial applications, and to alter it and redistribute it
 freely, subject to the following restrictions:
 .
 1. The origin of this software must not be misrepresented; you must not
    claim that you wrote the original software. If you use this software in
    a product, an acknowledgment in the product documentation would be
    appreciated but is not required.
 .
 2. Altered source versions must be plainly marked as such, and must not be
    misrepresented as being the original software.
 .
 3. This notice may not be removed or altered from any source distribution.
""",
    "Unlicense": """\
 This is free and unencumbered software released into the public domain.
 .
 Anyone is free to copy, modify, publish, use, compile, sell, or distribute
 this software, either in source code form or as a compiled binary, for any
 purpose, commercial or non-commercial, and by any means.
 .
 In jurisdictions that recognize copyright laws, the author or authors of
 this software dedicate any and all copyright interest in the software to
 the public domain. We make this dedication for the benefit of the public at
 large and to the detriment of our heirs and successors. We intend this
 dedication to be an overt act of relinquishment in perpetuity of all
 present and future rights to this software under copyright law.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
 ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
 CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 .
 For more information, please refer to <https://unlicense.org/>
""",
    "Unicode-3.0": """\
 UNICODE LICENSE V3
 .
 Permission is hereby granted, free of charge, to any person obtaining a
 copy of data files and any associated documentation (the "Data Files") or
 software and any associated documentation (the "Software") to deal in the
 Data Files or Software without restriction, including without limitation
 the rights to use, copy, modify, merge, publish, distribute, and/or sell
 copies of the Data Files or Software, and to permit persons to whom the
 Data Files or Software are furnished to do so, provided that either (a)
 this copyright and permission notice appear with all copies of the Data
 Files or Software, or (b) this copyright and permission notice appear in
 associated Documentation.
 .
 THE DATA FILES AND SOFTWARE ARE PROVIDED "AS IS", WITHOUT WARRANTY OF ANY
 KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
 MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT OF
 THIRD PARTY RIGHTS.
 .
 IN NO EVENT SHALL THE COPYRIGHT HOLDER OR HOLDERS INCLUDED IN THIS NOTICE
 BE LIABLE FOR ANY CLAIM, OR ANY SPECIAL INDIRECT OR CONSEQUENTIAL DAMAGES,
 OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS,
 WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION,
 ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THE DATA
 FILES OR SOFTWARE.
 .
 Except as contained in this notice, the name of a copyright holder shall
 not be used in advertising or otherwise to promote the sale, use or other
 dealings in these Data Files or Software without prior written
 authorization of the copyright holder.
""",
}


def field(name, lines):
    """A deb822 field whose value is `lines` (continuation lines indented)."""
    return f"{name}: {lines[0]}\n" + "".join(f" {line}\n" for line in lines[1:])


def render(crates):
    """The whole file for `crates`; raises ValueError naming a crate that
    cannot be used in a GPL-2 program."""
    out = [HEADER]
    names = set()
    bad = []
    for name, version, lic, src, authors in crates:
        try:
            expr = parse_spdx(lic)
        except (ValueError, IndexError):
            bad.append(f"{name} {version}: unreadable license '{lic}'")
            continue
        terms = usable(expr)
        if terms is None:
            bad.append(f"{name} {version}: '{lic}' offers no GPL-2-compatible terms")
            continue
        names.update(COMPATIBLE[t] for t in terms)
        out.append(
            "\n"
            + field("Files", [f"cargo-registry/{name}-{version}/*"])
            + field("Copyright", notices(src, name, authors))
            + field("License", [dep5(expr)])
            + field("Comment", [f"crates.io: {name} {version}, used under "
                                + " and ".join(COMPATIBLE[t] for t in terms)])
        )
        for ident in re.findall(r"[^\s()/]+", lic):
            if ident in DEP5_NAME:
                names.add(DEP5_NAME[ident])
        if "WITH LLVM-exception" in lic:
            names.add("Apache-2.0 with LLVM exception")
    if bad:
        raise ValueError("\n".join(bad))
    out.append("\n" + GPL2 + "\n" + SYSCALL_NOTE)
    for lic in sorted(names):
        out.append("\n" + f"License: {lic}\n" + LICENSES[lic])
    return "".join(out)


def check(text, crates):
    """ok/FAIL lines comparing `text` with what it must be; True if ok."""
    try:
        want = render(crates)
    except ValueError as e:
        for line in str(e).splitlines():
            print(f"FAIL license: {line}")
        return False
    listed = re.findall(r"^Files: cargo-registry/(\S+)/\*$", text, re.MULTILINE)
    embedded = [f"{c[0]}-{c[1]}" for c in crates]
    ok = True
    for c in sorted(set(embedded) - set(listed)):
        print(f"FAIL debian/copyright does not list the embedded crate {c}")
        ok = False
    for c in sorted(set(listed) - set(embedded)):
        print(f"FAIL debian/copyright lists {c}, which the programs do not embed")
        ok = False
    if ok and text != want:
        print("FAIL debian/copyright differs from what tests/host/copyright.py makes "
              "(run it with --write)")
        ok = False
    if ok:
        print(f"ok   debian/copyright: netatop-rs (GPL-2) and the {len(crates)} crates "
              "its programs embed, each under GPL-2-compatible terms")
    return ok


def main():
    crates = embedded_crates()
    if sys.argv[1:] == ["--write"]:
        with open(COPYRIGHT, "w", encoding="utf-8") as fh:
            fh.write(render(crates))
        print(f"copyright: wrote {COPYRIGHT} ({len(crates)} crates)")
        return 0
    with open(COPYRIGHT, encoding="utf-8") as fh:
        text = fh.read()
    if sys.argv[1:] == []:
        return 0 if check(text, crates) else 1
    if sys.argv[1:] != ["--self-test"]:
        print(__doc__, file=sys.stderr)
        return 2
    if not check(text, crates):
        return 1
    # A crate the file does not list, one it lists that is not embedded,
    # and one under Apache-2.0 only: each must FAIL.
    extra = ("planted", "0.0.1", "MIT", tempfile.gettempdir(), [])
    cases = {
        "a new dependency": (text, crates + [extra]),
        "a dropped dependency": (text, crates[1:]),
        "an Apache-2.0-only dependency": (text, crates + [extra[:2] + ("Apache-2.0",) + extra[3:]]),
        "an edited copyright file": (text.replace("License: GPL-2\n", "License: GPL-3\n", 1), crates),
    }
    missed = 0
    for what, (t, c) in cases.items():
        with open(os.devnull, "w", encoding="utf-8") as null:
            stdout, sys.stdout = sys.stdout, null
            try:
                caught = not check(t, c)
            finally:
                sys.stdout = stdout
        if not caught:
            print(f"self-test: MISSED {what}")
            missed += 1
    # The SPDX reading itself.
    for lic, want, terms in [
        ("MIT OR Apache-2.0", "Expat or Apache-2.0", ["MIT"]),
        ("Apache-2.0/MIT", "Apache-2.0 or Expat", ["MIT"]),
        ("(MIT OR Apache-2.0) AND Unicode-3.0", "Expat or Apache-2.0, and Unicode-3.0",
         ["MIT", "Unicode-3.0"]),
        ("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT",
         "Apache-2.0 with LLVM exception or Apache-2.0 or Expat", ["MIT"]),
        ("Apache-2.0 OR BSL-1.0", "Apache-2.0 or BSL-1.0", ["BSL-1.0"]),
        ("Apache-2.0", "Apache-2.0", None),
        ("GPL-3.0-only OR MIT", "GPL-3.0-only or Expat", ["MIT"]),
    ]:
        e = parse_spdx(lic)
        if (dep5(e), usable(e)) != (want, terms):
            print(f"self-test: '{lic}' read as {dep5(e)!r}, {usable(e)}")
            missed += 1
    if missed:
        print(f"copyright: self-test FAILED ({missed} not caught)")
        return 1
    print(f"copyright: self-test: all {len(cases)} planted errors caught, SPDX reading ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

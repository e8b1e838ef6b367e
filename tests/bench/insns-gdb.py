# SPDX-License-Identifier: GPL-2.0
"""gdb script of `make insns` (scripts/insns.sh): counts the instructions of
netfilter hook passes by single-stepping the guest through QEMU's gdb stub.

A pass is one call of nf_hook_slow(), from its first instruction to its
return: everything a registered hook adds to a packet (without hooks,
nf_hook() does not call it at all). With INSNS_CONN=1 (the tcp_crr flow),
it counts whole connections instead: all passes between two stops at
INSNS_MARK (the flow calls sched_yield() after each connection), for
INSNS_CONNS connections, and writes one line per family with hook "conn"
and a last field, the passes of the median connection (by instructions;
every connection's passes, hook by hook, go to conns.txt beside INSNS_OUT).
QEMU's stub masks interrupts and timers while it steps, so the count is the pass's own. For each pass it records
the instructions, those inside the netatop_rs_packet_*() entry points (the Rust accounting),
the calls and the locked read-modify-writes, and classifies the pass by its
hook and protocol family (nf_hook_state: u8 hook, u8 pf).

Environment: INSNS_GDB (host:port of the stub), INSNS_SLOW and INSNS_RS (hex
addresses, INSNS_RS 0 for none), INSNS_FAMILY (ipv4 or ipv6: passes of the
other family are let through uncounted), INSNS_PASSES (passes per hook),
INSNS_SKIP (passes ignored first), INSNS_TAG (first words of each output
line), INSNS_OUT and INSNS_PCS (the files the lines are appended to):

    <tag> <pf> <hook> <passes> <median insns> <median in Rust> <median calls> <median locked>
    <tag> <pf> <hook> <passes> <address, hex> <times stepped>   (INSNS_PCS)
"""

import os
import statistics

import gdb  # pylint: disable=import-error

MASK = (1 << 64) - 1
NFPROTO = {2: "ipv4", 10: "ipv6"}
HOOK = {1: "in", 3: "out"}


def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & MASK


def u64(inf, addr):
    return int.from_bytes(bytes(inf.read_memory(addr, 8)), "little")


def one_pass(inf, rs_addrs, pcs):
    """Steps one nf_hook_slow() call from its first instruction to its
    return, adding each instruction's address to `pcs`; returns (insns, in
    Rust, calls, locked)."""
    sp = reg("rsp")
    ret = u64(inf, sp)
    insns = rust = calls = locked = 0
    rust_ret = None
    while True:
        pc = reg("pc")
        if pc == ret and reg("rsp") > sp:
            return insns, rust, calls, locked
        if rust_ret is None and pc in rs_addrs:
            rust_ret, rust_sp = u64(inf, reg("rsp")), reg("rsp")
        elif rust_ret is not None and pc == rust_ret and reg("rsp") > rust_sp:
            rust_ret = None
        text = gdb.execute("x/i $pc", to_string=True).split(":", 1)[-1]
        words = text.split()
        if words and words[0] == "lock":
            locked += 1
        elif words and words[0].startswith("call"):
            calls += 1
        insns += 1
        pcs[pc] = pcs.get(pc, 0) + 1
        if rust_ret is not None:
            rust += 1
        gdb.execute("stepi", to_string=True)


def connections(inf, slow, mark, rs_addrs, family, want):
    """Counts whole connections: every pass of `family`'s in and out hooks
    between two stops at `mark` (the flow's sched_yield() after each
    connection), `want` of them after the first mark. Returns the
    connections' (insns, in Rust, calls, locked, passes) and the addresses
    stepped."""
    runs, seqs, pcs = [], [], {}
    acc = None
    while len(runs) < want:
        bps = [gdb.Breakpoint("*%#x" % a, internal=True) for a in (slow, mark)]
        gdb.execute("continue", to_string=True)
        for bp in bps:
            bp.delete()
        pc = reg("pc")
        if pc == mark:
            if acc is not None and acc[4] > 0:
                runs.append(tuple(acc))
                seqs.append(" ".join(seq))
                for a, n in acc_pcs.items():
                    pcs[a] = pcs.get(a, 0) + n
            acc, acc_pcs, seq = [0, 0, 0, 0, 0], {}, []
            continue
        if pc != slow:
            raise gdb.GdbError("stopped at %#x, not nf_hook_slow" % pc)
        hook, pf = bytes(inf.read_memory(reg("rsi"), 2))
        if acc is None or NFPROTO.get(pf) != family or HOOK.get(hook) not in ("in", "out"):
            continue
        result = one_pass(inf, rs_addrs, acc_pcs)
        for i in range(4):
            acc[i] += result[i]
        acc[4] += 1
        seq.append("%s:%d" % (HOOK[hook], result[0]))
    return runs, seqs, pcs


def main():
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("set architecture i386:x86-64")
    gdb.execute("target remote " + os.environ["INSNS_GDB"], to_string=True)
    inf = gdb.selected_inferior()
    slow = int(os.environ["INSNS_SLOW"], 16)
    rs_addrs = {int(a, 16) for a in os.environ["INSNS_RS"].split(",")} - {0}
    family = os.environ["INSNS_FAMILY"]
    if os.environ.get("INSNS_CONN") == "1":
        mark = int(os.environ["INSNS_MARK"], 16)
        runs, seqs, pcs = connections(inf, slow, mark, rs_addrs, family, int(os.environ.get("INSNS_CONNS", "5")))
        # The median connection by instructions, whole (its passes with it).
        med = sorted(runs)[len(runs) // 2]
        with open(os.path.join(os.path.dirname(os.environ["INSNS_OUT"]), "conns.txt"), "a", encoding="ascii") as out:
            for r, seq in zip(runs, seqs):
                out.write("%s %s: %d insns, %d passes: %s\n" % (os.environ["INSNS_TAG"], family, r[0], r[4], seq))
        with open(os.environ["INSNS_OUT"], "a", encoding="ascii") as out:
            out.write("%s %s conn %d %d %d %d %d %d\n" % (os.environ["INSNS_TAG"], family, len(runs), *med))
        with open(os.environ["INSNS_PCS"], "a", encoding="ascii") as out:
            for pc, n in sorted(pcs.items()):
                out.write("%s %s conn %d %x %d\n" % (os.environ["INSNS_TAG"], family, len(runs), pc, n))
        gdb.execute("detach", to_string=True)
        return
    want = int(os.environ.get("INSNS_PASSES", "9"))
    skip = int(os.environ.get("INSNS_SKIP", "1"))
    seen, counts, pcs = {}, {}, {}
    # Until the family's out and in passes have `want` each.
    while len(counts) < 2 or any(len(v) < want for v in counts.values()):
        bp = gdb.Breakpoint("*%#x" % slow, internal=True)
        gdb.execute("continue", to_string=True)
        bp.delete()
        if reg("pc") != slow:
            raise gdb.GdbError("stopped at %#x, not nf_hook_slow" % reg("pc"))
        hook, pf = bytes(inf.read_memory(reg("rsi"), 2))
        key = (NFPROTO.get(pf, str(pf)), HOOK.get(hook, str(hook)))
        if key[0] != family or key[1] not in ("in", "out"):
            continue
        seen[key] = seen.get(key, 0) + 1
        counted = seen[key] > skip
        result = one_pass(inf, rs_addrs, pcs.setdefault(key, {}) if counted else {})
        if counted:
            counts.setdefault(key, []).append(result)
    with open(os.environ["INSNS_OUT"], "a", encoding="ascii") as out:
        for (pf, hook), runs in sorted(counts.items()):
            med = [int(statistics.median(r[i] for r in runs)) for i in range(4)]
            out.write("%s %s %s %d %d %d %d %d\n" % (os.environ["INSNS_TAG"], pf, hook, len(runs), *med))
    # Where the instructions were: every address stepped, with its count.
    with open(os.environ["INSNS_PCS"], "a", encoding="ascii") as out:
        for (pf, hook), hist in sorted(pcs.items()):
            for pc, n in sorted(hist.items()):
                out.write("%s %s %s %d %x %d\n" % (os.environ["INSNS_TAG"], pf, hook, len(counts[(pf, hook)]), pc, n))
    gdb.execute("detach", to_string=True)


main()

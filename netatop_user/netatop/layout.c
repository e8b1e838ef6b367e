// SPDX-License-Identifier: GPL-2.0
/*
 * layout.c - the user ABI (include/netatop.h) as the C compiler sees it:
 * the size of every struct, the offset and size of each of its fields, and
 * the value of every constant.
 *
 * Compiled to assembly only, never linked (the kernel's asm-offsets
 * technique, as rust/netatop_layout.c for the module): build.rs turns its
 * "->NAME VALUE" markers into Rust constants, $OUT_DIR/abi_layout.rs, which
 * src/abi.rs asserts its copy of the ABI against, so a mismatch fails the
 * build. NAME is where the constant goes in that file: "taskcount::SIZE",
 * "taskcount::tcpsndpacks::OFFSET", "taskcount::tcpsndpacks::SIZE",
 * "COMLEN".
 */
#include <stddef.h>

#include "netatop.h"

#define MARK(name, v)	__asm__ __volatile__("\n.ascii \"->" name " %0\"" : : "i" (v))
#define SIZE(s)		MARK(#s "::SIZE", sizeof(struct s))
#define FIELD(s, f)							\
	do {								\
		MARK(#s "::" #f "::OFFSET", offsetof(struct s, f));	\
		MARK(#s "::" #f "::SIZE", sizeof(((struct s *)0)->f));	\
	} while (0)
/* Stringised here, before c is expanded (MARK would see its value). */
#define CONST(c)	MARK(#c, c)

void netatop_abi_layout(void);
void netatop_abi_layout(void)
{
	SIZE(taskcount);
	FIELD(taskcount, tcpsndpacks);
	FIELD(taskcount, tcpsndbytes);
	FIELD(taskcount, tcprcvpacks);
	FIELD(taskcount, tcprcvbytes);
	FIELD(taskcount, udpsndpacks);
	FIELD(taskcount, udpsndbytes);
	FIELD(taskcount, udprcvpacks);
	FIELD(taskcount, udprcvbytes);

	SIZE(netpertask);
	FIELD(netpertask, id);
	FIELD(netpertask, btime);
	FIELD(netpertask, command);
	FIELD(netpertask, tc);

	SIZE(netatop_cgroupcount);
	FIELD(netatop_cgroupcount, id);
	FIELD(netatop_cgroupcount, nprocs);
	FIELD(netatop_cgroupcount, pad);
	FIELD(netatop_cgroupcount, tc);

	SIZE(netatop_listhdr);
	FIELD(netatop_listhdr, total);
	FIELD(netatop_listhdr, count);
	FIELD(netatop_listhdr, overflow);

	SIZE(netatop_procinfo);
	FIELD(netatop_procinfo, id);
	FIELD(netatop_procinfo, pad);
	FIELD(netatop_procinfo, btime);
	FIELD(netatop_procinfo, command);
	FIELD(netatop_procinfo, cgroup);
	FIELD(netatop_procinfo, tc);

	SIZE(netatop_conninfo);
	FIELD(netatop_conninfo, netns);
	FIELD(netatop_conninfo, tgid);
	FIELD(netatop_conninfo, pid);
	FIELD(netatop_conninfo, btime);
	FIELD(netatop_conninfo, proto);
	FIELD(netatop_conninfo, family);
	FIELD(netatop_conninfo, state);
	FIELD(netatop_conninfo, flags);
	FIELD(netatop_conninfo, lport);
	FIELD(netatop_conninfo, rport);
	FIELD(netatop_conninfo, laddr);
	FIELD(netatop_conninfo, raddr);
	FIELD(netatop_conninfo, sndpacks);
	FIELD(netatop_conninfo, sndbytes);
	FIELD(netatop_conninfo, rcvpacks);
	FIELD(netatop_conninfo, rcvbytes);

	CONST(COMLEN);
	CONST(NETATOP_BASE_CTL);
	CONST(NETATOP_PROBE);
	CONST(NETATOP_FORCE_GC);
	CONST(NETATOP_EMPTY_EXIT);
	CONST(NETATOP_GETCNT_EXIT);
	CONST(NETATOP_GETCNT_TGID);
	CONST(NETATOP_GETCNT_PID);
	CONST(NETATOP_GETCNT_CGROUP);
	CONST(NETATOP_GETCNT_TASKS);
	CONST(NETATOP_GETCNT_CGROUPS);
	CONST(NETATOP_GETCNT_CONNS);
	CONST(NETATOP_CONN_PEERS);
}

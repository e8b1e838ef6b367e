// SPDX-License-Identifier: GPL-2.0
/*
 * netatop_layout.c - the layouts of the structs, and the values of the
 * constants, that C and Rust share, as the C compiler sees them: the user
 * ABI (include/netatop.h) and the glue's interface (netatop_glue.h), the
 * one source of each: every struct's size, and each field's offset and
 * size. Compiled to assembly only, never linked: Kbuild turns
 * its "->NAME VALUE" markers into Rust constants (the kernel's asm-offsets
 * technique), and the crate asserts its copies against them at build time
 * (kernel_services/layout.rs), so a mismatch fails the build.
 */
#include <linux/kbuild.h>
#include <linux/stddef.h>

#include "netatop_glue.h"
#include "../include/netatop.h"

#define SIZE(s)		DEFINE(s##__SIZE, sizeof(struct s))
#define FIELD(s, f)							\
	do {								\
		DEFINE(s##__##f, offsetof(struct s, f));		\
		DEFINE(s##__##f##__SIZE, sizeof_field(struct s, f));	\
	} while (0)
/* Stringised here, before c is expanded (DEFINE would see its value). */
#define CONST(c)	asm volatile("\n.ascii \"->" #c " %0 " #c "\"" : : "i" (c))

void netatop_layout(void);
void netatop_layout(void)
{
	/* include/netatop.h */
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

	/* netatop_glue.h */
	SIZE(netatop_pkt);
	FIELD(netatop_pkt, nh);
	FIELD(netatop_pkt, th);
	FIELD(netatop_pkt, netns);
	FIELD(netatop_pkt, now);
	FIELD(netatop_pkt, len);
	FIELD(netatop_pkt, mtu);
	FIELD(netatop_pkt, hh_len);
	FIELD(netatop_pkt, gso_size);
	FIELD(netatop_pkt, gso_segs);
	FIELD(netatop_pkt, th_off);
	FIELD(netatop_pkt, family);
	FIELD(netatop_pkt, proto);
	FIELD(netatop_pkt, dir);
	FIELD(netatop_pkt, tcp_state);
	FIELD(netatop_pkt, context);
	SIZE(netatop_sender);
	FIELD(netatop_sender, leader_start);
	FIELD(netatop_sender, thread_start);
	FIELD(netatop_sender, tgid);
	FIELD(netatop_sender, pid);
	FIELD(netatop_sender, exiting);
	SIZE(netatop_charge);
	FIELD(netatop_charge, slot);
	FIELD(netatop_charge, extra);
	FIELD(netatop_charge, count);
	SIZE(netatop_task);
	FIELD(netatop_task, start);
	FIELD(netatop_task, live);
	SIZE(netatop_current);
	FIELD(netatop_current, leader_comm);
	FIELD(netatop_current, thread_comm);
	FIELD(netatop_current, boot_sec);
	FIELD(netatop_current, cgroup);
	CONST(NETATOP_NR_CMDS);
	CONST(NETATOP_DIR_OUT);
	CONST(NETATOP_CX_IRQS_OFF);
	CONST(NETATOP_CX_BH_OFF);
	CONST(NETATOP_CX_INTERRUPT);
	CONST(NETATOP_NR_STATS);
	CONST(NETATOP_NO_TRANSPORT);
}

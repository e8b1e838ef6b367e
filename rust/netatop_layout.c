// SPDX-License-Identifier: GPL-2.0
/*
 * netatop_layout.c - the layouts of the structs, and the values of the
 * constants, that Rust shares with C, as the C compiler sees them:
 *
 * - the user ABI (include/netatop.h) and the glue's interface
 *   (netatop_glue.h), the one source of each: the crate asserts its copies
 *   against every struct's size and each field's offset and size;
 * - the fields of the kernel's own structures that the packet path reads
 *   (sk_buff, nf_hook_state, net, net_device, sock, task_struct): the
 *   crate reads them at these offsets, with these sizes, so its reads
 *   follow every kernel's configuration and version (the kernel crate's
 *   bindings name some of them differently across versions, or not at all);
 * - the kernel's constants the crate uses.
 *
 * Compiled to assembly only, never linked: Kbuild turns its "->NAME VALUE"
 * markers into Rust constants (the kernel's asm-offsets technique,
 * kernel_services/layout.rs), so a mismatch fails the build.
 */
#include <linux/kbuild.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "netatop_glue.h"
#include "../include/netatop.h"

#define SIZE(s)		DEFINE(s##__SIZE, sizeof(struct s))
#define FIELD(s, f)	FIELD_AS(s, f, f)
/* A (nested) field, named n: "struct s", offset and size of s.f. */
#define FIELD_AS(s, f, n)						\
	do {								\
		DEFINE(s##__##n, offsetof(struct s, f));		\
		DEFINE(s##__##n##__SIZE, sizeof_field(struct s, f));	\
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

	/* netatop_glue.h */
	SIZE(netatop_charge);
	FIELD(netatop_charge, slot);
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
	CONST(NETATOP_CX_IRQS_OFF);
	CONST(NETATOP_CX_BH_OFF);
	CONST(NETATOP_CX_INTERRUPT);
	CONST(NETATOP_NR_STATS);

	/* The kernel's structures the packet path reads. */
	FIELD(sk_buff, len);
	FIELD(sk_buff, data_len);
	FIELD(sk_buff, head);
	FIELD(sk_buff, data);
	FIELD(sk_buff, end);
	FIELD(sk_buff, network_header);
	FIELD(sk_buff, sk);
	FIELD(sk_buff, dev);
	FIELD(skb_shared_info, gso_size);
	FIELD(skb_shared_info, gso_segs);
	FIELD(nf_hook_state, in);
	FIELD(nf_hook_state, out);
	FIELD(nf_hook_state, net);
	FIELD(net, net_cookie);
	FIELD(net_device, mtu);
	FIELD(net_device, hard_header_len);
	FIELD_AS(sock, __sk_common.skc_state, skc_state);
	FIELD(task_struct, flags);
	FIELD(task_struct, pid);
	FIELD(task_struct, tgid);
	FIELD(task_struct, group_leader);
	FIELD(task_struct, start_boottime);

	/* The kernel's constants. */
	CONST(NFPROTO_IPV4);
	CONST(AF_INET);
	CONST(AF_INET6);
	CONST(NFPROTO_IPV6);
	CONST(IPPROTO_ICMP);
	CONST(IPPROTO_TCP);
	CONST(IPPROTO_UDP);
	CONST(IPPROTO_ICMPV6);
	CONST(IP_OFFSET);
	CONST(SLAB_NO_MERGE);
	CONST(PF_EXITING);
	CONST(TASK_COMM_LEN);
}

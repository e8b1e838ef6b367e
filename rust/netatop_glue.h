/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netatop_glue.h - the interface between the module's C glue and its Rust
 * crate, and the one source of what crosses it: the Rust side's copies of
 * the structs and constants below are checked against the C compiler's
 * layout at build time (netatop_layout.c, Kbuild).
 *
 * The rule of who reads what: the glue reads the kernel's structures (the
 * netfilter hook state, sk_buff, net_device, sock, task_struct, cgroup),
 * whose layouts the kernel crate's bindings give unreliably or not at all,
 * into the plain values below; Rust reads those, calls kernel functions,
 * and takes every decision (see netatop_glue.c).
 */
#ifndef _NETATOP_GLUE_H
#define _NETATOP_GLUE_H

#include <linux/compiler_types.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

struct seq_file;

/* Number of getsockopt commands from NETATOP_BASE_CTL on. */
#define NETATOP_NR_CMDS 9

/* Packet directions (struct netatop_pkt.dir). */
#define NETATOP_DIR_OUT 0	/* NF_INET_LOCAL_OUT: sent by this host */
#define NETATOP_DIR_IN	1	/* NF_INET_LOCAL_IN: received by this host */

/* The context a hook runs in (struct netatop_pkt.context), bits. */
#define NETATOP_CX_IRQS_OFF	1	/* hard interrupt or NMI context, or interrupts disabled */
#define NETATOP_CX_BH_OFF	2	/* bottom halves disabled (softirq context included) */
#define NETATOP_CX_INTERRUPT	4	/* in_interrupt(): not a task's own system call */

/* Global counters: per-CPU slots whose meaning Rust decides (stats.rs). */
#define NETATOP_NR_STATS 12

/*
 * A packet as the hook hands it over: where its headers are, and the facts
 * of the skb, the hook, its device and socket, read once. Every field is
 * written exactly once per packet (no clearing first); the headers are
 * read by Rust, only as far as it needs them.
 */
struct netatop_pkt {
	/* The IP header (IPv4: at least 20 bytes, IPv6: 40), in the linear area. */
	const __u8 *nh;
	/*
	 * The first bytes of the TCP (20) or UDP (8) header, in the skb or
	 * copied to the hook's stack; NULL for other protocols, a non-first
	 * fragment, or a header that cannot be read (then proto is
	 * NETATOP_NO_TRANSPORT).
	 */
	const __u8 *th;
	__u64 netns;		/* net->net_cookie of the hook's namespace */
	__u64 now;		/* jiffies_64 */
	__u32 len;		/* skb->len: IP header and payload */
	__u32 mtu;		/* MTU of the device, 0 without one */
	__u16 hh_len;		/* hard_header_len of the device, 0 without one */
	__u16 gso_size;		/* skb_shinfo()->gso_size: non-zero for a GSO/GRO skb */
	__u16 gso_segs;		/* skb_shinfo()->gso_segs */
	__u16 th_off;		/* bytes from nh to th (IP and extension headers); 0 without th */
	__u8  family;		/* NFPROTO_IPV4 or NFPROTO_IPV6 */
	__u8  proto;		/* transport protocol (after IPv6 extension headers) */
	__u8  dir;		/* NETATOP_DIR_* */
	__u8  tcp_state;	/* skb->sk->sk_state, 0 without a socket */
	__u8  context;		/* NETATOP_CX_* */
};

/*
 * netatop_pkt.proto of a non-first fragment or a TCP/UDP packet without a
 * readable header: IPPROTO_RAW, reserved (never a transport header), which
 * the accounting treats as "other" like any protocol it does not know.
 */
#define NETATOP_NO_TRANSPORT 255

/* At NF_INET_LOCAL_OUT only: the current task, which may be the sender. */
struct netatop_sender {
	__u64 leader_start;	/* its thread-group leader's start, ns since boot */
	__u64 thread_start;	/* its start, ns since boot */
	__s32 tgid;		/* current->tgid (initial pid namespace) */
	__s32 pid;		/* current->pid (initial pid namespace) */
	__u8  exiting;		/* current has PF_EXITING */
};

/*
 * What the hook adds to this CPU's global counters after the accounting:
 * @count to the slot @slot and, unless it is NETATOP_NR_STATS or above, to
 * @extra. Returned in a register.
 */
struct netatop_charge {
	__u8  slot;
	__u8  extra;
	__u16 count;
};

/* Facts of a task (netatop_glue_task). */
struct netatop_task {
	__u64 start;		/* start_boottime, ns since boot */
	__u8  live;		/* process: a thread still runs; thread: not exiting */
};

/* Facts of the current task for a new taskinfo (netatop_glue_current). */
struct netatop_current {
	char  leader_comm[16];	/* comm of the thread-group leader, NUL-padded */
	char  thread_comm[16];	/* comm of the current thread, NUL-padded */
	__u64 boot_sec;		/* wall-clock time of boot, s since the epoch (0 if before) */
	__u64 cgroup;		/* id of its cgroup in the default (v2) hierarchy */
};

/* Implemented in C, called by Rust. */

/*
 * Registers the netfilter hooks (IPv4 and IPv6, LOCAL_IN and LOCAL_OUT, in
 * every network namespace), /proc/netatop and the getsockopt range. @ctx is
 * handed back to every callback below and must stay valid until
 * netatop_glue_unregister() has returned. Returns 0 or a negative errno; on
 * error nothing stays registered and no callback is running or will run.
 */
int netatop_glue_register(const void *ctx);

/* Undoes netatop_glue_register(); on return no callback runs or will run. */
void netatop_glue_unregister(void);

/* Starts the periodic garbage collector: netatop_rs_gc() every @interval_ms. */
void netatop_glue_start_gc(unsigned int interval_ms);

/* cond_resched(), for long loops in process context. */
void netatop_glue_cond_resched(void);

/*
 * spin_lock_bh() with its unlock and trylock, which have no Rust binding;
 * used where the kernel's configuration inlines the lock functions or makes
 * spinlock_t a sleeping lock (PREEMPT_RT); elsewhere Rust calls the
 * out-of-line _raw_spin_*() functions directly (kernel_services/lock.rs).
 */
void netatop_glue_spin_lock_bh(spinlock_t *lock);
void netatop_glue_spin_unlock_bh(spinlock_t *lock);
bool netatop_glue_spin_trylock_bh(spinlock_t *lock);

/* Adds @n to the global counter @slot (< NETATOP_NR_STATS) on this CPU. */
void netatop_glue_stat_add(unsigned int slot, u64 n);

/* Adds each global counter, summed over the CPUs, to @sum[NETATOP_NR_STATS]. */
void netatop_glue_stats_read(u64 *sum);

/*
 * The task with id @nr in the initial pid namespace (a thread-group leader
 * if @group): false if there is none, else its facts in @out. Any context.
 */
bool netatop_glue_task(int nr, bool group, struct netatop_task *out);

/* The current task's names, the boot time and its cgroup. Process context. */
void netatop_glue_current(struct netatop_current *out);

/* Whether the cgroup with this id exists (in the caller's cgroup namespace). */
bool netatop_glue_cgroup_exists(u64 id);

/* Implemented in Rust, called by C. */

/*
 * Accounts one packet; runs in the netfilter hooks (softirq or process
 * context). @sender is NULL at LOCAL_IN. Returns what to add to the global
 * counters.
 */
struct netatop_charge netatop_rs_packet(const void *ctx, const struct netatop_pkt *pkt,
					const struct netatop_sender *sender);

/* getsockopt handler: @len is the kernel copy of the caller's optlen. */
int netatop_rs_getsockopt(const void *ctx, int cmd, void __user *user, int *len);

/* Periodic garbage collection; runs in a workqueue (process context). */
void netatop_rs_gc(const void *ctx);

/* Prints /proc/netatop. */
int netatop_rs_proc_show(const void *ctx, struct seq_file *m);

#endif /* _NETATOP_GLUE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netatop_glue.h - the interface between the module's C glue and its Rust
 * crate. The glue registers with the kernel, summarises packets and
 * forwards calls; every decision is taken in Rust (see netatop_glue.c).
 */
#ifndef _NETATOP_GLUE_H
#define _NETATOP_GLUE_H

#include <linux/compiler_types.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

struct seq_file;
struct cgroup;

/* Number of getsockopt commands from NETATOP_BASE_CTL on. */
#define NETATOP_NR_CMDS 9

/* Packet directions (struct netatop_pkt.dir). */
#define NETATOP_DIR_OUT 0	/* NF_INET_LOCAL_OUT: sent by this host */
#define NETATOP_DIR_IN	1	/* NF_INET_LOCAL_IN: received by this host */

/*
 * Global counters: per-CPU slots whose meaning Rust decides (stats.rs). The
 * packet entry point returns the count to add in bits 16-31, the slot to
 * add it to in bits 0-7 and a second one, or NETATOP_STAT_NONE, in bits 8-15.
 */
#define NETATOP_NR_STATS 12
#define NETATOP_STAT_NONE 0xff

/*
 * A packet, summarised by the hook for the Rust accounting code: raw facts
 * from the skb and the hook, no kernel pointers and no decisions. Every
 * field is written exactly once per packet (no clearing first). 80 bytes;
 * mirrored by `Packet` in packet.rs (every offset compared by
 * tests/host/check-abi.py).
 */
struct netatop_pkt {
	__u64 netns;		/* net->net_cookie of the hook's namespace */
	__u64 now;		/* jiffies_64 */
	__u8  saddr[16];	/* IPv4: first 4 bytes, the rest 0; network byte order */
	__u8  daddr[16];
	__u32 len;		/* skb->len: IP header and payload */
	__u32 mtu;		/* MTU of the device, 0 without one */
	__u16 sport;		/* host byte order; 0 unless transport */
	__u16 dport;
	__u16 hh_len;		/* hard_header_len of the device, 0 without one */
	__u16 gso_segs;		/* skb_shinfo()->gso_segs */
	__u16 gso_size;		/* skb_shinfo()->gso_size: non-zero for a GSO/GRO skb */
	__u16 hdr_len;		/* IP + transport header bytes; 0 unless transport */
	__u8  family;		/* NFPROTO_IPV4 or NFPROTO_IPV6 */
	__u8  proto;		/* transport protocol (after IPv6 extension headers) */
	__u8  dir;		/* NETATOP_DIR_* */
	__u8  gso;		/* skb_is_gso() */
	__u8  frag;		/* non-first fragment, or unparsable IPv6 extension headers */
	__u8  transport;	/* a TCP/UDP header was read: ports and hdr_len set */
	__u8  tcp_state;	/* skb->sk->sk_state, 0 without a socket */
	__u8  irqs_off;		/* hard interrupt context or interrupts disabled */
};

/*
 * At NF_INET_LOCAL_OUT only: the current task, which may be the sender.
 * 32 bytes; mirrored by `Sender` in packet.rs (checked like netatop_pkt).
 */
struct netatop_sender {
	__u64 leader_start;	/* current's group leader start, ns since boot */
	__u64 thread_start;	/* current's start, ns since boot */
	__s32 tgid;		/* current->tgid (initial pid namespace) */
	__s32 pid;		/* current->pid (initial pid namespace) */
	__u8  in_interrupt;	/* in_interrupt() */
	__u8  exiting;		/* current has PF_EXITING */
};

/* Implemented in C, called by Rust. */

/*
 * Registers the netfilter hooks (IPv4 and IPv6, LOCAL_IN and LOCAL_OUT, in
 * every network namespace), /proc/netatop and the getsockopt range. @ctx is handed back to
 * every callback below and must stay valid until netatop_glue_unregister()
 * has returned. Returns 0 or a negative errno; on error nothing stays
 * registered and no callback is running or will run.
 */
int netatop_glue_register(const void *ctx);

/* Undoes netatop_glue_register(); on return no callback runs or will run. */
void netatop_glue_unregister(void);

/* Starts the periodic garbage collector: netatop_rs_gc() every @interval_ms. */
void netatop_glue_start_gc(unsigned int interval_ms);

/* cond_resched(), for long loops in process context. */
void netatop_glue_cond_resched(void);

/*
 * spin_lock_bh() and friends, which have no Rust binding (bhlock.rs). With
 * bottom halves already off, the plain lock is taken: the lock functions
 * return whether they disabled bottom halves, to be passed to the unlock.
 */
bool netatop_glue_spin_lock_bh(spinlock_t *lock);
void netatop_glue_spin_unlock_bh(spinlock_t *lock, bool bh);
bool netatop_glue_spin_trylock_bh(spinlock_t *lock, bool *bh);

/* Adds @n to the global counter @slot on this CPU; any context. */
void netatop_glue_stat_add(unsigned int slot, u64 n);

/* Adds each global counter, summed over the CPUs, to @sum[NETATOP_NR_STATS] (zeroed by the caller). */
void netatop_glue_stats_read(u64 *sum);

/* cgroup_put(): releases a cgroup_get_from_id() reference. */
void netatop_glue_cgroup_put(struct cgroup *cgrp);

/* Implemented in Rust, called by C. */

/*
 * Accounts one packet; runs in the netfilter hooks (softirq or process
 * context). @sender is NULL at NF_INET_LOCAL_IN. Returns the global counter
 * slots (see NETATOP_NR_STATS).
 */
u32 netatop_rs_packet(const void *ctx, const struct netatop_pkt *pkt,
		      const struct netatop_sender *sender);

/* getsockopt handler: @len is the kernel copy of the caller's optlen. */
int netatop_rs_getsockopt(const void *ctx, int cmd, void __user *user, int *len);

/* Periodic garbage collection; runs in a workqueue (process context). */
void netatop_rs_gc(const void *ctx);

/* Prints /proc/netatop. */
int netatop_rs_proc_show(const void *ctx, struct seq_file *m);

#endif /* _NETATOP_GLUE_H */

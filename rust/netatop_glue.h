/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netatop_glue.h - the interface between the module's C glue and its Rust
 * crate, and the one source of what crosses it: the Rust side's copies of
 * the structs and constants below are checked against the C compiler's
 * layout at build time (netatop_layout.c, Kbuild).
 *
 * The rule of who reads what: the glue provides what only C can give, the
 * execution context (current, the preempt count) and the per-CPU counters,
 * wraps the kernel APIs that are macros or inline functions (spin_lock_bh,
 * get_task_comm, task_dfl_cgroup, cgroup_put), and registers the module's
 * hooks, getsockopt range, /proc file and work. Rust reads the plain fields
 * of the kernel's structures itself (sk_buff, nf_hook_state, net_device,
 * sock, task_struct), at the offsets the C compiler gives
 * (netatop_layout.c), calls kernel functions, and takes every decision.
 */
#ifndef _NETATOP_GLUE_H
#define _NETATOP_GLUE_H

#include <linux/compiler_types.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

struct nf_hook_state;
struct seq_file;
struct sk_buff;
struct task_struct;

/* Number of getsockopt commands from NETATOP_BASE_CTL on. */
#define NETATOP_NR_CMDS 10

/* The context a hook runs in (the @context of netatop_rs_packet_t), bits. */
#define NETATOP_CX_IRQS_OFF	1	/* hard interrupt or NMI context, or interrupts disabled */
#define NETATOP_CX_BH_OFF	2	/* bottom halves disabled (softirq context included) */
#define NETATOP_CX_INTERRUPT	4	/* in_interrupt(): not a task's own system call */

/* Global counters: per-CPU slots whose meaning Rust decides (stats.rs). */
#define NETATOP_NR_STATS 12

/*
 * What the hook adds to this CPU's global counters after the accounting:
 * @count to the slot @slot (none if it is NETATOP_NR_STATS or above).
 * Returned in a register.
 */
struct netatop_charge {
	__u8  slot;
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
 * context), with the hook's @skb and @state, the current @task and the
 * NETATOP_CX_* bits of its @context. Returns what to add to the global
 * counters. One entry point per hook: LOCAL_OUT and LOCAL_IN of IPv4 and
 * IPv6.
 */
typedef struct netatop_charge netatop_rs_packet_t(const void *ctx, const struct sk_buff *skb,
						   const struct nf_hook_state *state,
						   const struct task_struct *task,
						   unsigned int context);
netatop_rs_packet_t netatop_rs_packet_out4, netatop_rs_packet_in4;
netatop_rs_packet_t netatop_rs_packet_out6, netatop_rs_packet_in6;

/* getsockopt handler: @len is the kernel copy of the caller's optlen. */
int netatop_rs_getsockopt(const void *ctx, int cmd, void __user *user, int *len);

/* Periodic garbage collection; runs in a workqueue (process context). */
void netatop_rs_gc(const void *ctx);

/* Prints /proc/netatop. */
int netatop_rs_proc_show(const void *ctx, struct seq_file *m);

#endif /* _NETATOP_GLUE_H */

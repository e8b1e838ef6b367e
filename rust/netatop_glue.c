// SPDX-License-Identifier: GPL-2.0
/*
 * netatop_glue.c - thin C glue of netatop.ko.
 *
 * Mechanism only: registers the netfilter hooks, the getsockopt range,
 * /proc/netatop and the periodic collection with the kernel, keeps the
 * per-CPU global counters, gives the Rust crate (netatop_main.rs) the
 * execution context of each packet (current, the preempt count), and wraps
 * the kernel APIs Rust cannot call because they are macros or inline
 * functions (a task's liveness and names, cgroups, spin_lock_bh). Rust reads
 * the packet itself (netatop_glue.h), and every rule (who sent a packet,
 * which connection it belongs to, how many segments and bytes it stands
 * for, what is counted where) is in Rust.
 */
#include <linux/cgroup.h>
#include <linux/module.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "netatop_glue.h"
#include "../include/netatop.h"	/* NETATOP_BASE_CTL */

#ifdef NETATOP_PROFILE
#include "netatop_profile.h"	/* make bench's profile build (Kbuild) */
#else
#define NETATOP_PROF_START(state)
#define NETATOP_PROF_END()
#define NETATOP_PROF_REGISTER()
#define NETATOP_PROF_UNREGISTER()
#endif

MODULE_VERSION(NETATOP_RS_VERSION);

static_assert(TASK_COMM_LEN == 16);

/* Set before anything is registered, cleared after everything is gone. */
static const void *netatop_ctx;

/* The global counters (NETATOP_NR_STATS), per CPU: zero at module load. */
static DEFINE_PER_CPU(u64[NETATOP_NR_STATS], netatop_stats);

void netatop_glue_stat_add(unsigned int slot, u64 n)
{
	if (slot < NETATOP_NR_STATS)
		this_cpu_add(netatop_stats[slot], n);
}

void netatop_glue_stats_read(u64 *sum)
{
	unsigned int cpu, i;

	for_each_possible_cpu(cpu)
		for (i = 0; i < NETATOP_NR_STATS; i++)
			sum[i] += READ_ONCE(per_cpu(netatop_stats, cpu)[i]);
}

/*
 * The NETATOP_CX_* bits of the hook's context. Hooks run with interrupts
 * on, in softirq or process context, so bottom halves off means
 * in_interrupt() there; the preempt count is read once.
 */
static __always_inline unsigned int netatop_glue_context(void)
{
#ifdef CONFIG_PREEMPT_RT
	unsigned int irqs = in_hardirq() || in_nmi(), bh = softirq_count();
#else
	unsigned int pc = preempt_count(), irqs = pc & (HARDIRQ_MASK | NMI_MASK), bh = pc & SOFTIRQ_MASK;
#endif

	if (irqs || irqs_disabled())
		return NETATOP_CX_IRQS_OFF;
	return bh ? NETATOP_CX_BH_OFF | NETATOP_CX_INTERRUPT : 0;
}

/*
 * The hooks: one per family and direction, each with its own Rust entry
 * point, in which the family and direction are constants.
 */
static __always_inline unsigned int
netatop_glue_hook(netatop_rs_packet_t *account, void *priv, struct sk_buff *skb,
		  const struct nf_hook_state *state)
{
	struct netatop_charge charge;

	NETATOP_PROF_START(state);
	charge = account(priv, skb, state, current, netatop_glue_context());
	if (charge.slot < NETATOP_NR_STATS)
		this_cpu_add(netatop_stats[charge.slot], charge.count);
	NETATOP_PROF_END();
	return NF_ACCEPT;
}

#define NETATOP_GLUE_HOOK(name)							\
static unsigned int netatop_glue_hook_##name(void *priv, struct sk_buff *skb,	\
					     const struct nf_hook_state *state)	\
{										\
	return netatop_glue_hook(netatop_rs_packet_##name, priv, skb, state);	\
}
NETATOP_GLUE_HOOK(out4)
NETATOP_GLUE_HOOK(in4)
NETATOP_GLUE_HOOK(out6)
NETATOP_GLUE_HOOK(in6)

/* First of all in each namespace; .priv is set at registration. */
static struct nf_hook_ops netatop_hook_ops[] = {
	{ .hook = netatop_glue_hook_out4, .pf = NFPROTO_IPV4,
	  .hooknum = NF_INET_LOCAL_OUT, .priority = NF_IP_PRI_FIRST },
	{ .hook = netatop_glue_hook_in4, .pf = NFPROTO_IPV4,
	  .hooknum = NF_INET_LOCAL_IN, .priority = NF_IP_PRI_FIRST },
	{ .hook = netatop_glue_hook_out6, .pf = NFPROTO_IPV6,
	  .hooknum = NF_INET_LOCAL_OUT, .priority = NF_IP6_PRI_FIRST },
	{ .hook = netatop_glue_hook_in6, .pf = NFPROTO_IPV6,
	  .hooknum = NF_INET_LOCAL_IN, .priority = NF_IP6_PRI_FIRST },
};

static int __net_init netatop_glue_net_init(struct net *net)
{
	return nf_register_net_hooks(net, netatop_hook_ops, ARRAY_SIZE(netatop_hook_ops));
}

static void __net_exit netatop_glue_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, netatop_hook_ops, ARRAY_SIZE(netatop_hook_ops));
}

/* Hooks in every network namespace, including those created later. */
static struct pernet_operations netatop_net_ops = {
	.init	= netatop_glue_net_init,
	.exit	= netatop_glue_net_exit,
};

bool netatop_glue_task(int nr, bool group, struct netatop_task *out)
{
	struct task_struct *task;
	bool found;

	rcu_read_lock();
	task = pid_task(find_pid_ns(nr, &init_pid_ns), group ? PIDTYPE_TGID : PIDTYPE_PID);
	found = task;
	if (found) {
		out->start = task->start_boottime;
		/* A process lives while any thread does; a thread until it exits. */
		out->live = group ? atomic_read(&task->signal->live) > 0
				  : !(READ_ONCE(task->flags) & PF_EXITING);
	}
	rcu_read_unlock();
	return found;
}

void netatop_glue_current(struct netatop_current *out)
{
	struct timespec64 boot;

	get_task_comm(out->thread_comm, current);
	get_task_comm(out->leader_comm, current->group_leader);
	getboottime64(&boot);
	out->boot_sec = boot.tv_sec > 0 ? boot.tv_sec : 0;
	rcu_read_lock();
	out->cgroup = cgroup_id(task_dfl_cgroup(current));
	rcu_read_unlock();
}

bool netatop_glue_cgroup_exists(u64 id)
{
	struct cgroup *cgrp = cgroup_get_from_id(id);

	if (IS_ERR(cgrp))
		return false;
	cgroup_put(cgrp);
	return true;
}

static unsigned long netatop_gc_interval;

static void netatop_glue_gc(struct work_struct *work);
static DECLARE_DELAYED_WORK(netatop_gc_work, netatop_glue_gc);

static void netatop_glue_gc(struct work_struct *work)
{
	netatop_rs_gc(READ_ONCE(netatop_ctx));
	/* Ignored once netatop_glue_unregister() has disabled the work. */
	queue_delayed_work(system_long_wq, &netatop_gc_work, netatop_gc_interval);
}

void netatop_glue_start_gc(unsigned int interval_ms)
{
	netatop_gc_interval = msecs_to_jiffies(interval_ms);
	queue_delayed_work(system_long_wq, &netatop_gc_work, netatop_gc_interval);
}

void netatop_glue_cond_resched(void)
{
	cond_resched();
}

void netatop_glue_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

void netatop_glue_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

bool netatop_glue_spin_trylock_bh(spinlock_t *lock)
{
	return spin_trylock_bh(lock);
}

static int netatop_glue_get(struct sock *sk, int cmd, void __user *user, int *len)
{
	return netatop_rs_getsockopt(READ_ONCE(netatop_ctx), cmd, user, len);
}

static struct nf_sockopt_ops netatop_sockopts = {
	.pf		= PF_INET,
	.get_optmin	= NETATOP_BASE_CTL,
	.get_optmax	= NETATOP_BASE_CTL + NETATOP_NR_CMDS,	/* exclusive */
	.get		= netatop_glue_get,
	.owner		= THIS_MODULE,
};

static int netatop_glue_proc_show(struct seq_file *m, void *v)
{
	return netatop_rs_proc_show(m->private, m);
}

int netatop_glue_register(const void *ctx)
{
	unsigned int i;
	int err;

	WRITE_ONCE(netatop_ctx, ctx);
	for (i = 0; i < ARRAY_SIZE(netatop_hook_ops); i++)
		netatop_hook_ops[i].priv = (void *)ctx;

	/*
	 * Hooks first and the sockopt range last: once registered, a getsockopt
	 * caller cannot be waited for (only its module reference keeps us), so
	 * nothing may fail after it.
	 */
	err = register_pernet_subsys(&netatop_net_ops);
	if (err)
		goto out_sync;	/* the core unhooked the namespaces done so far */

	err = -ENOMEM;
	if (!proc_create_single_data("netatop", 0444, NULL, netatop_glue_proc_show, (void *)ctx))
		goto out_pernet;

	err = nf_register_sockopt(&netatop_sockopts);
	if (err)
		goto out_proc;

	NETATOP_PROF_REGISTER();
	return 0;

out_proc:
	remove_proc_entry("netatop", NULL);
out_pernet:
	unregister_pernet_subsys(&netatop_net_ops);
out_sync:
	/* Hooks that were running when they were unhooked are done after this. */
	synchronize_net();
	WRITE_ONCE(netatop_ctx, NULL);
	return err;
}

void netatop_glue_unregister(void)
{
	/*
	 * No getsockopt caller is inside the module: each holds a module
	 * reference, which cannot be taken once the module is going away.
	 */
	nf_unregister_sockopt(&netatop_sockopts);
	NETATOP_PROF_UNREGISTER();
	/* Waits for readers of /proc/netatop. */
	remove_proc_entry("netatop", NULL);
	/* Unhooks every namespace, then waits for hooks still running. */
	unregister_pernet_subsys(&netatop_net_ops);
	synchronize_net();
	/* Waits for a running collection; no new one can be queued. */
	disable_delayed_work_sync(&netatop_gc_work);
	WRITE_ONCE(netatop_ctx, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * netatop_glue.c - thin C glue of netatop.ko.
 *
 * Registers the netfilter hooks, the getsockopt range and /proc/netatop with
 * the kernel and forwards every call to the Rust crate (netatop_main.rs). A
 * packet is handed over as a plain struct netatop_pkt, so Rust never touches
 * an sk_buff. The glue holds no state but the context pointer Rust hands
 * over, and takes no accounting decision.
 */
#include <linux/bottom_half.h>
#include <linux/build_bug.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/socket.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/preempt.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/timekeeping.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "netatop_glue.h"
#include "../include/netatop.h"

MODULE_VERSION(NETATOP_RS_VERSION);

/* The user ABI: 96 bytes on LP64, id/btime/command/tc at 0/8/16/32. */
static_assert(sizeof(struct taskcount) == 64);
static_assert(sizeof(struct netpertask) == 96);
static_assert(offsetof(struct netpertask, btime) == 8);
static_assert(offsetof(struct netpertask, command) == 16);
static_assert(offsetof(struct netpertask, tc) == 32);
/* The Rust mirrors (packet.rs, glue.rs) check the same layout. */
static_assert(sizeof(struct netatop_pkt) == 96);
static_assert(offsetof(struct netatop_pkt, saddr) == 32);
static_assert(offsetof(struct netatop_pkt, len) == 64);
static_assert(offsetof(struct netatop_pkt, sport) == 80);
static_assert(offsetof(struct netatop_pkt, family) == 88);
static_assert(offsetof(struct netatop_pkt, hdr_len) == 94);
static_assert(sizeof(struct netatop_task_names) == 40);
static_assert(offsetof(struct netatop_task_names, boot_sec) == 32);

/* Set before anything is registered, cleared after everything is gone. */
static const void *netatop_ctx;

/* The global counters (NETATOP_NR_STATS), per CPU: zero at module load. */
static DEFINE_PER_CPU(u64[NETATOP_NR_STATS], netatop_stats);

void netatop_glue_stat_add(unsigned int slot, u64 n)
{
	this_cpu_add(netatop_stats[slot], n);
}

void netatop_glue_stats_read(u64 *sum)
{
	unsigned int cpu, i;

	memset(sum, 0, NETATOP_NR_STATS * sizeof(*sum));
	for_each_possible_cpu(cpu)
		for (i = 0; i < NETATOP_NR_STATS; i++)
			sum[i] += READ_ONCE(per_cpu(netatop_stats, cpu)[i]);
}

/* Fills @pkt from @skb; all reads are bounds-checked. */
static void netatop_glue_summarise(const struct sk_buff *skb,
				   const struct nf_hook_state *state,
				   struct netatop_pkt *pkt)
{
	const struct net_device *dev;
	unsigned int thoff = 0;
	u8 proto;

	memset(pkt, 0, sizeof(*pkt));
	pkt->dir = state->hook == NF_INET_LOCAL_OUT ? NETATOP_DIR_OUT : NETATOP_DIR_IN;
	dev = pkt->dir == NETATOP_DIR_OUT ? state->out : state->in;
	if (!dev)
		dev = skb->dev;
	pkt->netns = state->net->net_cookie;
	pkt->now = get_jiffies_64();
	pkt->len = skb->len;
	if (dev) {
		pkt->mtu = READ_ONCE(dev->mtu);
		pkt->hh_len = dev->hard_header_len;
	}
	pkt->family = state->pf;

	if (state->pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		memcpy(pkt->saddr, &iph->saddr, sizeof(iph->saddr));
		memcpy(pkt->daddr, &iph->daddr, sizeof(iph->daddr));
		proto = iph->protocol;
		thoff = skb_network_offset(skb) + iph->ihl * 4;
		if (ntohs(iph->frag_off) & IP_OFFSET)
			proto = NETATOP_PROTO_UNKNOWN;	/* no transport header */
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		__be16 frag_off = 0;
		int off;

		memcpy(pkt->saddr, &ip6h->saddr, sizeof(ip6h->saddr));
		memcpy(pkt->daddr, &ip6h->daddr, sizeof(ip6h->daddr));
		proto = ip6h->nexthdr;
		off = skb_network_offset(skb) + sizeof(*ip6h);
		if (ipv6_ext_hdr(proto))
			off = ipv6_skip_exthdr(skb, off, &proto, &frag_off);
		if (off < 0 || (frag_off & htons(~0x7)))
			proto = NETATOP_PROTO_UNKNOWN;
		else
			thoff = off;
	}

	if (proto == IPPROTO_TCP) {
		struct tcphdr _th;
		const struct tcphdr *th;

		th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
		if (th) {
			pkt->sport = ntohs(th->source);
			pkt->dport = ntohs(th->dest);
			pkt->hdr_len = thoff - skb_network_offset(skb) + th->doff * 4;
		} else {
			proto = NETATOP_PROTO_UNKNOWN;
		}
	} else if (proto == IPPROTO_UDP) {
		struct udphdr _uh;
		const struct udphdr *uh;

		uh = skb_header_pointer(skb, thoff, sizeof(_uh), &_uh);
		if (uh) {
			pkt->sport = ntohs(uh->source);
			pkt->dport = ntohs(uh->dest);
			pkt->hdr_len = thoff - skb_network_offset(skb) + sizeof(*uh);
		} else {
			proto = NETATOP_PROTO_UNKNOWN;
		}
	}
	pkt->proto = proto;

	pkt->segs = 1;
	if (skb_is_gso(skb)) {
		const struct skb_shared_info *shinfo = skb_shinfo(skb);
		unsigned int segs = shinfo->gso_segs;

		/* Untrusted (SKB_GSO_DODGY) packets may leave gso_segs unset. */
		if (!segs && shinfo->gso_size && skb->len > pkt->hdr_len)
			segs = DIV_ROUND_UP(skb->len - pkt->hdr_len, shinfo->gso_size);
		pkt->segs = clamp_t(unsigned int, segs, 1, U16_MAX);
	}

	if (skb->sk)
		pkt->tcp_state = READ_ONCE(skb->sk->sk_state);

	/* Never seen on a stock kernel; the tables are left alone then. */
	pkt->irqs_off = in_hardirq() || in_nmi() || irqs_disabled();

	/*
	 * The sender is current only for a packet sent in process context with
	 * bottom halves enabled (as in 3.2.2): tunnel devices re-enter
	 * LOCAL_OUT from the transmit path with bottom halves disabled, and a
	 * task that is exiting (closing its sockets) must not be re-registered.
	 */
	if (pkt->dir == NETATOP_DIR_OUT && !in_interrupt() &&
	    !(current->flags & PF_EXITING)) {
		pkt->in_task = 1;
		pkt->tgid = current->tgid;
		pkt->pid = current->pid;
		pkt->thread_start = current->start_boottime;
		/* Hooks run under rcu_read_lock(): the leader cannot be freed. */
		pkt->leader_start = READ_ONCE(current->group_leader)->start_boottime;
	}
}

#ifdef NETATOP_PROFILE
/*
 * make bench's profile build: per hook (IPv4/IPv6 x out/in), the calls, the
 * ns spent summarising and accounting (a histogram of 100-ns steps, the last
 * one open), and the ns of an empty timed region (the clock's own cost).
 */
#define NETATOP_PROF_STEPS 64
struct netatop_prof {
	u64 calls, ns, clock_ns, hist[NETATOP_PROF_STEPS];
};
static DEFINE_PER_CPU(struct netatop_prof[4], netatop_prof);

static int netatop_prof_show(struct seq_file *m, void *v)
{
	static const char *const names[] = { "ipv4_out", "ipv4_in", "ipv6_out", "ipv6_in" };
	unsigned int cpu, i, j;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		struct netatop_prof sum = {};

		for_each_possible_cpu(cpu) {
			const struct netatop_prof *p = &per_cpu(netatop_prof, cpu)[i];

			sum.calls += READ_ONCE(p->calls);
			sum.ns += READ_ONCE(p->ns);
			sum.clock_ns += READ_ONCE(p->clock_ns);
			for (j = 0; j < NETATOP_PROF_STEPS; j++)
				sum.hist[j] += READ_ONCE(p->hist[j]);
		}
		seq_printf(m, "%s %llu %llu %llu", names[i], sum.calls, sum.ns, sum.clock_ns);
		for (j = 0; j < NETATOP_PROF_STEPS; j++)
			seq_printf(m, " %llu", sum.hist[j]);
		seq_putc(m, '\n');
	}
	return 0;
}
#endif

static unsigned int netatop_glue_hook(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	struct netatop_pkt pkt;
	u32 charge;
#ifdef NETATOP_PROFILE
	unsigned int slot = (state->pf == NFPROTO_IPV6) * 2 + (state->hook != NF_INET_LOCAL_OUT);
	u64 t0 = local_clock(), t1 = local_clock(), t2;
#endif

	netatop_glue_summarise(skb, state, &pkt);
	charge = netatop_rs_packet(priv, &pkt);
	this_cpu_add(netatop_stats[charge & 0xff], pkt.segs);
	if ((charge >> 8) != NETATOP_STAT_NONE)
		this_cpu_add(netatop_stats[charge >> 8], pkt.segs);
#ifdef NETATOP_PROFILE
	t2 = local_clock();
	this_cpu_inc(netatop_prof[slot].calls);
	this_cpu_add(netatop_prof[slot].ns, t2 - t1);
	this_cpu_add(netatop_prof[slot].clock_ns, t1 - t0);
	this_cpu_inc(netatop_prof[slot].hist[min_t(u64, (t2 - t1) / 100, NETATOP_PROF_STEPS - 1)]);
#endif
	return NF_ACCEPT;
}

/* .priv is set to the context before registration. */
static struct nf_hook_ops netatop_hook_ops[] = {
	{
		.hook		= netatop_glue_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_FIRST,
	},
	{
		.hook		= netatop_glue_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP_PRI_FIRST,
	},
	{
		.hook		= netatop_glue_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP6_PRI_FIRST,
	},
	{
		.hook		= netatop_glue_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP6_PRI_FIRST,
	},
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

void netatop_glue_current_names(struct netatop_task_names *names)
{
	struct task_struct *leader;
	struct timespec64 boot;

	rcu_read_lock();
	leader = READ_ONCE(current->group_leader);
	strscpy_pad(names->leader_comm, leader->comm, sizeof(names->leader_comm));
	rcu_read_unlock();
	strscpy_pad(names->thread_comm, current->comm, sizeof(names->thread_comm));
	getboottime64(&boot);
	/* Negative if the clock was set before the boot time. */
	names->boot_sec = max_t(time64_t, boot.tv_sec, 0);
}

bool netatop_glue_task_alive(pid_t nr, u64 start, bool group)
{
	struct task_struct *task;
	bool alive = false;

	rcu_read_lock();
	task = pid_task(find_pid_ns(nr, &init_pid_ns), group ? PIDTYPE_TGID : PIDTYPE_PID);
	if (task && task->start_boottime == start) {
		if (group)
			alive = atomic_read(&task->signal->live) > 0;
		else
			alive = !(READ_ONCE(task->flags) & PF_EXITING);
	}
	rcu_read_unlock();
	return alive;
}

u64 netatop_glue_jiffies(void)
{
	return get_jiffies_64();
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

/*
 * Where bottom halves are already off (softirq context, or disabled by the
 * caller), spin_lock_bh() would only add a local_bh_enable() round trip on
 * unlock, so the plain lock is taken; the result says which.
 */
bool netatop_glue_spin_lock_bh(spinlock_t *lock)
{
	if (softirq_count()) {
		spin_lock(lock);
		return false;
	}
	spin_lock_bh(lock);
	return true;
}

void netatop_glue_spin_unlock_bh(spinlock_t *lock, bool bh)
{
	if (bh)
		spin_unlock_bh(lock);
	else
		spin_unlock(lock);
}

bool netatop_glue_spin_trylock_bh(spinlock_t *lock, bool *bh)
{
	if (softirq_count()) {
		*bh = false;
		return spin_trylock(lock);
	}
	*bh = true;
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
	struct proc_dir_entry *pde;
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

	pde = proc_create_single_data("netatop", 0444, NULL, netatop_glue_proc_show,
				      (void *)ctx);
	if (!pde) {
		err = -ENOMEM;
		goto out_pernet;
	}

	err = nf_register_sockopt(&netatop_sockopts);
	if (err)
		goto out_proc;

#ifdef NETATOP_PROFILE
	proc_create_single("netatop_profile", 0444, NULL, netatop_prof_show);
#endif
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
#ifdef NETATOP_PROFILE
	remove_proc_entry("netatop_profile", NULL);
#endif
	/* Waits for readers of /proc/netatop. */
	remove_proc_entry("netatop", NULL);
	/* Unhooks every namespace, then waits for hooks still running. */
	unregister_pernet_subsys(&netatop_net_ops);
	synchronize_net();
	/* Waits for a running collection; no new one can be queued. */
	disable_delayed_work_sync(&netatop_gc_work);
	WRITE_ONCE(netatop_ctx, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * netatop_glue.c - thin C glue of netatop.ko.
 *
 * Mechanism only: registers the netfilter hooks, the getsockopt range,
 * /proc/netatop and the periodic collection with the kernel, provides the
 * spin_lock_bh family and the per-CPU global counters, and hands every
 * packet to the Rust crate (netatop_main.rs) as a plain struct netatop_pkt of
 * raw facts (and, at LOCAL_OUT, struct netatop_sender). Every rule (who
 * sent a packet, how many segments it stands for, what has no transport
 * header, what is counted where) is in Rust.
 */
#include <linux/cgroup.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "netatop_glue.h"
#include "../include/netatop.h"	/* NETATOP_BASE_CTL */

#ifdef NETATOP_PROFILE
#include "netatop_profile.h"	/* make bench's profile build (Kbuild) */
#else
#define NETATOP_PROF_START(skb, state, pkt, sender)
#define NETATOP_PROF_END()
#define NETATOP_PROF_REGISTER()
#define NETATOP_PROF_UNREGISTER()
#endif

MODULE_VERSION(NETATOP_RS_VERSION);

/* The protocol numbers packet.rs spells out (not every supported kernel's
 * Rust bindings have them): the kernel's own, checked here. */
static_assert(IPPROTO_ICMP == 1 && IPPROTO_TCP == 6 && IPPROTO_UDP == 17);
static_assert(IPPROTO_ICMPV6 == 58 && NFPROTO_IPV4 == 2 && NFPROTO_IPV6 == 10);

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

	for_each_possible_cpu(cpu)
		for (i = 0; i < NETATOP_NR_STATS; i++)
			sum[i] += READ_ONCE(per_cpu(netatop_stats, cpu)[i]);
}

/* Drops a reference from cgroup_get_from_id() (cgroup_put() is inline). */
void netatop_glue_cgroup_put(struct cgroup *cgrp)
{
	cgroup_put(cgrp);
}

/*
 * Reads the ports and header length of a TCP or UDP packet at @thoff into
 * @pkt; returns whether it did. Both headers start with the source and
 * destination ports; a UDP header is the first 8 bytes of @buf.
 */
static bool netatop_glue_transport(const struct sk_buff *skb, int thoff,
				   struct netatop_pkt *pkt)
{
	bool tcp = pkt->proto == IPPROTO_TCP;
	const struct tcphdr *th;
	struct tcphdr buf __uninitialized;	/* only if not linear: filled */

	if (thoff < 0 || (!tcp && pkt->proto != IPPROTO_UDP))
		return false;
	th = skb_header_pointer(skb, thoff, tcp ? sizeof(buf) : sizeof(struct udphdr), &buf);
	if (!th)
		return false;
	pkt->sport = ntohs(th->source);
	pkt->dport = ntohs(th->dest);
	pkt->hdr_len = thoff - skb_network_offset(skb) +
		       (tcp ? th->doff * 4 : sizeof(struct udphdr));
	return true;
}

/*
 * Fills every field of @pkt, once, from @skb and the hook, and at LOCAL_OUT
 * @sender from the current task; returns @sender there, else NULL. Reads
 * are bounds-checked.
 */
static const struct netatop_sender *
netatop_glue_summarise(const struct sk_buff *skb, const struct nf_hook_state *state,
		       struct netatop_pkt *pkt, struct netatop_sender *sender)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	bool out = state->hook == NF_INET_LOCAL_OUT;
	const struct net_device *dev = out ? state->out : state->in;
	int thoff;

	if (!dev)
		dev = skb->dev;
	pkt->dir = out ? NETATOP_DIR_OUT : NETATOP_DIR_IN;
	pkt->netns = state->net->net_cookie;
	pkt->now = get_jiffies_64();
	pkt->len = skb->len;
	pkt->mtu = dev ? READ_ONCE(dev->mtu) : 0;
	pkt->hh_len = dev ? dev->hard_header_len : 0;
	pkt->family = state->pf;

	if (state->pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		memcpy(pkt->saddr, &iph->saddr, sizeof(iph->saddr));
		memset(pkt->saddr + sizeof(iph->saddr), 0, sizeof(pkt->saddr) - sizeof(iph->saddr));
		memcpy(pkt->daddr, &iph->daddr, sizeof(iph->daddr));
		memset(pkt->daddr + sizeof(iph->daddr), 0, sizeof(pkt->daddr) - sizeof(iph->daddr));
		pkt->proto = iph->protocol;
		thoff = skb_network_offset(skb) + iph->ihl * 4;
		pkt->frag = !!(ntohs(iph->frag_off) & IP_OFFSET);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		__be16 frag_off = 0;
		u8 nexthdr = ip6h->nexthdr;

		memcpy(pkt->saddr, &ip6h->saddr, sizeof(ip6h->saddr));
		memcpy(pkt->daddr, &ip6h->daddr, sizeof(ip6h->daddr));
		thoff = skb_network_offset(skb) + sizeof(*ip6h);
		/* ipv6_ext_hdr() is out of line; TCP and UDP are never one. */
		if (nexthdr != IPPROTO_TCP && nexthdr != IPPROTO_UDP && ipv6_ext_hdr(nexthdr))
			thoff = ipv6_skip_exthdr(skb, thoff, &nexthdr, &frag_off);
		pkt->proto = nexthdr;
		pkt->frag = thoff < 0 || (frag_off & htons(~0x7));
	}
	pkt->transport = !pkt->frag && netatop_glue_transport(skb, thoff, pkt);
	if (!pkt->transport)
		pkt->sport = pkt->dport = pkt->hdr_len = 0;

	pkt->gso = skb_is_gso(skb);
	pkt->gso_segs = shinfo->gso_segs;
	pkt->gso_size = shinfo->gso_size;
	pkt->tcp_state = skb->sk ? READ_ONCE(skb->sk->sk_state) : 0;
	pkt->irqs_off = in_hardirq() || in_nmi() || irqs_disabled();

	if (!out)
		return NULL;
	sender->in_interrupt = !!in_interrupt();
	sender->exiting = !!(current->flags & PF_EXITING);
	sender->tgid = current->tgid;
	sender->pid = current->pid;
	sender->thread_start = current->start_boottime;
	/* Hooks run under rcu_read_lock(): the leader cannot be freed. */
	sender->leader_start = READ_ONCE(current->group_leader)->start_boottime;
	return sender;
}

static unsigned int netatop_glue_hook(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	/*
	 * Not cleared by CONFIG_INIT_STACK_ALL_ZERO: the summary writes every
	 * field Rust reads, and clearing them first was a third of its stores.
	 */
	struct netatop_sender sender __uninitialized;
	struct netatop_pkt pkt __uninitialized;
	const struct netatop_sender *from;
	u32 charge;

	NETATOP_PROF_START(skb, state, &pkt, &sender);
	from = netatop_glue_summarise(skb, state, &pkt, &sender);
	charge = netatop_rs_packet(priv, &pkt, from);
	/* Rust names the slots (< NETATOP_NR_STATS) and the count. */
	this_cpu_add(netatop_stats[charge & 0xff], charge >> 16);
	if (((charge >> 8) & 0xff) != NETATOP_STAT_NONE)
		this_cpu_add(netatop_stats[(charge >> 8) & 0xff], charge >> 16);
	NETATOP_PROF_END();
	return NF_ACCEPT;
}

/* IPv4 and IPv6, LOCAL_OUT and LOCAL_IN, first of all; filled at registration. */
static struct nf_hook_ops netatop_hook_ops[4];

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
	*bh = !softirq_count();
	return *bh ? spin_trylock_bh(lock) : spin_trylock(lock);
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
		netatop_hook_ops[i] = (struct nf_hook_ops) {
			.hook		= netatop_glue_hook,
			.pf		= i < 2 ? NFPROTO_IPV4 : NFPROTO_IPV6,
			.hooknum	= i % 2 ? NF_INET_LOCAL_IN : NF_INET_LOCAL_OUT,
			.priority	= i < 2 ? NF_IP_PRI_FIRST : NF_IP6_PRI_FIRST,
			.priv		= (void *)ctx,
		};

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

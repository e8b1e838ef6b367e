// SPDX-License-Identifier: GPL-2.0
/*
 * nf_empty.c - an empty netfilter hook, for make bench.
 *
 * Registers the same four hooks as netatop.ko (IPv4 and IPv6, LOCAL_OUT and
 * LOCAL_IN, priority FIRST, in every network namespace) and accepts every
 * packet without looking at it. What a kernel with this module loaded loses
 * against one without is the floor any netfilter-hook design pays; netatop's
 * own cost is what it adds on top.
 */
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/net_namespace.h>

static unsigned int nf_empty_hook(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	return NF_ACCEPT;
}

static const struct nf_hook_ops nf_empty_ops[] = {
	{
		.hook		= nf_empty_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_FIRST,
	},
	{
		.hook		= nf_empty_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP_PRI_FIRST,
	},
	{
		.hook		= nf_empty_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP6_PRI_FIRST,
	},
	{
		.hook		= nf_empty_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP6_PRI_FIRST,
	},
};

static int __net_init nf_empty_net_init(struct net *net)
{
	return nf_register_net_hooks(net, nf_empty_ops, ARRAY_SIZE(nf_empty_ops));
}

static void __net_exit nf_empty_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, nf_empty_ops, ARRAY_SIZE(nf_empty_ops));
}

static struct pernet_operations nf_empty_net_ops = {
	.init	= nf_empty_net_init,
	.exit	= nf_empty_net_exit,
};

static int __init nf_empty_init(void)
{
	return register_pernet_subsys(&nf_empty_net_ops);
}

static void __exit nf_empty_exit(void)
{
	unregister_pernet_subsys(&nf_empty_net_ops);
}

module_init(nf_empty_init);
module_exit(nf_empty_exit);

MODULE_DESCRIPTION("Empty netfilter hook accepting every packet (netatop-rs benchmark baseline)");
MODULE_LICENSE("GPL");

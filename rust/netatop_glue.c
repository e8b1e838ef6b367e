// SPDX-License-Identifier: GPL-2.0
/*
 * netatop_glue.c - thin C glue of netatop.ko.
 *
 * Registers the getsockopt range and /proc/netatop with the kernel and
 * forwards every call to the Rust crate (netatop_main.rs). It holds no state
 * but the context pointer Rust hands over, and takes no decision.
 */
#include <linux/build_bug.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/socket.h>

#include "netatop_glue.h"
#include "../include/netatop.h"

MODULE_VERSION(NETATOP_RS_VERSION);

/* The user ABI: 96 bytes on LP64, id/btime/command/tc at 0/8/16/32. */
static_assert(sizeof(struct taskcount) == 64);
static_assert(sizeof(struct netpertask) == 96);
static_assert(offsetof(struct netpertask, btime) == 8);
static_assert(offsetof(struct netpertask, command) == 16);
static_assert(offsetof(struct netpertask, tc) == 32);

/* Set before anything is registered, cleared after everything is gone. */
static const void *netatop_ctx;

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
	int err;

	WRITE_ONCE(netatop_ctx, ctx);

	pde = proc_create_single_data("netatop", 0444, NULL, netatop_glue_proc_show,
				      (void *)ctx);
	if (!pde) {
		err = -ENOMEM;
		goto out_ctx;
	}

	err = nf_register_sockopt(&netatop_sockopts);
	if (err)
		goto out_proc;

	return 0;

out_proc:
	remove_proc_entry("netatop", NULL);
out_ctx:
	WRITE_ONCE(netatop_ctx, NULL);
	return err;
}

void netatop_glue_unregister(void)
{
	/* Waits for in-flight getsockopt callers (they also pin the module). */
	nf_unregister_sockopt(&netatop_sockopts);
	/* Waits for in-flight readers of /proc/netatop. */
	remove_proc_entry("netatop", NULL);
	WRITE_ONCE(netatop_ctx, NULL);
}

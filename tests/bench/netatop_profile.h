/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netatop_profile.h - make bench's profile build of netatop.ko
 * (NETATOP_PROFILE=y, see Kbuild): the hook times itself.
 *
 * Per hook (IPv4/IPv6 x out/in) and CPU: the calls, the ns spent
 * summarising and accounting (also as a histogram of 100-ns steps, the last
 * one open), and the ns of an empty timed region (the clock's own cost).
 * /proc/netatop_profile prints the sums over the CPUs, one line per hook:
 * "NAME CALLS NS CLOCK_NS HIST0 ... HIST63". Never in a shipped module.
 */
#ifndef _NETATOP_PROFILE_H
#define _NETATOP_PROFILE_H

#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>

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

/* Opens a timed region in the hook: two clock reads, the second one's start. */
#define NETATOP_PROF_START(state)						\
	unsigned int prof_slot = ((state)->pf == NFPROTO_IPV6) * 2 +		\
				 ((state)->hook != NF_INET_LOCAL_OUT);		\
	u64 prof_t0 = local_clock(), prof_t1 = local_clock()

/* Closes it and adds it to this CPU's figures. */
#define NETATOP_PROF_END()							\
	do {									\
		u64 prof_t2 = local_clock();					\
		this_cpu_inc(netatop_prof[prof_slot].calls);			\
		this_cpu_add(netatop_prof[prof_slot].ns, prof_t2 - prof_t1);	\
		this_cpu_add(netatop_prof[prof_slot].clock_ns, prof_t1 - prof_t0); \
		this_cpu_inc(netatop_prof[prof_slot].hist[min_t(u64, (prof_t2 - prof_t1) / 100, \
								 NETATOP_PROF_STEPS - 1)]); \
	} while (0)

#define NETATOP_PROF_REGISTER() proc_create_single("netatop_profile", 0444, NULL, netatop_prof_show)
#define NETATOP_PROF_UNREGISTER() remove_proc_entry("netatop_profile", NULL)

#endif /* _NETATOP_PROFILE_H */

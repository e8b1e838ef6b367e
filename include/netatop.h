/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * netatop.h - user ABI of the netatop kernel module (netatop-rs).
 *
 * Byte-for-byte compatible with netatop 3.2.2, so unmodified atop, atopsar
 * and netatopd read these counters. Usable from C user space and from the
 * kernel (the module's C glue checks its layout against this header).
 *
 * All commands are getsockopt(2) calls at level SOL_IP on an AF_INET socket
 * (atop uses socket(PF_INET, SOCK_RAW, IPPROTO_RAW)) and need CAP_NET_ADMIN
 * in the initial user namespace. Without the module every command fails with
 * ENOPROTOOPT.
 */
#ifndef _NETATOP_H
#define _NETATOP_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <sys/types.h>
#include <linux/types.h>
#endif

#define COMLEN 16

/* Counters of one process or thread; 64 bytes, no padding. */
struct taskcount {
	__u64 tcpsndpacks;
	__u64 tcpsndbytes;
	__u64 tcprcvpacks;
	__u64 tcprcvbytes;
	__u64 udpsndpacks;
	__u64 udpsndbytes;
	__u64 udprcvpacks;
	__u64 udprcvbytes;
};

/*
 * One answer of GETCNT_EXIT, GETCNT_TGID or GETCNT_PID.
 * x86_64: 96 bytes; id at 0, 4 bytes of padding (always zero), btime at 8,
 * command at 16, tc at 32.
 */
struct netpertask {
	pid_t		 id;		/* tgid (EXIT, TGID) or tid (PID) */
	unsigned long	 btime;		/* start time, seconds since the epoch */
	char		 command[COMLEN]; /* comm, NUL-terminated */
	struct taskcount tc;
};

/* getsockopt commands (level SOL_IP) */
#define NETATOP_BASE_CTL	15661

#define NETATOP_PROBE		(NETATOP_BASE_CTL)	/* is the module loaded? */
#define NETATOP_FORCE_GC	(NETATOP_BASE_CTL + 1)	/* run the garbage collector */
#define NETATOP_EMPTY_EXIT	(NETATOP_BASE_CTL + 2)	/* wait until the exit list is empty */
#define NETATOP_GETCNT_EXIT	(NETATOP_BASE_CTL + 3)	/* oldest finished process (blocks) */
#define NETATOP_GETCNT_TGID	(NETATOP_BASE_CTL + 4)	/* counters of a process */
#define NETATOP_GETCNT_PID	(NETATOP_BASE_CTL + 5)	/* counters of a thread */

#endif /* _NETATOP_H */

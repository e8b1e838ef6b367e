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

/*
 * netatop-rs extensions (atop never calls them; same socket, level and
 * CAP_NET_ADMIN rule). A process is counted for the cgroup v2 (default
 * hierarchy) cgroup its sending thread was in when netatop first saw it
 * send; a cgroup's totals are its live processes' counters plus those of
 * every finished process counted for it (monotonic). See netatop(4).
 */
#define NETATOP_GETCNT_CGROUP	(NETATOP_BASE_CTL + 6)	/* 15667: counters of a cgroup */
#define NETATOP_GETCNT_TASKS	(NETATOP_BASE_CTL + 7)	/* 15668: every live process */
#define NETATOP_GETCNT_CGROUPS	(NETATOP_BASE_CTL + 8)	/* 15669: every cgroup */
#define NETATOP_GETCNT_CONNS	(NETATOP_BASE_CTL + 9)	/* 15670: every connection */

/*
 * GETCNT_CGROUP: the caller sets id (optlen >= 80, else EINVAL); unknown
 * id: ESRCH. Also the entries of GETCNT_CGROUPS. 80 bytes.
 */
struct netatop_cgroupcount {
	__u64		 id;		/* cgroup id: inode number of its cgroupfs directory */
	__u32		 nprocs;	/* live processes counted for it */
	__u32		 pad;		/* zero */
	struct taskcount tc;		/* live and finished processes */
};

/*
 * Start of the GETCNT_TASKS, GETCNT_CGROUPS and GETCNT_CONNS answers
 * (optlen >= 16, else EINVAL); as many entries follow as fit in optlen,
 * which is set to the bytes written. count < total: call again with a
 * larger buffer. 16 bytes.
 */
struct netatop_listhdr {
	__u32		 total;		/* entries that exist */
	__u32		 count;		/* entries written after this header */
	__u64		 overflow;	/* TASKS: taskinfo overflows; CGROUPS: finished
					   processes the cgroup table's cap could not keep;
					   CONNS: sockinfo overflows */
};

/* An entry of GETCNT_TASKS: one live process. 104 bytes. */
struct netatop_procinfo {
	__s32		 id;		/* tgid */
	__u32		 pad;		/* zero */
	__u64		 btime;		/* start time, seconds since the epoch */
	char		 command[COMLEN]; /* comm, NUL-padded */
	__u64		 cgroup;	/* id of the cgroup it is counted for */
	struct taskcount tc;
};

/*
 * An entry of GETCNT_CONNS: one connection the module tracks, a TCP
 * connection (its quintuple) or a local UDP port (any local address; the
 * last remote end that sent to it or that it sent to). The counters are the
 * connection's own since the module first saw it, whoever it was charged
 * to; while it is bound, they are part of its process's GETCNT_TGID
 * counters. 96 bytes.
 */
struct netatop_conninfo {
	__u64		 netns;		/* network namespace cookie (SO_NETNS_COOKIE) */
	__s32		 tgid;		/* the process it is charged to; 0: none yet */
	__s32		 pid;		/* the thread it is charged to; 0: none */
	__u64		 btime;		/* the process's start, seconds since the epoch; 0: none */
	__u8		 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8		 family;	/* AF_INET or AF_INET6 (UDP: of the remote end; 0: none seen) */
	__u8		 state;		/* TCP: the last state seen (TCP_ESTABLISHED...); 0: unknown */
	__u8		 flags;		/* NETATOP_CONN_* */
	__u16		 lport;		/* local port, host byte order */
	__u16		 rport;		/* remote port, host byte order (UDP: the last one) */
	__u8		 laddr[16];	/* local address, network byte order (IPv4: the first 4
					   bytes, the rest zero; UDP: zero, any address) */
	__u8		 raddr[16];	/* remote address, as laddr (UDP: the last remote end) */
	__u64		 sndpacks;	/* packets (wire segments) sent */
	__u64		 sndbytes;	/* bytes sent */
	__u64		 rcvpacks;	/* packets received */
	__u64		 rcvbytes;	/* bytes received */
};

/* netatop_conninfo.flags */
#define NETATOP_CONN_PEERS	1	/* UDP: more than one remote end was seen */

#endif /* _NETATOP_H */

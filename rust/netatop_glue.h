/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netatop_glue.h - the interface between the module's C glue and its Rust
 * crate. The glue only registers with the kernel (sockopt range, /proc) and
 * forwards calls; every decision is taken in Rust.
 */
#ifndef _NETATOP_GLUE_H
#define _NETATOP_GLUE_H

#include <linux/compiler_types.h>
#include <linux/types.h>

struct seq_file;

/* The module's own version (modinfo, /proc/netatop "modversion"). */
#define NETATOP_RS_VERSION "0.1.0"

/* Number of getsockopt commands from NETATOP_BASE_CTL on. */
#define NETATOP_NR_CMDS 6

/* Implemented in C, called by Rust. */

/*
 * Registers /proc/netatop and the getsockopt range. @ctx is handed back to
 * every callback below and must stay valid until netatop_glue_unregister()
 * has returned. Returns 0 or a negative errno; on error nothing stays
 * registered.
 */
int netatop_glue_register(const void *ctx);

/* Undoes netatop_glue_register(); on return no callback runs or will run. */
void netatop_glue_unregister(void);

/* Implemented in Rust, called by C. */

/* getsockopt handler: @len is the kernel copy of the caller's optlen. */
int netatop_rs_getsockopt(const void *ctx, int cmd, void __user *user, int *len);

/* Prints /proc/netatop. */
int netatop_rs_proc_show(const void *ctx, struct seq_file *m);

#endif /* _NETATOP_GLUE_H */

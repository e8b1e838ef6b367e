// SPDX-License-Identifier: GPL-2.0

//! Exact reads of many processes at once: every live process
//! (GETCNT_TASKS), a cgroup's totals (GETCNT_CGROUP) and every cgroup's
//! (GETCNT_CGROUPS); and every connection (GETCNT_CONNS).
//!
//! Process context only. Each process's batched traffic is charged first
//! (see [`Netatop::settle`]), so what these return is what GETCNT_TGID
//! would return for each process at that moment. A connection's counters
//! are its own, batched traffic included.

use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::kernel_services::context::Process;
use crate::kernel_services::packet::{IPPROTO_TCP, IPPROTO_UDP};
use crate::packet::Proto;
use crate::sockinfo::SockInfo;
use crate::state::Netatop;
use crate::taskinfo::TaskInfo;
use crate::uapi::{CgroupCount, ConnInfo, ProcInfo, TaskCount, CONN_PEERS};

/// Attempts at capturing the task table while it grows.
const ATTEMPTS: usize = 4;
/// Room for processes that appear while the table is captured.
const SLACK: usize = 64;

impl Netatop {
    /// Every process in the task table, its counters settled: the live
    /// ones and the finished ones the exit list could not take yet.
    /// `EAGAIN` if the table kept growing faster than it could be captured.
    fn groups(&self, cx: &mut Process) -> Result<KVVec<Arc<TaskInfo>>> {
        for _ in 0..ATTEMPTS {
            // The table's size counts threads and finished processes too:
            // an upper bound of the processes in it, unless it grows.
            let want = usize::try_from(self.tasks.len())
                .map_err(|_| ENOMEM)?
                .saturating_add(SLACK);
            let mut out = KVVec::with_capacity(want, GFP_KERNEL)?;
            let total = self.tasks.groups(cx, &mut out);
            if total <= out.len() {
                self.settle_all(cx, &out)?;
                return Ok(out);
            }
        }
        Err(EAGAIN)
    }

    /// GETCNT_CONNS: every connection and the sockinfo overflow counter.
    /// `EAGAIN` if the table kept growing faster than it could be
    /// captured.
    pub(crate) fn connections(&self, cx: &mut Process) -> Result<(KVVec<ConnInfo>, u64)> {
        for _ in 0..ATTEMPTS {
            let n = usize::try_from(self.socks.len()).map_err(|_| ENOMEM)?;
            // Room for the connections made while the table is walked.
            let mut out =
                KVVec::with_capacity(n.saturating_add(n / 8).saturating_add(SLACK), GFP_KERNEL)?;
            let mut total = 0usize;
            self.socks.for_each(cx, |si| {
                total += 1;
                // Past the capacity only the number is learnt.
                let _ = out.push_within_capacity(conninfo(si));
            });
            if total <= out.len() {
                return Ok((out, self.socks.refused().total()));
            }
        }
        Err(EAGAIN)
    }

    /// GETCNT_TASKS: every live process and the taskinfo overflow counter.
    pub(crate) fn live_processes(&self, cx: &mut Process) -> Result<(KVVec<Arc<TaskInfo>>, u64)> {
        let mut tasks = self.groups(cx)?;
        tasks.retain(|t| !t.is_dead());
        Ok((tasks, self.tasks.refused().total()))
    }

    /// GETCNT_CGROUP: the totals of cgroup `id`; `ESRCH` if no process is
    /// counted for it and no finished one's totals are kept.
    pub(crate) fn cgroup_count(&self, cx: &mut Process, id: u64) -> Result<CgroupCount> {
        // Held while the task table is read (see `Cgroups`).
        let totals = self.cgroups.lock();
        let groups = self.groups(cx)?;
        let mut tc = totals.get(id);
        let mut nprocs = 0u32;
        for t in groups.iter().filter(|t| t.cgroup() == id) {
            tc.get_or_insert_with(TaskCount::default)
                .add(&t.counters().snapshot());
            if !t.is_dead() {
                nprocs = nprocs.saturating_add(1);
            }
        }
        drop(totals);
        Ok(CgroupCount {
            id,
            nprocs,
            pad: 0,
            tc: tc.ok_or(ESRCH)?,
        })
    }

    /// GETCNT_CGROUPS: every cgroup with a process counted for it or kept
    /// totals, in id order, and the cgroup table's overflow counter.
    pub(crate) fn cgroup_list(&self, cx: &mut Process) -> Result<(KVVec<CgroupCount>, u64)> {
        let totals = self.cgroups.lock();
        let groups = self.groups(cx)?;
        let mut list = KVVec::new();
        for (id, tc) in totals.iter() {
            let entry = CgroupCount {
                id,
                nprocs: 0,
                pad: 0,
                tc: *tc,
            };
            list.push(entry, GFP_KERNEL)?;
        }
        for t in groups.iter() {
            let id = t.cgroup();
            let i = match list.binary_search_by_key(&id, |c: &CgroupCount| c.id) {
                Ok(i) => i,
                Err(i) => {
                    let entry = CgroupCount {
                        id,
                        nprocs: 0,
                        pad: 0,
                        tc: TaskCount::default(),
                    };
                    list.reserve(1, GFP_KERNEL)?;
                    list.insert_within_capacity(i, entry).map_err(|_| ENOMEM)?;
                    i
                }
            };
            if let Some(c) = list.get_mut(i) {
                c.tc.add(&t.counters().snapshot());
                if !t.is_dead() {
                    c.nprocs = c.nprocs.saturating_add(1);
                }
            }
        }
        let overflows = totals.overflows();
        drop(totals);
        Ok((list, overflows))
    }
}

/// The GETCNT_CONNS entry of connection `si`.
fn conninfo(si: &SockInfo) -> ConnInfo {
    let key = si.key();
    let ends = key.ends();
    let total = si.total();
    let (proto, state) = match key.proto() {
        Proto::Udp => (IPPROTO_UDP, 0),
        _ => (IPPROTO_TCP, si.tcp_state()),
    };
    ConnInfo {
        netns: key.netns(),
        tgid: si.group().map_or(0, |g| g.who().id),
        pid: si.thread().map_or(0, |t| t.who().id),
        btime: si.group().map_or(0, |g| g.btime()),
        proto,
        // `NFPROTO_*` are the `AF_*` numbers (asserted in the packet layer).
        family: ends.family,
        state,
        flags: if ends.peers { CONN_PEERS } else { 0 },
        lport: ends.lport,
        rport: ends.rport,
        laddr: ends.laddr,
        raddr: ends.raddr,
        sndpacks: total.sndpacks,
        sndbytes: total.sndbytes,
        rcvpacks: total.rcvpacks,
        rcvbytes: total.rcvbytes,
    }
}

/// The GETCNT_TASKS entry of process `t`.
pub(crate) fn procinfo(t: &TaskInfo) -> ProcInfo {
    ProcInfo {
        id: t.who().id,
        pad: 0,
        btime: t.btime(),
        command: t.command(),
        cgroup: t.cgroup(),
        tc: t.counters().snapshot(),
    }
}

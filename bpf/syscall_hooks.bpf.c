// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark only (bench/hooks.cpp, bench/run's "syscalls" section), never
 * loaded by lineage: what a syscall hook costs every process on the node.
 *
 * The files issue needs the path of each file a process opens, and this
 * kernel has no kprobes, fentry or BPF-LSM: the syscall tracepoints are
 * what is left. Attaching anything to them sets the syscall-work flag of
 * every task, so every syscall of every process takes the slow path
 * through the tracepoint, whatever the program does. These programs do the
 * least a files hook would do (compare the syscall number with the one
 * watched), so that the measured cost is that of the hook itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The syscall a files hook would watch: openat on x86-64 (bench_hooks keeps
 * it; a loader could set another between open and load). */
const volatile long watched_nr = 257;

/* Calls of the watched syscall each program saw: proof that it ran. */
__u64 enter_matched = 0;
__u64 exit_matched = 0;

SEC("raw_tp/sys_enter")
int BPF_PROG(enter_raw, struct pt_regs *regs, long id)
{
	if (id == watched_nr)
		__sync_fetch_and_add(&enter_matched, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(enter_btf, struct pt_regs *regs, long id)
{
	if (id == watched_nr)
		__sync_fetch_and_add(&enter_matched, 1);
	return 0;
}

/* The exit gives the result (the new fd of an open), which a files hook
 * needs; the syscall number is the saved orig_ax. */
SEC("tp_btf/sys_exit")
int BPF_PROG(exit_btf, struct pt_regs *regs, long ret)
{
	if ((long)regs->orig_ax == watched_nr)
		__sync_fetch_and_add(&exit_matched, 1);
	return 0;
}

/* The per-syscall event of tracefs (what bpftrace's
 * tracepoint:syscalls:sys_enter_openat attaches to): the program runs for
 * openat only, but the event hangs off the same sys_enter tracepoint. */
SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat_tp(void *ctx)
{
	__sync_fetch_and_add(&enter_matched, 1);
	return 0;
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one definition of the ring-buffer wire format, shared by the BPF
 * programs (bpf/lineage.bpf.c) and user space (lib/event/event_decode.cpp).
 *
 * Rules: fixed-width types only, no pointers, explicit padding, every record
 * starts with struct lineage_hdr. User space checks hdr.size against the
 * number of bytes it actually got before it decodes anything, and
 * lib/event/event_decode.cpp pins sizes and offsets with static_assert.
 *
 * Times are kernel boot-time nanoseconds (bpf_ktime_get_boot_ns()); process
 * start times are task->start_boottime, the clock /proc/PID/stat reports in
 * clock ticks, so a snapshot entry and a kernel event can be joined.
 */
#ifndef LINEAGE_EVENTS_H
#define LINEAGE_EVENTS_H

#ifndef __bpf__
#include <linux/types.h> /* __u8 .. __u64; vmlinux.h has them on the BPF side */
#endif

#define LINEAGE_COMM_LEN 16
#define LINEAGE_NODENAME_LEN 65
/* Compile-time bounds; the runtime argv cap (rodata) is at most this. */
#define LINEAGE_ARGV_MAX_CAP 32768
#define LINEAGE_ARGV_DEFAULT_CAP 4096
#define LINEAGE_PATH_MAX 4096
/* The cgroup path is sent as up to DEPTH names, leaf first, each NUL
 * terminated. Kubernetes paths are 3-5 levels deep. */
#define LINEAGE_CGROUP_DEPTH_MAX 10
#define LINEAGE_CGROUP_NAME_MAX 128
#define LINEAGE_CGROUP_PATH_MAX (LINEAGE_CGROUP_DEPTH_MAX * LINEAGE_CGROUP_NAME_MAX)

enum lineage_event_type {
	LINEAGE_EV_FORK = 1,
	LINEAGE_EV_EXEC = 2,
	LINEAGE_EV_EXIT = 3,
	LINEAGE_EV_CONNECT = 4,
	LINEAGE_EV_CGROUP = 5,
	LINEAGE_EV_MOVE = 6,
	LINEAGE_EV_LISTEN = 7,
	LINEAGE_EV_DNS = 8,
};

/* The cgroup v1 controller whose hierarchy is followed besides cgroup v2
 * (rodata cgroup1_controller): a pod on a v1 or hybrid node is named only
 * there. User space picks one that is mounted on a v1 hierarchy. */
enum lineage_cgroup1_controller {
	LINEAGE_CGROUP1_NONE = 0,
	LINEAGE_CGROUP1_MEMORY = 1,
	LINEAGE_CGROUP1_CPU = 2,
	LINEAGE_CGROUP1_PIDS = 3,
};

struct lineage_hdr {
	__u32 type;    /* enum lineage_event_type */
	__u32 size;    /* bytes of the whole record, header included */
	__u64 time_ns; /* boot-time ns when the kernel saw it */
};

/* A process as the kernel names it: tgid plus the group leader's
 * start_boottime. User space adds the boot id. */
struct lineage_proc {
	__u32 tgid;
	__u32 _pad;
	__u64 start_ns;
};

struct lineage_fork_event {
	struct lineage_hdr hdr;
	struct lineage_proc parent; /* the process that forked (not real_parent) */
	struct lineage_proc child;
	char parent_comm[LINEAGE_COMM_LEN];
	/* The cgroups the child starts in: its parent's, or the one that
	 * clone3(CLONE_INTO_CGROUP) named. Their paths arrive in cgroup
	 * records (struct lineage_cgroup_event), once per cgroup. */
	__u64 cgroup_id;  /* cgroup v2 */
	__u64 cgroup1_id; /* in the followed v1 hierarchy; 0 when none is followed */
	__u32 nspid;	  /* the child's pid inside its own pid namespace */
	__u32 _pad;
};

#define LINEAGE_EXEC_ARGV_TRUNCATED 0x1
#define LINEAGE_EXEC_BINARY_TRUNCATED 0x2
#define LINEAGE_EXEC_CGROUP_TRUNCATED 0x4

/* The executed file's path is sent as up to DEPTH dentry names, leaf first,
 * each NUL terminated (like cgroup names): the walk up the dentries and
 * mounts is bounded, and user space reverses the names into a path. */
#define LINEAGE_FILE_DEPTH_MAX 32
#define LINEAGE_FILE_NAME_MAX 256
#define LINEAGE_FILE_PATH_MAX 4096

/* Bits of lineage_exec_file.flags. */
#define LINEAGE_FILE_MEMFD 0x1	 /* a memfd: fileless execution */
#define LINEAGE_FILE_DELETED 0x2 /* its link count was 0 at exec */
#define LINEAGE_FILE_UPPER 0x4	 /* on an overlayfs upper layer (written after start) */
/* UPPER_KNOWN: UPPER is an answer (overlayfs's types were in BTF, or the
 * file is not on overlayfs). */
#define LINEAGE_FILE_UPPER_KNOWN 0x8
#define LINEAGE_FILE_PATH_TRUNCATED 0x10   /* the walk did not reach the root, or a name was cut */
#define LINEAGE_FILE_SCRIPT 0x20	   /* bprm->interp is not bprm->filename: a #! script */
#define LINEAGE_FILE_SECUREEXEC 0x40	   /* the kernel marked the exec AT_SECURE */
#define LINEAGE_FILE_INTERP_TRUNCATED 0x80 /* the interpreter's path was cut */
#define LINEAGE_FILE_OVERLAY 0x100	   /* the file is on overlayfs */
#define LINEAGE_FILE_KNOWN 0x8000	   /* bprm->file was read (always set by the probe) */

/* Credentials: uids and gids in the initial user namespace, and capability
 * sets as the kernel's kernel_cap_t (64 bits). */
struct lineage_cred {
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u64 cap_permitted;
	__u64 cap_effective;
};

/* The file the kernel really executed (bprm->file; for a script, its
 * interpreter), and the credentials around the exec. */
struct lineage_exec_file {
	__u64 dev; /* the superblock's s_dev, the kernel's encoding (major << 20 | minor) */
	__u64 ino;
	__u64 size;
	__s64 mtime_sec;
	__u32 mtime_nsec;
	__u32 nlink;
	__u32 mode;
	__u32 flags;	/* LINEAGE_FILE_* */
	__u16 path_len; /* bytes of data[] holding the path's names */
	/* interp_len: bytes of data[] holding a script's interpreter, no NUL; 0 if none */
	__u16 interp_len;
	__u32 _pad;
	/* The caller's credentials: those the file was opened with
	 * (bprm->file->f_cred), before the exec committed new ones. */
	struct lineage_cred before;
	/* The task's credentials after the exec. */
	struct lineage_cred after;
};

struct lineage_exec_event {
	struct lineage_hdr hdr;
	struct lineage_proc proc;
	/* real_parent at exec time: a fallback for when the fork was not
	 * recorded (process filtered out, or forked before the recorder). */
	struct lineage_proc parent;
	__u64 cgroup_id; /* cgroup v2 id of the default hierarchy */
	__u32 nspid;	 /* pid inside the process's own pid namespace */
	__u32 old_tid;	 /* thread that called execve (de_thread may renumber) */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 flags;	  /* LINEAGE_EXEC_* */
	__u16 binary_len; /* bytes of data[] holding the path, no NUL */
	__u16 cgroup_len; /* bytes of data[] holding cgroup names */
	__u16 argv_len;	  /* bytes of data[] holding argv, NUL separated */
	__u16 _pad;
	char comm[LINEAGE_COMM_LEN];
	char parent_comm[LINEAGE_COMM_LEN];
	char nodename[LINEAGE_NODENAME_LEN];
	char _pad2[7];
	__u64 cgroup1_id; /* in the followed v1 hierarchy; 0 when none is followed */
	__u32 uts_ns;	  /* inode of the UTS namespace nodename was read in */
	__u32 _pad3;
	struct lineage_exec_file file;
	/* binary | cgroup names (leaf first, NUL terminated each) |
	 * executed file's names (leaf first, NUL terminated each) |
	 * interpreter | argv */
	char data[];
};

#define LINEAGE_EXEC_DATA_MAX                                                                      \
	(LINEAGE_PATH_MAX + LINEAGE_CGROUP_PATH_MAX + LINEAGE_FILE_PATH_MAX + LINEAGE_PATH_MAX +   \
	 LINEAGE_ARGV_MAX_CAP)

struct lineage_exit_event {
	struct lineage_hdr hdr;
	struct lineage_proc proc;
	__u32 exit_code; /* wait status: (code << 8) | signal | core 0x80 */
	__u32 _pad;
	char comm[LINEAGE_COMM_LEN];
};

#define LINEAGE_CONNECT_OK 0
#define LINEAGE_CONNECT_FAILED 1

struct lineage_connect_event {
	struct lineage_hdr hdr;
	struct lineage_proc proc;
	__u64 syn_time_ns; /* when the SYN went out; hdr.time_ns is the outcome */
	__u16 family;	   /* AF_INET or AF_INET6 */
	__u16 sport;	   /* host order */
	__u16 dport;	   /* host order */
	__u16 result;	   /* LINEAGE_CONNECT_* */
	__u8 saddr[16];	   /* IPv4 uses the first 4 bytes */
	__u8 daddr[16];
};

/* A TCP socket entered LISTEN: listen(2) runs in the listening process's
 * context. */
struct lineage_listen_event {
	struct lineage_hdr hdr;
	struct lineage_proc proc;
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 port;   /* host order */
	__u32 _pad;
	__u8 addr[16]; /* IPv4 uses the first 4 bytes */
};

/* Bytes of a DNS message's payload copied; a classic UDP message fits
 * (RFC 1035's 512), a longer one (EDNS, TCP) is kept cut, its length
 * beside it. */
#define LINEAGE_DNS_CAP 512
#define LINEAGE_DNS_SENT 0x1  /* egress: the process's socket sent it */
#define LINEAGE_DNS_TCP 0x2   /* else UDP */
#define LINEAGE_DNS_OWNER 0x4 /* proc is the socket's owner; else not known */

/* A DNS message (UDP or TCP, port 53) on a socket of the node, from the
 * cgroup_skb hooks on the cgroup v2 root. The process is the socket's
 * owner: the task that sent on it in task context (stored on the socket),
 * never whatever task a softirq interrupted. Sent only with the bytes of
 * the payload used. */
struct lineage_dns_event {
	struct lineage_hdr hdr;
	struct lineage_proc proc; /* zero when not known (no LINEAGE_DNS_OWNER) */
	__u16 family;		  /* AF_INET or AF_INET6 */
	__u16 sport;		  /* host order */
	__u16 dport;		  /* host order */
	__u16 flags;		  /* LINEAGE_DNS_* */
	__u32 length;		  /* the payload's bytes on the wire */
	__u16 cap_len;		  /* bytes of payload[] used */
	__u16 _pad;
	__u8 saddr[16]; /* IPv4 uses the first 4 bytes */
	__u8 daddr[16];
	__u8 payload[LINEAGE_DNS_CAP];
};

#define LINEAGE_CGROUP_NAMES_TRUNCATED 0x1

/* A cgroup a fork or exec record names, sent (before that record) the first
 * time the probes meet it: fork records carry ids only. Sent only with the
 * bytes used. */
struct lineage_cgroup_event {
	struct lineage_hdr hdr;
	__u64 cgroup_id;
	__u32
	    hierarchy; /* 0: cgroup v2; else the v1 hierarchy id (/proc/PID/cgroup's first field) */
	__u16 names_len;		     /* bytes of names[] used */
	__u16 flags;			     /* LINEAGE_CGROUP_NAMES_TRUNCATED */
	char names[LINEAGE_CGROUP_PATH_MAX]; /* leaf first, NUL terminated each, as in the exec
						record */
};

/* The kernel formats a moved-to cgroup's path into this many bytes
 * (TRACE_CGROUP_PATH_LEN in kernel/cgroup/cgroup-internal.h). */
#define LINEAGE_MOVE_PATH_MAX 1024
#define LINEAGE_MOVE_TRANSFER 0x1 /* cgroup_transfer_tasks, not cgroup_attach_task */

/* A whole process was moved to another cgroup (cgroup.procs, a runtime,
 * systemd), in cgroup v2 or the followed v1 hierarchy. Sent only with the
 * bytes of the path used. */
struct lineage_move_event {
	struct lineage_hdr hdr;
	struct lineage_proc proc;  /* the process moved */
	struct lineage_proc mover; /* the process that moved it */
	__u64 cgroup_id;	   /* where to */
	__u32 hierarchy;	   /* 0: cgroup v2; else the v1 hierarchy id */
	__u32 nspid;		   /* the moved process's pid inside its pid namespace */
	__u16 path_len;		   /* bytes of path[] used, no NUL */
	__u16 flags;		   /* LINEAGE_MOVE_* */
	__u32 _pad;
	char comm[LINEAGE_COMM_LEN];	  /* the moved process's */
	char path[LINEAGE_MOVE_PATH_MAX]; /* below the hierarchy's root, as the kernel formats it */
};

/* Per-CPU loss accounting, read by user space from the drops map. */
struct lineage_drops {
	__u64 count; /* records the full ring buffer refused */
	__u64 last_ns;
	__u64 map_full; /* connects not tracked: the pending_connects map was full */
	__u64 map_full_last_ns;
};

#endif /* LINEAGE_EVENTS_H */

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lineage's kernel side: fork, exec (with the file really executed), exit,
 * TCP connect and listen, and moves between cgroups, from BTF tracepoints only (no kprobes, no
 * fentry, no tracefs needed).
 *
 * Threads never reach user space: a clone that makes a thread is dropped in
 * handle_fork, an exit is sent only by the last thread of a process, and a
 * move only when a whole process moves.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10

/* Configured by user space between open and load ("off" defaults). */
const volatile __u32 argv_cap = LINEAGE_ARGV_DEFAULT_CAP;
/* Pending bytes in the ring after which a submit wakes the reader. Below it
 * the reader drains on its own timer: wakeups, not BPF, dominate the cost of
 * a ring-buffer recorder under process churn. 0 = wake on every event. */
const volatile __u64 wakeup_bytes = 0;
/* When set, only processes in a cgroup listed in allowed_cgroups, or below
 * one, are recorded. */
const volatile bool filter_cgroups = false;
/* sched_process_exit has a group_dead argument (Linux 6.16+). */
const volatile bool exit_has_group_dead = false;
/* The cgroup v1 hierarchy followed besides cgroup v2: the hierarchy of this
 * controller (enum lineage_cgroup1_controller) and its id. NONE on a node
 * without cgroup v1. */
const volatile __u32 cgroup1_controller = LINEAGE_CGROUP1_NONE;
const volatile __u32 cgroup1_hierarchy = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* user space may resize before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lineage_drops);
} drops SEC(".maps");

/* An exec record is too big for the BPF stack; build it here, then send
 * only the bytes used. One slot per CPU, indexed by CPU id: a per-CPU array
 * cannot hold values over 32 KiB. User space sets max_entries to the number
 * of possible CPUs. */
struct exec_scratch {
	char buf[sizeof(struct lineage_exec_event) + LINEAGE_EXEC_DATA_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_scratch SEC(".maps");

/* cgroup ids (v2 default hierarchy) whose subtrees are recorded. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u8);
} allowed_cgroups SEC(".maps");

/* The cgroups a cgroup record has been sent for, so that fork records can
 * name their cgroups by id alone. LRU: a cgroup pushed out is sent again,
 * which user space takes as a repeat. */
struct cgroup_key {
	__u64 id;
	__u32 hierarchy;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct cgroup_key);
	__type(value, __u8);
} reported_cgroups SEC(".maps");

/* A connect is reported when it leaves SYN_SENT, because only then is the
 * source port known; until then we remember who sent the SYN, since the
 * outcome arrives in softirq context with an unrelated current task. */
struct pending_connect {
	struct lineage_proc proc;
	__u64 syn_time_ns;
};

/* A plain hash, not an LRU: a full LRU would push out a pending connect
 * without a word, while a full hash refuses the new one, which is counted
 * (count_map_full) and written as a loss. Entries go when the socket leaves
 * SYN_SENT, which every connect does (established, refused, timed out,
 * closed). User space may shrink it before load (tests). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending_connect);
} pending_connects SEC(".maps");

/* Kernels before 6.15 call kernfs_node's parent "parent", later "__parent". */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	struct lineage_drops *d = bpf_map_lookup_elem(&drops, &zero);

	if (d) {
		__sync_fetch_and_add(&d->count, 1);
		d->last_ns = bpf_ktime_get_boot_ns();
	}
}

/* A map that could not take an entry: an event that will not be reported. */
static __always_inline void count_map_full(void)
{
	__u32 zero = 0;
	struct lineage_drops *d = bpf_map_lookup_elem(&drops, &zero);

	if (d) {
		__sync_fetch_and_add(&d->map_full, 1);
		d->map_full_last_ns = bpf_ktime_get_boot_ns();
	}
}

static __always_inline __u64 submit_flags(void)
{
	if (wakeup_bytes == 0)
		return 0;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* The current task's cgroup, or one of its ancestors, is in the allow list. */
static __always_inline bool cgroup_wanted(void)
{
	if (!filter_cgroups)
		return true;
	for (int level = 0; level < LINEAGE_CGROUP_DEPTH_MAX + 4; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (id == 0)
			break;
		if (bpf_map_lookup_elem(&allowed_cgroups, &id))
			return true;
	}
	return false;
}

/* A cgroup v2 cgroup, or one of its ancestors, is in the allow list: for
 * a task other than current (a child cloned into another cgroup, a task
 * moved by another). The ids are those of the cgroup's kernfs nodes. */
static __always_inline bool cgroup_tree_wanted(struct cgroup *cgrp)
{
	struct kernfs_node *kn = BPF_CORE_READ(cgrp, kn);

	for (int level = 0; level < LINEAGE_CGROUP_DEPTH_MAX + 4; level++) {
		__u64 id;

		if (!kn)
			break;
		id = BPF_CORE_READ(kn, id);
		if (bpf_map_lookup_elem(&allowed_cgroups, &id))
			return true;
		kn = kn_parent(kn);
	}
	return false;
}

static __always_inline void fill_proc(struct lineage_proc *out, struct task_struct *task)
{
	out->tgid = BPF_CORE_READ(task, tgid);
	out->_pad = 0;
	/* The group leader's start: it is what /proc/PID/stat reports. */
	out->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
}

/* The pid of a task inside its own (innermost) pid namespace. */
static __always_inline __u32 ns_pid(struct task_struct *task)
{
	struct pid *tpid = NULL;
	unsigned int level = 0;
	struct upid upid = {};

	/* Into named variables, not BPF_CORE_READ()'s temporaries: clang 14
	 * let upid reuse the temporary holding level before reading it. */
	bpf_core_read(&tpid, sizeof(tpid), &task->thread_pid);
	bpf_core_read(&level, sizeof(level), &tpid->level);
	bpf_probe_read_kernel(&upid, sizeof(upid), &tpid->numbers[level & 31]);
	return upid.nr;
}

/* The task's cgroup in the followed v1 hierarchy: the cgroup of its css of
 * that controller. The controller's id is this kernel's (CO-RE). */
static __always_inline struct cgroup *cgroup1_of(struct css_set *cset)
{
	struct cgroup_subsys_state *css = NULL;
	__u64 ssid;

	switch (cgroup1_controller) {
	case LINEAGE_CGROUP1_MEMORY:
		if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
			return NULL;
		ssid = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		break;
	case LINEAGE_CGROUP1_CPU:
		if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
			return NULL;
		ssid = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
		break;
	case LINEAGE_CGROUP1_PIDS:
		if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id))
			return NULL;
		ssid = bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
		break;
	default:
		return NULL;
	}
	if (ssid >= bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT))
		return NULL;
	bpf_probe_read_kernel(&css, sizeof(css),
			      (void *)cset + bpf_core_field_offset(struct css_set, subsys) +
				  ssid * sizeof(css));
	if (!css)
		return NULL;
	return BPF_CORE_READ(css, cgroup);
}

/* cgroup names from kn up to (not including) the hierarchy's root, leaf
 * first, each NUL terminated, into dst; user space reverses them into a
 * path. Returns the bytes written; sets `flag` in *flags when names were
 * cut. */
static __always_inline __u64 put_cgroup_names(char *dst, struct kernfs_node *kn, __u32 *flags,
					      __u32 flag)
{
	__u64 coff = 0;
	long n;

	for (int i = 0; i < LINEAGE_CGROUP_DEPTH_MAX; i++) {
		struct kernfs_node *up;

		if (!kn)
			break;
		up = kn_parent(kn);
		if (!up)
			break;
		if (coff > LINEAGE_CGROUP_PATH_MAX - LINEAGE_CGROUP_NAME_MAX)
			break;
		n = bpf_probe_read_kernel_str(dst + coff, LINEAGE_CGROUP_NAME_MAX,
					      BPF_CORE_READ(kn, name));
		if (n <= 0)
			break;
		if (n == LINEAGE_CGROUP_NAME_MAX)
			*flags |= flag;
		coff += n;
		kn = up;
	}
	if (kn && kn_parent(kn))
		*flags |= flag;
	coff &= 2 * LINEAGE_CGROUP_PATH_MAX - 1;
	if (coff > LINEAGE_CGROUP_PATH_MAX)
		coff = LINEAGE_CGROUP_PATH_MAX;
	return coff;
}

static __always_inline void note_reported(__u64 id, __u32 hierarchy)
{
	struct cgroup_key key = {.id = id, .hierarchy = hierarchy};
	__u8 one = 1;

	/* Looked up first: a move storm names the same few cgroups again and
	 * again, and an LRU lookup (which also keeps the entry recent) costs
	 * far less than an update (bench/README.md, cgroup moves). */
	if (bpf_map_lookup_elem(&reported_cgroups, &key))
		return;
	/* Not counted when it fails: nothing is lost, the cgroup is only
	 * reported again the next time it is named. */
	bpf_map_update_elem(&reported_cgroups, &key, &one, BPF_ANY);
}

/* Sends a cgroup record for a cgroup no record has named yet. */
static __always_inline void report_cgroup(struct cgroup *cgrp, __u64 id, __u32 hierarchy)
{
	struct cgroup_key key = {.id = id, .hierarchy = hierarchy};
	struct lineage_cgroup_event *e;
	__u32 flags = 0;
	__u64 n;

	if (bpf_map_lookup_elem(&reported_cgroups, &key))
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return;
	}
	/* Marked once the record is reserved: a record that another CPU
	 * reserves after seeing the mark is behind this one in the ring. */
	note_reported(id, hierarchy);
	e->hdr.type = LINEAGE_EV_CGROUP;
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = id;
	e->hierarchy = hierarchy;
	n = put_cgroup_names(e->names, BPF_CORE_READ(cgrp, kn), &flags,
			     LINEAGE_CGROUP_NAMES_TRUNCATED);
	e->names_len = n;
	e->flags = flags;
	e->hdr.size = sizeof(*e) - sizeof(e->names) + n;
	bpf_ringbuf_submit(e, submit_flags());
}

/* Superblock magics (include/uapi/linux/magic.h). */
#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* The executed file's walk: one step per name or per mount crossed, so a
 * path of DEPTH_MAX names under a few mounts still fits. The bound is what
 * makes the walk end on any dentry graph, a cycle included. */
#define LINEAGE_FILE_WALK_MAX (LINEAGE_FILE_DEPTH_MAX + 8)

/* An inode's mtime, by kernel: a timespec64 i_mtime up to 6.5, __i_mtime in
 * 6.6, i_mtime_sec and i_mtime_nsec from 6.7 (this vmlinux.h's shape). */
struct inode___mtime_timespec {
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

struct inode___mtime_private {
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

static __always_inline void read_mtime(struct inode *inode, struct lineage_exec_file *f)
{
	struct inode___mtime_timespec *old = (void *)inode;
	struct inode___mtime_private *priv = (void *)inode;

	if (bpf_core_field_exists(inode->i_mtime_sec)) {
		f->mtime_sec = BPF_CORE_READ(inode, i_mtime_sec);
		f->mtime_nsec = BPF_CORE_READ(inode, i_mtime_nsec);
	} else if (bpf_core_field_exists(priv->__i_mtime)) {
		f->mtime_sec = BPF_CORE_READ(priv, __i_mtime.tv_sec);
		f->mtime_nsec = BPF_CORE_READ(priv, __i_mtime.tv_nsec);
	} else {
		f->mtime_sec = BPF_CORE_READ(old, i_mtime.tv_sec);
		f->mtime_nsec = BPF_CORE_READ(old, i_mtime.tv_nsec);
	}
}

/* kernel_cap_t is a u32[2] up to 6.2 and a u64 from 6.3: both are 8 bytes
 * at the field's (relocated) offset, and on a little-endian machine the
 * u32[2] read as a u64 is cap[0] | cap[1] << 32, the u64's own meaning. */
static __always_inline __u64 read_caps(const kernel_cap_t *caps)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), caps);
	return v;
}

static __always_inline void fill_cred(struct lineage_cred *out, const struct cred *c)
{
	out->uid = BPF_CORE_READ(c, uid.val);
	out->gid = BPF_CORE_READ(c, gid.val);
	out->euid = BPF_CORE_READ(c, euid.val);
	out->egid = BPF_CORE_READ(c, egid.val);
	out->cap_permitted = read_caps(&c->cap_permitted);
	out->cap_effective = read_caps(&c->cap_effective);
}

/* The walk's byte count and name count live in the record (the map value),
 * read back through volatile loads each step, not in registers: the
 * verifier then sees the same unknown counts whichever way a step went
 * (a name or a mount crossed) and prunes, where exact counts in registers
 * would make it explore every mix of steps. */
#define WALK_LOAD(x) (*(volatile typeof(x) *)&(x))

/* The executed file's dentry names from the file up to the task's root
 * (fs->root), crossing mounts, leaf first, each NUL terminated, into dst
 * (as d_path would, without its " (deleted)"); f->path_len says how many
 * bytes. Also stops at a dentry that is its own parent (a pseudo file such
 * as a memfd, or a disconnected dentry: its name is the last one) and at a
 * mount without a parent (the namespace's root, or a file outside the
 * task's root). Anything else (the walk's bound, no room left, a name cut)
 * sets PATH_TRUNCATED in f->flags. */
static __always_inline void put_file_names(struct lineage_exec_file *f, char *dst,
					   struct file *file, struct task_struct *task)
{
	struct dentry *dentry = NULL, *parent, *mnt_root, *root_dentry;
	struct vfsmount *vfsmnt = NULL, *root_mnt;
	struct mount *mnt, *up;
	bool ended = false;
	__u64 foff;
	long n;

	bpf_core_read(&dentry, sizeof(dentry), &file->f_path.dentry);
	bpf_core_read(&vfsmnt, sizeof(vfsmnt), &file->f_path.mnt);
	root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	mnt = container_of(vfsmnt, struct mount, mnt);
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	/* interp_len counts the names until the interpreter is read. */
	f->path_len = 0;
	f->interp_len = 0;

	for (int i = 0; i < LINEAGE_FILE_WALK_MAX; i++) {
		if (!dentry)
			break;
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			ended = true;
			break;
		}
		if (dentry == mnt_root) {
			up = BPF_CORE_READ(mnt, mnt_parent);
			if (!up || up == mnt) {
				ended = true;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfsmnt = &up->mnt;
			mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
			continue;
		}
		foff = WALK_LOAD(f->path_len);
		if (WALK_LOAD(f->interp_len) >= LINEAGE_FILE_DEPTH_MAX ||
		    foff > LINEAGE_FILE_PATH_MAX - LINEAGE_FILE_NAME_MAX)
			break;
		n = bpf_probe_read_kernel_str(dst + foff, LINEAGE_FILE_NAME_MAX,
					      BPF_CORE_READ(dentry, d_name.name));
		if (n <= 0)
			break;
		/* A name of NAME_MAX bytes fits whole: cut only if longer. */
		if (n == LINEAGE_FILE_NAME_MAX &&
		    BPF_CORE_READ(dentry, d_name.len) > LINEAGE_FILE_NAME_MAX - 1)
			WALK_LOAD(f->flags) |= LINEAGE_FILE_PATH_TRUNCATED;
		WALK_LOAD(f->path_len) = foff + n;
		WALK_LOAD(f->interp_len) += 1;
		parent = BPF_CORE_READ(dentry, d_parent);
		if (parent == dentry) {
			ended = true;
			break;
		}
		dentry = parent;
	}
	if (!ended)
		f->flags |= LINEAGE_FILE_PATH_TRUNCATED;
	f->interp_len = 0;
}

/* A memfd: memfd_create(2) names its pseudo dentry "memfd:NAME", a dentry
 * that is its own parent, on the kernel's internal tmpfs or hugetlbfs. */
static __always_inline bool is_memfd(struct file *file, __u64 magic)
{
	struct dentry *dentry = NULL;
	char prefix[6] = {};

	if (magic != TMPFS_MAGIC && magic != HUGETLBFS_MAGIC)
		return false;
	bpf_core_read(&dentry, sizeof(dentry), &file->f_path.dentry);
	if (BPF_CORE_READ(dentry, d_parent) != dentry)
		return false;
	if (bpf_probe_read_kernel(prefix, sizeof(prefix), BPF_CORE_READ(dentry, d_name.name)))
		return false;
	return prefix[0] == 'm' && prefix[1] == 'e' && prefix[2] == 'm' && prefix[3] == 'f' &&
	       prefix[4] == 'd' && prefix[5] == ':';
}

/* Whether an overlayfs file has an upper dentry: set UPPER_KNOWN only when
 * overlayfs's struct ovl_inode is in the kernel's BTF (vmlinux, or the
 * overlay module's, which libbpf reads too). __upperdentry is also set by a
 * metadata-only copy-up (chmod, chown, touch of a lower file with metacopy
 * on): then the upper holds the metadata and the data is still the lower's,
 * and the file is reported as upper all the same. */
static __always_inline __u32 overlay_flags(struct inode *inode)
{
	struct ovl_inode *oi;

	if (!bpf_core_type_exists(struct ovl_inode))
		return LINEAGE_FILE_OVERLAY;
	oi = (void *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode);
	if (BPF_CORE_READ(oi, __upperdentry))
		return LINEAGE_FILE_OVERLAY | LINEAGE_FILE_UPPER | LINEAGE_FILE_UPPER_KNOWN;
	return LINEAGE_FILE_OVERLAY | LINEAGE_FILE_UPPER_KNOWN;
}

/* The executed file's identity, flags and the credentials around the exec;
 * its names go to dst. Returns the bytes written to dst. */
static __always_inline __u64 fill_exec_file(struct lineage_exec_file *f, char *dst,
					    struct linux_binprm *bprm, struct task_struct *p)
{
	struct file *file = BPF_CORE_READ(bprm, file);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	__u64 magic = BPF_CORE_READ(sb, s_magic);
	__u32 flags = LINEAGE_FILE_KNOWN;
	__u64 foff;

	f->dev = BPF_CORE_READ(sb, s_dev);
	f->ino = BPF_CORE_READ(inode, i_ino);
	f->size = BPF_CORE_READ(inode, i_size);
	f->nlink = BPF_CORE_READ(inode, __i_nlink);
	f->mode = BPF_CORE_READ(inode, i_mode);
	read_mtime(inode, f);
	if (f->nlink == 0)
		flags |= LINEAGE_FILE_DELETED;
	if (magic == OVERLAYFS_SUPER_MAGIC)
		flags |= overlay_flags(inode);
	else
		flags |= LINEAGE_FILE_UPPER_KNOWN;
	if (is_memfd(file, magic))
		flags |= LINEAGE_FILE_MEMFD;
	if (BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec))
		flags |= LINEAGE_FILE_SECUREEXEC;
	fill_cred(&f->before, BPF_CORE_READ(file, f_cred));
	fill_cred(&f->after, BPF_CORE_READ(p, cred));
	f->_pad = 0;
	f->flags = flags;
	put_file_names(f, dst, file, p);
	foff = f->path_len;
	if (foff > LINEAGE_FILE_PATH_MAX)
		foff = LINEAGE_FILE_PATH_MAX;
	return foff;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct lineage_fork_event *e;
	struct task_struct *leader;
	struct cgroup *cgrp, *cgrp1;
	struct css_set *cset;
	__u64 id, id1 = 0;

	/* A new thread shares its creator's tgid: not a process, no row. The
	 * arguments of a tp_btf program are typed kernel pointers, read with
	 * plain loads: a thread, by far the commonest clone under churn, then
	 * costs two loads instead of two bpf_probe_read_kernel() calls. */
	if (child->pid != child->tgid)
		return 0;
	/* The child's cgroups are its parent's, unless clone3() put it in
	 * another (CLONE_INTO_CGROUP): a child cloned into a recorded cgroup is
	 * recorded, whoever cloned it. */
	cset = BPF_CORE_READ(child, cgroups);
	cgrp = BPF_CORE_READ(cset, dfl_cgrp);
	if (!cgroup_wanted() && !cgroup_tree_wanted(cgrp))
		return 0;

	id = BPF_CORE_READ(cgrp, kn, id);
	report_cgroup(cgrp, id, 0);
	cgrp1 = cgroup1_of(cset);
	if (cgrp1) {
		id1 = BPF_CORE_READ(cgrp1, kn, id);
		report_cgroup(cgrp1, id1, cgroup1_hierarchy);
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	e->hdr.type = LINEAGE_EV_FORK;
	e->hdr.size = sizeof(*e);
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	fill_proc(&e->parent, parent);
	e->child.tgid = BPF_CORE_READ(child, tgid);
	e->child._pad = 0;
	e->child.start_ns = BPF_CORE_READ(child, start_boottime);
	leader = BPF_CORE_READ(parent, group_leader);
	bpf_probe_read_kernel_str(e->parent_comm, sizeof(e->parent_comm), &leader->comm);
	e->cgroup_id = id;
	e->cgroup1_id = id1;
	e->nspid = ns_pid(child);
	e->_pad = 0;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct lineage_exec_event *e;
	struct task_struct *parent;
	struct uts_namespace *uts;
	struct cgroup *cgrp1;
	struct css_set *cset;
	struct mm_struct *mm;
	__u64 off, coff, foff, ilen, alen, cap, arg_start, arg_end;
	const char *interp;
	__u32 flags = 0;
	long n;

	if (!cgroup_wanted())
		return 0;
	/* The followed v1 hierarchy's cgroup is named by id; its record goes
	 * first. The v2 path travels in the exec record itself. */
	cset = BPF_CORE_READ(p, cgroups);
	cgrp1 = cgroup1_of(cset);
	if (cgrp1)
		report_cgroup(cgrp1, BPF_CORE_READ(cgrp1, kn, id), cgroup1_hierarchy);
	e = bpf_map_lookup_elem(&exec_scratch, &cpu);
	if (!e) {
		count_drop();
		return 0;
	}

	e->hdr.type = LINEAGE_EV_EXEC;
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	fill_proc(&e->proc, p);
	parent = BPF_CORE_READ(p, real_parent);
	fill_proc(&e->parent, parent);
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->old_tid = old_pid;
	e->uid = BPF_CORE_READ(p, cred, uid.val);
	e->gid = BPF_CORE_READ(p, cred, gid.val);
	e->euid = BPF_CORE_READ(p, cred, euid.val);
	e->flags = 0;
	e->_pad = 0;

	e->nspid = ns_pid(p);
	e->cgroup1_id = cgrp1 ? BPF_CORE_READ(cgrp1, kn, id) : 0;
	e->_pad3 = 0;

	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->parent_comm, sizeof(e->parent_comm),
				  &BPF_CORE_READ(parent, group_leader)->comm);
	uts = BPF_CORE_READ(p, nsproxy, uts_ns);
	e->nodename[0] = 0;
	bpf_probe_read_kernel_str(e->nodename, sizeof(e->nodename), &uts->name.nodename);
	/* Which UTS namespace: a pod's host name is its name only when read in
	 * a namespace other than the node's. */
	e->uts_ns = BPF_CORE_READ(uts, ns.inum);

	/* The path as the exec named it; comm is only its first 15 bytes. */
	off = 0;
	n = bpf_probe_read_kernel_str(e->data, LINEAGE_PATH_MAX, BPF_CORE_READ(bprm, filename));
	if (n > 0)
		off = n - 1;
	if (off >= LINEAGE_PATH_MAX - 1)
		e->flags |= LINEAGE_EXEC_BINARY_TRUNCATED;
	off &= LINEAGE_PATH_MAX - 1;
	e->binary_len = off;

	/* cgroup names, leaf first; user space reverses them into a path.
	 * The root's name is not sent: the path starts below it. */
	coff = put_cgroup_names(e->data + off, BPF_CORE_READ(cset, dfl_cgrp, kn), &flags,
				LINEAGE_EXEC_CGROUP_TRUNCATED);
	e->flags |= flags;
	e->cgroup_len = coff;

	/* The file really executed (for a script, its interpreter), then a
	 * script's interpreter as its #! line named it: binfmt_script (and
	 * binfmt_misc) point bprm->interp elsewhere than bprm->filename. */
	foff = fill_exec_file(&e->file, e->data + off + coff, bprm, p);
	ilen = 0;
	interp = BPF_CORE_READ(bprm, interp);
	if (interp != BPF_CORE_READ(bprm, filename)) {
		e->file.flags |= LINEAGE_FILE_SCRIPT;
		n = bpf_probe_read_kernel_str(e->data + off + coff + foff, LINEAGE_PATH_MAX,
					      interp);
		if (n > 0)
			ilen = n - 1;
		if (ilen >= LINEAGE_PATH_MAX - 1)
			e->file.flags |= LINEAGE_FILE_INTERP_TRUNCATED;
		ilen &= LINEAGE_PATH_MAX - 1;
	}
	e->file.interp_len = ilen;

	/* argv straight from the new image's stack, bounded twice: by the
	 * compile-time maximum and by the configured cap. */
	mm = BPF_CORE_READ(p, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	alen = arg_end > arg_start ? arg_end - arg_start : 0;
	cap = argv_cap;
	if (cap > LINEAGE_ARGV_MAX_CAP)
		cap = LINEAGE_ARGV_MAX_CAP;
	if (alen > cap) {
		alen = cap;
		e->flags |= LINEAGE_EXEC_ARGV_TRUNCATED;
	}
	if (alen > LINEAGE_ARGV_MAX_CAP)
		alen = LINEAGE_ARGV_MAX_CAP;
	if (alen > 0 && bpf_probe_read_user(e->data + off + coff + foff + ilen, alen,
					    (const void *)arg_start) != 0)
		alen = 0;
	e->argv_len = alen;

	e->hdr.size = sizeof(*e) + off + coff + foff + ilen + alen;
	if (bpf_ringbuf_output(&events, e, e->hdr.size & 0xffff, submit_flags()) != 0)
		count_drop();
	return 0;
}

/* Raw ctx rather than BPF_PROG: the second argument (group_dead) exists only
 * on kernels that have it, and must not be read elsewhere. */
SEC("tp_btf/sched_process_exit")
int handle_exit(__u64 *ctx)
{
	struct task_struct *p = (struct task_struct *)ctx[0];
	struct lineage_exit_event *e;

	/* A process exits once, when its last thread exits; earlier thread
	 * exits write nothing. Since 6.16 the tracepoint says so (group_dead,
	 * the result of the kernel's own atomic_dec_and_test). Before, read
	 * signal->live, which is zero only for the last thread -- but two
	 * threads exiting at once may both see zero, so prefer group_dead. */
	if (exit_has_group_dead) {
		if (!(bool)ctx[1])
			return 0;
	} else if (BPF_CORE_READ(p, signal, live.counter) != 0) {
		return 0;
	}
	if (!cgroup_wanted())
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	e->hdr.type = LINEAGE_EV_EXIT;
	e->hdr.size = sizeof(*e);
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	fill_proc(&e->proc, p);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->_pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), &BPF_CORE_READ(p, group_leader)->comm);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

/* A socket that starts listening, with the address and port it was bound
 * to. listen(2) sets LISTEN before it takes a port: a socket listening
 * without bind(2) first (an automatic port) is reported with port 0, and
 * one whose port is then refused is reported all the same. */
static __always_inline void report_listen(const struct sock *sk, __u16 family)
{
	struct lineage_listen_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return;
	}
	e->hdr.type = LINEAGE_EV_LISTEN;
	e->hdr.size = sizeof(*e);
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	fill_proc(&e->proc, bpf_get_current_task_btf());
	e->family = family;
	e->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->_pad = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (family == AF_INET)
		bpf_core_read(e->addr, 4, &sk->__sk_common.skc_rcv_saddr);
	else
		bpf_core_read(e->addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	bpf_ringbuf_submit(e, submit_flags());
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct lineage_connect_event *e;
	struct pending_connect *pc;
	__u64 key = (__u64)sk;
	__u16 family;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;

	if (newstate == TCP_LISTEN) {
		/* listen(2) runs in the listening process's context. A
		 * repeated listen(2) changes no state and sends nothing. */
		if (oldstate != TCP_LISTEN && cgroup_wanted())
			report_listen(sk, family);
		return 0;
	}

	if (newstate == TCP_SYN_SENT) {
		struct pending_connect fresh = {};

		/* connect(2) runs in the caller's context: current is the
		 * process that opens the connection. */
		if (!cgroup_wanted())
			return 0;
		fill_proc(&fresh.proc, bpf_get_current_task_btf());
		fresh.syn_time_ns = bpf_ktime_get_boot_ns();
		if (bpf_map_update_elem(&pending_connects, &key, &fresh, BPF_ANY))
			count_map_full();
		return 0;
	}
	if (oldstate != TCP_SYN_SENT)
		return 0;
	pc = bpf_map_lookup_elem(&pending_connects, &key);
	if (!pc)
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		bpf_map_delete_elem(&pending_connects, &key);
		return 0;
	}
	e->hdr.type = LINEAGE_EV_CONNECT;
	e->hdr.size = sizeof(*e);
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	e->proc = pc->proc;
	e->syn_time_ns = pc->syn_time_ns;
	e->family = family;
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->result = newstate == TCP_ESTABLISHED ? LINEAGE_CONNECT_OK : LINEAGE_CONNECT_FAILED;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	/* Explicit sizes: BPF_CORE_READ_INTO would copy sizeof(*dst), one byte. */
	if (family == AF_INET) {
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	bpf_map_delete_elem(&pending_connects, &key);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

/* A move between cgroups, for whole processes only, in cgroup v2 or the
 * followed v1 hierarchy. The tracepoints fire after the move succeeded,
 * once per move, with the group leader and threadgroup set when a whole
 * process moved (cgroup.procs); the kernel formats the destination's path
 * for them. */
static __always_inline int on_move(struct cgroup *dst, const char *path, struct task_struct *task,
				   bool threadgroup, __u16 how)
{
	struct lineage_move_event *e;
	__u32 hierarchy = BPF_CORE_READ(dst, root, hierarchy_id);
	long n;

	if (hierarchy != 0 && hierarchy != cgroup1_hierarchy)
		return 0;
	/* One thread moved (cgroup.threads, v1's tasks) is not the process
	 * moving, unless it is the process's only thread. */
	if (!threadgroup && (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid) ||
			     BPF_CORE_READ(task, signal, nr_threads) != 1))
		return 0;
	/* With a filter: moves into the recorded cgroups (v2: where the task
	 * is now). */
	if (filter_cgroups && !cgroup_tree_wanted(BPF_CORE_READ(task, cgroups, dfl_cgrp)))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	e->hdr.type = LINEAGE_EV_MOVE;
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	fill_proc(&e->proc, task);
	fill_proc(&e->mover, bpf_get_current_task_btf());
	e->cgroup_id = BPF_CORE_READ(dst, kn, id);
	e->hierarchy = hierarchy;
	e->nspid = ns_pid(task);
	e->flags = how;
	e->_pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm),
				  &BPF_CORE_READ(task, group_leader)->comm);
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	if (n < 1)
		n = 1;
	if (n > LINEAGE_MOVE_PATH_MAX)
		n = LINEAGE_MOVE_PATH_MAX;
	e->path_len = n - 1;
	e->hdr.size = sizeof(*e) - sizeof(e->path) + (n - 1);
	/* The record names the cgroup with its path: no cgroup record needed. */
	note_reported(e->cgroup_id, hierarchy);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(handle_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	return on_move(dst, path, task, threadgroup, 0);
}

SEC("tp_btf/cgroup_transfer_tasks")
int BPF_PROG(handle_transfer, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	return on_move(dst, path, task, threadgroup, LINEAGE_MOVE_TRANSFER);
}

/* ---------------------------------------------------------------- DNS */

/*
 * DNS messages (UDP and TCP, port 53) with the process whose socket sent or
 * received them, for any resolver (glibc, musl, a program that builds its
 * own packets): the cgroup_skb hooks on the cgroup v2 root see every
 * socket's packets, TCP payload included (bpf_skb_load_bytes reads paged
 * data, which the device tracepoints cannot). Measured and compared with
 * the other hooks this kernel allows in bench/results/dns-hooks.md.
 *
 * The process: in a softirq or a hard irq, current is whatever task was
 * interrupted (a peer, an unrelated process), so an egress in task context
 * stores its sender on the socket (dns_owners), and every message is
 * reported with the socket's stored owner. An answer arrives in a softirq:
 * its process is the owner of the socket it is delivered to, which
 * cgroup_skb/ingress knows (it runs after the socket lookup).
 */

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PF_KTHREAD 0x00200000
#define SOCK_RAW 3
#define DNS_PORT 53

/* The process that sent on a socket in task context. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lineage_proc);
} dns_owners SEC(".maps");

/* Whether this CPU serves a softirq or a hard irq. preempt_count would say
 * it, but without CONFIG_KALLSYMS_ALL its per-CPU symbol cannot be loaded,
 * so the irq tracepoints keep these flags. Flags, not a depth: softirqs and
 * hard irqs do not nest (outside PREEMPT_RT), and a flag that missed an
 * exit (attached between an entry and its exit) is right again at the next
 * entry or exit, where a counter would stay wrong. */
struct irq_flags {
	__u8 soft, hard;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_flags);
} irq_state SEC(".maps");

static __always_inline struct irq_flags *irq_flags(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&irq_state, &zero);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(dns_softirq_entry, unsigned int vec)
{
	struct irq_flags *f = irq_flags();

	if (f)
		f->soft = 1;
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(dns_softirq_exit, unsigned int vec)
{
	struct irq_flags *f = irq_flags();

	if (f)
		f->soft = 0;
	return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(dns_hardirq_entry, int irq, struct irqaction *action)
{
	struct irq_flags *f = irq_flags();

	if (f)
		f->hard = 1;
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(dns_hardirq_exit, int irq, struct irqaction *action, int ret)
{
	struct irq_flags *f = irq_flags();

	if (f)
		f->hard = 0;
	return 0;
}

/* current as the sender: a user task, in task context. */
static __always_inline bool sender_is_current(struct lineage_proc *out)
{
	struct irq_flags *f = irq_flags();
	struct task_struct *t;

	if (!f || f->soft || f->hard)
		return false;
	t = bpf_get_current_task_btf();
	if (t->flags & PF_KTHREAD)
		return false;
	out->tgid = t->tgid;
	out->_pad = 0;
	out->start_ns = t->group_leader->start_boottime;
	return true;
}

/* The socket's cgroup v2, or one of its ancestors, is in the allow list. */
static __always_inline bool skb_cgroup_wanted(struct __sk_buff *skb)
{
	if (!filter_cgroups)
		return true;
	for (int level = 0; level < LINEAGE_CGROUP_DEPTH_MAX + 4; level++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, level);

		if (id == 0)
			break;
		if (bpf_map_lookup_elem(&allowed_cgroups, &id))
			return true;
	}
	return false;
}

/* What the headers of a DNS packet say. */
struct dns_head {
	__u16 family, sport, dport, flags;
	__u32 length, payload_off;
	__u8 saddr[16], daddr[16];
};

/* The headers of a DNS packet; false for any other packet (the common
 * case, decided before anything is reserved in the ring). IPv6 extension
 * headers are not followed, and of a fragmented IPv4 datagram only the
 * first fragment is read. */
static __always_inline bool dns_packet(struct __sk_buff *skb, struct dns_head *h)
{
	struct iphdr ip;
	__u8 proto;
	__u32 l4, l4_len;

	/* Every packet here is IPv4 or IPv6, at least as long as an IPv4
	 * header: one load says which, and is the header of the one. */
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) != 0)
		return false;
	if (ip.version == 4) {
		if (ip.frag_off & bpf_htons(0x1fff))
			return false;
		h->family = AF_INET;
		proto = ip.protocol;
		l4 = ip.ihl * 4;
		l4_len = bpf_ntohs(ip.tot_len) - l4;
		__builtin_memcpy(h->saddr, &ip.saddr, 4);
		__builtin_memcpy(h->daddr, &ip.daddr, 4);
	} else if (ip.version == 6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) != 0)
			return false;
		h->family = AF_INET6;
		proto = ip6.nexthdr;
		l4 = sizeof(ip6);
		l4_len = bpf_ntohs(ip6.payload_len);
		__builtin_memcpy(h->saddr, &ip6.saddr, 16);
		__builtin_memcpy(h->daddr, &ip6.daddr, 16);
	} else {
		return false;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr uh;

		if (bpf_skb_load_bytes(skb, l4, &uh, sizeof(uh)) != 0)
			return false;
		h->sport = bpf_ntohs(uh.source);
		h->dport = bpf_ntohs(uh.dest);
		h->payload_off = l4 + sizeof(uh);
		h->length = bpf_ntohs(uh.len) - sizeof(uh);
		h->flags = 0;
	} else if (proto == IPPROTO_TCP) {
		struct tcphdr th;

		if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)) != 0)
			return false;
		h->sport = bpf_ntohs(th.source);
		h->dport = bpf_ntohs(th.dest);
		h->payload_off = l4 + th.doff * 4;
		h->length = l4_len - th.doff * 4;
		h->flags = LINEAGE_DNS_TCP;
	} else {
		return false;
	}
	/* DNS, and of TCP only the segments that carry bytes. */
	return (h->sport == DNS_PORT || h->dport == DNS_PORT) && h->length > 0 &&
	       h->length < 0x10000;
}

static __always_inline int on_dns_skb(struct __sk_buff *skb, bool egress)
{
	struct dns_head h = {};
	struct lineage_dns_event *e;
	struct lineage_proc sender;
	struct lineage_proc *owner;
	struct bpf_sock *sk;
	__u64 cap;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return 1;
	if (!dns_packet(skb, &h))
		return 1;
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	/* A raw socket gets a copy of every datagram: the packet is the socket's
	 * it is delivered to as well, which reports it. */
	if (!egress && sk && sk->type == SOCK_RAW)
		return 1;
	if (!skb_cgroup_wanted(skb))
		return 1;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 1;
	}
	e->hdr.type = LINEAGE_EV_DNS;
	e->hdr.time_ns = bpf_ktime_get_boot_ns();
	e->family = h.family;
	e->sport = h.sport;
	e->dport = h.dport;
	e->flags = h.flags | (egress ? LINEAGE_DNS_SENT : 0);
	e->length = h.length;
	e->_pad = 0;
	__builtin_memcpy(e->saddr, h.saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, h.daddr, sizeof(e->daddr));
	__builtin_memset(&e->proc, 0, sizeof(e->proc));
	if (sk) {
		if (egress && sender_is_current(&sender)) {
			owner = bpf_sk_storage_get(&dns_owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (owner)
				*owner = sender;
		}
		owner = bpf_sk_storage_get(&dns_owners, sk, 0, 0);
		if (owner) {
			e->proc = *owner;
			e->flags |= LINEAGE_DNS_OWNER;
		}
	}
	cap = h.length;
	/* Keep the clamp on the register the helper gets (verifier). */
	asm volatile("" : "+r"(cap));
	if (cap > LINEAGE_DNS_CAP)
		cap = LINEAGE_DNS_CAP;
	e->cap_len = 0;
	if (cap > 0 && bpf_skb_load_bytes(skb, h.payload_off, e->payload, cap) == 0)
		e->cap_len = cap;
	e->hdr.size = sizeof(*e) - sizeof(e->payload) + e->cap_len;
	bpf_ringbuf_submit(e, submit_flags());
	return 1; /* never drop a packet */
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb) { return on_dns_skb(skb, true); }

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb) { return on_dns_skb(skb, false); }

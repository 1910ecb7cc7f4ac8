-- lineage journal schema, version 11.
--
-- Version history: 1, the first; 2 adds the `prunes` table (retention,
-- `record --max-size/--retain`); 3 adds `cgroups` and `memberships` (whole
-- pods: processes that enter a pod's cgroup by fork or by a move, not only
-- by exec); 4 adds `carried` (retention keeps the identity of processes
-- still running) and the indexes exit_by_life, exec_by_base and
-- snapshot_by_base (bare time windows and --binary without a full read);
-- 5 adds `unexited` (the processes a boot's rows name and no exit row
-- ends, restated now and then, so that a bare time window need not read a
-- whole boot to find them) and the index memberships_moves_by_pod (a pod's
-- window without reading its rows after the window); 6 replaces
-- exec_by_base with exec_by_binary, an index on the executed path itself
-- (--binary and --new look up the paths whose base name matches, see
-- below; version 4's expression cost the writer a third of its ingest
-- rate, bench/results/writer.txt). A version 6 writer drops exec_by_base
-- from the journals it upgrades. 7 adds `containers` (a container's name,
-- image and pod as the runtime's config.json and the kubelet's files
-- named them) and a pods row source 'runtime'. 8 adds `exec_files` (the
-- file each exec really ran, its identity and flags, and the credentials
-- before and after), `file_hashes` (the SHA-256 of executed files) and
-- `listens` (TCP sockets that entered LISTEN). 9 adds the `*_by_start`
-- indexes (a process's rows by its start time: a time window reads the
-- rows of the processes started in it as one range, not one look-up per
-- process and table). 10 adds `dns` (the DNS messages a process sent and
-- received, as captured, parsed by readers). 11 adds `dns_names` (the names
-- each process looked up, an index for `--dns GLOB`).
-- `lineage record` upgrades an older journal it appends to by
-- creating what it lacks, in one transaction; readers read every version.
--
-- Adding to the schema: a new version adds tables and indexes, never a
-- column to an existing table (a column would change the hash chain's
-- encoding of the rows already written, and the CREATE TABLE text that
-- `verify` compares). A new table gets the next tag of the hash chain
-- (schema/hash-chain.md, "Tables added later") and its columns in
-- lib/journal/hashchain.h; it is created below the version's heading, with
-- its indexes at the end of the file under the same heading, and
-- table_in_version() (lib/journal/journal_format.h) says from which version
-- a journal has it.
--
-- This file is the only definition of the journal. It is compiled into the
-- binary and applied as-is when `lineage record` creates a journal.
--
-- Identity: a process is (runs.boot_id, tgid, start_ns). start_ns is the
-- group leader's task->start_boottime in nanoseconds since boot; /proc
-- reports the same clock in clock ticks, so two start times name the same
-- process when they fall into the same tick (runs.clk_tck per second).
--
-- Times: every *_ns column without "wall" in its name is boot-time
-- nanoseconds (CLOCK_BOOTTIME) of the run's boot; clock_samples turns them
-- into wall-clock time.
--
-- Bytes the kernel copied from a process (argv, paths, comm, hostnames,
-- cgroup names) are BLOBs: they are attacker-controlled and need not be
-- valid UTF-8.
--
-- The journal is append-only: rows are inserted, never updated. They are
-- deleted only by retention, oldest batches first, and each such prune is
-- itself a row of `prunes` in the chain.
-- Every row of every table names the batch (one SQLite transaction) it was
-- committed in, and the batches form a SHA-256 hash chain over all of them
-- (schema/hash-chain.md): `lineage verify` finds rows edited, added, deleted
-- or moved after the commit. The `batch` column of a row is never part of
-- its own encoding: it is the batch_id of the header it is hashed under.

PRAGMA application_id = 1279872581;  -- 0x4C494E45, "LINE": a lineage journal
PRAGMA user_version = 11;            -- bump with every schema change

-- One row per start of `lineage record`.
CREATE TABLE runs (
    run_id          INTEGER PRIMARY KEY,  -- 1, 2, ... in order of start
    batch           INTEGER NOT NULL,     -- batches.batch_id: the run's first batch
    boot_id         TEXT NOT NULL,        -- /proc/sys/kernel/random/boot_id
    node            TEXT NOT NULL,        -- host name of the node (uname)
    started_ns      INTEGER NOT NULL,     -- boot-time ns at start
    started_wall_ns INTEGER NOT NULL,     -- wall-clock ns since the epoch at start
    version         TEXT NOT NULL,        -- lineage version that recorded
    kernel          TEXT NOT NULL,        -- uname release and version
    hooks           TEXT NOT NULL,        -- attached hooks, comma separated
    filters         TEXT NOT NULL,        -- filters in force, JSON object text
    argv_cap        INTEGER NOT NULL,     -- bytes of argv kept per exec
    clk_tck         INTEGER NOT NULL,     -- clock ticks per second of /proc
    recorder_pid    INTEGER NOT NULL      -- PID of the recorder itself
);

-- One row per clean stop of a run. A run without one was killed or crashed.
CREATE TABLE run_stops (
    batch           INTEGER NOT NULL,     -- batches.batch_id: the run's last batch
    run_id          INTEGER NOT NULL REFERENCES runs(run_id),
    stopped_ns      INTEGER NOT NULL,     -- boot-time ns at stop
    stopped_wall_ns INTEGER NOT NULL,     -- wall-clock ns at stop
    reason          TEXT NOT NULL,        -- 'signal', 'duration', 'error'
    events          INTEGER NOT NULL,     -- events stored by this run
    lost            INTEGER NOT NULL      -- events counted as lost by this run
);

-- Boot-time to wall-clock mapping, sampled at start and periodically:
-- wall_ns = boot_ns + (wall_ns - boot_ns) of the nearest sample.
CREATE TABLE clock_samples (
    batch   INTEGER NOT NULL,             -- batches.batch_id
    run_id  INTEGER NOT NULL REFERENCES runs(run_id),
    boot_ns INTEGER NOT NULL,             -- CLOCK_BOOTTIME ns
    wall_ns INTEGER NOT NULL              -- CLOCK_REALTIME ns, read right after
);

-- One row per committed transaction; every other row points at one. The
-- hash chain, link by link (schema/hash-chain.md has the exact encoding):
--   hash = SHA-256("lineage-chain-v1" || prev_hash || batch_id || run_id ||
--                  committed_ns || row_count || the batch's rows, table by
--                  table in a fixed order, each table's rows by rowid)
CREATE TABLE batches (
    batch_id     INTEGER PRIMARY KEY,     -- 1, 2, ... in commit order
    run_id       INTEGER NOT NULL REFERENCES runs(run_id),
    committed_ns INTEGER NOT NULL,        -- boot-time ns of the commit
    row_count    INTEGER NOT NULL,        -- event rows in the batch (snapshot, pods, fork,
                                          --   exec, exit, connect, loss, memberships, carried; not
                                          --   runs, run_stops, clock_samples, prunes, cgroups)
    row_marks    BLOB NOT NULL,           -- per table with rows: tag, row count, and the first
                                          --   4 bytes of each row's digest: locates an edit
    prev_hash    BLOB NOT NULL,           -- hash of the previous batch; 32 zero bytes for batch 1
    hash         BLOB NOT NULL            -- SHA-256 link of this batch (32 bytes)
);

-- Processes already running when the run started, read from /proc.
CREATE TABLE snapshot (
    batch       INTEGER NOT NULL,         -- batches.batch_id
    time_ns     INTEGER NOT NULL,         -- boot-time ns when /proc was read
    tgid        INTEGER NOT NULL,         -- process id (host namespace)
    nspid       INTEGER NOT NULL,         -- pid inside its own pid namespace
    ppid        INTEGER NOT NULL,         -- parent pid at snapshot time (may be a reaper)
    start_ns    INTEGER NOT NULL,         -- start time, tick precision, as ns since boot
    uid         INTEGER NOT NULL,         -- real uid
    gid         INTEGER NOT NULL,         -- real gid
    euid        INTEGER NOT NULL,         -- effective uid
    comm        BLOB NOT NULL,            -- /proc/PID/comm (15 bytes at most)
    exe         BLOB NOT NULL,            -- readlink /proc/PID/exe, empty if unreadable
    argv        BLOB NOT NULL,            -- /proc/PID/cmdline, NUL separated
    cgroup_path BLOB NOT NULL,            -- cgroup path (v2, or the v1 one that names a pod)
    pod_uid     TEXT NOT NULL,            -- pod UID derived from cgroup_path, '' outside pods
    nodename    BLOB NOT NULL             -- UTS host name of the process, empty if unknown
);

-- A process created a process. Thread creation is not recorded.
CREATE TABLE fork (
    batch           INTEGER NOT NULL,
    time_ns         INTEGER NOT NULL,     -- boot-time ns of the fork
    parent_tgid     INTEGER NOT NULL,     -- the process that forked (never a later reaper)
    parent_start_ns INTEGER NOT NULL,
    child_tgid      INTEGER NOT NULL,
    child_start_ns  INTEGER NOT NULL,
    parent_comm     BLOB NOT NULL         -- comm of the forking process
);

-- A process replaced its image. One PID can have several, in time order.
CREATE TABLE exec (
    batch           INTEGER NOT NULL,
    time_ns         INTEGER NOT NULL,     -- boot-time ns of the exec
    tgid            INTEGER NOT NULL,
    start_ns        INTEGER NOT NULL,     -- process start (identity), not the exec time
    nspid           INTEGER NOT NULL,     -- pid inside the process's pid namespace
    old_tid         INTEGER NOT NULL,     -- thread that called execve
    uid             INTEGER NOT NULL,     -- real uid after the exec
    gid             INTEGER NOT NULL,     -- real gid after the exec
    euid            INTEGER NOT NULL,     -- effective uid after the exec (setuid shows here)
    parent_tgid     INTEGER NOT NULL,     -- real parent at exec time: a fallback when
    parent_start_ns INTEGER NOT NULL,     --   the fork was not recorded
    parent_comm     BLOB NOT NULL,
    comm            BLOB NOT NULL,        -- comm after the exec (15 bytes at most)
    nodename        BLOB NOT NULL,        -- UTS host name (a pod's name, in a pod)
    cgroup_id       INTEGER NOT NULL,     -- cgroup v2 id
    cgroup_path     BLOB NOT NULL,        -- cgroup v2 path below the root
    pod_uid         TEXT NOT NULL,        -- pod UID derived from cgroup_path ('' outside pods); from
                                          --   version 3, from the cgroup v1 path when v2's names none
    binary          BLOB NOT NULL,        -- path given to execve
    argv            BLOB NOT NULL,        -- arguments, NUL separated, up to runs.argv_cap bytes
    truncated       INTEGER NOT NULL      -- bit 1: argv, 2: binary, 4: cgroup path cut short
);

-- A process ended: its last thread exited.
CREATE TABLE exit (
    batch       INTEGER NOT NULL,
    time_ns     INTEGER NOT NULL,         -- boot-time ns of the exit
    tgid        INTEGER NOT NULL,
    start_ns    INTEGER NOT NULL,
    code        INTEGER NOT NULL,         -- exit code (0-255), 0 when killed
    signal      INTEGER NOT NULL,         -- terminating signal, 0 when it exited
    core_dumped INTEGER NOT NULL,         -- 1 when a core was dumped
    comm        BLOB NOT NULL
);

-- An active TCP open (connect), IPv4 or IPv6.
CREATE TABLE connect (
    batch      INTEGER NOT NULL,
    time_ns    INTEGER NOT NULL,          -- boot-time ns when the SYN was sent
    outcome_ns INTEGER NOT NULL,          -- boot-time ns when it was established or failed
    tgid       INTEGER NOT NULL,
    start_ns   INTEGER NOT NULL,
    family     INTEGER NOT NULL,          -- 4 or 6
    saddr      TEXT NOT NULL,             -- source address, printable
    sport      INTEGER NOT NULL,
    daddr      TEXT NOT NULL,             -- destination address, printable
    dport      INTEGER NOT NULL,
    result     TEXT NOT NULL              -- 'established' or 'failed'; 'unknown' in a run that
                                          --   lineage import wrote from a source that did not say
);

-- Events the recorder knows it did not store, over a time range.
CREATE TABLE loss (
    batch   INTEGER NOT NULL,
    from_ns INTEGER NOT NULL,             -- boot-time ns: no loss before this
    to_ns   INTEGER NOT NULL,             -- boot-time ns: no loss after this
    count   INTEGER NOT NULL,             -- events lost
    reason  TEXT NOT NULL                 -- 'ringbuf_full', 'journal_write', 'decode', 'map_full'
);

-- Pod names as the node knew them at record time (kubelet log directories,
-- the container runtime's annotations, UTS host names), so a copied journal
-- needs nothing from the node. Written when the recorder first meets a pod
-- (by exec, fork, move or the /proc snapshot), and again when a later exec
-- shows another host name. The name a reader shows: the log directory's,
-- else the runtime's (the first stored), else the latest host name, else
-- the UID. From version 3 a host name is written only when it was read in a UTS
-- namespace other than the recorder's own (the node's).
CREATE TABLE pods (
    batch     INTEGER NOT NULL,
    pod_uid   TEXT NOT NULL,              -- dashed UID from the cgroup path
    name      TEXT NOT NULL,
    namespace TEXT NOT NULL,              -- empty when only the host name was known
    source    TEXT NOT NULL               -- 'log-dir', 'hostname', or (version 7) 'runtime':
                                          --   the container runtime's annotations (containers)
);

-- Retention (`record --max-size/--retain`) deleted the oldest batches: every
-- row of snapshot, fork, exec, exit, connect, loss, memberships and carried in batches
-- 1 to through_batch, and those batches rows. The run metadata (runs,
-- run_stops, clock_samples, pods, prunes, cgroups) is kept; kept_digest
-- commits to what of it sits in the deleted batches. The chain goes on from
-- batch through_batch + 1, whose prev_hash is through_hash
-- (schema/hash-chain.md, "Pruned journals"). Prunes are cumulative: the one
-- with the highest through_batch says where the journal now starts.
CREATE TABLE prunes (
    batch           INTEGER NOT NULL,     -- batches.batch_id the prune was committed in
    through_batch   INTEGER NOT NULL,     -- batches 1 .. through_batch are gone
    through_hash    BLOB NOT NULL,        -- hash of batch through_batch (32 bytes)
    through_wall_ns INTEGER NOT NULL,     -- wall-clock ns when batch through_batch was committed
    rows            INTEGER NOT NULL,     -- event rows this prune deleted
    kept_digest     BLOB NOT NULL,        -- SHA-256 of the kept rows of batches <= through_batch
    reason          TEXT NOT NULL         -- 'max-size' or 'retain'
);

-- ---------------------------------------------------------------- version 3

-- A cgroup that a row of memberships names, once per run: fork and move
-- rows name cgroups by id, not by path. The probes follow cgroup v2 and one
-- cgroup v1 hierarchy (memory, cpu or pids, whichever is on v1), since on a
-- v1 or hybrid node a pod's path may be there alone.
CREATE TABLE cgroups (
    batch        INTEGER NOT NULL,        -- batches.batch_id
    hierarchy    INTEGER NOT NULL,        -- 0: cgroup v2; else the cgroup v1 hierarchy id
                                          --   (the first field of /proc/PID/cgroup)
    cgroup_id    INTEGER NOT NULL,        -- the kernel's id of the cgroup (its directory's inode
                                          --   number), unique within a boot and hierarchy
    path         BLOB NOT NULL,           -- path below the hierarchy's root
    pod_uid      TEXT NOT NULL,           -- pod UID derived from path, '' outside pods
    container_id TEXT NOT NULL            -- container ID derived from path, '' when none
);

-- A process came to be in a cgroup: what puts a process in a pod whatever
-- brought it there, and every move of a whole process. Rows are written for
-- forks and execs in a pod's cgroup, for every move (in cgroup v2 and the
-- followed v1 hierarchy), and, per pod, an 'alive' row for each process
-- still in it whenever the pod has had about 256 rows since the last such
-- set: a query for a time window then reads a pod's rows from the last set
-- before the window, not from the start of the year.
CREATE TABLE memberships (
    batch       INTEGER NOT NULL,         -- batches.batch_id
    time_ns     INTEGER NOT NULL,         -- boot-time ns of the fork, exec, move or restatement
    tgid        INTEGER NOT NULL,
    start_ns    INTEGER NOT NULL,         -- process start (identity)
    nspid       INTEGER NOT NULL,         -- pid inside its pid namespace, 0 when not known
    how         TEXT NOT NULL,            -- 'fork', 'exec', 'move' or 'alive'
    hierarchy   INTEGER NOT NULL,         -- cgroups.hierarchy of the cgroup
    cgroup_id   INTEGER NOT NULL,         -- cgroups.cgroup_id: where it is from time_ns on
    pod_uid     TEXT NOT NULL,            -- that cgroup's pod, '' outside pods
    uts_ns      INTEGER NOT NULL,         -- exec: inode of its UTS namespace; else 0
    by_tgid     INTEGER NOT NULL,         -- fork: the forker; move: the mover; else 0
    by_start_ns INTEGER NOT NULL,
    comm        BLOB NOT NULL             -- comm of the process then
);

-- ---------------------------------------------------------------- version 4

-- A process still running when retention deleted the rows that identify it
-- (its exec, fork or snapshot row, or an earlier carried row): the recorder
-- writes its identity again, into the prune's batch, so that the trees of
-- its children still reach it. One row restates one row of the pruned
-- batches, the newest that described the process's image, with its parent
-- from its fork row when that was recorded. Retention deletes carried rows
-- like the others, and carries a process that still runs forward again.
CREATE TABLE carried (
    batch           INTEGER NOT NULL,     -- batches.batch_id: the prune's batch
    time_ns         INTEGER NOT NULL,     -- boot-time ns of the row it restates (exec, fork,
                                          --   or when /proc was read)
    tgid            INTEGER NOT NULL,
    start_ns        INTEGER NOT NULL,     -- process start (identity)
    nspid           INTEGER NOT NULL,     -- pid inside its pid namespace, 0 when not known
    uid             INTEGER NOT NULL,     -- real uid of the image
    gid             INTEGER NOT NULL,
    euid            INTEGER NOT NULL,
    parent_tgid     INTEGER NOT NULL,     -- the parent: the forker, else the exec's real parent,
    parent_start_ns INTEGER NOT NULL,     --   else the snapshot's ppid; 0 when not known
    parent_source   TEXT NOT NULL,        -- which: 'fork', 'exec' or 'snapshot'; '' when not known
    comm            BLOB NOT NULL,
    binary          BLOB NOT NULL,        -- the exec's binary or /proc's exe, empty for a fork
    argv            BLOB NOT NULL,        -- NUL separated, empty for a fork
    cgroup_path     BLOB NOT NULL,
    pod_uid         TEXT NOT NULL,        -- '' outside pods
    nodename        BLOB NOT NULL,
    source          TEXT NOT NULL,        -- the kind of row it restates: 'exec', 'fork' or
                                          --   'snapshot'
    from_batch      INTEGER NOT NULL      -- the batch that row was in (now pruned)
);

-- ---------------------------------------------------------------- version 5

-- A restatement, by the journal writer, of every process that the rows of
-- its boot have named so far (snapshot, fork child, exec, connect, or a
-- membership other than 'alive') and that no exit row has ended: the
-- processes that a reader takes to live on to the end of the journal. A
-- bare time window must find those, and without a restatement only a pass
-- over every row of the boot can tell them. A set is one header row
-- (tgid 0) followed by its members, all in one batch, after every other row
-- of that batch: it accounts for the rows of the boot's batches from the
-- header's from_batch through its own batch. A reader takes the boot's last
-- set, checks each member against the exit rows (a set may name a process
-- that exited later, or one named again after its exit), and reads only the
-- rows after the set's batch, and those before from_batch (an older
-- writer's rows of the same boot, which the set does not cover). The writer
-- restates every few thousand rows and at the end of a run; the rows are
-- not events (they do not count in batches.row_count) and are never
-- exported: they only say again what the other rows say.
CREATE TABLE unexited (
    batch       INTEGER NOT NULL,         -- batches.batch_id
    tgid        INTEGER NOT NULL,         -- 0: the set's header row
    start_ns    INTEGER NOT NULL,         -- process start (identity), as the row that named it
                                          --   says it (a snapshot's to the clock tick); header: 0
    from_batch  INTEGER NOT NULL          -- header: the first batch whose rows the set
                                          --   accounts for; members: 0
);

-- ---------------------------------------------------------------- version 7

-- What a container's runtime and the kubelet wrote about it on the node,
-- read by the recorder once per container and source: the OCI config.json
-- of the bundle a runtime was exec'd with (`runc create|run --bundle DIR`),
-- the runtime's own copy of it for a container that was already running
-- (containerd's task directory, CRI-O's container state), or the kubelet's
-- /var/log/containers link. Kept like the pods rows (retention keeps them),
-- so that a copied journal names its containers years later. Every string
-- came from a file that whoever runs the runtime writes: readers escape
-- them. A file that could not be read or parsed is a row too, with its
-- problem and nothing from it: the analyst learns what was tried. When two
-- sources disagree, both rows stay; readers show the annotations first.
CREATE TABLE containers (
    batch         INTEGER NOT NULL,       -- batches.batch_id
    time_ns       INTEGER NOT NULL,       -- boot-time ns when it was read
    container_id  TEXT NOT NULL,          -- lower-case hex, as a cgroup path names it (cgroups.container_id)
    pod_uid       TEXT NOT NULL,          -- dashed pod UID, '' when the source names none
    pod_name      TEXT NOT NULL,          -- '' when the source names none
    pod_namespace TEXT NOT NULL,
    name          TEXT NOT NULL,          -- the container's name, '' when not named
    image         TEXT NOT NULL,          -- image reference, '' when not named
    type          TEXT NOT NULL,          -- 'container', 'sandbox' (a pod's pause container),
                                          --   another value as written, or ''
    source        TEXT NOT NULL,          -- 'bundle', 'containerd-task', 'crio-state' or 'kubelet-log'
    path          BLOB NOT NULL,          -- the file read, as the node named it
    problem       TEXT NOT NULL           -- '' when read; else why nothing came from it
);

-- ---------------------------------------------------------------- version 8

-- The file an exec really ran, one row per exec row the probe wrote (same
-- batch, same time_ns, tgid and start_ns): the path given to execve
-- (exec.binary) is often not it (/proc/self/exe, /dev/fd/N, a memfd, a
-- script's interpreter). The kernel resolved it from bprm->file by a
-- bounded walk of dentries and mounts, up to the process's root (a
-- container's path is as the container sees it). Identity and mode are the
-- inode's at exec; credentials are the caller's (those the file was opened
-- with) and the process's after the exec, so a setuid or file-capability
-- exec shows as a change. An exec row without one (an older journal, an
-- import) says nothing of its file.
CREATE TABLE exec_files (
    batch           INTEGER NOT NULL,
    time_ns         INTEGER NOT NULL,     -- exec.time_ns of its exec row
    tgid            INTEGER NOT NULL,
    start_ns        INTEGER NOT NULL,
    path            BLOB NOT NULL,        -- the executed file, e.g. '/bin/busybox', 'memfd:x (deleted)'
    dev             INTEGER NOT NULL,     -- st_dev encoding (makedev(major, minor))
    ino             INTEGER NOT NULL,
    nlink           INTEGER NOT NULL,     -- 0: deleted (or a memfd) at exec
    size            INTEGER NOT NULL,     -- bytes
    mode            INTEGER NOT NULL,     -- st_mode (type, permissions, setuid 04000, setgid 02000)
    mtime_ns        INTEGER NOT NULL,     -- ns since the epoch
    flags           INTEGER NOT NULL,     -- 1 memfd, 2 deleted, 4 upper_layer, 8 upper_layer is
                                          --   known (else 'unknown'), 16 path cut short, 32 script,
                                          --   64 the kernel marked it AT_SECURE, 128 interpreter
                                          --   cut short, 256 on overlayfs
    interpreter     BLOB NOT NULL,        -- a script's interpreter as its #! line named it, '' if none
    before_uid      INTEGER NOT NULL,     -- the caller's credentials
    before_gid      INTEGER NOT NULL,
    before_euid     INTEGER NOT NULL,
    before_egid     INTEGER NOT NULL,
    before_cap_prm  INTEGER NOT NULL,     -- permitted capabilities, a 64-bit mask
    before_cap_eff  INTEGER NOT NULL,     -- effective capabilities
    uid             INTEGER NOT NULL,     -- the process's credentials after the exec
    gid             INTEGER NOT NULL,
    euid            INTEGER NOT NULL,
    egid            INTEGER NOT NULL,
    cap_prm         INTEGER NOT NULL,
    cap_eff         INTEGER NOT NULL
);

-- The SHA-256 of an executed file's content, computed by the recorder in
-- user space (through /proc/PID/exe while the process lives, so a memfd or
-- a deleted file can be hashed too), once per (dev, ino, size, mtime_ns),
-- and written once per such file and path (exec_files.path), so that a
-- hash finds every path the file ran at. Kept when pruned, like pods: an
-- exec of a later batch may name a file hashed in an earlier one. A file
-- that could not be hashed is a row too, with its problem and no hash:
-- 'gone' (the process and the file were gone), 'too_large', 'not_regular',
-- 'changed' (it changed while read), 'rate_limited', 'read_error',
-- 'other_file' (the process's file was no longer the one executed).
CREATE TABLE file_hashes (
    batch     INTEGER NOT NULL,
    time_ns   INTEGER NOT NULL,           -- boot-time ns when hashed or given up
    dev       INTEGER NOT NULL,           -- exec_files' identity of the file
    ino       INTEGER NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    path      BLOB NOT NULL,              -- exec_files.path of an exec of it
    sha256    TEXT NOT NULL,              -- 64 lower-case hex digits, '' when unavailable
    problem   TEXT NOT NULL               -- '' when hashed; else why not (above)
);

-- A TCP socket entered LISTEN (a server, a bind shell): listen(2) runs in
-- the listening process's context, so the process is exact.
CREATE TABLE listens (
    batch     INTEGER NOT NULL,
    time_ns   INTEGER NOT NULL,           -- boot-time ns of listen(2)
    tgid      INTEGER NOT NULL,
    start_ns  INTEGER NOT NULL,
    family    INTEGER NOT NULL,           -- 4 or 6
    addr      TEXT NOT NULL,              -- bound address, printable ('0.0.0.0', '::')
    port      INTEGER NOT NULL
);

-- ---------------------------------------------------------------- version 10

-- A DNS message (UDP or TCP, port 53) that a process's socket sent or
-- received, as the kernel's packet hooks saw it. The bytes are kept as
-- captured, not parsed: any program can build its own packets, so they are
-- the attacker's, and readers parse them (lib/names/dns.h) with whatever
-- the parser knows when they read. A query and its answer are two rows; the
-- answer is the one received by the socket that sent the query (same
-- process, ports and addresses swapped, same DNS id).
CREATE TABLE dns (
    batch      INTEGER NOT NULL,          -- batches.batch_id
    time_ns    INTEGER NOT NULL,          -- boot-time ns the packet was seen
    tgid       INTEGER NOT NULL,          -- the process whose socket sent or received it;
    start_ns   INTEGER NOT NULL,          --   0 and 0 when the kernel could not tell
    direction  TEXT NOT NULL,             -- 'sent' or 'received'
    transport  TEXT NOT NULL,             -- 'udp' or 'tcp'
    family     INTEGER NOT NULL,          -- 4 or 6
    saddr      TEXT NOT NULL,             -- source address, printable
    sport      INTEGER NOT NULL,
    daddr      TEXT NOT NULL,             -- destination address, printable
    dport      INTEGER NOT NULL,
    length     INTEGER NOT NULL,          -- the payload's bytes on the wire (TCP: this segment's,
                                          --   its 2-byte length prefix included)
    message    BLOB NOT NULL              -- the payload's first bytes, as captured (at most
                                          --   the probe's cap; fewer than length when cut)
);

-- ---------------------------------------------------------------- version 11

-- The names a process looked up: the question of each dns row that is a
-- query the process sent or an answer its socket received (not the
-- queries a resolver was sent, nor the answers it gave), parsed by the
-- writer, once per process and name in a batch. An index for `reconstruct
-- --dns GLOB`, which would otherwise parse every dns row of the journal;
-- readers still take what a process looked up from its dns rows, and check
-- every match there. A row of a process the kernel could not tell (tgid 0)
-- has none. Of a TCP segment, the questions of the messages it holds whole,
-- up to the first that is not one; a segment that holds part of a message
-- (split over segments, as any sender may split it) also gives name_key '':
-- a process that may have looked up any name, which readers check in its
-- TCP segments joined. A segment cut by the probe's copy is never joined:
-- its first message's question, as readers read it.
CREATE TABLE dns_names (
    batch      INTEGER NOT NULL,          -- batches.batch_id
    tgid       INTEGER NOT NULL,
    start_ns   INTEGER NOT NULL,
    name_key   TEXT NOT NULL              -- the name as reconstruct shows it (lib/names/dns.h),
                                          --   ASCII letters in lower case, then reversed
                                          --   character by character: 'moc.rekcatta.www'. A
                                          --   glob's fixed end ('*.attacker.com') is then a
                                          --   prefix of the index.
);

-- ---------------------------------------------------------------- indexes

CREATE INDEX exec_by_proc ON exec (tgid, start_ns);
CREATE INDEX exit_by_proc ON exit (tgid, start_ns);
CREATE INDEX fork_by_child ON fork (child_tgid, child_start_ns);
CREATE INDEX fork_by_parent ON fork (parent_tgid, parent_start_ns);
CREATE INDEX connect_by_proc ON connect (tgid, start_ns);
CREATE INDEX snapshot_by_proc ON snapshot (tgid, start_ns);
-- Only processes in pods are indexed by pod: host processes cost nothing.
CREATE INDEX exec_by_pod ON exec (pod_uid) WHERE pod_uid != '';
CREATE INDEX snapshot_by_pod ON snapshot (pod_uid) WHERE pod_uid != '';

-- version 3
CREATE INDEX cgroups_by_id ON cgroups (cgroup_id);
-- A process's own rows; 'alive' rows only restate them.
CREATE INDEX memberships_by_proc ON memberships (tgid, start_ns) WHERE how != 'alive';
-- A pod's rows in time order: a window's query starts at the last 'alive'
-- set before it.
CREATE INDEX memberships_by_pod ON memberships (pod_uid, time_ns) WHERE pod_uid != '';

-- version 4
CREATE INDEX carried_by_proc ON carried (tgid, start_ns);
-- A process's life, bucketed by its order of magnitude (decimal digits of
-- exit minus start): the processes that overlap a time window are, per
-- bucket, the exits from the window's start to its end plus the bucket's
-- longest life, so a bare window reads what overlaps it (and at most the
-- rest of its buckets' ranges), never the whole table. Covering: the
-- candidates are sorted out in the index, without reading the table.
CREATE INDEX exit_by_life ON exit (length(time_ns - start_ns), time_ns, start_ns);
-- The executed path's base name (the bytes after its last '/'), for
-- --binary: the expression is SQLite's own functions, so the writer and the
-- reader compute it alike and the index needs no column of its own.
-- Version 4 and 5 had exec_by_base, the same on exec (binary), too: its
-- rtrim() compares every byte of the name with every byte of the path, on
-- every exec the recorder writes (version 6 replaced it; its SQL stays in
-- lib/journal/journal_format.cpp, kRetiredSchemaSql, for older journals).
-- Snapshot rows are a few hundred a run, so this one costs nothing.
CREATE INDEX snapshot_by_base ON snapshot (substr(exe, length(CAST(rtrim(exe, replace(exe, '/', '')) AS BLOB)) + 1));

-- version 5
-- A pod's moves by the moved process's start: a query for a window finds
-- the processes alive in it that were moved into the pod later (they count
-- as the pod's) without reading the pod's rows to the end of the journal.
-- Moves are few (a container's start, kubectl exec), so the index is small.
CREATE INDEX memberships_moves_by_pod ON memberships (pod_uid, start_ns) WHERE how = 'move' AND pod_uid != '';

-- version 6
-- The executed path, for --binary and --new: the distinct paths are few
-- (a node runs some thousands of binaries, and a year's journal of
-- bench/gen_journal has 20,037), so a reader steps from one path to the
-- next through this index, keeps those whose base name matches, and reads
-- the rows of each; the entries of one path are in rowid order, which is
-- time order (see "No index on batch" below). A plain column costs the
-- writer a B-tree insert and nothing more.
CREATE INDEX exec_by_binary ON exec (binary);

-- version 7
-- A container's rows, for the containers a query's answer shows.
CREATE INDEX containers_by_id ON containers (container_id);

-- version 8
-- An exec's file, for the processes of a query's answer.
CREATE INDEX exec_files_by_proc ON exec_files (tgid, start_ns);
-- The executed path, for --binary (like exec_by_binary).
CREATE INDEX exec_files_by_path ON exec_files (path);
-- A file's hash, and a hash's files, for the tree and for --sha256.
CREATE INDEX file_hashes_by_file ON file_hashes (ino, dev);
CREATE INDEX file_hashes_by_sha256 ON file_hashes (sha256) WHERE sha256 != '';
CREATE INDEX listens_by_proc ON listens (tgid, start_ns);

-- version 9
-- A process's rows by its start, then PID: the processes a time window
-- finds started, nearly all of them, within it or just before, so one range
-- of each index (the boot's rowids sorted out in the index, without
-- reading the table) gives every row of all of them. Through the
-- (tgid, start_ns) indexes, the same rows cost a look-up per process and
-- table, each on its own page of an index sorted by PID. The writer
-- appends to these: a new process starts after the ones before it.
CREATE INDEX fork_by_start ON fork (child_start_ns, child_tgid);
CREATE INDEX exec_by_start ON exec (start_ns, tgid);
CREATE INDEX exit_by_start ON exit (start_ns, tgid);
CREATE INDEX connect_by_start ON connect (start_ns, tgid);
CREATE INDEX memberships_by_start ON memberships (start_ns, tgid) WHERE how != 'alive';
CREATE INDEX exec_files_by_start ON exec_files (start_ns, tgid);
CREATE INDEX listens_by_start ON listens (start_ns, tgid);

-- No index on `batch`: rows are appended in batch order, so `lineage verify`
-- reads every table in rowid order (a plain scan) and gets (batch, rowid)
-- order; only a journal changed after the fact is sorted. `<table>_by_batch`
-- indexes would cost CPU on every insert, file size and integrity-check time,
-- and speed up nothing.

-- version 10
CREATE INDEX dns_by_proc ON dns (tgid, start_ns);
CREATE INDEX dns_by_start ON dns (start_ns, tgid);

-- version 11
CREATE INDEX dns_names_by_name ON dns_names (name_key, tgid, start_ns, batch);

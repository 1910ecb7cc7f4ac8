#pragma once

// A SQLite VFS over the default one that gathers a transaction's writes to
// the write-ahead log into one write.
//
// SQLite writes each WAL frame as two pwrite()s, its 24-byte header and its
// page, and a commit of the recorder's batch is some 30 frames (a page or
// two of each table and index it appended to): about 60 system calls, each
// through the file system's per-call path, every batch interval. perf put
// those pwrite()s at 29 % of the recorder's CPU in a fork+exec storm.
//
// The shim keeps the writes that append to a WAL file in a buffer and
// writes them out, as one write, when SQLite writes the page of a commit
// frame (the frame whose header gives the database's size), before that
// write returns. So when SQLite goes on to publish the commit in the WAL
// index, every byte of it is in the file, as it would be without the shim,
// and a failure to write it (a full disk) is that commit's failure,
// returned to SQLite as its own write error. A write that overwrites
// (a page changed again by a transaction that spilled, the checksums
// walRewriteChecksums writes again) goes straight to the file, after the
// buffer. Any other call on the WAL file (a read, a sync, a truncation,
// its size) writes the buffer out first; the buffer never holds more than
// kMaxBufferedBytes. When a write-out fails outside a commit, the frames it
// dropped are refused to every read and later write until SQLite writes
// again from before them (after its rollback). One writing connection per
// WAL, as the journal's lock has it. Other files, and everything but
// writes, go to the default VFS unchanged.

#include <sqlite3.h>

namespace lineage {

// The name to give sqlite3_open_v2 (registered on first call, not as the
// default VFS); nullptr when it could not be registered, in which case the
// default VFS is the one to use.
const char* wal_batch_vfs_name();

inline constexpr long long kMaxBufferedBytes = 4 << 20;

}  // namespace lineage

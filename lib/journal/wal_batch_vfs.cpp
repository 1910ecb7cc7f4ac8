#include "wal_batch_vfs.h"

#include <algorithm>
#include <cstddef>
#include <new>
#include <vector>

namespace lineage {

namespace {

// The file SQLite holds: ours, with the default VFS's file after it.
struct BatchFile {
    sqlite3_file base;  // first: SQLite's pointer is this struct's
    sqlite3_file* real = nullptr;
    bool wal = false;
    // Past the last byte written or buffered since the WAL was last written
    // from its start: a write below it overwrites (a page a transaction
    // changed again, walRewriteChecksums' headers) and goes straight to the
    // file, in order, never into the buffer.
    sqlite3_int64 end = 0;
    // Where the page of the last commit frame appended goes: once it is
    // buffered, the buffer is written out before the write returns.
    sqlite3_int64 commit_page_at = -1;
    sqlite3_int64 buffer_offset = 0;  // where buffer[0] goes in the file
    std::vector<char> buffer;
    // A write-out that failed dropped bytes SQLite was told were written
    // (a spilled transaction's frames): until SQLite writes again from
    // before them, after its rollback, every write past them and every
    // read of them fails with this code.
    int failed = SQLITE_OK;
    sqlite3_int64 lost_from = 0;
};

constexpr size_t kRealOffset =
    (sizeof(BatchFile) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) * alignof(std::max_align_t);

sqlite3_vfs* root = nullptr;  // the default VFS, set once, at registration

BatchFile* self(sqlite3_file* f) {
    return reinterpret_cast<BatchFile*>(f);
}

const sqlite3_io_methods* real_methods(BatchFile* f) {
    return f->real->pMethods;
}

// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the
// length with 0x1ffff, and calls what it did not write a full disk): the
// buffer goes in pieces of 64 KiB.
constexpr size_t kMaxWriteBytes = 64 << 10;

int write_out(BatchFile* f, const char* data, size_t size, sqlite3_int64 offset) {
    int rc = SQLITE_OK;
    for (size_t done = 0; done < size && rc == SQLITE_OK;) {
        const size_t n = std::min(kMaxWriteBytes, size - done);
        rc = real_methods(f)->xWrite(f->real, data + done, static_cast<int>(n),
                                     offset + static_cast<sqlite3_int64>(done));
        done += n;
    }
    return rc;
}

int flush(BatchFile* f) {
    if (f->buffer.empty()) return SQLITE_OK;
    const int rc = write_out(f, f->buffer.data(), f->buffer.size(), f->buffer_offset);
    if (rc != SQLITE_OK && f->failed == SQLITE_OK) {
        f->failed = rc;
        f->lost_from = f->buffer_offset;
    }
    f->buffer.clear();
    return rc;
}

// The 24-byte header of a WAL frame holds, in bytes 4-7 (big-endian), the
// database's size in pages after the commit, on a commit frame only; zero
// on every other frame (https://www.sqlite.org/fileformat.html, 4.1).
constexpr int kFrameHeaderBytes = 24;
constexpr int kWalHeaderBytes = 32;
bool is_commit_frame_header(const void* data, int amount, sqlite3_int64 offset) {
    if (amount != kFrameHeaderBytes || offset < kWalHeaderBytes) return false;
    const auto* b = static_cast<const unsigned char*>(data);
    return (b[4] | b[5] | b[6] | b[7]) != 0;
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    BatchFile* f = self(file);
    if (!f->wal) return real_methods(f)->xWrite(f->real, data, amount, offset);
    if (f->failed != SQLITE_OK) {
        if (offset > f->lost_from) return f->failed;
        f->failed = SQLITE_OK;  // written again from before what was lost
    }
    const char* bytes = static_cast<const char*>(data);
    if (offset == 0) f->end = 0;  // the WAL begun again (after a checkpoint)
    const bool appends = offset >= f->end;
    f->end = std::max(f->end, offset + amount);
    if (!appends) {
        // An overwrite, in order after what is buffered. A commit frame is
        // never overwritten in its own transaction.
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        return write_out(f, bytes, static_cast<size_t>(amount), offset);
    }
    const bool follows =
        !f->buffer.empty() && offset == f->buffer_offset + static_cast<sqlite3_int64>(f->buffer.size());
    if (!follows || static_cast<long long>(f->buffer.size()) + amount > kMaxBufferedBytes) {
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
    }
    bool buffered = amount <= kMaxBufferedBytes;
    if (buffered) {
        try {
            if (f->buffer.empty()) f->buffer_offset = offset;
            f->buffer.insert(f->buffer.end(), bytes, bytes + amount);
        } catch (const std::bad_alloc&) {
            buffered = false;  // written as it comes, as without the shim
        }
    }
    if (!buffered) {
        // Never larger than a page in SQLite's own use.
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        if (int rc = write_out(f, bytes, static_cast<size_t>(amount), offset); rc != SQLITE_OK) return rc;
    }
    if (offset == f->commit_page_at) {
        // The commit is whole in the file before SQLite publishes it.
        f->commit_page_at = -1;
        return flush(f);
    }
    if (is_commit_frame_header(data, amount, offset)) f->commit_page_at = offset + kFrameHeaderBytes;
    return SQLITE_OK;
}

int x_close(sqlite3_file* file) {
    BatchFile* f = self(file);
    const int flushed = flush(f);
    const int rc = real_methods(f)->xClose(f->real);
    f->~BatchFile();
    return flushed != SQLITE_OK ? flushed : rc;
}

// Every call but a write, a lock and a question about the device sees the
// file as SQLite wrote it: the buffer goes out first.
#define LINEAGE_FLUSHED(call)                          \
    BatchFile* f = self(file);                         \
    if (int rc = flush(f); rc != SQLITE_OK) return rc; \
    return real_methods(f)->call

int x_read(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
    if (self(file)->failed != SQLITE_OK && offset + amount > self(file)->lost_from) return SQLITE_IOERR_READ;
    LINEAGE_FLUSHED(xRead(f->real, data, amount, offset));
}
int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
    BatchFile* f = self(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    f->end = std::min(f->end, size);
    if (size <= f->lost_from) f->failed = SQLITE_OK;
    return real_methods(f)->xTruncate(f->real, size);
}
int x_sync(sqlite3_file* file, int flags) {
    LINEAGE_FLUSHED(xSync(f->real, flags));
}
int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
    LINEAGE_FLUSHED(xFileSize(f->real, size));
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
    LINEAGE_FLUSHED(xFileControl(f->real, op, arg));
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** pp) {
    LINEAGE_FLUSHED(xFetch(f->real, offset, amount, pp));
}
#undef LINEAGE_FLUSHED

int x_lock(sqlite3_file* file, int lock) {
    return real_methods(self(file))->xLock(self(file)->real, lock);
}
int x_unlock(sqlite3_file* file, int lock) {
    return real_methods(self(file))->xUnlock(self(file)->real, lock);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
    return real_methods(self(file))->xCheckReservedLock(self(file)->real, out);
}
int x_sector_size(sqlite3_file* file) {
    return real_methods(self(file))->xSectorSize(self(file)->real);
}
int x_device_characteristics(sqlite3_file* file) {
    return real_methods(self(file))->xDeviceCharacteristics(self(file)->real);
}
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** pp) {
    return real_methods(self(file))->xShmMap(self(file)->real, region, size, extend, pp);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
    return real_methods(self(file))->xShmLock(self(file)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
    real_methods(self(file))->xShmBarrier(self(file)->real);
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
    return real_methods(self(file))->xShmUnmap(self(file)->real, delete_flag);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
    return real_methods(self(file))->xUnfetch(self(file)->real, offset, p);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* f = new (file) BatchFile{};
    f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
    f->wal = (flags & SQLITE_OPEN_WAL) != 0;
    const int rc = root->xOpen(root, name, f->real, flags, out_flags);
    // The shim's methods need version 3 of the default VFS's (the unix VFS
    // has it); without them, or when the open failed, SQLite gets no
    // methods and calls none of ours, so nothing is left to destroy.
    if (rc != SQLITE_OK || !f->real->pMethods || f->real->pMethods->iVersion < 3) {
        if (rc == SQLITE_OK && f->real->pMethods) f->real->pMethods->xClose(f->real);
        f->~BatchFile();
        file->pMethods = nullptr;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    f->base.pMethods = &kMethods;
    return SQLITE_OK;
}

// The rest is the default VFS's, called with its own handle.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    return root->xDelete(root, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return root->xAccess(root, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
    return root->xFullPathname(root, name, size, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
    return root->xDlOpen(root, name);
}
void x_dl_error(sqlite3_vfs*, int size, char* out) {
    root->xDlError(root, size, out);
}
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return root->xDlSym(root, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) {
    root->xDlClose(root, handle);
}
int x_randomness(sqlite3_vfs*, int size, char* out) {
    return root->xRandomness(root, size, out);
}
int x_sleep(sqlite3_vfs*, int microseconds) {
    return root->xSleep(root, microseconds);
}
int x_current_time(sqlite3_vfs*, double* out) {
    return root->xCurrentTime(root, out);
}
int x_get_last_error(sqlite3_vfs*, int size, char* out) {
    return root->xGetLastError ? root->xGetLastError(root, size, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
    if (root->iVersion >= 2 && root->xCurrentTimeInt64) {
        return root->xCurrentTimeInt64(root, out);
    }
    double days = 0;
    const int rc = root->xCurrentTime(root, &days);
    *out = static_cast<sqlite3_int64>(days * 86'400'000.0);
    return rc;
}

}  // namespace

const char* wal_batch_vfs_name() {
    static const char* const name = []() -> const char* {
        root = sqlite3_vfs_find(nullptr);
        if (!root) return nullptr;
        static sqlite3_vfs vfs{};
        vfs.iVersion = 2;
        vfs.szOsFile = static_cast<int>(kRealOffset) + root->szOsFile;
        vfs.mxPathname = root->mxPathname;
        vfs.zName = "lineage-wal-batch";
        vfs.xOpen = x_open;
        vfs.xDelete = x_delete;
        vfs.xAccess = x_access;
        vfs.xFullPathname = x_full_pathname;
        vfs.xDlOpen = x_dl_open;
        vfs.xDlError = x_dl_error;
        vfs.xDlSym = x_dl_sym;
        vfs.xDlClose = x_dl_close;
        vfs.xRandomness = x_randomness;
        vfs.xSleep = x_sleep;
        vfs.xCurrentTime = x_current_time;
        vfs.xGetLastError = x_get_last_error;
        vfs.xCurrentTimeInt64 = x_current_time_int64;
        if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
        return vfs.zName;
    }();
    return name;
}

}  // namespace lineage

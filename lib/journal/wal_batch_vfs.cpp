#include "wal_batch_vfs.h"

#include <algorithm>
#include <cstddef>
#include <new>
#include <vector>

namespace lineage {

namespace {

sqlite3_vfs* root_vfs() {
    return sqlite3_vfs_find(nullptr);
}

// The file SQLite holds: ours, with the default VFS's file after it.
struct BatchFile {
    sqlite3_file base;  // first: SQLite's pointer is this struct's
    sqlite3_file* real = nullptr;
    bool wal = false;
    // The last write was the header of a commit frame: the next one is its
    // page, after which the buffer is written out.
    bool commit_page_next = false;
    sqlite3_int64 buffer_offset = 0;  // where buffer[0] goes in the file
    std::vector<char> buffer;
};

constexpr size_t kRealOffset =
    (sizeof(BatchFile) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) * alignof(std::max_align_t);

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
    const int rc = write_out(f, f->buffer.data(), f->buffer.size(), f->buffer_offset);
    // Dropped either way: after a failed write SQLite rolls the transaction
    // back, and writes its frames again, from where the WAL ends, if at all.
    f->buffer.clear();
    f->commit_page_next = false;
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
    const bool follows =
        !f->buffer.empty() && offset == f->buffer_offset + static_cast<sqlite3_int64>(f->buffer.size());
    if (!follows || static_cast<long long>(f->buffer.size()) + amount > kMaxBufferedBytes) {
        const bool commit_page = f->commit_page_next;
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        f->commit_page_next = commit_page;
    }
    const char* bytes = static_cast<const char*>(data);
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
        // What is buffered first, then this write (never larger than a page
        // in SQLite's own use); a commit page is then in the file as well.
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        if (int rc = write_out(f, bytes, static_cast<size_t>(amount), offset); rc != SQLITE_OK) return rc;
        f->commit_page_next = is_commit_frame_header(data, amount, offset);
        return SQLITE_OK;
    }
    if (f->commit_page_next) return flush(f);  // the commit is whole in the file before SQLite publishes it
    f->commit_page_next = is_commit_frame_header(data, amount, offset);
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
    LINEAGE_FLUSHED(xRead(f->real, data, amount, offset));
}
int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
    LINEAGE_FLUSHED(xTruncate(f->real, size));
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
    const int rc = root_vfs()->xOpen(root_vfs(), name, f->real, flags, out_flags);
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
    return root_vfs()->xDelete(root_vfs(), name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return root_vfs()->xAccess(root_vfs(), name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
    return root_vfs()->xFullPathname(root_vfs(), name, size, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
    return root_vfs()->xDlOpen(root_vfs(), name);
}
void x_dl_error(sqlite3_vfs*, int size, char* out) {
    root_vfs()->xDlError(root_vfs(), size, out);
}
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return root_vfs()->xDlSym(root_vfs(), handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) {
    root_vfs()->xDlClose(root_vfs(), handle);
}
int x_randomness(sqlite3_vfs*, int size, char* out) {
    return root_vfs()->xRandomness(root_vfs(), size, out);
}
int x_sleep(sqlite3_vfs*, int microseconds) {
    return root_vfs()->xSleep(root_vfs(), microseconds);
}
int x_current_time(sqlite3_vfs*, double* out) {
    return root_vfs()->xCurrentTime(root_vfs(), out);
}
int x_get_last_error(sqlite3_vfs*, int size, char* out) {
    return root_vfs()->xGetLastError ? root_vfs()->xGetLastError(root_vfs(), size, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
    if (root_vfs()->iVersion >= 2 && root_vfs()->xCurrentTimeInt64) {
        return root_vfs()->xCurrentTimeInt64(root_vfs(), out);
    }
    double days = 0;
    const int rc = root_vfs()->xCurrentTime(root_vfs(), &days);
    *out = static_cast<sqlite3_int64>(days * 86'400'000.0);
    return rc;
}

}  // namespace

const char* wal_batch_vfs_name() {
    static const char* const name = []() -> const char* {
        sqlite3_vfs* root = root_vfs();
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

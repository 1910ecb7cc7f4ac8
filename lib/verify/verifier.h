#pragma once
// Inside `lineage verify`: the checks of one journal and the state they
// share. Not part of verify.h: only lib/verify and its tests include it.
//   verify.cpp          the driver: header, integrity thread, the order of the checks
//   verify_schema.cpp   the journal's schema against lineage's, as findings
//   verify_chain.cpp    batch links, rows outside any batch
//   verify_locate.cpp   which rows of a batch whose hash does not verify changed
//   verify_prunes.cpp   the prunes, and the rows they kept
//   verify_summary.cpp  runs, gaps and loss records

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hashchain.h"
#include "journal_format.h"
#include "result.h"
#include "sqlite.h"
#include "verify.h"

namespace lineage::verify_detail {

struct HashKey {
    size_t operator()(const Hash& h) const {
        size_t v = 0;
        std::memcpy(&v, h.data(), sizeof(v));
        return v;
    }
};

// A hash column: none unless it is a 32-byte blob.
std::optional<Hash> hash_column(sqlite3_stmt* s, int col);
std::string_view blob_column(sqlite3_stmt* s, int col);

// One table read in (batch, rowid) order: the order the writer hashed it in.
struct TableCursor {
    ChainTable table{};
    Stmt stmt;
    int columns = 0;
    bool has_row = false;
    int64_t rowid = 0, batch = 0;
    // Read as scanned, rowids must go up and batches must not go back (see
    // verify_chain).
    bool in_order = true;

    // False on a read error (the statement's rc is in the connection).
    bool step() {
        const bool had_row = has_row;
        const int64_t previous = rowid;
        int rc = stmt.step();
        has_row = rc == SQLITE_ROW;
        if (has_row) {
            rowid = sqlite3_column_int64(stmt.get(), 0);
            int64_t b = sqlite3_column_int64(stmt.get(), 1);
            in_order &= b >= batch && (!had_row || rowid > previous);
            batch = b;
        }
        return rc == SQLITE_ROW || rc == SQLITE_DONE;
    }

    // The row's canonical encoding, from the types SQLite stored.
    void encode(RowEncoder& enc) const { encode_stored_row(stmt.get(), 2, table, enc); }
};

// check_schema's findings: one per way the journal's schema is not
// lineage's (check_journal_schema), each its message.
std::vector<Finding> schema_findings(const SchemaCheck& schema);

class Verifier {
public:
    // `schema`: the journal's schema against lineage's, as its reader found
    // it. `integrity_db`: a second read-only connection to the same file
    // for the integrity check; without one it runs on `db`'s, before the
    // chain.
    Verifier(Database& db, Database* integrity_db, const SchemaCheck& schema, JournalVerdict& verdict)
        : db_(db), integrity_db_(integrity_db), schema_(schema), v_(verdict) {}

    // False when reading had to stop (a damaged finding says why).
    bool run();

    // Errors that mean "this is no journal with a chain": exit 2, not 1.
    std::optional<Error> fatal;

private:
    struct PruneRow {
        int64_t batch = 0, through_batch = 0, through_wall_ns = 0, rows = 0;
        Hash through_hash{}, kept_digest{};
        std::string reason;
    };

    // verify.cpp
    void add(Finding f);
    bool read_failed(const std::string& what);
    void no_chain();
    // Runs `sql` and calls fn(stmt) per row.
    template <typename F>
    bool each(const char* what, std::string_view sql, F&& fn) {
        auto stmt = db_.prepare(sql);
        if (!stmt) return read_failed(what);
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) fn(*stmt);
        if (rc != SQLITE_DONE) return read_failed(what);
        return true;
    }
    bool read_header();
    bool has_chain();
    bool check_chain();
    // A row the cursor could not read because a value of it is over the
    // reader's length limit: a finding naming it; false (reading stops).
    bool oversized(const TableCursor& c);

    // verify_schema.cpp
    void check_schema();

    // verify_chain.cpp
    bool load_links();
    bool verify_chain(bool sorted);
    bool open_cursors(bool sorted);
    bool advance(TableCursor& c);
    bool kept_from_prune(const TableCursor& c) const;
    void outside_batch(const TableCursor& c);
    void outside_batch_rows();

    // verify_locate.cpp
    std::string where_hash_points(const Hash& h) const;
    void locate(const BatchHeader& header, std::string_view stored_marks, const BatchHasher& hasher,
                const std::array<std::vector<int64_t>, kChainTableCount>& rowids,
                const std::array<int64_t, kChainTableCount>& last_rowid);
    void diff_table(int64_t batch, ChainTable t, const std::vector<uint32_t>& expected,
                    const std::vector<Hash>& digests, const std::vector<int64_t>& rowids, int64_t rowid_before);

    // verify_prunes.cpp
    bool load_prunes();
    void check_kept_rows();

    // verify_summary.cpp
    bool summarise();

    Database& db_;
    Database* integrity_db_;
    const SchemaCheck& schema_;
    JournalVerdict& v_;
    bool sorted_ = false;
    bool need_sorted_ = false;
    bool oversized_ = false;  // the chain stopped at a row too large to read
    std::array<TableCursor, kChainTableCount> cursors_;
    std::unordered_map<Hash, int64_t, HashKey> by_hash_;
    RowEncoder enc_;
    std::vector<PruneRow> prunes_;  // by through_batch
};

}  // namespace lineage::verify_detail

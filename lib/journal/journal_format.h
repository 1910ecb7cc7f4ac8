#pragma once
// What makes a file a lineage journal, for the writer and the readers alike:
// the format's constants, the checks a file must pass before anything else
// is read from it, and the chain encoding of a row as SQLite stored it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hashchain.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

// Where `record` writes, and every reader looks, by default. Its directory
// is made mode 0700: argv can carry secrets.
inline constexpr const char* kDefaultJournal = "/var/lib/lineage/journal.db";

// The version this build writes; it reads every version from the oldest.
inline constexpr int64_t kJournalSchemaVersion = 3;
inline constexpr int64_t kOldestJournalSchemaVersion = 1;
// Page size of a new journal (JournalWriter::open says why).
inline constexpr int64_t kJournalPageSize = 4096;
inline constexpr int64_t kJournalApplicationId = 0x4C494E45;  // "LINE"

// Checks that an open database is a lineage journal of a version this build
// reads. `path` only names the file in the message.
Status check_journal(Database& db, const std::string& path);

// Checks the first bytes of a file without SQLite: a non-SQLite file gets a
// precise message and is never handed to SQLite at all. An empty file is OK.
Status check_sqlite_header(const std::string& path);

// The schema version that added a table: prunes came in 2, cgroups and
// memberships in 3, the others are version 1's. By name (sqlite_schema's
// tbl_name) for the schema check; 1 for a name that is no chain table.
int64_t version_added(ChainTable t);
int64_t version_added(std::string_view name);
// Whether a journal of schema `version` has this table.
inline bool table_in_version(ChainTable t, int64_t version) {
    return version >= version_added(t);
}

// Encodes the current row of `stmt` for the chain from the values SQLite
// stored (a value whose storage class changed is a changed value). The
// columns from `first_col` on are the table's chain_columns().
void encode_stored_row(sqlite3_stmt* stmt, int first_col, ChainTable table, RowEncoder& enc);

// The compiled-in schema (schema/journal.sql), as SQL.
const char* journal_schema_sql();

// One table, index or trigger of the compiled-in schema, as SQLite holds it
// in sqlite_schema.
struct SchemaObject {
    std::string type, name;
    std::string table;                 // tbl_name: an index's or trigger's table; a table's own name
    std::string sql;                   // as stored, comments and all
    std::vector<std::string> columns;  // an index's key columns, in order (pragma_index_info)
};

// The compiled-in schema loaded into SQLite once per process (thread-safe),
// for comparing a journal with: its objects in name order, SQLite's own
// (sqlite_*) left out. Read from journal_schema_sql(), never from a journal,
// whose SQL is the attacker's. An Error when SQLite could not load it.
const Result<std::vector<SchemaObject>>& journal_schema_objects();

}  // namespace lineage

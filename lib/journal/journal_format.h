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
inline constexpr int64_t kJournalSchemaVersion = 11;
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
// memberships in 3, carried in 4, the others are version 1's. By name (sqlite_schema's
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
    int64_t retired_in = 0;            // the version that dropped it (kRetiredSchemaSql); 0: current
};

// The compiled-in schema loaded into SQLite once per process (thread-safe),
// for comparing a journal with: its objects in name order, SQLite's own
// (sqlite_*) left out, and the objects that older versions had and a later
// one dropped (retired_in set: they are part of no new journal). Read from journal_schema_sql(), never from a journal,
// whose SQL is the attacker's. An Error when SQLite could not load it.
const Result<std::vector<SchemaObject>>& journal_schema_objects();

// The schema version that brought an object of the compiled schema: that
// of its table (table_in_version), so a new table and its indexes need
// nothing more here; an index added to an older table names its version in
// index_version_added.
int64_t first_schema_version(const SchemaObject& object);
// The version that added an index to a table of an earlier version
// (exit_by_life, exec_by_base, snapshot_by_base: 4; exec_by_binary: 6; the
// *_by_start indexes: 9); 0 for any other name.
int64_t index_version_added(std::string_view name);

// What a journal of schema `version` holds: the compiled schema's objects
// less those that came in later versions or were dropped by then.
std::vector<SchemaObject> schema_objects_of_version(const std::vector<SchemaObject>& compiled, int64_t version);

// SQL without its -- comments and with runs of white space as one space:
// schema/journal.sql's column comments are kept in sqlite_schema, and a
// reworded comment changes nothing a journal holds.
std::string normalized_sql(std::string_view sql);

// One row of a journal's sqlite_schema, as the file holds it.
struct SchemaRow {
    std::string type, name, table, sql;
    bool sql_null = false;  // SQLite's own indexes have no SQL
};

// One way a journal's schema is not the one lineage wrote for its version.
struct SchemaMismatch {
    enum class Kind { replaced, missing, differs, added };
    Kind kind = Kind::added;
    std::string type, name;  // the object: the journal's, or the schema's when missing
    // It is, replaces or doubles one of the schema's tables: its rows cannot
    // be read as lineage's. Otherwise the object was only added, changed or
    // dropped beside the tables (an index, a trigger, a view, statistics).
    bool on_table = false;
    // One line, the same in reconstruct, verify and record: "view exec
    // replaces table exec", "trigger t is not part of the schema", "index
    // exec_by_pod is missing", "table exec differs from the schema". Names
    // longer than 64 bytes are cut; the renderers escape the rest.
    std::string message;
};

// Compares a journal's sqlite_schema, row by row, with the objects its
// schema version must have (schema_objects_of_version): every object's
// type, name, table and SQL (normalized_sql), and nothing more: a view, a
// trigger, a table, an index, SQLite's statistics (sqlite_stat1, ...; the
// writer never runs ANALYZE) or a second row of one name is a mismatch.
// Keeps the first kMaxSchemaMismatches; counts the others.
class SchemaComparer {
public:
    explicit SchemaComparer(const std::vector<SchemaObject>& want);
    void add(const SchemaRow& row);
    std::vector<SchemaMismatch> finish();
    size_t omitted() const { return omitted_; }

private:
    void mismatch(SchemaMismatch m);

    std::vector<SchemaObject> want_;
    std::vector<bool> seen_;
    std::vector<SchemaMismatch> out_;
    size_t omitted_ = 0;
};
inline constexpr size_t kMaxSchemaMismatches = 100;

// A journal's schema against lineage's.
struct SchemaCheck {
    int64_t user_version = 0;
    std::vector<SchemaMismatch> mismatches;  // empty: the schema is lineage's
    size_t omitted = 0;                      // mismatches beyond the first kMaxSchemaMismatches
    bool ok() const { return mismatches.empty(); }
    // No table of the schema is missing, changed or replaced: its rows can
    // be read (through the tables only; nothing else of the file runs).
    bool tables_readable() const;
    // The first mismatch, and how many more: "view exec replaces table exec
    // (and 2 more)".
    std::string summary() const;
};

// Reads the journal's user_version and sqlite_schema, and nothing else,
// and compares them with the schema of that version. For an open journal
// that check_journal() passed, on a connection fenced (Database::fence*)
// before its first statement. An Error when sqlite_schema cannot be read
// (damage) or the compiled schema cannot be loaded.
Result<SchemaCheck> check_journal_schema(Database& db);

}  // namespace lineage

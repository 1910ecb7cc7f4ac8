#pragma once
// Event rows as the loader reads them: the SELECT list of an event table and
// the decoders of its rows into the event types.
//
// A row is read as "batch, <chain_columns(t)>" (select_list) and decoded by
// column name (col), both derived from chain_columns(), the column list the
// writer's INSERTs and verify's encoder use too: a column moved in the
// chain's order moves here as well, and a name that is not a column of the
// table does not compile. The same lists serve whole-table scans and
// indexed look-ups, so a row is decoded the same way whichever query found
// it. What is left to get wrong, a column read into the wrong field, is
// pinned by the writer-to-model round trip in tests/unit/journal/test_journal.cpp.

#include <string>
#include <string_view>

#include "event.h"
#include "hashchain.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

// "batch, <chain_columns(t)>": the columns of an event row as the loader
// reads it.
std::string select_list(ChainTable t);
// The same with every column qualified by a table alias ("m.batch, m.time_ns,
// ..."), for a join.
std::string qualified_select_list(ChainTable t, std::string_view alias);

// The highest rowid of `table` whose batch is <= through_batch, 0 when none
// is (journal_prune.cpp): rows are appended in batch order, so a binary
// search over rowids, for the writer's own journal.
Result<int64_t> last_rowid_through(Database& db, const char* table, int64_t through_batch);

// Column `name` of a row read through select_list(T).
template <ChainTable T>
consteval int col(std::string_view name) {
    return 1 + chain_column_index(T, name);
}

// An exec_files row (schema version 8): the file of the exec row of the
// same process and time_ns.
struct ExecFileRow {
    uint64_t time_ns = 0;
    ProcRef proc;
    ExecFile file;
};

// The current row of a statement that selects select_list() of the table
// (Row: Stmt), or such a row copied (Row: const RowCopy); instantiated for
// both in journal_rows.cpp.
template <class Row>
SnapshotRow snapshot_row(Row& s);
template <class Row>
ForkEvent fork_row(Row& s);
template <class Row>
ExecEvent exec_row(Row& s);
template <class Row>
ExitEvent exit_row(Row& s);
template <class Row>
ConnectEvent connect_row(Row& s);
template <class Row>
CgroupRow cgroup_row(Row& s);
template <class Row>
ContainerRow container_row(Row& s);
template <class Row>
MembershipRow membership_row(Row& s);
template <class Row>
CarriedRow carried_row(Row& s);
template <class Row>
ExecFileRow exec_file_row(Row& s);
template <class Row>
FileHashRow file_hash_row(Row& s);
template <class Row>
ListenEvent listen_row(Row& s);
template <class Row>
DnsEvent dns_row(Row& s);

}  // namespace lineage

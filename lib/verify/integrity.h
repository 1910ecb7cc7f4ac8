#pragma once
// SQLite-level integrity of a journal, for `lineage verify`: what
// PRAGMA integrity_check proves, for a fraction of its cost.
//
// integrity_check checks every page and B-tree (what quick_check does too)
// and then, for every row of every table, seeks the row's entry in each of
// the table's indexes: one random B-tree descent per row and index, most
// of its time on a year-long journal. check_integrity() runs quick_check for
// the pages and trees, and proves the indexes another way, with sequential
// reads only:
//   - each index is read once in its own order, and every entry must sort
//     after the one before it (key columns, then rowid). An index whose
//     entries are in order is a valid search tree, so every lookup through
//     it lands where it should;
//   - each table is read once, and the multiset of (key columns, rowid)
//     entries its rows call for (only the rows a partial index's WHERE
//     admits) must be the multiset the index holds. Both are summed as
//     SipHash-2-4 values under a key drawn at random for the run, with their
//     counts: no journal can be crafted to make two different multisets
//     agree without knowing the key;
//   - the scan sees an entry's key columns and rowid only, so the index's
//     pages are measured too (SQLite's dbstat): as many entries as the scan
//     read, and exactly the bytes SQLite's record format takes for them. An
//     entry with a hidden field more, or one the scan passed over, shows.
// Together these are what integrity_check's per-row look-ups establish: no
// entry missing, none extra, none pointing at the wrong row, none holding
// more than its key.
//
// That proof relies on knowing the tables and indexes, and on text being
// compared as stored, so it is used only when the journal's tables and
// indexes are exactly those of schema/journal.sql, its text is UTF-8 and
// dbstat is there (Debian's SQLite has it); any other journal gets the full
// PRAGMA integrity_check. (Found in review: a UTF-16 copy and an index with
// an extra field both got through a first version that lacked these.)

#include <string>
#include <string_view>
#include <vector>

#include "sqlite.h"

namespace lineage {

// The problems found, one line each (at most 100); empty when whole.
// `schema_is_lineages`: the journal's schema is lineage's (its reader's
// check_journal_schema). When it is not, only quick_check runs: pages and
// B-trees, and never an expression of the journal's own schema (an index's
// or a CHECK's, which integrity_check would evaluate for every row).
std::vector<std::string> check_integrity(Database& db, bool schema_is_lineages = true);

// PRAGMA integrity_check's own lines other than "ok" (at most 100).
std::vector<std::string> full_integrity_check(Database& db);

}  // namespace lineage

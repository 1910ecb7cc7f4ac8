// lineage verify's driver: one journal's checks in their order, the
// integrity check on a thread of its own, and the anchors. The checks are
// in the files verifier.h lists; the output in verify_render*.cpp.
#include "verify.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "integrity.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "sqlite.h"
#include "verifier.h"

namespace lineage {

const char* finding_kind_name(FindingKind kind) {
    switch (kind) {
        case FindingKind::modified:
            return "modified";
        case FindingKind::added:
            return "added";
        case FindingKind::deleted:
            return "deleted";
        case FindingKind::outside_batch:
            return "outside_batch";
        case FindingKind::batch_modified:
            return "batch_modified";
        case FindingKind::chain_break:
            return "chain_break";
        case FindingKind::batch_missing:
            return "batch_missing";
        case FindingKind::schema:
            return "schema";
        case FindingKind::damaged:
            return "damaged";
    }
    return "?";
}

const char* anchor_status_name(AnchorStatus s) {
    switch (s) {
        case AnchorStatus::found:
            return "found";
        case AnchorStatus::not_in_chain:
            return "not_in_chain";
        case AnchorStatus::mismatch:
            return "mismatch";
        case AnchorStatus::beyond_end:
            return "beyond_end";
        case AnchorStatus::pruned:
            return "pruned";
    }
    return "?";
}

std::string JournalVerdict::status() const {
    bool damage = !opened || !integrity.empty();
    for (const auto& f : findings) damage |= f.kind == FindingKind::damaged;
    if (damage) return "damaged";
    if (!findings.empty() || findings_omitted > 0) return "tampered";
    if (truncated) return "truncated";
    return "whole";
}

bool VerifyReport::whole() const {
    for (const auto& j : journals) {
        if (j.status() != "whole") return false;
    }
    for (const auto& a : anchors) {
        // An anchor of a batch that retention deleted cannot be checked;
        // the prune itself is in the chain, and later anchors check it.
        if (a.status != AnchorStatus::found && a.status != AnchorStatus::pruned) return false;
    }
    return true;
}

namespace verify_detail {

std::optional<Hash> hash_column(sqlite3_stmt* s, int col) {
    if (sqlite3_column_type(s, col) != SQLITE_BLOB || sqlite3_column_bytes(s, col) != static_cast<int>(kHashSize)) {
        return std::nullopt;
    }
    Hash h{};
    std::memcpy(h.data(), sqlite3_column_blob(s, col), kHashSize);
    return h;
}

std::string_view blob_column(sqlite3_stmt* s, int col) {
    const void* p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
}

namespace {

// Reading settings of a connection, not of the file: the integrity
// check's index look-ups stay cached. 8 MiB of pages per connection: the
// three of them stay well inside SQLite's heap budget (kReaderHeapBytes),
// which a page cache reaching would fail the check with SQLITE_NOMEM.
// Never mapped (mmap_size 0), the chain's connection included: a journal
// cut short while verify reads it (by whoever can write it, the very case
// verify is for) would make a read of a mapped page past the new end raise
// SIGBUS, and verify die of it instead of reporting the damage. The chain's
// thread has the time to copy its pages: the integrity check's thread is
// the longer one.
void tune_for_reading(Database& db) {
    (void)db.exec("PRAGMA mmap_size = 0; PRAGMA cache_size = -8192;");
}

// SQLite's integrity (integrity.h) on its own connection, so that it runs
// on another core while the chain is verified.
std::vector<std::string> integrity_check(Database& db, bool schema_is_lineages) {
    tune_for_reading(db);
    return check_integrity(db, schema_is_lineages);
}

}  // namespace

bool Verifier::run() {
    if (!Sha256().ok()) {
        fatal = Error{fmt::format("{}: cannot verify: SHA-256 is not available (OpenSSL's default provider)", v_.path)};
        return false;
    }
    tune_for_reading(db_);
    if (!read_header()) return false;
    // The schema first: its findings say what may be read at all. When a
    // table of the schema is missing, changed or replaced (by a view over
    // an endless query, say), neither the chain nor the rows are read, and
    // SQLite's checks are its pages and B-trees only.
    check_schema();
    const bool tables = schema_.tables_readable();
    if (tables && !has_chain()) return false;
    std::thread integrity;
    if (integrity_db_) {
        try {
            integrity = std::thread([this] { v_.integrity = integrity_check(*integrity_db_, schema_.ok()); });
        } catch (const std::system_error&) {
            // No thread to be had: the check runs here, before the chain.
        }
    }
    if (!integrity.joinable()) v_.integrity = integrity_check(integrity_db_ ? *integrity_db_ : db_, schema_.ok());
    bool ok = !tables || check_chain();
    if (integrity.joinable()) integrity.join();
    // A row too large to read stops the chain, not the summary of its small
    // tables; other read errors are damage, and stop both.
    if (!tables) return true;
    const bool summarised = (ok || oversized_) && summarise();
    return ok && summarised;
}

void Verifier::add(Finding f) {
    if (v_.findings.size() < kMaxFindings) {
        v_.findings.push_back(std::move(f));
    } else {
        ++v_.findings_omitted;
    }
}

bool Verifier::read_failed(const std::string& what) {
    add(Finding{FindingKind::damaged, 0, "", std::nullopt, false,
                fmt::format("cannot read {}: {}", what, db_.errmsg())});
    return false;
}

void Verifier::no_chain() {
    fatal = Error{
        fmt::format("{}: journal has no hash chain (written by a lineage without one): {}", v_.path, db_.errmsg())};
}

// A journal written before the chain existed is refused at once, before
// an integrity check of the whole file would make the user wait.
bool Verifier::has_chain() {
    std::vector<std::string> queries = {
        "SELECT batch_id, run_id, committed_ns, row_count, row_marks, "
        "prev_hash, hash FROM batches"};
    for (size_t i = 0; i < kChainTableCount; ++i) {
        if (!table_in_version(table_at(i), v_.user_version)) continue;
        queries.push_back(
            fmt::format("SELECT rowid, batch, {} FROM {}", chain_columns(table_at(i)), table_name(table_at(i))));
    }
    for (const auto& q : queries) {
        if (!db_.prepare(q)) {
            // A schema SQLite cannot read is damage, not an old journal.
            const int rc = sqlite3_errcode(db_.get()) & 0xff;
            if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || rc == SQLITE_IOERR) return read_failed("the schema");
            no_chain();
            return false;
        }
    }
    return true;
}

bool Verifier::read_header() {
    auto app = query_int(db_, "PRAGMA application_id");
    auto ver = query_int(db_, "PRAGMA user_version");
    if (!app || !ver) return read_failed("the journal header");
    v_.application_id = *app;
    v_.user_version = *ver;
    return true;
}

bool Verifier::check_chain() {
    if (!load_links()) return false;
    if (!load_prunes()) return false;
    // Rows are appended in batch order, so reading each table in rowid
    // order (a plain scan) gives (batch, rowid) order. A table where a
    // batch goes back was changed: then read everything again, sorted.
    const size_t findings = v_.findings.size(), omitted = v_.findings_omitted;
    if (verify_chain(false)) return true;
    if (!need_sorted_) return false;
    v_.findings.resize(findings);
    v_.findings_omitted = omitted;
    v_.rows = v_.batches = v_.first_batch = v_.last_batch = 0;
    for (auto& l : v_.links) l.verified = false;
    return verify_chain(true);
}

}  // namespace verify_detail

Result<JournalVerdict> verify_journal(const std::string& path, const VerifyOptions& options) {
    JournalVerdict verdict;
    verdict.path = path;
    // The schema is verify's to report, not to refuse: the reader reads it
    // and nothing else, and the Verifier decides what more may be read.
    ReadOptions read;
    read.force_schema = true;
    read.timeout_ns = options.timeout_ns;
    auto reader = JournalReader::open(path, read);
    // A file that cannot even be opened as a journal (empty, cut short,
    // not SQLite, ...) is an error, one line naming it, as in reconstruct;
    // damage found in a journal that opens is a finding.
    if (!reader) return reader.error();
    verdict.read_from_copy = reader->read_from_copy();
    // JournalReader decided how this file may be read: in place, read-only
    // and immutable, or through its private copy. Two more connections the
    // same way, fenced as its own: one for the chain and one for the
    // integrity check, on another thread. Each is used by one thread only,
    // so neither takes SQLite's per-call mutex. One that cannot be opened
    // is done without: the chain is then read through the reader's
    // connection, and the integrity check runs on the chain's, before it.
    Database chain_db, integrity_db;
    if (auto db = reader->open_another()) chain_db = std::move(*db);
    if (auto db = reader->open_another()) integrity_db = std::move(*db);
    verify_detail::Verifier verifier(chain_db ? chain_db : reader->db(), integrity_db ? &integrity_db : nullptr,
                                     reader->schema(), verdict);
    verifier.run();
    if (verifier.fatal) return *verifier.fatal;
    return verdict;
}

void check_anchors(VerifyReport& report, const std::vector<Anchor>& anchors) {
    for (const auto& a : anchors) {
        AnchorResult r;
        r.anchor = a;
        for (const auto& j : report.journals) {
            for (const auto& link : j.links) {
                if (link.hash == a.hash) {
                    r.status = AnchorStatus::found;
                    r.journal = j.path;
                    r.batch = link.batch_id;
                    r.batch_verified = link.verified;
                    break;
                }
            }
            if (r.status == AnchorStatus::found) break;
        }
        if (r.status != AnchorStatus::found && a.batch) {
            // Which journal the anchor is about: the one of its node, if the
            // line names one that a journal recorded.
            std::vector<JournalVerdict*> candidates;
            for (auto& j : report.journals) {
                bool node_match = a.node.empty();
                for (const auto& run : j.runs) node_match |= run.node == a.node;
                if (node_match) candidates.push_back(&j);
            }
            if (candidates.empty()) {
                for (auto& j : report.journals) candidates.push_back(&j);
            }
            for (JournalVerdict* j : candidates) {
                if (!j->opened) continue;
                if (j->pruned && *a.batch <= j->pruned->through_batch) {
                    r.journal = j->path;
                    r.batch = *a.batch;
                    r.journal_last_batch = j->last_batch;
                    if (*a.batch == j->pruned->through_batch) {
                        // The prune recorded this batch's hash.
                        r.status = a.hash == j->pruned->through_hash ? AnchorStatus::pruned : AnchorStatus::mismatch;
                        r.batch_verified = r.status == AnchorStatus::pruned;
                    } else {
                        r.status = AnchorStatus::pruned;
                    }
                    break;
                }
                if (*a.batch > j->last_batch) {
                    r.status = AnchorStatus::beyond_end;
                    r.journal = j->path;
                    r.batch = *a.batch;
                    r.journal_last_batch = j->last_batch;
                    j->truncated = true;
                    j->truncated_after = j->last_batch;
                    break;
                }
                bool has_batch = std::any_of(j->links.begin(), j->links.end(),
                                             [&](const BatchLink& l) { return l.batch_id == *a.batch; });
                if (has_batch) {
                    r.status = AnchorStatus::mismatch;
                    r.journal = j->path;
                    r.batch = *a.batch;
                    r.journal_last_batch = j->last_batch;
                    break;
                }
            }
        }
        report.anchors.push_back(r);
    }
}

}  // namespace lineage

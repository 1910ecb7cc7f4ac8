// A batch whose hash does not verify: which of its rows were changed,
// added or deleted, from the row marks it committed, or else its header.
#include <fmt/format.h>

#include "verifier.h"

namespace lineage::verify_detail {

std::string Verifier::where_hash_points(const Hash& h) const {
    auto it = by_hash_.find(h);
    return it == by_hash_.end() ? std::string() : std::to_string(it->second);
}

// A batch whose hash does not verify: which rows, or else the header.
void Verifier::locate(const BatchHeader& header, std::string_view stored_marks, const BatchHasher& hasher,
                      const std::array<std::vector<int64_t>, kChainTableCount>& rowids,
                      const std::array<int64_t, kChainTableCount>& last_rowid) {
    const int64_t id = header.batch_id;
    auto marks = parse_row_marks(stored_marks);
    if (!marks) {
        add(Finding{
            FindingKind::batch_modified, id, "batches", id, false,
            fmt::format("hash does not verify and {}: the changed rows cannot be located", marks.error().message)});
        return;
    }
    const size_t before = v_.findings.size() + v_.findings_omitted;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        diff_table(id, table_at(i), (*marks)[i], hasher.digests(table_at(i)), rowids[i], last_rowid[i]);
    }
    if (v_.findings.size() + v_.findings_omitted != before) return;
    int64_t event_rows = 0;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        if (counts_in_row_count(table_at(i))) event_rows += static_cast<int64_t>(rowids[i].size());
    }
    if (header.row_count != event_rows) {
        add(Finding{FindingKind::batch_modified, id, "batches", id, false,
                    fmt::format("row_count says {}, the batch holds {} event rows", header.row_count, event_rows)});
    } else {
        add(Finding{FindingKind::batch_modified, id, "batches", id, false,
                    "batch_id, run_id, committed_ns or prev_hash differs from what was hashed; the rows are "
                    "intact"});
    }
}

// Lines up the marks the batch committed with the rows it holds now and
// reports each difference at its row. Rows are appended in rowid order,
// so a missing row's rowid is the one its neighbours leave out.
void Verifier::diff_table(int64_t batch, ChainTable t, const std::vector<uint32_t>& expected,
                          const std::vector<Hash>& digests, const std::vector<int64_t>& rowids, int64_t rowid_before) {
    const size_t n = expected.size(), m = digests.size();
    constexpr size_t kWindow = 64;
    const char* name = table_name(t);
    size_t i = 0, j = 0;
    int64_t deleted_here = 0;  // consecutive deletions before row j
    auto deleted = [&]() {
        int64_t before = j > 0 ? rowids[j - 1] : rowid_before;
        add(Finding{FindingKind::deleted, batch, name, before + 1 + deleted_here, true,
                    fmt::format("a committed {} row is missing (the batch committed {} {} rows, {} present)", name, n,
                                name, m)});
        ++deleted_here;
        ++i;
    };
    auto added = [&]() {
        add(Finding{FindingKind::added, batch, name, rowids[j], false,
                    fmt::format("not in the batch's hash (the batch committed {} {} rows, {} present)", n, name, m)});
        ++j;
        deleted_here = 0;
    };
    while (i < n || j < m) {
        if (i < n && j < m && expected[i] == mark_of(digests[j])) {
            ++i;
            ++j;
            deleted_here = 0;
            continue;
        }
        if (j >= m) {
            deleted();
            continue;
        }
        if (i >= n) {
            added();
            continue;
        }
        // The nearest resynchronisation wins: rows added before the
        // expected one, or expected rows missing before the actual one.
        size_t skip_actual = 0, skip_expected = 0;
        for (size_t k = j + 1; k < m && k <= j + kWindow; ++k) {
            if (mark_of(digests[k]) == expected[i]) {
                skip_actual = k - j;
                break;
            }
        }
        for (size_t k = i + 1; k < n && k <= i + kWindow; ++k) {
            if (expected[k] == mark_of(digests[j])) {
                skip_expected = k - i;
                break;
            }
        }
        if (skip_actual && (!skip_expected || skip_actual <= skip_expected)) {
            for (size_t k = 0; k < skip_actual; ++k) added();
        } else if (skip_expected) {
            for (size_t k = 0; k < skip_expected; ++k) deleted();
        } else {
            add(Finding{FindingKind::modified, batch, name, rowids[j], false,
                        "differs from the row that was committed"});
            ++i;
            ++j;
            deleted_here = 0;
        }
    }
}

}  // namespace lineage::verify_detail

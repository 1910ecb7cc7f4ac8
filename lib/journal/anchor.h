#pragma once
// Anchors: the chain head a recorder publishes (`record --anchor-log`), and
// what `verify --anchor` checks a journal against.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fd.h"
#include "hashchain.h"
#include "result.h"

namespace lineage {

// One anchor:
//   lineage-anchor 2026-04-22T09:00:00.000000000Z node=NODE boot=BOOT_ID batch=N hash=HEX
// or just the 64 hex digits of the hash. A run that could not append to its
// journal (its schema is not lineage's) adds where it records instead:
//   ... hash=HEX journal=/var/lib/lineage/journal.2.db refused=/var/lib/lineage/journal.db
struct Anchor {
    std::string input;  // as given
    Hash hash{};
    std::optional<int64_t> batch;
    std::string node, boot_id, time;
    std::string journal, refused;  // empty unless the line names them
};
std::string format_anchor_line(int64_t wall_ns, std::string_view node, std::string_view boot_id, int64_t batch,
                               const Hash& hash, std::string_view journal = {}, std::string_view refused = {});
Result<Anchor> parse_anchor(std::string_view text);

// Where a recorder publishes its anchors: a file opened for appending (each
// line one write(2), so concurrent writers never interleave within a line),
// or stderr when no path is given.
class AnchorLog {
public:
    AnchorLog() = default;  // stderr
    static Result<AnchorLog> open(const std::string& path);
    // Appends `line` and a newline.
    Status write(const std::string& line);

private:
    UniqueFd fd_;  // not valid: stderr
    std::string path_;
};

}  // namespace lineage

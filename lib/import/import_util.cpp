#include "import_util.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "hashchain.h"

namespace lineage::import_detail {

namespace {
constexpr size_t kMaxProblems = 20;
}

std::optional<std::string> base64_decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < in.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; ++j) {
            const char c = in[i + static_cast<size_t>(j)];
            if (c == '=' && i + 4 == in.size() && j >= 2) {
                v[j] = 0;
                ++pad;
            } else {
                if (pad) return std::nullopt;
                v[j] = val(c);
                if (v[j] < 0) return std::nullopt;
            }
        }
        const uint32_t n = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        out.push_back(static_cast<char>(n >> 16));
        if (pad < 2) out.push_back(static_cast<char>(n >> 8 & 0xff));
        if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
    }
    return out;
}

Result<std::string> sha256_of_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{fmt::format("{}: cannot open", path)};
    Sha256 sha;
    sha.begin();
    std::vector<char> buf(1 << 16);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        sha.update(buf.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) return Error{fmt::format("{}: read error", path)};
    return to_hex(sha.finish());
}

void malformed(ImportReport& report, const std::string& file, int64_t line, const std::string& why) {
    ++report.malformed;
    if (report.problems.size() < kMaxProblems) report.problems.push_back(fmt::format("{}:{}: {}", file, line, why));
}

Result<ImportReport> build_journal(const std::vector<std::string>& files, const std::string& journal,
                                   const std::function<Status(JournalWriter&, ImportReport&)>& build) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(journal, ec)) return Error{fmt::format("{}: exists; import writes a new journal", journal)};
    for (const auto& f : files) {
        if (!fs::is_regular_file(f, ec)) return Error{fmt::format("{}: not a readable file", f)};
    }
    const std::string temp = journal + ".importing";
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(temp + suffix, ec);
    ImportReport report;
    Status result = Ok{};
    {
        auto w = JournalWriter::open(temp);
        if (!w) return w.error();
        result = build(*w, report);
    }
    if (!result) {
        for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(temp + suffix, ec);
        return result.error();
    }
    // The writer is closed: its WAL is checkpointed into the file.
    fs::rename(temp, journal, ec);
    if (ec) return Error{fmt::format("{}: cannot rename the imported journal: {}", journal, ec.message())};
    for (const char* suffix : {"-wal", "-shm"}) fs::remove(temp + suffix, ec);
    return report;
}

}  // namespace lineage::import_detail

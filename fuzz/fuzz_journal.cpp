// A journal file is evidence that may have been tampered with: reading it
// must end in an error or a report, never a crash, a hang or a leak.
//
// Each input is written to a private temporary file (mutations of a real
// small journal, testdata/fuzz/journal/), opened with JournalReader, loaded
// with the full plan and with targeted plans, and rendered as text and JSON.
// Half the mutations are libFuzzer's, of the file's bytes; the other half
// edit the schema as an attacker with sqlite3 would (schema_mutation): a
// row of sqlite_schema's SQL mutated, its type, name or table changed, or
// an object added (a view, a trigger, an expression index, statistics, a
// view in place of a table). Bytes alone would seldom get past SQLite's
// page checks to a schema SQLite parses.
#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "fuzz_check.h"
#include "journal_reader.h"
#include "model.h"
#include "reconstruct.h"
#include "render.h"
#include "verify.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using namespace lineage;

// PIDs and pod of the seed journal's incident, so targeted plans find rows.
constexpr uint32_t kSeedPid = 18294;
constexpr uint32_t kSeedParentPid = 18293;
const std::string kSeedPod = "production/my-app-6d4f9-xk2p1";

class TempJournal {
public:
    TempJournal() {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lineage-fuzz.XXXXXX";
        if (!mkdtemp(tmpl.data())) std::abort();
        dir_ = tmpl;
        path_ = dir_ + "/journal.db";
    }
    ~TempJournal() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    const std::string& write(const uint8_t* data, size_t size) {
        int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FUZZ_CHECK(fd >= 0);
        for (size_t done = 0; done < size;) {
            ssize_t n = ::write(fd, data + done, size - done);
            FUZZ_CHECK(n > 0);
            done += static_cast<size_t>(n);
        }
        ::close(fd);
        return path_;
    }

private:
    std::string dir_, path_;
};

TempJournal* journal_file;

// What a terminal gets: valid UTF-8 without C0 (except '\n'), DEL or C1
// controls, whatever bytes the journal held.
void check_text(const std::string& text) {
    FUZZ_CHECK(is_valid_utf8(text));
    for (size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        FUZZ_CHECK(c == '\n' || (c >= 0x20 && c != 0x7f));
        if (c == 0xc2 && i + 1 < text.size()) {
            auto next = static_cast<unsigned char>(text[i + 1]);
            FUZZ_CHECK(next < 0x80 || next > 0x9f);
        }
    }
}

void check_json(const std::string& text) {
    // parse() throws on invalid UTF-8 as on any other syntax error.
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "JsonRenderer output does not parse: %s\n", e.what());
        FUZZ_CHECK(false);
    }
    FUZZ_CHECK(doc.is_object());
}

void render_all(const Model& model, const Query& query, uint8_t variant) {
    Report report = build_report(model, query);
    TextOptions options;
    options.ascii = (variant & 1) != 0;
    options.absolute_times = (variant & 2) != 0;
    options.fold.fold = (variant & 8) == 0;  // --no-fold
    check_text(TextRenderer(options).render(model, report));
    check_json(JsonRenderer().render(model, report));
    check_text(render_warnings_for_stderr(report));
}

void load_and_render(JournalReader& reader, const LoadPlan& plan, const Query& query, uint8_t variant) {
    Model model;
    if (!reader.load_into(model, plan)) return;
    model.finish();
    render_all(model, query, variant);
}

// What an attacker adds with sqlite3 on the node.
constexpr const char* kHostileObjects[] = {
    "CREATE VIEW endless AS WITH RECURSIVE f(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM f) SELECT n FROM f",
    "ALTER TABLE exec RENAME TO exec_gone; CREATE VIEW exec AS WITH RECURSIVE f(n) AS (SELECT 1 UNION ALL "
    "SELECT n + 1 FROM f) SELECT n AS batch, n AS time_ns, n AS tgid, n AS start_ns FROM f",
    "ALTER TABLE fork RENAME TO fork_gone; CREATE VIEW fork AS SELECT * FROM fork_gone",
    "CREATE TRIGGER wipe AFTER INSERT ON exec BEGIN DELETE FROM exec; END",
    "CREATE INDEX exec_by_fn ON exec (abs(tgid))",
    "CREATE INDEX exec_by_argv ON exec (argv, tgid, start_ns, batch)",
    "CREATE TABLE notes (x)",
    "ANALYZE; UPDATE sqlite_stat1 SET stat = '100000000 100000000 100000000'",
    "CREATE TABLE sqlite_stat4 (tbl, idx, neq, nlt, ndlt, sample); INSERT INTO sqlite_stat4 VALUES "
    "('exec', 'exec_by_pod', '1 1', '0 0', '0 0', x'00')",
    "PRAGMA user_version = 1",
    "PRAGMA user_version = 3",
};

// The journal's schema edited through SQLite on an in-memory copy of the
// input (a journal's WAL flag cleared for that: an in-memory database has
// no WAL; it is put back). nullopt when SQLite cannot open the input.
std::optional<std::vector<uint8_t>> schema_mutation(const uint8_t* data, size_t size, size_t max_size,
                                                    std::minstd_rand& rng) {
    if (size < 100) return std::nullopt;
    auto* copy = static_cast<uint8_t*>(sqlite3_malloc64(size));
    if (!copy) return std::nullopt;
    std::memcpy(copy, data, size);
    const uint8_t write_version = copy[18], read_version = copy[19];
    copy[18] = copy[19] = 1;
    sqlite3* db = nullptr;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_deserialize(db, "main", copy, static_cast<sqlite3_int64>(size), static_cast<sqlite3_int64>(size),
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK) {
        sqlite3_close(db);
        return std::nullopt;
    }
    int on = 0;
    sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 1, &on);
    auto run = [&](const std::string& sql, const std::string& text, int64_t rowid) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
            sqlite3_bind_int64(stmt, 2, rowid);
            (void)sqlite3_step(stmt);
        }
        sqlite3_finalize(stmt);
    };
    // A row of sqlite_schema, by rowid, with its SQL.
    int64_t rowid = 0;
    std::string sql;
    {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT rowid, coalesce(sql, '') FROM sqlite_schema ORDER BY rowid", -1, &stmt,
                               nullptr) == SQLITE_OK) {
            std::vector<std::pair<int64_t, std::string>> rows;
            while (sqlite3_step(stmt) == SQLITE_ROW) {
                rows.emplace_back(sqlite3_column_int64(stmt, 0),
                                  reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
            }
            if (!rows.empty()) std::tie(rowid, sql) = rows[rng() % rows.size()];
        }
        sqlite3_finalize(stmt);
    }
    switch (rng() % 4) {
        case 0: {  // its SQL, mutated as libFuzzer mutates bytes
            std::string buf = sql;
            buf.resize(std::max<size_t>(sql.size() * 2, 256));
            buf.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(buf.data()), sql.size(), buf.size()));
            run("UPDATE sqlite_schema SET sql = ?1 WHERE rowid = ?2", buf, rowid);
            break;
        }
        case 1: {  // its type, name or table
            static const char* const kTypes[] = {"table", "index", "view", "trigger"};
            static const char* const kColumns[] = {"type", "name", "tbl_name"};
            const char* column = kColumns[rng() % 3];
            std::string value = std::strcmp(column, "type") == 0 ? kTypes[rng() % 4] : (rng() % 2 ? "exec" : "EXEC");
            run(fmt::format("UPDATE sqlite_schema SET {} = ?1 WHERE rowid = ?2", column), value, rowid);
            break;
        }
        default: {  // an object added
            const char* object = kHostileObjects[rng() % std::size(kHostileObjects)];
            (void)sqlite3_exec(db, object, nullptr, nullptr, nullptr);
            break;
        }
    }
    sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 0, &on);
    sqlite3_int64 out_size = 0;
    unsigned char* out = sqlite3_serialize(db, "main", &out_size, 0);
    std::optional<std::vector<uint8_t>> result;
    if (out && out_size >= 100 && static_cast<size_t>(out_size) <= max_size) {
        result.emplace(out, out + out_size);
        (*result)[18] = write_version;
        (*result)[19] = read_version;
    }
    sqlite3_free(out);
    sqlite3_close(db);
    return result;
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
    std::minstd_rand rng(seed);
    if (rng() % 2 == 0) {
        if (auto edited = schema_mutation(data, size, max_size, rng)) {
            std::memcpy(data, edited->data(), edited->size());
            return edited->size();
        }
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    setenv("TZ", "UTC", 1);
    journal_file = new TempJournal();
    std::atexit([] { delete journal_file; });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = journal_file->write(data, size);
    // verify reads every journal that opens, whatever its schema: a verdict
    // or an error, never a hang (libFuzzer's -timeout) or a crash.
    if (auto verdict = verify_journal(path); !verdict) FUZZ_CHECK(!verdict.error().message.empty());
    // A schema that is not lineage's is refused; read it anyway, as
    // --force-schema does: its tables only, never a view or trigger.
    ReadOptions options;
    if (auto refused = JournalReader::open(path); !refused) {
        FUZZ_CHECK(!refused.error().message.empty());
        options.force_schema = true;
    }
    auto reader = JournalReader::open(path, options);
    if (!reader) {
        FUZZ_CHECK(!reader.error().message.empty());
        return 0;
    }
    // Output options from the last byte: a byte SQLite rarely looks at.
    const uint8_t variant = size ? data[size - 1] : 0;

    // Everything, as `reconstruct` without a selector loads it.
    load_and_render(*reader, LoadPlan{}, Query{}, variant);

    // Targeted: every incarnation of one PID, through the indexes.
    LoadPlan by_pid;
    by_pid.everything = false;
    by_pid.pid = kSeedPid;
    Query pid_query;
    pid_query.pid = kSeedPid;
    load_and_render(*reader, by_pid, pid_query, variant);

    // And one of the other targeted selectors, alternating.
    LoadPlan other;
    other.everything = false;
    Query other_query;
    if (variant & 4) {
        other.pod = kSeedPod;
        other_query.pod = kSeedPod;
    } else {
        other.descendants_of = kSeedParentPid;
        other_query.descendants_of = kSeedParentPid;
    }
    load_and_render(*reader, other, other_query, variant);
    return 0;
}

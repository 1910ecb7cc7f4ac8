// The hash chain's encoding (schema/hash-chain.md): the batch link as the
// document describes it, every column covered, and the row decoder.
#include <openssl/evp.h>

#include <catch2/catch.hpp>

#include <set>

#include "fixture_journal.h"
#include "hashchain.h"
#include "journal_writer.h"
#include "sqlite.h"
#include "test_util.h"

namespace test_hashchain {

using namespace lineage;
using fixture::TempDir;
using lineage::test::run_info;

namespace {

// Big-endian helpers for the independent encoder below.
void be(std::string& out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_int(std::string& out, int64_t v) {
    out.push_back('\x01');
    be(out, static_cast<uint64_t>(v), 8);
}
void put_bytes(std::string& out, char type, const std::string& s) {
    out.push_back(type);
    be(out, s.size(), 4);
    out += s;
}
std::string sha256_raw(const std::string& bytes) {
    unsigned char md[32];
    unsigned int n = 0;
    REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) == 1);
    return std::string(reinterpret_cast<char*>(md), n);
}

}  // namespace

TEST_CASE("the batch link is the documented encoding", "[verify][hash-chain]") {
    // schema/hash-chain.md, implemented again here with nothing but OpenSSL:
    // one batch holding a run row, its clock sample and one exit row.
    TempDir dir;
    const std::string path = dir / "j.db";
    RunInfo info = run_info(5'000);
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(info).ok());
        ExitEvent x;
        x.time_ns = 6'000;
        x.proc = {77, 5'500};
        x.code = 3;
        x.signal = 0;
        x.comm = std::string("a\0b", 3);
        REQUIRE(w->add(x, "").ok());
        REQUIRE(w->commit(7'000).ok());
    }
    std::string run_row = "\x01";
    put_int(run_row, 1);
    put_bytes(run_row, '\x03', info.boot_id);
    put_bytes(run_row, '\x03', info.node);
    put_int(run_row, info.started_ns);
    put_int(run_row, info.started_wall_ns);
    put_bytes(run_row, '\x03', info.version);
    put_bytes(run_row, '\x03', info.kernel);
    put_bytes(run_row, '\x03', info.hooks);
    put_bytes(run_row, '\x03', info.filters_json);
    put_int(run_row, info.argv_cap);
    put_int(run_row, info.clk_tck);
    put_int(run_row, info.recorder_pid);
    std::string clock_row = "\x02";
    put_int(clock_row, 1);
    put_int(clock_row, info.started_ns);
    put_int(clock_row, info.started_wall_ns);
    std::string exit_row = "\x07";
    put_int(exit_row, 6'000);
    put_int(exit_row, 77);
    put_int(exit_row, 5'500);
    put_int(exit_row, 3);
    put_int(exit_row, 0);
    put_int(exit_row, 0);
    put_bytes(exit_row, '\x04', std::string("a\0b", 3));

    std::string link = "lineage-chain-v1" + std::string(32, '\0');
    be(link, 1, 8);      // batch_id
    be(link, 1, 8);      // run_id
    be(link, 7'000, 8);  // committed_ns
    be(link, 1, 8);      // row_count: the exit row only
    std::string marks;
    for (int tag = 1; tag <= 10; ++tag) {
        const std::string* row = tag == 1 ? &run_row : tag == 2 ? &clock_row : tag == 7 ? &exit_row : nullptr;
        link.push_back(static_cast<char>(tag));
        be(link, row ? 1 : 0, 4);
        if (row) {
            std::string d = sha256_raw(*row);
            link += d;
            marks.push_back(static_cast<char>(tag));
            be(marks, 1, 4);
            marks += d.substr(0, 4);
        }
    }
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    auto stmt = db->prepare("SELECT hash, prev_hash, row_marks FROM batches WHERE batch_id = 1");
    REQUIRE(stmt.ok());
    REQUIRE(stmt->step() == SQLITE_ROW);
    CHECK(stmt->blob(0) == sha256_raw(link));
    CHECK(stmt->blob(1) == std::string(32, '\0'));
    CHECK(stmt->blob(2) == marks);
}

TEST_CASE("the chain covers every column of every table", "[verify][hash-chain]") {
    // A column added to the schema but not to the encoding would be
    // unprotected: this fails until schema/hash-chain.md and
    // chain_columns() list it.
    TempDir dir;
    const std::string path = dir / "j.db";
    { REQUIRE(JournalWriter::open(path).ok()); }
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    std::set<std::string> tables;
    auto t = db->prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
    REQUIRE(t.ok());
    while (t->step() == SQLITE_ROW) tables.insert(t->text(0));
    std::set<std::string> chained = {"batches"};
    for (size_t i = 0; i < kChainTableCount; ++i) chained.insert(table_name(table_at(i)));
    CHECK(tables == chained);
    for (size_t i = 0; i < kChainTableCount; ++i) {
        std::string name = table_name(table_at(i));
        INFO(name);
        auto cols = db->prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid");
        REQUIRE(cols.ok());
        cols->bind(1, name);
        std::string list;
        bool has_batch = false;
        while (cols->step() == SQLITE_ROW) {
            if (cols->text(0) == "batch") {
                has_batch = true;
                continue;
            }
            list += (list.empty() ? "" : ", ") + cols->text(0);
        }
        CHECK(has_batch);
        CHECK(list == chain_columns(table_at(i)));
        // And the document says the same.
        CHECK_THAT(lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/schema/hash-chain.md"),
                   Catch::Contains("| `" + name + "`") && Catch::Contains(chain_columns(table_at(i))));
    }
}

TEST_CASE("decode_row gives back every value RowEncoder encoded", "[hash-chain]") {
    // The journal writer binds each row from its encoding, so a value the
    // decoder misreads would be stored other than hashed.
    RowEncoder enc;
    enc.begin(ChainTable::exec);
    enc.integer(-1);
    enc.integer(INT64_MAX);
    enc.text("pod");
    enc.blob(std::string("a\0b", 3));
    enc.blob("");
    enc.real(2.5);
    enc.null();
    std::vector<EncodedValue> got;
    decode_row(enc.encoded(), [&](const EncodedValue& v) { got.push_back(v); });
    REQUIRE(got.size() == 7);
    CHECK((got[0].type == RowEncoder::kInteger && got[0].integer == -1));
    CHECK((got[1].type == RowEncoder::kInteger && got[1].integer == INT64_MAX));
    CHECK((got[2].type == RowEncoder::kText && got[2].bytes == "pod"));
    CHECK((got[3].type == RowEncoder::kBlob && got[3].bytes == std::string_view("a\0b", 3)));
    CHECK((got[4].type == RowEncoder::kBlob && got[4].bytes.empty()));
    CHECK((got[5].type == RowEncoder::kReal && got[5].real == 2.5));
    CHECK(got[6].type == RowEncoder::kNull);
}

}  // namespace test_hashchain

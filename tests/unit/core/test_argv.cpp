// Argv: a process image's arguments in one buffer, split exactly as
// split_argv splits the kernel's form, whatever the bytes.

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "argv.h"

namespace test_argv {

using lineage::Argv;
using lineage::join_argv;
using lineage::split_argv;
using namespace std::string_literals;
using V = std::vector<std::string>;

TEST_CASE("Argv splits as split_argv does", "[argv]") {
    for (const std::string& raw : {""s, "ls\0"s, "ls\0-l\0/tmp\0"s, "a\0\0b\0"s, "a\0\0"s, "\0"s, "\0\0"s,
                                   "nginx: worker process"s, "a\0b"s, "\xff\xfe\0\xc3\x28\0\xed\xa0\x80\0"s}) {
        INFO(raw.size() << " bytes");
        const Argv argv(raw);
        const V split = split_argv(raw);
        CHECK(argv == split);
        CHECK(argv.size() == split.size());
        CHECK(argv.empty() == split.empty());
        CHECK(argv.to_vector() == split);
        CHECK(argv.front() == (split.empty() ? "" : split.front()));
        // The same arguments, however they were given, are one Argv.
        CHECK(argv == Argv(split));
        CHECK(Argv(join_argv(split)) == argv);
    }
    CHECK(Argv("a\0\0b\0"s).size() == 3);
    CHECK_FALSE(Argv("a\0b\0"s) == V{"a"});
    CHECK_FALSE(Argv("a\0b\0"s) == V{"a", "c"});
    CHECK_FALSE(Argv("a\0b\0"s) == Argv("a\0"s));
}

TEST_CASE("Argv iterates its arguments in order, empty ones too", "[argv]") {
    const Argv argv{"sh", "", "-c", "echo hi"};
    V seen;
    for (std::string_view a : argv) seen.emplace_back(a);
    CHECK(seen == V{"sh", "", "-c", "echo hi"});
    CHECK(argv.size() == 4);
    CHECK(argv.front() == "sh");
    const Argv none;
    CHECK(none.empty());
    CHECK(none.begin() == none.end());
    CHECK(none.front().empty());
}

// An argument with a NUL in it (an import can give one) is two arguments,
// as it would be once written to a journal and read back: size and
// iteration agree.
TEST_CASE("Argv: an argument holding a NUL counts as the two it becomes", "[argv]") {
    const Argv argv(V{"a\0b"s, "c"});
    CHECK(argv.size() == 3);
    CHECK(argv == V{"a", "b", "c"});
    size_t n = 0;
    for (std::string_view a : argv) n += a.size() <= 1 ? 1 : 0;
    CHECK(n == argv.size());
}

TEST_CASE("Argv agrees with split_argv on random bytes", "[argv]") {
    std::mt19937 rng(23);
    for (int i = 0; i < 2000; ++i) {
        std::string raw(rng() % 40, '\0');
        // Mostly NULs and a few letters, so that runs of empty arguments
        // and missing final NULs are common.
        for (char& c : raw) c = rng() % 3 == 0 ? '\0' : static_cast<char>('a' + rng() % 3);
        const Argv argv(raw);
        REQUIRE(argv == split_argv(raw));
        REQUIRE(argv.size() == split_argv(raw).size());
    }
}

}  // namespace test_argv

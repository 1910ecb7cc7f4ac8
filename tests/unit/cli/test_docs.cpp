// The documentation agrees with the code: man pages and --help.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "fixture_journal.h"
#include "test_util.h"

using fixture::run_lineage;
using fixture::RunResult;
using fixture::TempDir;

TEST_CASE("verify --help and the man page agree", "[verify][docs]") {
    TempDir dir;
    RunResult help = run_lineage({"verify", "--help"}, dir.path());
    REQUIRE(help.status == 0);
    std::string man = lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/man/lineage-verify.1");
    REQUIRE_FALSE(man.empty());
    for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH EXIT STATUS",
                                ".SH EXAMPLES", ".SH FILES", ".SH SEE ALSO", ".SH JSON OUTPUT"}) {
        CHECK_THAT(man, Catch::Contains(section));
    }
    // troff escapes its dashes.
    std::string plain = std::regex_replace(man, std::regex(R"(\\-)"), "-");
    plain = std::regex_replace(plain, std::regex(R"(\\f[BIRP])"), "");
    // Every long option of --help is documented, and every one documented exists.
    std::set<std::string> in_help, in_man;
    const std::regex long_option(R"(--[a-z][a-z-]+)");
    for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), long_option); it != std::sregex_iterator();
         ++it) {
        in_help.insert(it->str());
    }
    const auto opts_at = plain.find(".SH OPTIONS"), opts_end = plain.find(".SH", opts_at + 4);
    std::istringstream opt_lines(plain.substr(opts_at, opts_end - opts_at));
    for (std::string l; std::getline(opt_lines, l);) {
        if (l.rfind(".B", 0) != 0) continue;  // the option lines of .TP entries
        for (auto it = std::sregex_iterator(l.begin(), l.end(), long_option); it != std::sregex_iterator(); ++it) {
            in_man.insert(it->str());
        }
    }
    in_help.erase("--help");
    in_man.erase("--help");
    CHECK(in_help == in_man);
    // Every example of --help is in the man page's EXAMPLES.
    std::istringstream lines(help.out.substr(help.out.find("Examples:")));
    std::string line;
    int examples = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("  lineage verify", 0) != 0) continue;
        ++examples;
        CHECK_THAT(plain, Catch::Contains(line.substr(2)));
    }
    CHECK(examples >= 3);
    // The exit statuses are the code's.
    CHECK_THAT(help.out, Catch::Contains("0 whole, 1 tampering, damage or a missing anchor found, 2 error"));
}

TEST_CASE("reconstruct --help and the man page agree", "[reconstruct][docs]") {
    TempDir dir;
    RunResult help = run_lineage({"reconstruct", "--help"}, dir.path());
    REQUIRE(help.status == 0);
    std::string man = lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/man/lineage-reconstruct.1");
    REQUIRE_FALSE(man.empty());
    std::string plain = std::regex_replace(man, std::regex(R"(\\-)"), "-");
    plain = std::regex_replace(plain, std::regex(R"(\\f[BIRP])"), "");
    // Every long option of --help is documented (selectors or options), and
    // every one documented exists.
    std::set<std::string> in_help, in_man;
    const std::regex long_option(R"(--[a-z][a-z-]+)");
    const auto help_options = help.out.substr(0, help.out.find("Examples:"));
    for (auto it = std::sregex_iterator(help_options.begin(), help_options.end(), long_option);
         it != std::sregex_iterator(); ++it) {
        in_help.insert(it->str());
    }
    for (const char* section : {".SH SELECTORS", ".SH OPTIONS"}) {
        const auto at = plain.find(section), end = plain.find(".SH", at + 4);
        REQUIRE(at != std::string::npos);
        std::istringstream lines(plain.substr(at, end - at));
        for (std::string l; std::getline(lines, l);) {
            if (l.rfind(".B", 0) != 0) continue;  // the option lines of .TP entries
            for (auto it = std::sregex_iterator(l.begin(), l.end(), long_option); it != std::sregex_iterator(); ++it) {
                in_man.insert(it->str());
            }
        }
    }
    in_help.erase("--help");
    CHECK(in_help == in_man);
    CHECK(in_help.count("--no-fold") == 1);
    // Every example of --help is in the man page's EXAMPLES.
    std::istringstream lines(help.out.substr(help.out.find("Examples:")));
    int examples = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("  lineage reconstruct", 0) != 0) continue;
        ++examples;
        CHECK_THAT(plain, Catch::Contains(line.substr(2)));
    }
    CHECK(examples >= 5);
}

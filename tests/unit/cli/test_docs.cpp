// The documentation agrees with the code: man pages and --help.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fixture_journal.h"
#include "test_util.h"

namespace test_docs {

using fixture::run_lineage;
using fixture::RunResult;
using fixture::TempDir;

namespace {

// A subcommand's --help and its man page: the sections, every long option
// both ways, every example of --help in the page's EXAMPLES; returns
// --help's text.
std::string check_help_and_man(const std::string& command, const std::vector<std::string>& sections) {
    TempDir dir;
    RunResult help = run_lineage({command, "--help"}, dir.path());
    REQUIRE(help.status == 0);
    std::string man = lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/man/lineage-" + command + ".1");
    REQUIRE_FALSE(man.empty());
    for (const auto& section : sections) CHECK_THAT(man, Catch::Contains(section));
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
    const auto examples_at = plain.find(".SH EXAMPLES");
    REQUIRE(examples_at != std::string::npos);
    const std::string examples_section = plain.substr(examples_at, plain.find("\n.SH", examples_at + 4) - examples_at);
    std::istringstream lines(help.out.substr(help.out.find("Examples:")));
    std::string line;
    int examples = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("  lineage " + command, 0) != 0) continue;
        ++examples;
        CHECK_THAT(examples_section, Catch::Contains(line.substr(2)));
    }
    CHECK(examples >= 3);
    return help.out;
}

}  // namespace

TEST_CASE("verify --help and the man page agree", "[verify][docs]") {
    const std::string help =
        check_help_and_man("verify", {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH EXIT STATUS",
                                      ".SH EXAMPLES", ".SH FILES", ".SH SEE ALSO", ".SH JSON OUTPUT"});
    // The exit statuses are the code's.
    CHECK_THAT(help, Catch::Contains("0 whole, 1 tampering, damage or a missing anchor found, 2 error"));
}

TEST_CASE("status --help and the man page agree", "[status][docs]") {
    const std::string help =
        check_help_and_man("status", {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH EXIT STATUS",
                                      ".SH EXAMPLES", ".SH FILES", ".SH SEE ALSO", ".SH JSON OUTPUT"});
    CHECK_THAT(help, Catch::Contains("Exit status: 0 recording and healthy; 1 recording, but stalled or losing "
                                     "events in the last minute;\n2 error; 3 not recording."));
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

TEST_CASE("export --help and the man page agree", "[export][docs]") {
    TempDir dir;
    RunResult help = run_lineage({"export", "--help"}, dir.path());
    REQUIRE(help.status == 0);
    std::string man = lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/man/lineage-export.1");
    REQUIRE_FALSE(man.empty());
    for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH ECS FIELDS",
                                ".SH EXIT STATUS", ".SH EXAMPLES", ".SH OVERHEAD", ".SH FILES", ".SH SEE ALSO"}) {
        CHECK_THAT(man, Catch::Contains(section));
    }
    std::string plain = std::regex_replace(man, std::regex(R"(\\-)"), "-");
    plain = std::regex_replace(plain, std::regex(R"(\\f[BIRP])"), "");
    std::set<std::string> in_help, in_man, in_synopsis;
    const std::regex long_option(R"(--[a-z][a-z-]+)");
    for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), long_option); it != std::sregex_iterator();
         ++it) {
        in_help.insert(it->str());
    }
    const auto opts_at = plain.find(".SH OPTIONS"), opts_end = plain.find(".SH", opts_at + 4);
    std::istringstream opt_lines(plain.substr(opts_at, opts_end - opts_at));
    for (std::string l; std::getline(opt_lines, l);) {
        if (l.rfind(".B", 0) != 0) continue;
        for (auto it = std::sregex_iterator(l.begin(), l.end(), long_option); it != std::sregex_iterator(); ++it) {
            in_man.insert(it->str());
        }
    }
    const auto syn_at = plain.find(".SH SYNOPSIS"), syn_end = plain.find(".SH", syn_at + 4);
    const std::string synopsis = plain.substr(syn_at, syn_end - syn_at);
    for (auto it = std::sregex_iterator(synopsis.begin(), synopsis.end(), long_option); it != std::sregex_iterator();
         ++it) {
        in_synopsis.insert(it->str());
    }
    in_help.erase("--help");
    in_man.erase("--help");
    CHECK(in_help == in_man);
    CHECK(in_help == in_synopsis);
    std::istringstream lines(help.out.substr(help.out.find("Examples:")));
    std::string line;
    int examples = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("  lineage export", 0) != 0) continue;
        ++examples;
        CHECK_THAT(plain, Catch::Contains(line.substr(2)));
    }
    CHECK(examples >= 3);
    CHECK_THAT(help.out, Catch::Contains("Exit status: 0 exported, 2 error."));
    // Every ECS field the issue names is documented, field by field.
    for (const char* field :
         {"process.entity_id", "process.parent.entity_id", "process.pid", "process.executable", "process.args",
          "process.start", "process.exit_code", "destination.ip", "destination.port", "orchestrator.resource.name",
          "container.id", "host.name", "event.kind", "event.category", "event.type", "@timestamp"}) {
        CHECK_THAT(plain, Catch::Contains(field));
    }
}

TEST_CASE("import --help and the man page agree", "[import][docs]") {
    TempDir dir;
    RunResult help = run_lineage({"import", "--help"}, dir.path());
    REQUIRE(help.status == 0);
    std::string man = lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/man/lineage-import.1");
    REQUIRE_FALSE(man.empty());
    std::string plain = std::regex_replace(man, std::regex(R"(\\-)"), "-");
    plain = std::regex_replace(plain, std::regex(R"(\\f[BIRP])"), "");
    std::set<std::string> in_help, in_man;
    const std::regex long_option(R"(--[a-z][a-z-]+)");
    for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), long_option); it != std::sregex_iterator();
         ++it) {
        in_help.insert(it->str());
    }
    const auto opts_at = plain.find(".SH OPTIONS"), opts_end = plain.find(".SH", opts_at + 4);
    std::istringstream opt_lines(plain.substr(opts_at, opts_end - opts_at));
    for (std::string l; std::getline(opt_lines, l);) {
        if (l.rfind(".B", 0) != 0) continue;
        for (auto it = std::sregex_iterator(l.begin(), l.end(), long_option); it != std::sregex_iterator(); ++it) {
            in_man.insert(it->str());
        }
    }
    in_help.erase("--help");
    CHECK(in_help == in_man);
    std::istringstream lines(help.out.substr(help.out.find("Examples:")));
    int examples = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("  lineage import", 0) != 0) continue;
        ++examples;
        CHECK_THAT(plain, Catch::Contains(line.substr(2)));
    }
    CHECK(examples >= 3);
    CHECK_THAT(help.out, Catch::Contains("Exit status: 0 imported, 1 imported but some lines were malformed"));
}

TEST_CASE("info, pods and timeline: --help and the man pages agree", "[triage][docs]") {
    const std::vector<std::string> sections{".SH NAME",     ".SH SYNOPSIS",    ".SH DESCRIPTION",
                                            ".SH OPTIONS",  ".SH EXIT STATUS", ".SH EXAMPLES",
                                            ".SH OVERHEAD", ".SH JSON OUTPUT", ".SH SEE ALSO"};
    CHECK_THAT(check_help_and_man("info", sections), Catch::Contains("Exit status: 0 described, 2 error."));
    CHECK_THAT(check_help_and_man("pods", sections),
               Catch::Contains("Exit status: 0 pods listed, 1 none, 2 error, 3 more processes"));
    CHECK_THAT(check_help_and_man("timeline", sections),
               Catch::Contains("Exit status: 0 something matched, 1 nothing matched, 2 error, 3 more processes"));
}

// A usage error is one line on stderr that names the command and the
// argument, with exit 2 and nothing on stdout; what was typed is escaped.
TEST_CASE("usage errors: one line naming the argument, exit 2", "[cli]") {
    TempDir dir;
    struct Case {
        std::vector<std::string> args;
        std::string line;
    };
    const std::vector<Case> cases = {
        {{"reconstruct", "--pid", "abc"}, "lineage reconstruct: Could not convert: --pid = abc (see --help)\n"},
        {{"reconstruct", "--max-processes", "-5"},
         "lineage reconstruct: --max-processes: expected a count, 0 or more, got '-5' (see --help)\n"},
        {{"timeline", "--bogus"}, "lineage timeline: The following argument was not expected: --bogus (see --help)\n"},
        {{"pods", "--format", "\x1b[31mred"}, ""},
    };
    for (const auto& c : cases) {
        INFO(c.args.front() << " " << c.args.back());
        RunResult r = run_lineage(c.args, dir.path(), {}, 30);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find('\x1b') == std::string::npos);
        if (!c.line.empty()) CHECK(r.err == c.line);
    }
}

}  // namespace test_docs

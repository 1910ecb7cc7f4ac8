// End-to-end tests of `lineage reconstruct` on journals that the real
// `lineage record` wrote: a scripted tree (tests/e2e/workload_tree.sh)
// compared line by line and as JSON, journals copied or read while the
// recorder writes them, evidence that must stay untouched, bad journal
// files, and hostile argv recorded for real.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "escape.h"
#include "helpers.h"

namespace test_reconstruct_e2e {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;
using Args = std::vector<std::string>;

namespace {

namespace fs = std::filesystem;

std::string tree_workload() {
    return source_dir() + "/tests/e2e/workload_tree.sh";
}
std::string schema_path() {
    return source_dir() + "/schema/reconstruct.schema.json";
}

const Args kAsNobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};

// `lineage reconstruct ARGS...`, as root or (with setpriv) as nobody.
RunResult reconstruct(const Args& args, const Env& env = {}, bool as_nobody = false,
                      std::chrono::milliseconds timeout = 20s) {
    Args argv;
    if (as_nobody) argv = kAsNobody;
    argv.push_back(lineage_bin());
    argv.push_back("reconstruct");
    argv.insert(argv.end(), args.begin(), args.end());
    return run_argv(argv, env, timeout);
}

// For failure messages: the exit status and both outputs (cut short).
std::string describe(const RunResult& r) {
    auto cut = [](const std::string& s) {
        return s.size() <= 6000 ? s : s.substr(0, 6000) + "\n[... " + std::to_string(s.size() - 6000) + " more bytes]";
    };
    std::ostringstream os;
    os << (r.timed_out ? "TIMED OUT, " : "") << describe_status(r.status) << "\n--- stderr:\n"
       << cut(r.err) << "\n--- stdout:\n"
       << cut(r.out);
    return os.str();
}

// REQUIREs that `r` ended by itself with exit status `code`.
void require_exit(const RunResult& r, int code, const std::string& what) {
    INFO(what << "\n" << describe(r));
    REQUIRE(!r.timed_out);
    REQUIRE(r.exit_code == code);
}

json parse_json(const std::string& text) {
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    INFO("output that should be JSON:\n" << text.substr(0, 4000));
    REQUIRE(!doc.is_discarded());
    REQUIRE(doc.is_object());
    return doc;
}

// Validates a reconstruct JSON document against schema/reconstruct.schema.json
// with the python3-jsonschema CLI.
void check_schema(const std::string& json_text, const std::string& scratch_file) {
    static const bool have_jsonschema =
        run_argv({"/usr/bin/python3", "-c", "import jsonschema"}, {}, 30s).exit_code == 0;
    if (!have_jsonschema) {
        FAIL(
            "python3-jsonschema is missing (apt-get install python3-jsonschema): it is needed to validate the "
            "output against schema/reconstruct.schema.json");
    }
    write_file(scratch_file, json_text);
    auto r = run_argv({"/usr/bin/python3", "-m", "jsonschema", "-i", scratch_file, schema_path()}, {}, 30s);
    INFO("python3 -m jsonschema -i " << scratch_file << " " << schema_path() << "\n" << describe(r));
    REQUIRE(!r.timed_out);
    REQUIRE(r.exit_code == 0);
}

// Every node of every tree, depth first, with its parent node (nullptr for a root).
void walk(const json& doc, const std::function<void(const json& node, const json* parent)>& fn) {
    std::function<void(const json&, const json*)> rec = [&](const json& n, const json* parent) {
        fn(n, parent);
        for (const auto& c : n.at("children")) rec(c, &n);
    };
    for (const auto& t : doc.at("trees")) rec(t, nullptr);
}

// The node of the process whose first image has argv[1] == marker.
std::vector<const json*> nodes_with_marker(const json& doc, const std::string& marker) {
    std::vector<const json*> out;
    walk(doc, [&](const json& n, const json*) {
        for (const auto& e : n.at("execs")) {
            const auto& a = e.at("args");
            if (a.size() >= 2 && a[1].is_string() && a[1].get<std::string>() == marker) {
                out.push_back(&n);
                return;
            }
        }
    });
    return out;
}

const json& node_with_marker(const json& doc, const std::string& marker) {
    auto found = nodes_with_marker(doc, marker);
    INFO("processes with argv[1] = " << marker);
    REQUIRE(found.size() == 1);
    return *found[0];
}

Args str_array(const json& a) {
    Args out;
    for (const auto& s : a) out.push_back(s.get<std::string>());
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

// Replaces "(PID n)" / "(PID n, m in its namespace)" by "(PID _)" and the
// start/connect times (+1.234s, -16m39s, +3h12m, +2d01h) by "T".
std::string normalise_line(const std::string& line) {
    static const std::regex pid_re(R"(\(PID [0-9]+(, [0-9]+ in its namespace)?\))");
    static const std::regex time_re(R"(  [+-][0-9]+(?:\.[0-9]{3}s|m[0-9]{2}s|h[0-9]{2}m|d[0-9]{2}h)(?=  |$))");
    // Depth marks come only with the indentation's restart, past 64
    // generations of ancestors that the one who runs the suite decides.
    static const std::regex depth_re(R"(  \[depth [0-9,]+\])");
    std::string s = std::regex_replace(line, pid_re, "(PID _)");
    s = std::regex_replace(s, depth_re, "");
    return std::regex_replace(s, time_re, "  T");
}

std::vector<int64_t> pids_in(const std::vector<std::string>& lines) {
    static const std::regex pid_re(R"(\(PID ([0-9]+))");
    std::vector<int64_t> out;
    for (const auto& l : lines) {
        std::smatch m;
        if (std::regex_search(l, m, pid_re)) out.push_back(std::stoll(m[1].str()));
    }
    return out;
}

// The lines of the subtree whose root line shows `(PID pid)` and starts its
// label with `label_start`, re-indented as if it were a tree of its own.
// `line_before` gets the line above the root (its parent), if any.
std::vector<std::string> subtree_lines(const std::string& text, int64_t pid, const std::string& label_start,
                                       std::string* line_before) {
    auto lines = lines_of(text);
    const std::string tag = "(PID " + std::to_string(pid) + ")";
    size_t at = lines.size();
    for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].find(tag) != std::string::npos) {
            INFO("text:\n" << text);
            REQUIRE(at == lines.size());  // exactly one line shows the root
            at = i;
        }
    }
    INFO("no line shows " << tag << " in:\n" << text);
    REQUIRE(at < lines.size());
    const std::string& root = lines[at];
    size_t label = root.find(label_start);
    INFO("root line: " << root);
    REQUIRE(label != std::string::npos);
    std::string lead = root.substr(0, label);
    std::string cont;  // how the lines below the root start
    if (lead.empty()) {
        cont = "";
    } else if (lead.size() >= std::string("└── ").size() &&
               lead.substr(lead.size() - std::string("└── ").size()) == "└── ") {
        cont = lead.substr(0, lead.size() - std::string("└── ").size()) + "      ";
    } else {
        REQUIRE(lead.size() >= std::string("├── ").size());
        REQUIRE(lead.substr(lead.size() - std::string("├── ").size()) == "├── ");
        cont = lead.substr(0, lead.size() - std::string("├── ").size()) + "│     ";
    }
    if (line_before) *line_before = at > 0 ? lines[at - 1] : std::string();
    std::vector<std::string> out = {root.substr(label)};
    for (size_t i = at + 1; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        if (cont.empty()) {
            if (!starts_with(l, "  ")) break;
            out.push_back(l);
        } else {
            if (!starts_with(l, cont)) break;
            out.push_back("  " + l.substr(cont.size()));
        }
    }
    return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

// Polls `reconstruct --binary true --format json` on a journal being
// written until the exec `/bin/true MARKER` is in it (so its batch is
// committed). Every attempt must exit 0 or 1, never 2.
json wait_for_marker(const std::string& journal, const std::string& marker, const Env& env) {
    auto deadline = Clock::now() + 10s;
    while (true) {
        auto r = reconstruct({"--journal", journal, "--binary", "true", "--format", "json"}, env);
        INFO("reconstruct of the live journal " << journal << "\n" << describe(r));
        REQUIRE(!r.timed_out);
        REQUIRE((r.exit_code == 0 || r.exit_code == 1));
        json doc = parse_json(r.out);
        if (!nodes_with_marker(doc, marker).empty()) return doc;
        INFO("waiting for " << marker);
        REQUIRE(Clock::now() < deadline);
        std::this_thread::sleep_for(50ms);
    }
}

std::vector<std::string> dir_names(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::string sha256_of(const std::string& path) {
    auto r = run_argv({"/usr/bin/sha256sum", "--", path});
    INFO("sha256sum " << path << "\n" << describe(r));
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.size() >= 64);
    return r.out.substr(0, 64);
}

// What must not change about a file: its bytes, size, mtime (ns) and mode.
struct Fingerprint {
    std::string sha256;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    mode_t mode = 0;
    bool operator==(const Fingerprint&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Fingerprint& f) {
    return os << "{sha256 " << f.sha256 << ", size " << f.size << ", mtime_ns " << f.mtime_ns << ", mode " << std::oct
              << f.mode << std::dec << "}";
}

std::map<std::string, Fingerprint> fingerprints(const std::string& dir) {
    std::map<std::string, Fingerprint> out;
    for (const auto& name : dir_names(dir)) {
        const std::string path = dir + "/" + name;
        struct stat st {};
        REQUIRE(lstat(path.c_str(), &st) == 0);
        Fingerprint f;
        f.size = st.st_size;
        f.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
        f.mode = st.st_mode;
        if (S_ISREG(st.st_mode)) f.sha256 = sha256_of(path);
        out[name] = f;
    }
    return out;
}

std::string describe_fingerprints(const std::map<std::string, Fingerprint>& fps) {
    std::ostringstream os;
    for (const auto& [name, f] : fps) os << "  " << name << " " << f << "\n";
    return os.str();
}

// A bind mount of `source` at `target`, remounted read-only; unmounted by
// the destructor whatever happens in between.
class ReadOnlyBindMount {
public:
    explicit ReadOnlyBindMount(std::string target) : target_(std::move(target)) {}
    ~ReadOnlyBindMount() {
        if (!mounted_) return;
        if (umount2(target_.c_str(), 0) != 0) umount2(target_.c_str(), MNT_DETACH);
    }
    ReadOnlyBindMount(const ReadOnlyBindMount&) = delete;
    ReadOnlyBindMount& operator=(const ReadOnlyBindMount&) = delete;

    void mount_from(const std::string& source) {
        int rc = ::mount(source.c_str(), target_.c_str(), nullptr, MS_BIND, nullptr);
        INFO("mount --bind " << source << " " << target_ << ": " << (rc == 0 ? "ok" : std::strerror(errno)));
        REQUIRE(rc == 0);
        mounted_ = true;
        rc = ::mount(nullptr, target_.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
        INFO("mount -o remount,bind,ro " << target_ << ": " << (rc == 0 ? "ok" : std::strerror(errno)));
        REQUIRE(rc == 0);
    }

private:
    std::string target_;
    bool mounted_ = false;
};

void copy_with_mode(const std::string& from, const std::string& to, mode_t mode) {
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    INFO("copy " << from << " -> " << to << ": " << ec.message());
    REQUIRE(!ec);
    REQUIRE(chmod(to.c_str(), mode) == 0);
}

// Well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool valid_utf8(const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char b = static_cast<unsigned char>(s[i]);
        size_t len = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (b < 0x80)
            len = 1;
        else if (b >= 0xc2 && b <= 0xdf)
            len = 2;
        else if (b == 0xe0) {
            len = 3;
            lo = 0xa0;
        } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
            len = 3;
        else if (b == 0xed) {
            len = 3;
            hi = 0x9f;
        } else if (b == 0xf0) {
            len = 4;
            lo = 0x90;
        } else if (b >= 0xf1 && b <= 0xf3)
            len = 4;
        else if (b == 0xf4) {
            len = 4;
            hi = 0x8f;
        } else
            return false;
        if (i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            unsigned char c = static_cast<unsigned char>(s[i + k]);
            if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf)) return false;
        }
        i += len;
    }
    return true;
}

// Offsets of raw control bytes (C0 other than '\n', and DEL).
std::vector<size_t> control_bytes(const std::string& s) {
    std::vector<size_t> out;
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7f) out.push_back(i);
    }
    return out;
}

std::string base64_decode(const std::string& in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    INFO("base64: " << in);
    REQUIRE(in.size() % 4 == 0);
    std::string out;
    for (size_t i = 0; i < in.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = in[i + k];
            if (c == '=') {
                REQUIRE(i + 4 == in.size());
                v[k] = 0;
                ++pad;
            } else {
                REQUIRE(pad == 0);
                v[k] = val(c);
                REQUIRE(v[k] >= 0);
            }
        }
        REQUIRE(pad <= 2);
        uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
        out += static_cast<char>((n >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(n & 0xff);
    }
    return out;
}

std::string printable(const std::string& s, size_t max = 200) {
    std::string out = lineage::escape_for_terminal(s.size() > max ? s.substr(0, max) : s);
    if (s.size() > max) out += "[... " + std::to_string(s.size()) + " bytes]";
    return out;
}

// The processes `root` started, their children, and so on, by fork rows.
std::vector<ForkRow> fork_descendants(Journal& j, const Proc& root) {
    std::vector<ForkRow> out;
    std::vector<Proc> todo = {root};
    std::set<Proc> seen = {root};
    while (!todo.empty()) {
        Proc p = todo.back();
        todo.pop_back();
        for (const auto& f : j.forks_by_parent(p)) {
            if (!seen.insert(f.child).second) continue;
            out.push_back(f);
            todo.push_back(f.child);
        }
    }
    return out;
}

// A temporary directory that `nobody` can use as TMPDIR.
void make_world_writable(const TempDir& d) {
    REQUIRE(chmod(d.path().c_str(), 01777) == 0);
}

}  // namespace

// ---------------------------------------------------------------------------
// 1.

TEST_CASE("record a scripted workload, then reconstruct it (text and JSON)", "[reconstruct-e2e]") {
    TempDir dir;
    TempDir tmp;  // TMPDIR of reconstruct: must be empty again afterwards
    const Env env = {{"TMPDIR", tmp.path()}};
    const std::string journal = dir / "journal.db";
    Listener v4("127.0.0.1");
    const std::string port = std::to_string(v4.port());

    auto rec = start_record(journal);
    auto run = run_argv({"/bin/sh", tree_workload()}, {{"LINEAGE_V4_PORT", port}, {"PATH", "/usr/bin:/bin"}}, 20s);
    rec->stop();

    INFO("workload stdout:\n" << run.out << "workload stderr:\n" << run.err);
    REQUIRE(!run.timed_out);
    REQUIRE(run.exit_code == 0);
    auto facts = parse_facts(run.out);
    REQUIRE(facts["done"] == "1");
    CHECK(fact_int(facts, "chain_status") == 0);
    CHECK(fact_int(facts, "killed_status") == 128 + 9);
    CHECK(fact_int(facts, "exit3_status") == 3);
    CHECK(fact_int(facts, "connector_status") == 0);
    const int64_t root_pid = fact_int(facts, "root");
    const int64_t killed_pid = fact_int(facts, "killed");

    // ---- text ------------------------------------------------------------
    // --no-fold: the ancestors above the workload are this test's own
    // (ctest, the test script, CI's shells), and how many there are depends
    // on who runs the suite; folded, a long chain of them would put a fold
    // line where this test's own line is expected.
    auto text = reconstruct(
        {"--journal", journal, "--descendants-of", std::to_string(root_pid), "--color", "never", "--no-fold"}, env);
    require_exit(text, 0, "reconstruct --descendants-of " + std::to_string(root_pid) + " --color never");
    CHECK(control_bytes(text.out).empty());

    std::string parent_line;
    auto sub = subtree_lines(text.out, root_pid, "/bin/sh ", &parent_line);
    INFO("the subtree of the workload in the text:\n" << join_lines(sub));
    std::vector<std::string> normalised;
    for (const auto& l : sub) normalised.push_back(normalise_line(l));
    const std::string expected =
        "/bin/sh " + lineage::shell_quote(tree_workload()) +
        "  (PID _)  T  exit 0\n"
        "  ├── sh -c \"cat /etc/hostname >/dev/null; exec /bin/sleep 0.2\" → /bin/sleep 0.2  (PID _)  T  exit 0\n"
        "  │     └── cat /etc/hostname  (PID _)  T  exit 0\n"
        "  ├── sleep 30  (PID _)  T  killed by SIGKILL\n"
        "  ├── sh -c \"exit 3\"  (PID _)  T  exit 3\n"
        "  └── python3 -c 'import os, socket; socket.create_connection((\"127.0.0.1\", "
        "int(os.environ[\"LINEAGE_V4_PORT\"])), timeout=5).close()'  (PID _)  T  exit 0\n"
        "        → connect 127.0.0.1:" +
        port + "  T\n";
    CHECK(join_lines(normalised) == expected);
    // The root's parent, shown above it as an ancestor, is this test.
    CHECK(parent_line.find("(PID " + std::to_string(getpid()) + ")") != std::string::npos);

    // ---- JSON ------------------------------------------------------------
    auto js =
        reconstruct({"--journal", journal, "--descendants-of", std::to_string(root_pid), "--format", "json"}, env);
    require_exit(js, 0, "reconstruct --descendants-of " + std::to_string(root_pid) + " --format json");
    check_schema(js.out, dir / "tree.json");
    json doc = parse_json(js.out);

    Journal j(journal);
    const int64_t tick_ns = 1'000'000'000 / j.scalar("SELECT clk_tck FROM runs");
    const auto boots = j.texts("SELECT boot_id FROM runs");
    REQUIRE(boots.size() == 1);
    auto key_of = [&](const Proc& p) {
        return boots[0] + ":" + std::to_string(p.tgid) + ":" + std::to_string(p.start_ns / tick_ns);
    };

    CHECK(doc["format_version"] == 1);
    CHECK(doc["journal"]["paths"] == json::array({journal}));
    CHECK(doc["journal"]["boot_ids"] == json::array({boots[0]}));
    // No events were lost (a warning on stderr and in the document).
    for (const auto& w : doc["warnings"]) CHECK(w["kind"] != "loss");
    CHECK(std::count(js.err.begin(), js.err.end(), '\n') == static_cast<long>(doc["warnings"].size()));
    CHECK(doc["matched"] == 6);  // the workload shell and its five descendants

    // The root: forked by this test.
    auto root_forks = j.forks_of_child(root_pid);
    INFO(j.describe(root_pid));
    REQUIRE(root_forks.size() == 1);
    const Proc root = root_forks[0].child;
    CHECK(root_forks[0].parent.tgid == getpid());

    const json* root_node = nullptr;
    const json* root_parent = nullptr;
    int matched_nodes = 0;
    std::set<std::string> keys;
    walk(doc, [&](const json& n, const json* parent) {
        CHECK(keys.insert(n["key"].get<std::string>()).second);  // unique keys
        if (n["matched"] == true) ++matched_nodes;
        if (n["pid"] == root_pid) {
            CHECK(root_node == nullptr);
            root_node = &n;
            root_parent = parent;
        }
    });
    CHECK(matched_nodes == 6);
    REQUIRE(root_node != nullptr);
    const json& rn = *root_node;
    CHECK(rn["key"] == key_of(root));
    CHECK(rn["parent_key"] == key_of(root_forks[0].parent));
    CHECK(rn["parent_source"] == "fork");
    CHECK(rn["ppid"] == getpid());
    CHECK(rn["matched"] == true);
    CHECK(rn["in_window"] == true);
    CHECK(str_array(rn["args"]) == Args{"/bin/sh", tree_workload()});
    CHECK(rn["binary"] == "/bin/sh");
    CHECK(rn["exit"]["code"] == 0);
    CHECK(rn["exit"]["signal"] == 0);
    CHECK(rn["exit"]["signal_name"].is_null());
    // Its parent (this test, known from the /proc snapshot) is shown above
    // it as an ancestor, not as a match.
    REQUIRE(root_parent != nullptr);
    CHECK((*root_parent)["pid"] == getpid());
    CHECK((*root_parent)["key"] == key_of(root_forks[0].parent));
    CHECK((*root_parent)["matched"] == false);

    // Parent/child edges of the subtree are exactly the journal's fork rows.
    std::set<std::pair<std::string, std::string>> json_edges, journal_edges;
    std::map<std::string, const json*> by_key;
    std::vector<int64_t> preorder;
    std::function<void(const json&)> collect = [&](const json& n) {
        by_key[n["key"].get<std::string>()] = &n;
        preorder.push_back(n["pid"].get<int64_t>());
        for (const auto& c : n["children"]) {
            json_edges.insert({n["key"].get<std::string>(), c["key"].get<std::string>()});
            CHECK(c["parent_key"] == n["key"]);
            CHECK(c["ppid"] == n["pid"]);
            CHECK(c["parent_source"] == "fork");
            CHECK(c["matched"] == true);
            CHECK(!c.contains("outside_parent"));
            collect(c);
        }
    };
    collect(rn);
    std::map<std::string, Proc> proc_of = {{key_of(root), root}};
    for (const auto& f : fork_descendants(j, root)) {
        journal_edges.insert({key_of(f.parent), key_of(f.child)});
        proc_of[key_of(f.child)] = f.child;
    }
    CHECK(json_edges == journal_edges);
    CHECK(json_edges.size() == 5);

    // Every node against its journal rows: images, exit, connects.
    for (const auto& [key, node] : by_key) {
        INFO("node " << key << "\n" << node->dump(2));
        REQUIRE(proc_of.count(key) == 1);
        const Proc p = proc_of[key];
        INFO(j.describe(p.tgid));
        CHECK((*node)["pid"] == p.tgid);
        auto ex = j.execs("tgid = ? AND start_ns = ?", {p.tgid, p.start_ns});
        const json& execs = (*node)["execs"];
        REQUIRE(execs.size() == ex.size());
        for (size_t i = 0; i < ex.size(); ++i) {
            CHECK(execs[i]["binary"] == ex[i].binary);
            CHECK(str_array(execs[i]["args"]) == ex[i].argv);
            CHECK(execs[i]["from_snapshot"] == false);
            CHECK(execs[i]["args_truncated"] == false);
            CHECK(!execs[i].contains("raw_b64"));
        }
        if (!ex.empty()) {
            CHECK((*node)["binary"] == ex.back().binary);
            CHECK(str_array((*node)["args"]) == ex.back().argv);
        }
        auto x = j.exits("tgid = ? AND start_ns = ?", {p.tgid, p.start_ns});
        REQUIRE(x.size() == 1);
        REQUIRE((*node)["exit"].is_object());
        CHECK((*node)["exit"]["code"] == x[0].code);
        CHECK((*node)["exit"]["signal"] == x[0].signal);
        auto c = j.connects("tgid = ? AND start_ns = ?", {p.tgid, p.start_ns});
        const json& conns = (*node)["connects"];
        REQUIRE(conns.size() == c.size());
        for (size_t i = 0; i < c.size(); ++i) {
            CHECK(conns[i]["saddr"] == c[i].saddr);
            CHECK(conns[i]["sport"] == c[i].sport);
            CHECK(conns[i]["daddr"] == c[i].daddr);
            CHECK(conns[i]["dport"] == c[i].dport);
            CHECK(conns[i]["result"] == c[i].result);
        }
    }

    // What the workload did, independently of how the journal stored it.
    const json& kids = rn["children"];
    REQUIRE(kids.size() == 4);
    {
        const json& chain = kids[0];
        INFO(chain.dump(2));
        REQUIRE(chain["execs"].size() == 2);
        CHECK(chain["execs"][0]["binary"] == "/usr/bin/sh");
        CHECK(str_array(chain["execs"][0]["args"]) ==
              Args{"sh", "-c", "cat /etc/hostname >/dev/null; exec /bin/sleep 0.2"});
        CHECK(chain["execs"][1]["binary"] == "/bin/sleep");
        CHECK(str_array(chain["execs"][1]["args"]) == Args{"/bin/sleep", "0.2"});
        CHECK(chain["exit"]["code"] == 0);
        CHECK(chain["exit"]["signal"] == 0);
        REQUIRE(chain["children"].size() == 1);
        CHECK(chain["children"][0]["binary"] == "/usr/bin/cat");
        CHECK(str_array(chain["children"][0]["args"]) == Args{"cat", "/etc/hostname"});
        CHECK(chain["children"][0]["exit"]["code"] == 0);
    }
    {
        const json& killed = kids[1];
        INFO(killed.dump(2));
        CHECK(killed["pid"] == killed_pid);
        CHECK(str_array(killed["args"]) == Args{"sleep", "30"});
        CHECK(killed["exit"]["signal"] == 9);
        CHECK(killed["exit"]["signal_name"] == "SIGKILL");
        CHECK(killed["exit"]["code"] == 0);
        CHECK(killed["exit"]["core_dumped"] == false);
        CHECK(killed["children"].empty());
    }
    {
        const json& exit3 = kids[2];
        INFO(exit3.dump(2));
        CHECK(str_array(exit3["args"]) == Args{"sh", "-c", "exit 3"});
        CHECK(exit3["exit"]["code"] == 3);
        CHECK(exit3["exit"]["signal"] == 0);
        CHECK(exit3["exit"]["signal_name"].is_null());
    }
    {
        const json& py = kids[3];
        INFO(py.dump(2));
        CHECK(py["binary"] == "/usr/bin/python3");
        CHECK(py["exit"]["code"] == 0);
        REQUIRE(py["connects"].size() == 1);
        const json& c = py["connects"][0];
        CHECK(c["protocol"] == "tcp");
        CHECK(c["family"] == "ipv4");
        CHECK(c["daddr"] == "127.0.0.1");
        CHECK(c["dport"] == v4.port());
        CHECK(c["saddr"] == "127.0.0.1");
        CHECK(c["sport"] != 0);
        CHECK(c["result"] == "established");
    }
    // The text shows the same processes, in the same order.
    CHECK(pids_in(sub) == preorder);
    CHECK(preorder.size() == 6);
    CHECK((preorder.size() > 3 && preorder[0] == root_pid && preorder[3] == killed_pid));

    // ---- selectors that match nothing: exit 1 ----------------------------
    for (const Args& sel : {Args{"--binary", "no-such-binary"}, Args{"--pid", "999999999"}}) {
        Args a = {"--journal", journal};
        a.insert(a.end(), sel.begin(), sel.end());
        auto none = reconstruct(a, env);
        INFO("reconstruct " << sel[0] << " " << sel[1] << "\n" << describe(none));
        CHECK(!none.timed_out);
        CHECK(none.exit_code == 1);
        CHECK(none.out.empty());
        a.insert(a.end(), {"--format", "json"});
        auto none_json = reconstruct(a, env);
        INFO("--format json\n" << describe(none_json));
        CHECK(none_json.exit_code == 1);
        json nd = parse_json(none_json.out);
        CHECK(nd["matched"] == 0);
        CHECK(nd["trees"] == json::array());
    }
    check_schema(reconstruct({"--journal", journal, "--binary", "no-such-binary", "--format", "json"}, env).out,
                 dir / "none.json");
    CHECK(dir_names(tmp.path()).empty());
}

// ---------------------------------------------------------------------------
// 2.

TEST_CASE("reconstruct a journal copied while record is still writing", "[reconstruct-e2e]") {
    TempDir dir, with_wal, without_wal, tmp;
    const Env env = {{"TMPDIR", tmp.path()}};
    const std::string journal = dir / "journal.db";
    const std::string tag = std::to_string(getpid());
    const std::string marker = "lineage-marker-" + tag + "-before";
    const std::string late_marker = "lineage-marker-" + tag + "-after";

    auto rec = start_record(journal);
    // Some activity, then the marker; wait until its batch is committed by
    // reading the live journal (every attempt must exit 0 or 1).
    auto act = run_shell("for i in 1 2 3 4 5; do /bin/echo lineage-activity-$i; done >/dev/null");
    REQUIRE(act.exit_code == 0);
    REQUIRE(run_argv({"/bin/true", marker}).exit_code == 0);
    wait_for_marker(journal, marker, env);

    // Copy the files as an investigator would, while record keeps writing.
    const bool had_wal = fs::exists(journal + "-wal");
    copy_with_mode(journal, with_wal / "journal.db", 0600);
    if (had_wal) copy_with_mode(journal + "-wal", with_wal / "journal.db-wal", 0600);
    copy_with_mode(journal, without_wal / "journal.db", 0600);
    // After the copies: in the live journal, never in a copy.
    REQUIRE(run_argv({"/bin/true", late_marker}).exit_code == 0);
    INFO((had_wal ? "journal.db-wal was present and copied" : "there was no journal.db-wal while recording"));
    const auto with_wal_before = describe_fingerprints(fingerprints(with_wal.path()));
    const auto without_wal_before = describe_fingerprints(fingerprints(without_wal.path()));

    // Each copy: exit 0 or 1 (never 2), a valid document, exit 0 exactly
    // when something matched.
    auto read_copy = [&](const std::string& path, const std::string& scratch) -> json {
        auto r = reconstruct({"--journal", path, "--binary", "true", "--format", "json"}, env);
        INFO("reconstruct --journal " << path << " --binary true --format json\n" << describe(r));
        REQUIRE(!r.timed_out);
        REQUIRE((r.exit_code == 0 || r.exit_code == 1));
        check_schema(r.out, scratch);
        json doc = parse_json(r.out);
        CHECK((r.exit_code == 0) == (doc["matched"].get<int64_t>() > 0));
        CHECK(nodes_with_marker(doc, late_marker).empty());
        auto text = reconstruct({"--journal", path, "--binary", "true", "--color", "never"}, env);
        INFO("as text\n" << describe(text));
        CHECK(text.exit_code == r.exit_code);
        CHECK(text.out.empty() == (r.exit_code == 1));
        CHECK(control_bytes(text.out).empty());
        return doc;
    };
    {
        INFO("the copy with its WAL");
        json doc = read_copy(with_wal / "journal.db", dir / "with_wal.json");
        // Committed before the copy, so in it.
        CHECK(nodes_with_marker(doc, marker).size() == 1);
    }
    {
        INFO("the copy without the WAL");
        read_copy(without_wal / "journal.db", dir / "without_wal.json");
    }
    // Reading the copies changed nothing in them, and created nothing beside them.
    CHECK(describe_fingerprints(fingerprints(with_wal.path())) == with_wal_before);
    CHECK(describe_fingerprints(fingerprints(without_wal.path())) == without_wal_before);

    // The live journal itself, while record runs.
    {
        auto live = reconstruct({"--journal", journal, "--binary", "true", "--format", "json"}, env);
        INFO("reconstruct of the live journal\n" << describe(live));
        REQUIRE(!live.timed_out);
        CHECK(live.exit_code == 0);
        json doc = parse_json(live.out);
        CHECK(nodes_with_marker(doc, marker).size() == 1);
        auto live_text = reconstruct({"--journal", journal, "--binary", "true", "--color", "never"}, env);
        INFO("as text\n" << describe(live_text));
        CHECK(live_text.exit_code == 0);
        CHECK(live_text.out.find(marker) != std::string::npos);
        for (const auto& name : dir_names(dir.path())) {
            INFO("file beside the live journal: " << name);
            // The recorder's own: the journal, SQLite's WAL and index, its
            // heartbeat (and the heartbeat's temporary, for a moment at start).
            CHECK((name == "journal.db" || name == "journal.db-wal" || name == "journal.db-shm" ||
                   name == "journal.db.heartbeat" || name == "journal.db.heartbeat.tmp" ||
                   (name.size() > 5 && name.substr(name.size() - 5) == ".json")));
        }
    }

    // The live journal is still healthy: record stops cleanly (exit 0) and
    // SQLite finds nothing wrong with the file.
    rec->stop();
    auto ic = run_argv({"/usr/bin/sqlite3", journal, "PRAGMA integrity_check"});
    INFO("sqlite3 " << journal << " 'PRAGMA integrity_check'\n" << describe(ic));
    CHECK(ic.exit_code == 0);
    CHECK(ic.out == "ok\n");
    {
        Journal j(journal);
        CHECK(j.texts("SELECT reason FROM run_stops") == Args{"signal"});
    }
    // Both markers are in the finished journal: the copy was a moment in time.
    auto fin = reconstruct({"--journal", journal, "--binary", "true", "--format", "json"}, env);
    INFO("the finished journal\n" << describe(fin));
    CHECK(fin.exit_code == 0);
    json fdoc = parse_json(fin.out);
    CHECK(nodes_with_marker(fdoc, marker).size() == 1);
    CHECK(nodes_with_marker(fdoc, late_marker).size() == 1);
    CHECK(dir_names(tmp.path()).empty());
}

// ---------------------------------------------------------------------------
// 3.

TEST_CASE("reconstruct never modifies the evidence", "[reconstruct-e2e]") {
    TempDir evidence, copies, mnt, tmp, tmp_nobody;
    make_world_writable(tmp_nobody);
    const Env env = {{"TMPDIR", tmp.path()}};
    const Env env_nobody = {{"TMPDIR", tmp_nobody.path()}};
    const std::string journal = evidence / "journal.db";
    const std::string marker = "lineage-evidence-" + std::to_string(getpid());

    auto rec = start_record(journal);
    REQUIRE(run_argv({"/bin/true", marker}).exit_code == 0);
    bool expect_wal = false;
    SECTION("a journal closed by a clean stop") {
        rec->stop();
    }
    SECTION("a journal with a WAL, left by a recorder killed with SIGKILL") {
        wait_for_marker(journal, marker, env);
        rec.reset();  // SIGKILL: no checkpoint; the -wal and -shm stay behind
        expect_wal = true;
        REQUIRE(fs::exists(journal + "-wal"));
        REQUIRE(fs::file_size(journal + "-wal") > 0);
    }

    // Locked down as evidence: files 0444 in a 0555 directory.
    for (const auto& name : dir_names(evidence.path())) REQUIRE(chmod((evidence / name).c_str(), 0444) == 0);
    REQUIRE(chmod(evidence.path().c_str(), 0555) == 0);
    const auto names_before = dir_names(evidence.path());
    const auto before = describe_fingerprints(fingerprints(evidence.path()));
    INFO("evidence:\n" << before);
    CHECK(fs::exists(journal + "-wal") == expect_wal);

    // A copy that the unprivileged user can read: 0644 files in a 0755 directory.
    REQUIRE(chmod(copies.path().c_str(), 0755) == 0);
    for (const auto& name : names_before) copy_with_mode(evidence / name, copies / name, 0644);
    REQUIRE(chmod(copies.path().c_str(), 0555) == 0);
    const auto copies_before = describe_fingerprints(fingerprints(copies.path()));
    {
        // The user really cannot write there, and can read the journal.
        Args touch = kAsNobody;
        touch.insert(touch.end(), {"/usr/bin/touch", copies / "probe"});
        CHECK(run_argv(touch).exit_code != 0);
        Args cat = kAsNobody;
        cat.insert(cat.end(), {"/bin/cat", copies / "journal.db"});
        CHECK(run_argv(cat).exit_code == 0);
    }

    // Text (returned) and JSON; both must find the marker.
    auto read_as = [&](const std::string& path, const Env& e, bool nobody, const std::string& who) {
        auto r = reconstruct({"--journal", path, "--binary", "true", "--color", "never"}, e, nobody);
        INFO(who << ": reconstruct --journal " << path << " --binary true\n" << describe(r));
        REQUIRE(!r.timed_out);
        CHECK(r.exit_code == 0);
        CHECK(r.out.find(marker) != std::string::npos);
        auto js = reconstruct({"--journal", path, "--binary", "true", "--format", "json"}, e, nobody);
        INFO("--format json\n" << describe(js));
        CHECK(js.exit_code == 0);
        json doc = parse_json(js.out);
        CHECK(nodes_with_marker(doc, marker).size() == 1);
        return r.out;
    };
    const std::string as_root = read_as(journal, env, false, "root");
    const std::string as_nobody = read_as(copies / "journal.db", env_nobody, true, "nobody (uid 65534)");
    CHECK(as_nobody == as_root);

    {
        ReadOnlyBindMount ro(mnt.path());
        ro.mount_from(evidence.path());
        // Read-only indeed, even for root.
        int fd = open((mnt.path() + "/probe").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        int err = errno;
        if (fd >= 0) close(fd);
        CHECK(fd < 0);
        CHECK(err == EROFS);
        const std::string via_mount = read_as(mnt / "journal.db", env, false, "root, read-only bind mount");
        CHECK(via_mount == as_root);
        CHECK(dir_names(mnt.path()) == names_before);
    }

    // Same bytes, same mtimes, same modes; no -shm, -wal or -journal appeared.
    CHECK(dir_names(evidence.path()) == names_before);
    CHECK(describe_fingerprints(fingerprints(evidence.path())) == before);
    CHECK(describe_fingerprints(fingerprints(copies.path())) == copies_before);
    // No private copy of a WAL journal was left behind.
    CHECK(dir_names(tmp.path()).empty());
    CHECK(dir_names(tmp_nobody.path()).empty());
}

// ---------------------------------------------------------------------------
// 4.

TEST_CASE("bad journal files make reconstruct and verify exit 2 with one line naming the file", "[reconstruct-e2e]") {
    TempDir src, bad, tmp;
    const Env env = {{"TMPDIR", tmp.path()}};
    const std::string journal = src / "journal.db";
    {
        auto rec = start_record(journal);
        REQUIRE(run_argv({"/bin/true", "lineage-bad-files"}).exit_code == 0);
        rec->stop();
    }
    {
        auto good = reconstruct({"--journal", journal, "--binary", "true"}, env);
        INFO("the real journal\n" << describe(good));
        REQUIRE(good.exit_code == 0);
    }
    // Closed cleanly: everything is in the main file.
    REQUIRE(!fs::exists(journal + "-wal"));
    const std::string content = read_file(journal);
    REQUIRE(content.size() > 3 * 4096);

    // The user may enter `bad`, but the 0600 file in it is root's.
    REQUIRE(chmod(bad.path().c_str(), 0755) == 0);
    struct Case {
        std::string what, path;
        bool as_nobody = false;
    };
    std::vector<Case> cases;
    write_file(bad / "empty.db", "");
    cases.push_back({"an empty file", bad / "empty.db"});
    write_file(bad / "truncated.db", content.substr(0, 4096));
    cases.push_back({"a journal cut to 4096 bytes", bad / "truncated.db"});
    write_file(bad / "notes.txt", "these are notes, not a journal\nsecond line\n");
    cases.push_back({"a text file", bad / "notes.txt"});
    REQUIRE(fs::create_directory(bad / "dir.db"));
    cases.push_back({"a directory", bad / "dir.db"});
    REQUIRE(mkfifo((bad / "fifo.db").c_str(), 0644) == 0);
    cases.push_back({"a FIFO", bad / "fifo.db"});
    copy_with_mode(journal, bad / "secret.db", 0600);
    cases.push_back({"a root-only (0600) journal, read as nobody", bad / "secret.db", true});
    copy_with_mode(journal, bad / "v99.db", 0644);
    {
        auto sq = run_argv({"/usr/bin/sqlite3", bad / "v99.db", "PRAGMA user_version = 99"});
        INFO("sqlite3 (the sqlite3 package) sets user_version\n" << describe(sq));
        REQUIRE(sq.exit_code == 0);
        auto v = run_argv({"/usr/bin/sqlite3", bad / "v99.db", "PRAGMA user_version"});
        REQUIRE(v.out == "99\n");
        REQUIRE(!fs::exists(bad / "v99.db-wal"));
    }
    cases.push_back({"a journal with user_version 99", bad / "v99.db"});
    // A hostile name: the one line names it, escaped.
    write_file(bad / "notes\n\x1b[2Jevil.db", "not a journal\n");
    cases.push_back({"a text file whose name holds a newline and ESC", bad / "notes\n\x1b[2Jevil.db"});
    const auto names = dir_names(bad.path());

    auto check_error = [](const RunResult& r, const std::string& path) {
        INFO(describe(r));
        CHECK(!r.timed_out);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK((!r.err.empty() && r.err.back() == '\n'));
        CHECK(control_bytes(r.err).empty());
        const std::string shown = lineage::escape_for_terminal(path);
        INFO("the message must name " << shown);
        CHECK(r.err.find(shown) != std::string::npos);
    };
    for (const auto& c : cases) {
        for (const char* format : {"tree", "json"}) {
            INFO(c.what << " (" << printable(c.path) << "), --format " << format
                        << (c.as_nobody ? ", as nobody" : ", as root"));
            auto r = reconstruct({"--journal", c.path, "--format", format}, env, c.as_nobody, 10s);
            check_error(r, c.path);
        }
        // lineage verify: the same files, the same kind of answer.
        for (const char* format : {"text", "json"}) {
            INFO("lineage verify: " << c.what << " (" << printable(c.path) << "), --format " << format
                                    << (c.as_nobody ? ", as nobody" : ", as root"));
            Args argv;
            if (c.as_nobody) argv = kAsNobody;
            argv.insert(argv.end(), {lineage_bin(), "verify", "--journal", c.path, "--format", format});
            auto r = run_argv(argv, env, 10s);
            check_error(r, c.path);
        }
    }
    {
        INFO("user_version 99 is named in the message");
        auto r = reconstruct({"--journal", bad / "v99.db"}, env);
        CHECK(r.err.find("99") != std::string::npos);
    }
    {
        INFO("a good journal and a bad one: nothing is printed");
        auto r = reconstruct({"--journal", journal, "--journal", bad / "notes.txt", "--binary", "true"}, env);
        check_error(r, bad / "notes.txt");
    }
    // Nothing was created beside the bad files, and nothing left in TMPDIR.
    CHECK(dir_names(bad.path()) == names);
    CHECK(dir_names(tmp.path()).empty());
}

// ---------------------------------------------------------------------------
// 5.

TEST_CASE("hostile argv recorded for real", "[reconstruct-e2e]") {
    TempDir dir, bin, tmp;
    const Env env = {{"TMPDIR", tmp.path()}, {"NO_COLOR", ""}};
    const std::string journal = dir / "journal.db";
    // A copy of /bin/true whose file name holds a newline, ESC and BEL.
    const std::string hostile_bin = bin / "tr\nue\x1b]0;x\x07";
    copy_with_mode("/bin/true", hostile_bin, 0755);

    struct Case {
        std::string marker, path;
        Args argv;
    };
    std::vector<Case> cases;
    cases.push_back({"lineage-hostile-ctl",
                     "/bin/true",
                     {"/bin/true", "lineage-hostile-ctl", "\x1b]0;pwned\x07", "\x1b[2J", "two\nlines", "tab\there",
                      "\x1b[31mred"}});
    cases.push_back(
        {"lineage-hostile-utf8", "/bin/true", {"/bin/true", "lineage-hostile-utf8", "\xff\xfe", "ok", "a\xc3(b"}});
    {
        // 1 MiB of argv. One argument cannot be 1 MiB (the kernel caps one
        // at MAX_ARG_STRLEN, 128 KiB): eight of 128 KiB - 1 bytes each.
        Args big = {"/bin/true", "lineage-hostile-big"};
        for (char c = 'A'; c < 'A' + 8; ++c) big.push_back(std::string(128 * 1024 - 1, c));
        cases.push_back({"lineage-hostile-big", "/bin/true", big});
    }
    {
        Args many = {"/bin/true", "lineage-hostile-many"};
        for (int i = 0; i < 10000; ++i) many.push_back("arg" + std::to_string(i));
        cases.push_back({"lineage-hostile-many", "/bin/true", many});
    }
    cases.push_back({"lineage-hostile-name", hostile_bin, {"innocent", "lineage-hostile-name"}});

    auto rec = start_record(journal);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    REQUIRE(devnull >= 0);
    for (const auto& c : cases) {
        pid_t pid = spawn(c.path, c.argv, {}, devnull, devnull, devnull);
        auto status = wait_for(pid, 10s);
        INFO(c.marker);
        REQUIRE(status.has_value());
        CHECK(describe_status(*status) == "exit 0");  // the exec worked
    }
    close(devnull);
    rec->stop();

    const std::string me = std::to_string(getpid());
    auto text = reconstruct({"--journal", journal, "--descendants-of", me, "--color", "never"}, env);
    require_exit(text, 0, "--color never");
    auto color = reconstruct({"--journal", journal, "--descendants-of", me, "--color", "always"}, env);
    require_exit(color, 0, "--color always");
    auto js = reconstruct({"--journal", journal, "--descendants-of", me, "--format", "json"}, env);
    require_exit(js, 0, "--format json");

    // ---- text: no raw control byte but '\n', escaped forms instead --------
    {
        auto bad = control_bytes(text.out);
        INFO("first raw control byte at " << (bad.empty() ? 0 : bad[0]) << ": "
                                          << printable(text.out.substr(bad.empty()   ? 0
                                                                       : bad[0] > 60 ? bad[0] - 60
                                                                                     : 0,
                                                                       120)));
        CHECK(bad.empty());
        CHECK(valid_utf8(text.out));
        auto lines = lines_of(text.out);
        auto line_with = [&](const std::string& marker) {
            std::vector<std::string> found;
            for (const auto& l : lines)
                if (l.find(marker) != std::string::npos) found.push_back(l);
            INFO("lines showing " << marker);
            REQUIRE(found.size() == 1);
            return found[0];
        };
        CHECK(line_with("lineage-hostile-ctl")
                  .find("/bin/true lineage-hostile-ctl $'\\x1b]0;pwned\\x07' $'\\x1b[2J' $'two\\nlines' $'tab\\there' "
                        "$'\\x1b[31mred'  (PID ") != std::string::npos);
        CHECK(line_with("lineage-hostile-utf8")
                  .find("/bin/true lineage-hostile-utf8 $'\\xff\\xfe' ok $'a\\xc3(b'  (PID ") != std::string::npos);
        CHECK(line_with("lineage-hostile-name")
                  .find("[" + bin.path() + "/tr\\nue\\x1b]0;x\\x07] innocent lineage-hostile-name  (PID ") !=
              std::string::npos);
        // Long command lines are cut for display, and say so.
        for (const char* m : {"lineage-hostile-big", "lineage-hostile-many"}) {
            std::string l = line_with(m);
            INFO(m << ": " << l.size() << " bytes");
            CHECK(l.size() < 2048 + 200);
            CHECK(l.find("\xe2\x80\xa6") != std::string::npos);  // …
            CHECK(l.find("exit 0") != std::string::npos);
            // The cap marker comes after the display cut, so it is never lost.
            CHECK(l.find("[argv cut at cap]") != std::string::npos);
        }
    }

    // ---- --color always: only the renderer's own SGR sequences ------------
    {
        CHECK(valid_utf8(color.out));
        CHECK(color.out.find("\x1b[") != std::string::npos);  // it does color
        CHECK(color.out.find("\x1b]") == std::string::npos);
        std::string stripped;
        std::vector<std::string> bad_sequences;
        for (size_t i = 0; i < color.out.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(color.out[i]);
            if (c == 0x1b) {
                size_t k = i + 1;
                bool sgr = k < color.out.size() && color.out[k] == '[';
                if (sgr) {
                    ++k;
                    while (k < color.out.size() &&
                           (std::isdigit(static_cast<unsigned char>(color.out[k])) || color.out[k] == ';'))
                        ++k;
                    sgr = k < color.out.size() && color.out[k] == 'm';
                }
                if (!sgr) {
                    bad_sequences.push_back(printable(color.out.substr(i, 20)));
                    stripped += color.out[i];
                    continue;
                }
                i = k;  // skip the whole "\x1b[...m"
                continue;
            }
            stripped += color.out[i];
        }
        INFO("ESC not starting an SGR sequence: " << (bad_sequences.empty() ? "" : bad_sequences[0]));
        CHECK(bad_sequences.empty());
        CHECK(control_bytes(stripped).empty());
        // Without its colors, the colored text is the plain text.
        CHECK(stripped == text.out);
    }

    // ---- JSON ---------------------------------------------------------------
    check_schema(js.out, dir / "hostile.json");
    json doc = parse_json(js.out);
    Journal j(journal);
    for (const auto& c : cases) {
        const json& node = node_with_marker(doc, c.marker);
        INFO(c.marker << "\n" << node.dump().substr(0, 1500));
        REQUIRE(node["execs"].size() == 1);
        const json& e = node["execs"][0];
        CHECK(node["exit"]["code"] == 0);
        CHECK(node["parent_key"].is_string());
        CHECK(node["ppid"] == getpid());
        auto rows = j.execs_of(node["pid"].get<int64_t>());
        REQUIRE(rows.size() == 1);
        CHECK(e["binary"] == c.path);
        if (c.marker == "lineage-hostile-ctl" || c.marker == "lineage-hostile-name") {
            CHECK(str_array(e["args"]) == c.argv);
            CHECK(e["args_truncated"] == false);
            CHECK(!e.contains("raw_b64"));
            CHECK(rows[0].truncated == 0);
        } else if (c.marker == "lineage-hostile-utf8") {
            CHECK(e["args_truncated"] == false);
            CHECK(str_array(e["args"]) ==
                  Args{"/bin/true", "lineage-hostile-utf8", "\xef\xbf\xbd\xef\xbf\xbd", "ok", "a\xef\xbf\xbd(b"});
            REQUIRE(e.contains("raw_b64"));
            CHECK(base64_decode(e["raw_b64"]["binary"].get<std::string>()) == "/bin/true");
            REQUIRE(e["raw_b64"]["args"].size() == c.argv.size());
            for (size_t i = 0; i < c.argv.size(); ++i) {
                INFO("argument " << i);
                CHECK(base64_decode(e["raw_b64"]["args"][i].get<std::string>()) == c.argv[i]);
            }
        } else {
            // Cut at the recorder's 4 KiB cap, and flagged.
            CHECK(e["args_truncated"] == true);
            CHECK(rows[0].truncated != 0);
            Args got = str_array(e["args"]);
            size_t bytes = got.size() - 1;  // the NULs between arguments
            for (const auto& a : got) bytes += a.size();
            CHECK(bytes <= 4096);
            CHECK(bytes >= 4000);
            CHECK(j.scalar("SELECT length(argv) FROM exec WHERE tgid = ?", {node["pid"].get<int64_t>()}) <= 4096);
            REQUIRE(got.size() >= 3);
            REQUIRE(got.size() < c.argv.size());
            for (size_t i = 0; i + 1 < got.size(); ++i) CHECK(got[i] == c.argv[i]);
            CHECK(c.argv[got.size() - 1].compare(0, got.back().size(), got.back()) == 0);
        }
    }
    CHECK(dir_names(tmp.path()).empty());
}

}  // namespace test_reconstruct_e2e

// The fleet store, end to end: two journals recorded here (two "nodes") are
// exported into a real ClickHouse server (Debian's clickhouse-server,
// started by the test on loopback, on private ports and a private data
// directory) through the shipping recipe (schema/clickhouse.sql,
// schema/clickhouse-rows.jq); a fleet-wide SQL query finds every process
// that connected to one address, over both journals; those processes' lines
// (with their ancestors' and their runs') come back as JSONEachRow, are
// imported with --from lineage, and reconstruct the same trees as the
// original journals.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace test_clickhouse_e2e {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

bool require_bpf() {
    const char* req = std::getenv("LINEAGE_REQUIRE_BPF");
    return req && std::string(req) == "1";
}

// A clickhouse-server of the test's own, stopped (SIGTERM, then SIGKILL) in
// the destructor.
class ClickHouse {
public:
    explicit ClickHouse(const TempDir& dir) : dir_(dir.path()) {
        // Two free ports: bound, read, released.
        {
            Listener a("127.0.0.1"), b("127.0.0.1");
            tcp_port_ = a.port();
            http_port_ = b.port();
        }
        write_file(dir / "config.xml", fmt_config());
        err_ = dir / "server.stderr";
        lineage::UniqueFd err(::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        pid_ = spawn("/usr/sbin/clickhouse-server", {"clickhouse-server", "--config-file=" + (dir / "config.xml")}, {},
                     -1, err.get(), err.get());
    }
    ~ClickHouse() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        if (!wait_for(pid_, 20s)) {
            kill(pid_, SIGKILL);
            wait_for(pid_, 5s);
        }
    }
    ClickHouse(const ClickHouse&) = delete;
    ClickHouse& operator=(const ClickHouse&) = delete;

    // Waits until it answers a query.
    bool ready() {
        const auto deadline = Clock::now() + 60s;
        while (Clock::now() < deadline) {
            if (wait_for(pid_, 0ms)) return false;
            if (query("SELECT 1").exit_code == 0) return true;
            std::this_thread::sleep_for(200ms);
        }
        return false;
    }
    RunResult query(const std::string& sql) const {
        return run_argv({"/usr/bin/clickhouse-client", "--host", "127.0.0.1", "--port", std::to_string(tcp_port_),
                         "--multiquery", "--query", sql},
                        {}, 60s);
    }
    std::string log() const { return read_file(err_) + read_file(dir_ + "/server.err.log"); }
    int port() const { return tcp_port_; }

private:
    std::string fmt_config() const {
        const std::string d = dir_;
        return "<?xml version=\"1.0\"?>\n<yandex>\n"
               "  <logger><level>warning</level><log>" +
               d + "/server.log</log><errorlog>" + d +
               "/server.err.log</errorlog><console>0</console></logger>\n"
               "  <tcp_port>" +
               std::to_string(tcp_port_) +
               "</tcp_port>\n"
               "  <http_port>" +
               std::to_string(http_port_) +
               "</http_port>\n"
               "  <listen_host>127.0.0.1</listen_host>\n"
               "  <path>" +
               d +
               "/data/</path>\n"
               "  <tmp_path>" +
               d +
               "/tmp/</tmp_path>\n"
               "  <user_files_path>" +
               d +
               "/user_files/</user_files_path>\n"
               "  <format_schema_path>" +
               d +
               "/format_schemas/</format_schema_path>\n"
               "  <users_config>/etc/clickhouse-server/users.xml</users_config>\n"
               "  <default_profile>default</default_profile>\n"
               "  <default_database>default</default_database>\n"
               "  <timezone>UTC</timezone>\n"
               "  <mark_cache_size>5368709</mark_cache_size>\n"
               "</yandex>\n";
    }

    std::string dir_, err_;
    int tcp_port_ = 0, http_port_ = 0;
    pid_t pid_ = -1;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < text.size()) {
        size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        if (nl > at) out.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    return out;
}

std::string sql_list(const std::set<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ", ") + ("'" + id + "'");
    return "(" + out + ")";
}

// Times to the millisecond. Both "nodes" here are runs of one boot: in the
// fleet journal the boot's clock samples of both runs map its boot times to
// wall-clock times, which moves a time by a few hundred nanoseconds against
// one journal alone (seen: 229 ns, on the start times of /proc snapshots).
void to_milliseconds(json& j) {
    std::vector<json*> todo{&j};
    while (!todo.empty()) {
        json* v = todo.back();
        todo.pop_back();
        if (v->is_object() || v->is_array()) {
            for (auto& c : *v) todo.push_back(&c);
        } else if (v->is_string()) {
            std::string t = v->get<std::string>();
            if (t.size() == 30 && t[4] == '-' && t[10] == 'T' && t[19] == '.' && t.back() == 'Z')
                *v = t.substr(0, 23) + "Z";
        }
    }
}

// reconstruct --pid P --format json, without what names the journal file
// and the imported warnings (the only things an import changes).
json trees(const std::string& journal, int64_t pid) {
    auto r = run_argv(
        {lineage_bin(), "reconstruct", "--journal", journal, "--pid", std::to_string(pid), "--format", "json"});
    INFO(journal << ": " << r.err);
    REQUIRE((r.exit_code == 0 || r.exit_code == 1));  // 1: nothing matched
    json doc = json::parse(r.out);
    doc.erase("journal");
    json warnings = json::array();
    for (const auto& w : doc.at("warnings"))
        if (w.at("kind") != "imported" && w.at("kind") != "not_recorded") warnings.push_back(w);
    doc["warnings"] = warnings;
    to_milliseconds(doc);
    return doc;
}

}  // namespace

TEST_CASE("ClickHouse as the fleet store: export two journals, query, pull back, import, same trees",
          "[clickhouse-e2e]") {
    if (access("/usr/sbin/clickhouse-server", X_OK) != 0 || access("/usr/bin/clickhouse-client", X_OK) != 0 ||
        access("/usr/bin/jq", X_OK) != 0) {
        if (require_bpf()) FAIL("clickhouse-server, clickhouse-client or jq is not installed (scripts/setup.sh)");
        WARN("SKIPPED: clickhouse-server, clickhouse-client or jq is not installed (scripts/setup.sh)");
        return;
    }
    TempDir dir;
    Listener target("127.0.0.1");
    const std::string port = std::to_string(target.port());

    // Two nodes' journals, each with a process connecting to the target.
    std::vector<std::string> journals{dir / "node1.db", dir / "node2.db"};
    std::vector<int64_t> roots;
    for (const auto& journal : journals) {
        auto rec = start_record(journal);
        auto run = run_argv({"/bin/sh", source_dir() + "/tests/e2e/workload_tree.sh"},
                            {{"LINEAGE_V4_PORT", port}, {"PATH", "/usr/bin:/bin"}}, 20s);
        rec->stop();
        REQUIRE(run.exit_code == 0);
        roots.push_back(fact_int(parse_facts(run.out), "root"));
    }

    TempDir ch_dir;
    ClickHouse ch(ch_dir);
    INFO("clickhouse-server log:\n" << ch.log());
    REQUIRE(ch.ready());
    REQUIRE(run_shell("clickhouse-client --host 127.0.0.1 --port " + std::to_string(ch.port()) + " --multiquery < '" +
                      source_dir() + "/schema/clickhouse.sql'")
                .exit_code == 0);

    // The shipping recipe, one journal at a time (with --follow it is the
    // same pipe, left running).
    for (const auto& journal : journals) {
        auto shipped =
            run_argv({"/bin/bash", "-c",
                      "set -o pipefail; '" + lineage_bin() + "' export --journal '" + journal + "' | jq -cR -f '" +
                          source_dir() +
                          "/schema/clickhouse-rows.jq' | clickhouse-client "
                          "--host 127.0.0.1 --port " +
                          std::to_string(ch.port()) + " --query 'INSERT INTO lineage.events FORMAT JSONEachRow'"});
        INFO(shipped.err);
        REQUIRE(shipped.exit_code == 0);
    }

    // The fleet-wide question: every process that connected to the target.
    auto connected = ch.query(
        "SELECT DISTINCT node, journal_id, entity_id, tgid FROM lineage.events WHERE kind = 'connect' "
        "AND daddr = '127.0.0.1' AND dport = " +
        port + " FORMAT TabSeparated");
    INFO(connected.err);
    REQUIRE(connected.exit_code == 0);
    std::set<std::string> entities, journal_ids;
    std::vector<int64_t> pids;
    for (const auto& l : lines_of(connected.out)) {
        std::vector<std::string> f;
        for (size_t a = 0, t;; a = t + 1) {
            t = l.find('\t', a);
            f.push_back(l.substr(a, t == std::string::npos ? std::string::npos : t - a));
            if (t == std::string::npos) break;
        }
        REQUIRE(f.size() == 4);
        journal_ids.insert(f[1]);
        entities.insert(f[2]);
        pids.push_back(std::stoll(f[3]));
    }
    // One connecting process in each journal: the fleet query saw both nodes.
    CHECK(journal_ids.size() == 2);
    REQUIRE(entities.size() == 2);

    // Their ancestors, by parent_entity_id, up to the top.
    std::set<std::string> all = entities;
    for (int round = 0; round < 64; ++round) {
        auto parents = ch.query("SELECT DISTINCT parent_entity_id FROM lineage.events WHERE entity_id IN " +
                                sql_list(all) + " AND parent_entity_id != '' FORMAT TabSeparated");
        REQUIRE(parents.exit_code == 0);
        size_t before = all.size();
        for (const auto& p : lines_of(parents.out)) all.insert(p);
        if (all.size() == before) break;
    }

    // Their lines back, with their runs' own (start, stop, clock, pod names,
    // cgroups, the executed files' hashes, which name a file and no process,
    // and the processes found running at start: a snapshot line whose parent
    // has a higher PID, scanned after it, carries no parent entity, so the
    // walk above cannot reach the snapshot's ancestors), as JSONEachRow.
    auto pulled = ch.query("SELECT line FROM lineage.events WHERE entity_id IN " + sql_list(all) +
                           " OR (journal_id IN " + sql_list(journal_ids) +
                           " AND kind IN ('run_start', 'run_stop', 'clock', 'pod_name', 'cgroup', 'snapshot', "
                           "'file_hash')) "
                           "ORDER BY journal_id, run, batch, kind != 'run_start', time FORMAT JSONEachRow");
    INFO(pulled.err);
    REQUIRE(pulled.exit_code == 0);
    write_file(dir / "pulled.jsonl", pulled.out);
    auto imp =
        run_argv({lineage_bin(), "import", "--from", "lineage", dir / "pulled.jsonl", "--journal", dir / "fleet.db"});
    INFO(imp.err);
    REQUIRE(imp.exit_code == 0);

    // The same trees as from the original journals.
    size_t compared = 0;
    for (size_t i = 0; i < journals.size(); ++i) {
        for (int64_t pid : pids) {
            json original = trees(journals[i], pid);
            if (original.at("trees").empty()) continue;  // the other node's process
            INFO("pid " << pid << " of " << journals[i]);
            const json imported = trees(dir / "fleet.db", pid);
            INFO("differences (JSON patch from the original): "
                 << json::diff(original, imported).dump().substr(0, 3000));
            CHECK(imported == original);
            ++compared;
        }
    }
    CHECK(compared == 2);
}

}  // namespace test_clickhouse_e2e

// The load plans (issue 23): every query loads only what can match, through
// the indexes, and answers exactly what a load of the whole journal does.
// Random journals with PID reuse, exec chains, forks without exec, moves
// into pods, processes that never exit, lost events, two boots; for each
// window and selector the JSON of a planned load must be the full load's
// byte for byte.

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include "fixture_journal.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "pods.h"
#include "reconstruct.h"
#include "render.h"
#include "test_files.h"

namespace test_load_plans {

using namespace fixture;
using namespace lineage;

namespace {

const std::vector<std::string> kBinaries = {"/bin/sh",      "/usr/bin/curl", "/usr/bin/python3",
                                            "/bin/bash",    "/opt/tools/nc", "/usr/bin/make",
                                            "/usr/bin/cc1", "./run.sh",      "/usr/local/bin/sh"};

// The file each of kBinaries runs (schema version 8), by index: itself, a
// link's target, a script's interpreter.
const std::vector<std::string> kFiles = {"/usr/bin/dash",
                                         "/usr/bin/curl",
                                         "/usr/bin/python3.11",
                                         "/usr/bin/bash",
                                         "/opt/tools/nc",
                                         "/usr/bin/make",
                                         "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
                                         "/usr/bin/dash",
                                         "/usr/local/bin/sh"};

// The SHA-256 the random journals give file `ino`.
std::string hash_of(uint64_t ino) {
    return fmt::format("{:064x}", ino * 0x9e3779b97f4a7c15ULL);
}

struct PodDef {
    std::string uid, name, ns, container;
};

const std::vector<PodDef> kPods = {
    {"11111111-2222-4333-8444-555555555555", "web-1", "prod",
     "aaaa000000000000000000000000000000000000000000000000000000000001"},
    {"66666666-7777-4888-8999-aaaaaaaaaaaa", "job-7", "staging",
     "bbbb000000000000000000000000000000000000000000000000000000000002"},
    {"cccccccc-dddd-4eee-8fff-000000000000", "web-2", "prod",
     "cccc000000000000000000000000000000000000000000000000000000000003"},
};

// One boot's random journal: about `steps` events between boot 950 s and
// 1200 s, PIDs drawn from a small range so that they are reused.
FixtureJournal random_journal(uint32_t seed, const std::string& boot_id, int steps, RunOptions run = {}) {
    run.boot_id = boot_id;
    run.clean_stop = seed % 2 == 0;
    FixtureJournal fx(run);
    std::mt19937 rng(seed);
    auto below = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    fx.set_reaper(init);
    std::vector<Proc> live = {init};
    live.push_back(fx.snapshot(50, 1, at(3, 10'000'000), "sshd", "/usr/sbin/sshd", {"sshd", "-D"}));
    live.push_back(fx.snapshot(51, 1, at(700, 20'000'000), "sh", "/bin/sh", {"sh", "-c", "sleep 1000"}));
    for (const auto& pod : kPods) fx.pod(pod.uid, pod.name, pod.ns);
    std::set<uint32_t> used = {1, 50, 51};
    std::set<std::string> hashed;  // the files hashed, by path and inode
    int connects = 0;
    uint64_t t = at(951);
    for (int i = 0; i < steps; ++i) {
        t += 1 + below(300'000'000);
        const uint32_t what = below(100);
        Proc p = live[below(static_cast<uint32_t>(live.size()))];
        // PID 1 only forks: an exec row would name it its own reaper.
        if (p.tgid == 1 && what >= 35) continue;
        if (what < 35 && live.size() < 60) {
            uint32_t pid = 100 + below(80);
            if (used.count(pid)) continue;
            Proc child = FixtureJournal::proc(pid, t);
            // A lost fork: the child is known only from its later rows.
            if (below(10) != 0) fx.fork(p, child, t);
            used.insert(pid);
            live.push_back(child);
        } else if (what < 60) {
            t += 1000;
            const uint32_t which = below(static_cast<uint32_t>(kBinaries.size()));
            const std::string& binary = kBinaries[which];
            std::string base = binary.substr(binary.rfind('/') + 1);
            // Every exec with its file (the same file for the same index,
            // hashed once per path; make's too large to hash), but the
            // older-journal kind for nc.
            ExecOpts opts;
            if (binary != "/opt/tools/nc") {
                ExecFile f;
                f.path = kFiles[which];
                f.dev = 2049;
                f.ino = 1000 + (kFiles[which] == "/usr/bin/dash" ? 0 : which);
                f.nlink = 1;
                f.size = f.ino * 7;
                f.mode = 0100755;
                f.flags = binary == "./run.sh" ? kFileScript : 0;
                f.interpreter = binary == "./run.sh" ? "/bin/sh" : "";
                if (hashed.insert(f.path + std::to_string(f.ino)).second) {
                    FileHashRow h;
                    h.time_ns = static_cast<int64_t>(t + 500);
                    h.key = file_key(f);
                    h.path = f.path;
                    if (binary == "/usr/bin/make") {
                        h.problem = "too_large";
                    } else {
                        h.sha256 = hash_of(f.ino);
                    }
                    fx.file_hash(h);
                }
                opts.file = f;
            }
            if (below(4) == 0) {
                const PodDef& pod = kPods[below(static_cast<uint32_t>(kPods.size()))];
                opts.cgroup = pod_cgroup(pod.uid, pod.container);
                opts.nodename = pod.name;
                fx.exec(p, binary, {base, "-x"}, t, opts);
            } else {
                fx.exec(p, binary, {base}, t, opts);
            }
        } else if (what < 63) {
            const PodDef& pod = kPods[below(static_cast<uint32_t>(kPods.size()))];
            fx.move(p, pod_cgroup(pod.uid, pod.container), t, init);
        } else if (what < 68) {
            fx.connect(p, "10.0.0.1", 443, t);
            // Every fourth connect's process listens too (schema version 8).
            if (++connects % 4 == 0) fx.listen(p, "0.0.0.0", 8080, t + 10);
        } else if (what < 70) {
            fx.loss(t, t + 50'000'000, 3);
        } else if (p.tgid != 1) {
            // Some processes never exit in the journal (their exit lost, or
            // still running at its end).
            if (below(8) != 0) fx.exit(p, t, static_cast<int>(below(3)));
            used.erase(p.tgid);
            live.erase(std::find_if(live.begin(), live.end(),
                                    [&](const Proc& q) { return q.tgid == p.tgid && q.start_ns == p.start_ns; }));
        }
    }
    return fx;
}

// Under AddressSanitizer (the second build of scripts/test.sh) every third
// query: the queries come in groups of every kind per window, 16 a window,
// so every kind still runs, on other windows; this file's tests took over
// six minutes there, the load plans' bookkeeping under the sanitizer.
constexpr size_t kQueryStride = lineage::test::kLineageSanitized ? 3 : 1;

// The queries this build runs: all, or every kQueryStride-th from `offset`.
template <typename Q>
std::vector<Q> sampled(const std::vector<Q>& queries, size_t offset = 0) {
    std::vector<Q> out;
    for (size_t i = offset % kQueryStride; i < queries.size(); i += kQueryStride) out.push_back(queries[i]);
    return out;
}

// The journals loaded as `plan` says, finished.
std::unique_ptr<Model> load(const std::vector<std::string>& journals, const LoadPlan& plan) {
    auto model = std::make_unique<Model>();
    for (const auto& path : journals) {
        auto reader = JournalReader::open(path);
        REQUIRE(reader.ok());
        auto st = reader->load_into(*model, plan);
        INFO((st ? std::string() : st.error().message));
        REQUIRE(st.ok());
    }
    model->finish();
    return model;
}

// The JSON answer of `query` over a loaded model.
std::string answer_of(const Model& model, const Query& query) {
    Report report = build_report(model, query);
    std::string out;
    REQUIRE(JsonRenderer().render_to(model, report, [&](std::string_view s) {
        out += s;
        return true;
    }));
    return out;
}

std::string answer(const std::vector<std::string>& journals, const Query& query, const LoadPlan& plan,
                   size_t* loaded = nullptr) {
    auto model = load(journals, plan);
    if (loaded) *loaded = model->processes().size();
    return answer_of(*model, query);
}

// The writer's unexited sets (schema version 5) as the tests ask for them:
// its defaults (a set at each clean stop only, in journals this small), one
// every few rows, or given up after a few processes.
RunOptions sets(size_t every_rows, size_t max = 0) {
    RunOptions run;
    run.unexited_every_rows = every_rows;
    run.unexited_max = max;
    return run;
}

struct Journals {
    TempDir dir;
    std::string a = dir / "a.db", b = dir / "b.db";
    FixtureJournal first, second;
    std::vector<std::pair<std::string, Query>> queries, pod_queries;
    // LoadPlan::binary_rows_before_window of every plan compared.
    size_t binary_rows_before_window = LoadPlan{}.binary_rows_before_window;
    size_t binary_window_most = LoadPlan{}.binary_window_most;
    // LoadPlan::cluster_seeds and cluster_spread of every plan compared.
    size_t cluster_seeds = LoadPlan{}.cluster_seeds;
    int64_t cluster_spread = LoadPlan{}.cluster_spread;

    explicit Journals(RunOptions run = {})
        : first(random_journal(23, "b0000000-0000-4000-8000-0000000000a1", 700, run)),
          second(random_journal(24, "b0000000-0000-4000-8000-0000000000b2", 700, run)) {
        first.write(a);
        second.write(b);
        std::mt19937 rng(5);
        // Windows before, inside, across and after the runs (boot 950-1200 s).
        std::vector<std::pair<uint64_t, uint64_t>> windows = {{at(940), at(945)},   {at(950), at(960)},
                                                              {at(1000), at(1001)}, {at(1050), at(1110)},
                                                              {at(1190), at(1300)}, {at(1300), at(1400)}};
        for (int i = 0; i < 6; ++i) {
            uint64_t s = at(950 + rng() % 250, rng() % 1'000'000'000);
            windows.push_back({s, s + at(rng() % 20, rng() % 1'000'000'000)});
        }
        for (const auto& [s, u] : windows) {
            Query q;
            q.since_wall_ns = first.wall(s);
            q.until_wall_ns = first.wall(u);
            const std::string w = fmt::format("{}-{}", s / 1'000'000, u / 1'000'000);
            queries.push_back({"window " + w, q});
            Query only_since = q;
            only_since.until_wall_ns.reset();
            queries.push_back({"since " + w, only_since});
            for (const std::string glob : {"sh", "/bin/sh", "py*", "n?", "*sh", "run.sh", "cur[l]"}) {
                Query bq = q;
                bq.binary_glob = glob;
                queries.push_back({"binary " + glob + " " + w, bq});
            }
            // The file's path: dash runs /bin/sh and ./run.sh.
            for (const std::string glob : {"dash", "/usr/lib/*/cc1", "python3.11"}) {
                Query fq = q;
                fq.binary_glob = glob;
                queries.push_back({"file " + glob + " " + w, fq});
            }
            for (uint64_t ino : {1000, 1002, 1005}) {
                Query hq = q;
                hq.sha256 = hash_of(ino);
                queries.push_back({"sha256 " + std::to_string(ino) + " " + w, hq});
            }
            Query below = q;
            below.descendants_of = 1;
            below.binary_glob = "bash";
            queries.push_back({"descendants+binary " + w, below});
            Query ns = q;
            ns.namespace_ = "prod";
            pod_queries.push_back({"namespace " + w, ns});
            Query container = q;
            container.container = "bbbb";
            pod_queries.push_back({"container " + w, container});
            Query both = ns;
            both.binary_glob = "sh";
            pod_queries.push_back({"namespace+binary " + w, both});
            Query pod = q;
            pod.pod = "prod/web-2";
            pod.binary_glob = "curl";
            pod_queries.push_back({"pod+binary " + w, pod});
        }
        for (const std::string glob : {"sh", "/usr/bin/*", "nc", "dash"}) {
            Query q;
            q.binary_glob = glob;
            queries.push_back({"binary " + glob + " all time", q});
        }
        for (uint64_t ino : {1000, 1006, 1004}) {
            Query q;
            q.sha256 = hash_of(ino);
            queries.push_back({"sha256 " + std::to_string(ino) + " all time", q});
        }
        Query until_only;
        until_only.until_wall_ns = first.wall(at(1000));
        queries.push_back({"until", until_only});
    }

    // Checks each query's planned answer against the full load's; returns
    // how many answers selected something.
    size_t compare(const std::vector<std::pair<std::string, Query>>& which) const {
        size_t matched_somewhere = 0, fewer = 0;
        for (const auto& journals : std::vector<std::vector<std::string>>{{a}, {b}, {a, b}}) {
            // The full load is the same for every query: loaded once (the
            // test's time is mostly loading, and more so under sanitizers).
            const auto everything = load(journals, LoadPlan{});
            for (const auto& [name, query] : which) {
                INFO(name << " on " << journals.size() << " journal(s), " << journals.front());
                LoadPlan plan = load_plan_for(query);
                plan.whole_rows_per_process = 0;  // the look-ups themselves, never a whole load
                plan.binary_rows_before_window = binary_rows_before_window;
                plan.binary_window_most = binary_window_most;
                plan.cluster_seeds = cluster_seeds;
                plan.cluster_spread = cluster_spread;
                plan.sole_journal = journals.size() == 1;
                REQUIRE_FALSE(plan.everything);
                size_t loaded_full = everything->processes().size(), loaded_plan = 0;
                const std::string full = answer_of(*everything, query);
                const std::string planned = answer(journals, query, plan, &loaded_plan);
                CHECK(planned == full);
                CHECK(loaded_plan <= loaded_full);
                if (loaded_plan < loaded_full) ++fewer;
                if (full.find("\"pid\"") != std::string::npos) ++matched_somewhere;
            }
        }
        // Only what can match, and its ancestors, is loaded: most queries
        // load less than everything (a window over the whole run, or a glob
        // that starts with a wildcard, needs it all).
        CHECK(fewer * 4 > which.size() * 3 * 3);
        return matched_somewhere;
    }
};

}  // namespace

TEST_CASE("every load plan answers what a full load answers", "[reconstruct][plans]") {
    Journals j;
    // The queries select something, not only empty answers.
    const auto queries = sampled(j.queries);
    CHECK(j.compare(queries) > queries.size());
}

// A plan that finds most of a journal's processes reads its tables whole
// (LoadPlan::whole_rows_per_process), with the same answer. A window of one
// second finds few here: at the default it goes process by process, and
// with a threshold that every journal passes it reads the journal whole,
// unless the whole journal's rows are past --max-processes.
TEST_CASE("a plan that finds most of the journal reads it whole, with the same answer", "[reconstruct][plans]") {
    Journals j;
    const auto everything = load({j.a}, LoadPlan{});
    const size_t all = everything->processes().size();
    Query narrow;
    narrow.since_wall_ns = j.first.wall(at(1000));
    narrow.until_wall_ns = j.first.wall(at(1001));
    const std::string full = answer_of(*everything, narrow);
    CHECK(full.find("\"pid\"") != std::string::npos);
    LoadPlan plan = load_plan_for(narrow);
    plan.sole_journal = true;
    auto loaded_by = [&](size_t rows_per_process, size_t max_processes) {
        LoadPlan p = plan;
        p.whole_rows_per_process = rows_per_process;
        p.max_processes = max_processes;
        size_t loaded = 0;
        CHECK(answer({j.a}, narrow, p, &loaded) == full);
        return loaded;
    };
    const size_t targeted = loaded_by(0, 0);
    CHECK(targeted < all);
    CHECK(loaded_by(LoadPlan{}.whole_rows_per_process, 0) == targeted);
    CHECK(loaded_by(1'000'000, 0) == all);
    CHECK(loaded_by(1'000'000, all + 1) == targeted);
}

// A version 5 journal has exec_by_base (version 6 replaced it with
// exec_by_binary): --binary goes through it there, as before, with the same
// answers; and `record` upgrades it to version 6, dropping the old index.
TEST_CASE("a version 5 journal: --binary goes through exec_by_base, and record upgrades it", "[reconstruct][plans]") {
    Journals j;
    for (const std::string& path : {j.a, j.b}) {
        auto db = Database::open_write(path);
        REQUIRE(db.ok());
        REQUIRE(db->exec("DROP INDEX fork_by_start; DROP INDEX exec_by_start; DROP INDEX exit_by_start; DROP INDEX "
                         "connect_by_start; DROP INDEX memberships_by_start; DROP TABLE exec_files; DROP TABLE "
                         "file_hashes; DROP TABLE listens; DROP TABLE dns; DROP TABLE dns_names; DROP INDEX "
                         "containers_by_id; DROP TABLE containers; DROP INDEX exec_by_binary; CREATE INDEX "
                         "exec_by_base ON exec (substr(binary, length(CAST(rtrim(binary, replace(binary, '/', '')) AS "
                         "BLOB)) + 1)); PRAGMA user_version = 5")
                    .ok());
        auto check = check_journal_schema(*db);
        REQUIRE(check.ok());
        CHECK(check->ok());
    }
    std::vector<std::pair<std::string, Query>> binary;
    for (const auto& q : j.queries)
        if (q.second.binary_glob) binary.push_back(q);
    CHECK(j.compare(sampled(binary)) > 0);

    {
        auto w = JournalWriter::open(j.a);
        REQUIRE(w.ok());
    }
    auto db = Database::open_write(j.a);
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "PRAGMA user_version") == kJournalSchemaVersion);
    CHECK(*query_int(*db, "SELECT count(*) FROM sqlite_schema WHERE name = 'exec_by_base'") == 0);
    CHECK(*query_int(*db, "SELECT count(*) FROM sqlite_schema WHERE name = 'exec_by_binary'") == 1);
    auto check = check_journal_schema(*db);
    REQUIRE(check.ok());
    CHECK(check->ok());
    CHECK(j.compare(sampled(binary)) > 0);
}

// A version 8 journal has no *_by_start indexes (version 9 added them): a
// bare window looks its processes up one by one, as before, with the same
// answers; and `record` upgrades it, adding them.
TEST_CASE("a version 8 journal: bare windows through the look-ups, and record upgrades it", "[reconstruct][plans]") {
    Journals j;
    for (const std::string& path : {j.a, j.b}) {
        auto db = Database::open_write(path);
        REQUIRE(db.ok());
        REQUIRE(db->exec("DROP INDEX fork_by_start; DROP INDEX exec_by_start; DROP INDEX exit_by_start; DROP INDEX "
                         "connect_by_start; DROP INDEX memberships_by_start; DROP INDEX exec_files_by_start; DROP "
                         "INDEX listens_by_start; DROP TABLE dns; DROP TABLE dns_names; PRAGMA user_version = 8")
                    .ok());
        auto check = check_journal_schema(*db);
        REQUIRE(check.ok());
        CHECK(check->ok());
    }
    std::vector<std::pair<std::string, Query>> windows;
    for (const auto& q : j.queries)
        if (!q.second.binary_glob && !q.second.sha256 && !q.second.descendants_of) windows.push_back(q);
    REQUIRE(windows.size() > 10);
    CHECK(j.compare(sampled(windows)) > 0);

    {
        auto w = JournalWriter::open(j.a);
        REQUIRE(w.ok());
    }
    auto db = Database::open_write(j.a);
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "PRAGMA user_version") == kJournalSchemaVersion);
    CHECK(*query_int(*db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%_by_start'") == 8);
    auto check = check_journal_schema(*db);
    REQUIRE(check.ok());
    CHECK(check->ok());
    CHECK(j.compare(sampled(windows)) > 0);
}

// --binary with a window, by the window's processes (each one's images, and
// a fork-only one's forker's) instead of every exec row of the binary: the
// way a common binary over a day is read (LoadPlan::binary_rows_before_window).
TEST_CASE("a --binary query read by its window's processes answers what a full load answers", "[reconstruct][plans]") {
    Journals j;
    std::vector<std::pair<std::string, Query>> windowed;
    for (const auto& q : j.queries)
        if (q.second.binary_glob && (q.second.since_wall_ns || q.second.until_wall_ns)) windowed.push_back(q);
    REQUIRE(windowed.size() > 50);
    // 0: every query by its window. 3: the binary's rows, counted over all
    // its paths first, decide; a glob of several paths may pass the budget
    // only together. A window of more processes than binary_window_most
    // (here 2, told by the fork rows of those that started in it) is not
    // walked, and the binary's rows are read after all.
    for (const auto& [budget, most] : std::vector<std::pair<size_t, size_t>>{{0, 200'000}, {3, 200'000}, {0, 2}}) {
        INFO("budget " << budget << ", at most " << most << " in the window");
        j.binary_rows_before_window = budget;
        j.binary_window_most = most;
        CHECK(j.compare(sampled(windowed, budget + most)) > 0);
    }
}

// --binary past --max-processes: the binary's rows seed the processes in
// the window without their exits and forks while they can. A limit below
// the answer's processes stops the load with the limit's error; one at
// what the unlimited plan loads lets it answer as the full load does.
TEST_CASE("a --binary load past --max-processes stops with its own error", "[reconstruct][plans]") {
    Journals j;
    const auto everything = load({j.a}, LoadPlan{});
    size_t stopped = 0;
    for (const auto& [name, query] : sampled(j.queries)) {
        if (!query.binary_glob) continue;
        INFO(name);
        const size_t matched = build_report(*everything, query).matched;
        LoadPlan plan = load_plan_for(query);
        plan.whole_rows_per_process = 0;
        plan.binary_rows_before_window = 0;
        plan.binary_window_most = 0;
        plan.sole_journal = true;
        size_t loaded = 0;
        const std::string full = answer_of(*everything, query);
        CHECK(answer({j.a}, query, plan, &loaded) == full);
        plan.max_processes = loaded;
        CHECK(answer({j.a}, query, plan) == full);
        if (matched < 2) continue;
        plan.max_processes = matched - 1;
        auto reader = JournalReader::open(j.a);
        REQUIRE(reader.ok());
        Model model;
        auto st = reader->load_into(model, plan);
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().code == kTooManyProcesses);
        ++stopped;
    }
    CHECK(stopped > 10);
}

// A bare window finds the processes that never exit through the boot's last
// unexited set and the rows after it: sets written every few rows (the last
// one mid-run in the killed journal), and a writer that gave its sets up
// part way (a reader then reads the rows after the last set it wrote).
TEST_CASE("bare windows through unexited sets answer what a full load answers", "[reconstruct][plans]") {
    size_t offset = 0;
    for (const RunOptions& run : {sets(8), sets(64), sets(8, 12)}) {
        INFO("a set every " << run.unexited_every_rows << " rows, at most " << run.unexited_max);
        Journals j(run);
        // A different third of the queries for each writer, under the sanitizer.
        const auto queries = sampled(j.queries, offset++);
        CHECK(j.compare(queries) > queries.size());
    }
}

// Seeds and ancestors that started close together, outside a window's
// range, are read as ranges of start times (LoadPlan::cluster_seeds): here
// every seed (clusters of one, among any number of other processes), and
// only clusters of two or more among at most twice as many, for every
// selector, the ancestors included. The journals hold PID reuse, exec
// chains, lost forks and losses.
TEST_CASE("seeds read as clusters of start times answer what a full load answers", "[reconstruct][plans]") {
    Journals j;
    size_t offset = 0;
    for (auto [seeds, spread] : {std::pair<size_t, int64_t>{1, INT64_MAX}, std::pair<size_t, int64_t>{2, 2}}) {
        INFO("clusters of " << seeds << " seeds or more, among at most " << spread << " times as many");
        j.cluster_seeds = seeds;
        j.cluster_spread = spread;
        const auto queries = sampled(j.queries, offset++);
        CHECK(j.compare(queries) > queries.size());
        CHECK(j.compare(sampled(j.pod_queries)) > 0);
    }
}

// The pod plan (and --namespace and --container, which go through it):
// among these journals' processes are some moved into a pod after the
// window they overlap, which a pod they were ever in selects, and ancestors
// of processes shown in different pods.
TEST_CASE("pod, namespace and container plans answer what a full load answers", "[reconstruct][plans]") {
    Journals j;
    CHECK(j.compare(sampled(j.pod_queries)) > 0);
}

// One journal of two boots (a recorder restarted after a reboot), the
// second 400 s of wall-clock time after the first: a window in the second
// boot finds the first boot over (a process it never saw exit ends with its
// journal), and the pod plan skips it. The two boots' clocks cover the same
// range, so a bare window's read of the processes started in it (schema
// version 9's *_by_start indexes) meets the other boot's rows there too. And the same journal as one whose
// first run was recorded before the journal had memberships (schema version
// 3 added them; `record` upgrades a journal it appends to): that run's
// processes are in their pods by their exec rows alone, which the pod plan
// then reads.
TEST_CASE("pod plans and bare windows on one journal of two boots, and on one upgraded to memberships",
          "[reconstruct][plans]") {
    TempDir dir;
    const std::string two = dir / "two-boots.db", upgraded = dir / "upgraded.db";
    RunOptions later;
    later.clock_wall_ns = kWall0 + 400LL * 1'000'000'000LL;
    for (const auto& path : {two, upgraded}) {
        random_journal(23, "b0000000-0000-4000-8000-0000000000a1", 500).write(path);
        random_journal(24, "b0000000-0000-4000-8000-0000000000b2", 500, later).write(path);
    }
    {
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(upgraded.c_str(), &raw) == SQLITE_OK);
        std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
        REQUIRE(sqlite3_exec(raw, "DELETE FROM memberships WHERE batch < (SELECT batch FROM runs WHERE run_id = 2)",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_changes(raw) > 0);
    }
    std::vector<std::pair<std::string, Query>> queries;
    std::mt19937 rng(7);
    for (int64_t shift : {0LL, 400LL}) {
        std::vector<std::pair<uint64_t, uint64_t>> windows = {
            {at(950), at(960)}, {at(1050), at(1110)}, {at(1190), at(1300)}};
        for (int i = 0; i < 4; ++i) {
            uint64_t s = at(950 + rng() % 250, rng() % 1'000'000'000);
            windows.push_back({s, s + at(rng() % 30)});
        }
        for (const auto& [s, u] : windows) {
            Query q;
            q.since_wall_ns =
                kWall0 + (static_cast<int64_t>(s) - static_cast<int64_t>(kBoot0)) + shift * 1'000'000'000LL;
            q.until_wall_ns =
                kWall0 + (static_cast<int64_t>(u) - static_cast<int64_t>(kBoot0)) + shift * 1'000'000'000LL;
            const std::string w = fmt::format("{}+{}", s / 1'000'000, shift);
            queries.push_back({"window " + w, q});
            Query only_since = q;
            only_since.until_wall_ns.reset();
            queries.push_back({"since " + w, only_since});
            Query only_until = q;
            only_until.since_wall_ns.reset();
            queries.push_back({"until " + w, only_until});
            Query ns = q;
            ns.namespace_ = "prod";
            queries.push_back({"namespace prod " + w, ns});
            Query pod = q;
            pod.pod = "staging/job-7";
            queries.push_back({"pod job-7 " + w, pod});
            Query container = q;
            container.container = "cccc";
            queries.push_back({"container cccc " + w, container});
        }
    }
    size_t matched = 0;
    for (const auto& path : {two, upgraded}) {
        const auto everything = load({path}, LoadPlan{});
        for (const auto& [name, query] : queries) {
            INFO(name << " on " << path);
            LoadPlan plan = load_plan_for(query);
            plan.whole_rows_per_process = 0;
            plan.sole_journal = true;
            size_t loaded_full = everything->processes().size(), loaded_plan = 0;
            const std::string full = answer_of(*everything, query);
            CHECK(answer({path}, query, plan, &loaded_plan) == full);
            // Every seed and ancestor read as a cluster of its own: the
            // other boot's rows are in the same ranges of start times.
            LoadPlan clustered = plan;
            clustered.cluster_seeds = 1;
            clustered.cluster_spread = INT64_MAX;
            CHECK(answer({path}, query, clustered) == full);
            // A window open at one end may need every process; a pod's never.
            if (query.namespace_ || query.pod || query.container) {
                CHECK(loaded_plan < loaded_full);
            } else {
                CHECK(loaded_plan <= loaded_full);
            }
            matched += full.find("\"pid\"") != std::string::npos;
        }
    }
    CHECK(matched > queries.size());
}

// `lineage pods --since/--until` loads through the window's plan: its list
// is the one a full load gives.
TEST_CASE("pods over a window through the window plan list what a full load lists", "[reconstruct][plans][pods]") {
    Journals j(sets(16));
    const auto everything = load({j.a, j.b}, LoadPlan{});
    size_t listed = 0, files_seen[3] = {0, 0, 0};
    for (const auto& [name, query] : j.queries) {
        if (query.binary_glob || query.descendants_of || (!query.since_wall_ns && !query.until_wall_ns)) continue;
        INFO(name);
        PodQuery pq;
        pq.since_wall_ns = query.since_wall_ns;
        pq.until_wall_ns = query.until_wall_ns;
        LoadPlan plan;
        plan.whole_rows_per_process = 0;
        plan.since_wall_ns = query.since_wall_ns;
        plan.until_wall_ns = query.until_wall_ns;
        // A full load, the window plan, and the window plan without
        // ancestors (what `lineage pods` loads).
        std::string lists[3];
        lists[0] = render_pods_json(list_pods(*everything, pq));
        plan.everything = false;
        for (int way : {1, 2}) {
            plan.ancestors = way != 2;
            plan.executed_files = way != 2;
            const auto model = load({j.a, j.b}, plan);
            lists[way] = render_pods_json(list_pods(*model, pq));
            // Without executed files, no exec says what file it ran.
            for (const auto& [key, p] : model->processes())
                for (const auto& img : p.execs) files_seen[way] += img.file.has_value();
        }
        CHECK(lists[1] == lists[0]);
        CHECK(lists[2] == lists[0]);
        listed += lists[0].find("\"uid\"") != std::string::npos;
    }
    CHECK(listed > 3);
    CHECK(files_seen[1] > 0);
    CHECK(files_seen[2] == 0);
}

// `lineage pods` loads its window, or the journals' whole span, a slice of
// time at a time (load_and_list_pods), several slices at once on threads of
// their own: every slicing lists what one full load lists, with and without
// a window, on one journal and on two, on one thread and on three.
TEST_CASE("pods loaded slice by slice list what a full load lists", "[reconstruct][plans][pods]") {
    Journals j(sets(16));
    std::vector<std::pair<std::string, PodQuery>> queries = {{"all time", PodQuery{}}};
    for (const auto& [name, query] : j.queries) {
        if (query.binary_glob || query.descendants_of || (!query.since_wall_ns && !query.until_wall_ns)) continue;
        PodQuery pq;
        pq.since_wall_ns = query.since_wall_ns;
        pq.until_wall_ns = query.until_wall_ns;
        queries.emplace_back(name, pq);
    }
    size_t listed = 0, sliced = 0;
    for (const auto& journals : std::vector<std::vector<std::string>>{{j.a}, {j.a, j.b}}) {
        const auto full = load(journals, LoadPlan{});
        for (const auto& [name, pq] : sampled(queries)) {
            INFO(name << " on " << journals.size() << " journal(s)");
            const std::string expected = render_pods_json(list_pods(*full, pq));
            listed += expected.find("\"uid\"") != std::string::npos;
            // Slices of 7 s to 2 min over about 250 s of journal, and one
            // longer than the journal.
            for (int64_t slice_s : {7, 31, 120, 100000}) {
                for (unsigned threads : {1u, 3u}) {
                    INFO("slices of " << slice_s << " s on " << threads << " thread(s)");
                    std::vector<JournalReader> readers;
                    for (const auto& path : journals) {
                        auto reader = JournalReader::open(path);
                        REQUIRE(reader.ok());
                        readers.push_back(std::move(*reader));
                    }
                    auto pods = load_and_list_pods(readers, pq, 0, slice_s * 1'000'000'000, threads);
                    REQUIRE(pods.ok());
                    CHECK(render_pods_json(*pods) == expected);
                    sliced += slice_s < 100;
                }
            }
        }
    }
    CHECK(listed > 3);
    CHECK(sliced > 10);
}

TEST_CASE("a load past --max-processes stops with its own error", "[reconstruct][plans]") {
    TempDir dir;
    const std::string a = dir / "a.db";
    random_journal(7, "b0000000-0000-4000-8000-0000000000c3", 700).write(a);
    Query q;
    q.since_wall_ns = kWall0 - 100'000'000'000;
    for (bool everything : {false, true}) {
        INFO((everything ? "everything" : "window"));
        LoadPlan plan = everything ? LoadPlan{} : load_plan_for(q);
        plan.max_processes = 5;
        auto reader = JournalReader::open(a);
        REQUIRE(reader.ok());
        Model model;
        auto st = reader->load_into(model, plan);
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().code == kTooManyProcesses);
        CHECK(st.error().message ==
              "more than 5 processes match; narrow the window (--since/--until) or add a selector, or raise "
              "--max-processes");
        CHECK(model.processes().size() <= 6);
        plan.max_processes = 100000;
        Model all;
        auto again = JournalReader::open(a);
        REQUIRE(again.ok());
        CHECK(again->load_into(all, plan).ok());
    }
}

TEST_CASE("reconstruct past --max-processes: exit 3, one line on stderr, nothing on stdout", "[reconstruct][plans]") {
    TempDir dir;
    const std::string j = dir / "j.db";
    incident_fixture().write(j);
    RunResult r = run_lineage(
        {"reconstruct", "--journal", j, "--since", kIncidentSince, "--until", kIncidentUntil, "--max-processes", "2"},
        dir.path(), {}, 30);
    CHECK(r.status == 3);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "lineage reconstruct: more than 2 processes match; narrow the window (--since/--until) or add a selector, "
          "or raise --max-processes\n");
    // The same query with room for its answer.
    r = run_lineage({"reconstruct", "--journal", j, "--since", kIncidentSince, "--until", kIncidentUntil}, dir.path(),
                    {}, 30);
    CHECK(r.status == 0);
    CHECK_FALSE(r.out.empty());
}

// pods and timeline read through the same loader: the same bound, the same
// exit status and message (issue 23).
TEST_CASE("pods and timeline past --max-processes: exit 3, one line on stderr, nothing on stdout",
          "[reconstruct][plans][triage]") {
    TempDir dir;
    const std::string j = dir / "j.db";
    incident_fixture().write(j);
    for (const std::string command : {"pods", "timeline"}) {
        INFO(command);
        RunResult r = run_lineage(
            {command, "--journal", j, "--since", kIncidentSince, "--until", kIncidentUntil, "--max-processes", "2"},
            dir.path(), {}, 30);
        CHECK(r.status == 3);
        CHECK(r.out.empty());
        CHECK(r.err == "lineage " + command +
                           ": more than 2 processes match; narrow the window (--since/--until) or add a selector, "
                           "or raise --max-processes\n");
        r = run_lineage({command, "--journal", j, "--since", kIncidentSince, "--until", kIncidentUntil}, dir.path(), {},
                        30);
        CHECK(r.status == 0);
        CHECK_FALSE(r.out.empty());
        r = run_lineage({command, "--journal", j, "--max-processes", "-1"}, dir.path(), {}, 30);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
    }
}

}  // namespace test_load_plans

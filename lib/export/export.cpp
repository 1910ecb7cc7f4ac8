// `lineage export`: the batch-by-batch reader and the two line formats.
#include "export.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clock_map.h"
#include "dns.h"
#include "escape.h"
#include "event.h"
#include "export_json.h"
#include "fd.h"
#include "hashchain.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "journal_rows.h"
#include "model.h"
#include "pod.h"

namespace lineage {

namespace {

// export_entity_id into a fixed buffer: an export keeps two per process
// (its own and its parent's), and a string of 32 would be an allocation.
using EntityHex = std::array<char, 32>;

EntityHex entity_hex(std::string_view boot_id, uint32_t tgid, uint64_t start_tick) {
    // Once per process exported: built by hand, not through fmt.
    static constexpr char hex[] = "0123456789abcdef";
    thread_local Sha256 sha;
    thread_local std::string text;
    text.assign("lineage-entity-v1:");
    text.append(boot_id);
    text += ':';
    const fmt::format_int t(tgid), s(start_tick);
    text.append(t.data(), t.size());
    text += ':';
    text.append(s.data(), s.size());
    const Hash h = sha.digest(text);
    EntityHex id;
    for (size_t i = 0; i < 16; ++i) {
        id[2 * i] = hex[h[i] >> 4];
        id[2 * i + 1] = hex[h[i] & 0xf];
    }
    return id;
}

}  // namespace

std::string export_entity_id(std::string_view boot_id, uint32_t tgid, uint64_t start_tick) {
    const EntityHex id = entity_hex(boot_id, tgid, start_tick);
    return std::string(id.data(), id.size());
}

// ---------------------------------------------------------------- cursor

Result<ExportCursor> ExportCursor::load(const std::string& path) {
    ExportCursor cursor;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return cursor;
        return Error{fmt::format("{}: cannot open the cursor: {}", path, std::strerror(errno))};
    }
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error{fmt::format("{}: cannot read the cursor: {}", path, std::strerror(errno))};
        }
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > (1 << 24)) return Error{fmt::format("{}: not a lineage export cursor (too large)", path)};
    }
    const auto j = nlohmann::json::parse(text, nullptr, false);
    auto bad = [&](const std::string& why) {
        return Error{fmt::format("{}: not a lineage export cursor: {}", path, why)};
    };
    if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
    if (j.value("format", "") != "lineage-export-cursor-1") return bad("no \"format\": \"lineage-export-cursor-1\"");
    const auto journals = j.find("journals");
    if (journals == j.end() || !journals->is_object()) return bad("no \"journals\" object");
    for (const auto& [name, pos] : journals->items()) {
        if (!pos.is_object() || !pos.contains("batch") || !pos["batch"].is_number_integer() || !pos.contains("hash") ||
            !pos["hash"].is_string()) {
            return bad(fmt::format("journal entry {:?} lacks an integer batch and a hash", name));
        }
        ExportPosition p{pos["batch"].get<int64_t>(), pos["hash"].get<std::string>()};
        if (p.batch < 0 || (p.batch > 0 && !hash_from_hex(p.hash)) || (p.batch == 0 && !p.hash.empty())) {
            return bad(fmt::format("journal entry {:?} has a bad batch or hash", name));
        }
        cursor.journals[name] = p;
    }
    if (auto out = j.find("output_bytes"); out != j.end()) {
        if (!out->is_number_integer() || out->get<int64_t>() < 0) return bad("output_bytes is not a count");
        cursor.output_bytes = out->get<int64_t>();
    }
    return cursor;
}

Status ExportCursor::save(const std::string& path) const {
    nlohmann::json j;
    j["format"] = "lineage-export-cursor-1";
    j["journals"] = nlohmann::json::object();
    for (const auto& [name, pos] : journals) j["journals"][name] = {{"batch", pos.batch}, {"hash", pos.hash}};
    if (output_bytes) j["output_bytes"] = *output_bytes;
    const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    const std::string tmp = path + ".tmp";
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!fd) return Error{fmt::format("{}: cannot write the cursor: {}", tmp, std::strerror(errno))};
        for (size_t done = 0; done < text.size();) {
            ssize_t w = ::write(fd.get(), text.data() + done, text.size() - done);
            if (w < 0) {
                if (errno == EINTR) continue;
                return Error{fmt::format("{}: cannot write the cursor: {}", tmp, std::strerror(errno))};
            }
            done += static_cast<size_t>(w);
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return Error{fmt::format("{}: cannot replace the cursor: {}", path, std::strerror(errno))};
    }
    return Ok{};
}

// ---------------------------------------------------------------- export

namespace {

struct RunMeta {
    int64_t run_id = 0;
    std::string boot_id, node, version, kernel, hooks, filters;
    int64_t started_ns = 0, started_wall_ns = 0, argv_cap = 0, clk_tck = 100, recorder_pid = 0;
    int64_t ns_per_tick = 10'000'000;
    bool stopped = false;
    uint32_t boot = 0;  // the boot's number in this export: runs of one boot_id share it
    // What every line of the run repeats, written once (JsonOut::fields):
    // jsonl's journal_id, node, boot_id and run; ECS's host object and the
    // head of its lineage object.
    std::string jsonl_fields, ecs_host, ecs_lineage;
};

struct ProcKey {
    uint32_t boot;  // RunMeta::boot
    uint32_t tgid;
    uint64_t tick;
    bool operator==(const ProcKey&) const = default;
};
struct ProcKeyHash {
    size_t operator()(const ProcKey& k) const {
        // A multiplicative mix: libstdc++'s std::hash of an integer is the
        // integer itself, and ticks and tgids are both dense.
        uint64_t h = (uint64_t{k.boot} << 32 | k.tgid) * 0x9e3779b97f4a7c15ULL;
        h ^= k.tick * 0xc2b2ae3d27d4eb4fULL;
        return static_cast<size_t>(h ^ (h >> 29));
    }
};

// A process's image (what exec, a snapshot or a carried row said it runs),
// shared by the children it forks until they exec, as the kernel shares
// it: a fork copies a pointer, not its forker's binary and argv.
struct ProcImage {
    std::string binary, argv;
};

// The pod and container a process is in, shared by the processes of one
// cgroup (set_pod) and by the children they fork.
struct ProcPod {
    ProcPod(std::string uid, std::string container) : pod_uid(std::move(uid)), container_id(std::move(container)) {}
    std::string pod_uid, container_id;  // pod_uid is never empty
    // Its object as lines write it (jsonl's pod, ECS's orchestrator and
    // container), rendered at the first line that needs it: the names of
    // pods and containers are read once, when the export opens.
    mutable std::string json, ecs;  // "": not rendered yet
};

// An entity_id, or none (a parent known only by its pid).
struct EntityId {
    EntityHex hex{};
    bool known = false;
    EntityId() = default;
    explicit EntityId(const EntityHex& h) : hex(h), known(true) {}
    std::string_view view() const { return {hex.data(), known ? hex.size() : 0}; }
};

// What the export knows of a live process: enough for every line of it to
// stand alone.
struct ProcEntry {
    uint32_t tgid = 0;
    int64_t start_ns = 0;
    EntityId entity_id;
    std::string comm;  // at most 15 bytes: no allocation
    std::shared_ptr<const ProcImage> image;
    uint32_t nspid = 0;
    std::shared_ptr<const ProcPod> pod;  // null: in no pod
    bool has_parent = false;
    uint32_t parent_tgid = 0;
    int64_t parent_start_ns = -1;  // -1: unknown (a snapshot's ppid)
    EntityId parent_entity_id;     // unknown with it
    bool exited = false;
    // The exec that set the image, when it was an exec row of batch
    // image_batch: an exec_file row names its exec by time.
    int64_t image_ns = -1, image_batch = 0;
    // The process's own fields as its lines write them (the head of its
    // process object, its parent), rendered at the line that first needs
    // them and reused by its later lines (exit, connect, memberships) until
    // create() hands the entry out to be changed. Bounded as the entry is.
    mutable bool rendered = false;
    mutable std::string rendered_head, rendered_parent;

    const std::string& binary() const { return image ? image->binary : empty(); }
    const std::string& argv() const { return image ? image->argv : empty(); }
    const std::string& pod_uid() const { return pod ? pod->pod_uid : empty(); }
    const std::string& container_id() const { return pod ? pod->container_id : empty(); }
    static const std::string& empty() {
        static const std::string none;
        return none;
    }
};

// A pod lent to a process's entry for one line (a memberships row's), and
// its own given back after.
class PodLoan {
public:
    PodLoan(ProcEntry& p, std::shared_ptr<const ProcPod> pod) : p_(p), pod_(std::move(pod)) { std::swap(p_.pod, pod_); }
    ~PodLoan() { std::swap(p_.pod, pod_); }
    PodLoan(const PodLoan&) = delete;
    PodLoan& operator=(const PodLoan&) = delete;

private:
    ProcEntry& p_;
    std::shared_ptr<const ProcPod> pod_;
};

struct PodName {
    std::string name, ns;
    int rank = 0;  // 2: the kubelet's log directory, 1: the runtime's annotations, 0: a host name
};

const char* const kFormatTag = "lineage-export-1";

}  // namespace

struct JournalExport::Impl {
    ExportFormat format;
    ExportFilter filter;
    std::unique_ptr<JournalReader> reader;
    int64_t version = 0;
    std::string journal_id;
    std::map<int64_t, RunMeta> runs;
    ClockMap clock;
    std::unordered_map<std::string, PodName> pods;
    std::unordered_map<std::string, ContainerInfo> container_names;  // by container id
    // By cgroup path: its container id, and the pod of the last process
    // set in it (set_pod), shared with the next of the same pod while any
    // process holds it (weak: a pod whose processes have all gone is freed,
    // rendered objects and all, though its cgroup stays here).
    struct CgroupPod {
        std::string container_id;
        std::weak_ptr<const ProcPod> pod;
    };
    std::unordered_map<std::string, CgroupPod> containers;
    // Cgroups by (boot, hierarchy, id), from the cgroups rows: what a
    // memberships row's cgroup is.
    using CgroupKey = std::tuple<uint32_t, uint32_t, uint64_t>;  // RunMeta::boot first
    std::map<CgroupKey, CgroupRow> cgroups;
    std::unordered_map<ProcKey, ProcEntry, ProcKeyHash> procs;
    std::vector<ProcKey> exited;
    // Images replaced by a later exec of the same batch, by (process, exec
    // time): what the exec_file line of the earlier exec shows, as its exec
    // line did (the batch's exec_files rows come after all its exec rows).
    // Emptied after each batch; a process that execs twice in one batch is
    // rare, so this is mostly empty.
    std::map<std::pair<std::tuple<uint32_t, uint32_t, uint64_t>, int64_t>, ProcEntry> superseded;
    // Snapshot parents: (run, tgid) -> key, for the snapshot rows read so far.
    std::map<std::pair<int64_t, uint32_t>, ProcKey> snapshot_by_pid;

    struct TableStream {
        ChainTable table;
        Stmt stmt;
        int rowid_col = 0;
        std::vector<int> byte_columns;  // Stmt::byte_columns
        bool on_row = false;            // positioned on a row not consumed yet
        bool done = false;
    };
    std::vector<TableStream> streams;
    // The connection the reader thread steps the batches and streams on:
    // a connection is only ever used by one thread at a time (NOMUTEX).
    // This thread keeps db() for its look-ups.
    Database rows_db;
    std::map<std::string, Stmt> lookups;

    // Boot-time ns the batch being read was committed at: the time of its
    // lines that have none of their own (pods, prunes).
    int64_t committed_ns = 0;
    int64_t last_run = 0;  // run of the batch read last

    // The line being written.
    std::string out;
    int64_t lines = 0;
    bool quiet = false;  // the batch read now is before --since: no lines

    std::string label;  // what messages call the journal ("": its path)
    const std::string& path() const { return label.empty() ? reader->path() : label; }
    Database& db() { return reader->db(); }

    Error fail(const std::string& what) {
        return Error{fmt::format("{}: cannot read {}: {}", path(), what, db().errmsg())};
    }

    Stmt* lookup(const std::string& sql) {
        auto it = lookups.find(sql);
        if (it == lookups.end()) {
            auto st = db().prepare(sql);
            if (!st) return nullptr;
            it = lookups.emplace(sql, std::move(*st)).first;
        }
        it->second.reset();
        return &it->second;
    }

    Status load_meta() {
        auto v = query_int(db(), "PRAGMA user_version");
        if (!v) return v.error();
        version = *v;
        {
            auto st = db().prepare(fmt::format("SELECT {} FROM runs ORDER BY run_id", chain_columns(ChainTable::runs)));
            if (!st) return fail("runs");
            int rc;
            while ((rc = st->step()) == SQLITE_ROW) {
                RunMeta r;
                r.run_id = st->int64(0);
                r.boot_id = st->text(1);
                r.node = st->text(2);
                r.started_ns = st->int64(3);
                r.started_wall_ns = st->int64(4);
                r.version = st->text(5);
                r.kernel = st->text(6);
                r.hooks = st->text(7);
                r.filters = st->text(8);
                r.argv_cap = st->int64(9);
                r.clk_tck = st->int64(10);
                r.recorder_pid = st->int64(11);
                if (r.clk_tck < 1 || r.clk_tck > 1'000'000) {
                    return Error{fmt::format("{}: journal is damaged: run {} has clk_tck {} (expected 1 to 1000000)",
                                             path(), r.run_id, r.clk_tck)};
                }
                r.ns_per_tick = 1'000'000'000 / r.clk_tck;
                clock.add_sample(r.boot_id, r.started_ns, r.started_wall_ns);
                runs[r.run_id] = r;
            }
            if (rc != SQLITE_DONE) return fail("runs");
        }
        if (!runs.empty()) {
            const RunMeta& first = runs.begin()->second;
            journal_id =
                export_entity_id(first.node + ":" + first.boot_id, 0, static_cast<uint64_t>(first.started_wall_ns));
        }
        std::map<std::string, uint32_t> boots;
        for (auto& entry : runs) {
            // A plain reference, not a structured binding: the lambdas below
            // capture it, which clang before 16 (the fuzz build) refuses.
            RunMeta& r = entry.second;
            r.boot = boots.emplace(r.boot_id, static_cast<uint32_t>(boots.size())).first->second;
            auto prefix = [](std::string& to, auto&& write) {
                std::string text;
                JsonOut j(text);
                j.begin();
                write(j);
                to = text.substr(1);  // without the '{'
            };
            prefix(r.jsonl_fields, [&](JsonOut& j) {
                j.str("journal_id", journal_id);
                j.str("node", r.node);
                j.str("boot_id", r.boot_id);
                j.num("run", r.run_id);
            });
            prefix(r.ecs_host, [&](JsonOut& j) {
                j.object("host");
                j.str("name", r.node);
                j.object("boot");
                j.str("id", r.boot_id);
                j.end_object();
                j.end_object();
            });
            prefix(r.ecs_lineage, [&](JsonOut& j) {
                j.object("lineage");
                j.lit("schema", kFormatTag);
                j.str("journal_id", journal_id);
                j.num("run", r.run_id);
            });
        }
        auto st = db().prepare("SELECT run_id FROM run_stops");
        if (!st) return fail("run_stops");
        while (st->step() == SQLITE_ROW) {
            if (auto it = runs.find(st->int64(0)); it != runs.end()) it->second.stopped = true;
        }
        st = db().prepare("SELECT run_id, boot_ns, wall_ns FROM clock_samples");
        if (!st) return fail("clock_samples");
        while (st->step() == SQLITE_ROW) {
            if (auto it = runs.find(st->int64(0)); it != runs.end())
                clock.add_sample(it->second.boot_id, st->int64(1), st->int64(2));
        }
        st = db().prepare("SELECT pod_uid, name, namespace, source FROM pods ORDER BY rowid");
        if (!st) return fail("pods");
        while (st->step() == SQLITE_ROW) add_pod(st->text(0), st->text(1), st->text(2), st->text(3));
        if (table_in_version(ChainTable::containers, version)) {
            // Metadata, a few rows per container: read whole, so that every
            // process line names its container as the trees do.
            std::map<std::string, std::vector<ContainerRow>> rows;
            st = db().prepare(
                fmt::format("SELECT {} FROM containers ORDER BY rowid", select_list(ChainTable::containers)));
            if (!st) return fail("containers");
            while (st->step() == SQLITE_ROW) {
                ContainerRow row = container_row(*st);
                if (!row.container_id.empty()) rows[row.container_id].push_back(std::move(row));
            }
            for (const auto& [id, of_id] : rows) container_names[id] = container_info(of_id);
        }
        return Ok{};
    }

    // The rule of effective_pod_name, in the order the rows come: the
    // kubelet's log directory, else the runtime's annotations, else the
    // first host name.
    void add_pod(const std::string& uid, const std::string& name, const std::string& ns, const std::string& source) {
        const int rank = source == "log-dir" ? 2 : source == "runtime" ? 1 : 0;
        auto it = pods.find(uid);
        if (it == pods.end() || it->second.rank < rank) pods[uid] = PodName{name, ns, rank};
    }

    CgroupPod& container_of(const std::string& cgroup_path) {
        auto it = containers.find(cgroup_path);
        if (it != containers.end()) return it->second;
        if (containers.size() > 65536) containers.clear();  // entries hold what they share
        auto kube = parse_kube_cgroup(cgroup_path);
        return containers.emplace(cgroup_path, CgroupPod{kube ? kube->container_id : std::string(), {}}).first->second;
    }

    // Positions every table's stream on its first row of a batch after `after`.
    Status open_streams(int64_t after) {
        streams.clear();
        if (!rows_db) {
            auto another = reader->open_another();
            if (!another) return another.error();
            rows_db = std::move(*another);
        }
        Database& db = rows_db;
        auto fail = [&](const std::string& what) {
            return Error{fmt::format("{}: cannot read {}: {}", path(), what, db.errmsg())};
        };
        for (size_t i = 0; i < kChainTableCount; ++i) {
            const ChainTable t = table_at(i);
            if (!table_in_version(t, version)) continue;
            // Restatements of what the other rows say, for the journal's own
            // readers (schema/journal.sql, version 5): not events.
            // dns_names (version 11) is an index of the dns rows, which
            // an import writes again.
            if (t == ChainTable::unexited || t == ChainTable::dns_names) continue;
            TableStream s;
            s.table = t;
            auto st = db.prepare(fmt::format("SELECT {}, rowid FROM {} WHERE rowid >= ?1 ORDER BY rowid",
                                             select_list(t), table_name(t)));
            if (!st) return fail(table_name(t));
            s.stmt = std::move(*st);
            s.rowid_col = sqlite3_column_count(s.stmt.get()) - 1;
            s.byte_columns = s.stmt.byte_columns();
            // Rows are appended in batch order: the first row of a later
            // batch is found by binary search on the rowid.
            auto probe = db.prepare(
                fmt::format("SELECT rowid, batch FROM {} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1", table_name(t)));
            auto bounds = db.prepare(
                // min and max in subqueries of their own: SQLite reads one
                // end of the b-tree for a lone min() or max(), but scans the
                // whole table for both in one SELECT (seconds, for a year).
                fmt::format(
                    "SELECT coalesce((SELECT min(rowid) FROM {0}), 0), coalesce((SELECT max(rowid) FROM {0}), -1)",
                    table_name(t)));
            if (!probe || !bounds || bounds->step() != SQLITE_ROW) return fail(table_name(t));
            int64_t lo = bounds->int64(0), hi = bounds->int64(1) + 1;
            while (lo < hi) {
                const int64_t mid = lo + (hi - lo) / 2;
                probe->reset();
                probe->bind(1, mid);
                const int rc = probe->step();
                if (rc == SQLITE_DONE) {
                    hi = mid;
                } else if (rc != SQLITE_ROW) {
                    return fail(table_name(t));
                } else if (probe->int64(1) > after) {
                    hi = mid;
                } else {
                    lo = probe->int64(0) + 1;
                }
            }
            s.stmt.bind(1, lo);
            streams.push_back(std::move(s));
        }
        return Ok{};
    }

    // ------------------------------------------------------------ lines

    bool selected(const ProcEntry& p) const {
        if (filter.pid && p.tgid != *filter.pid) return false;
        if (filter.container && (p.container_id().empty() || !p.container_id().starts_with(*filter.container)))
            return false;
        if (!filter.pod && !filter.namespace_) return true;
        if (p.pod_uid().empty()) return false;
        auto it = pods.find(p.pod_uid());
        const PodName* name = it == pods.end() ? nullptr : &it->second;
        if (filter.namespace_ && (!name || name->ns != *filter.namespace_)) return false;
        if (filter.pod) {
            const std::string& f = *filter.pod;
            if (f == p.pod_uid()) return true;
            if (!name) return false;
            return f == name->name || (!name->ns.empty() && f == name->ns + "/" + name->name);
        }
        return true;
    }

    // The fields every line starts with.
    void header(JsonOut& j, const char* kind, const RunMeta& run, int64_t batch, int64_t time_ns) {
        const int64_t wall = clock.to_wall(run.boot_id, time_ns);
        if (format == ExportFormat::jsonl) {
            j.lit("schema", kFormatTag);
            j.lit("kind", kind);
            j.fields(run.jsonl_fields);
            j.num("batch", batch);
            j.num("time_ns", time_ns);
            j.time("time", wall);
        } else {
            j.time("@timestamp", wall);
            j.fields(run.ecs_host);
        }
    }

    // ECS event.*: kind, categories, types, and the lineage kind as action.
    // Every argument is a string literal of a call site, so the object is
    // written once per distinct set of them (by their addresses: a literal
    // does not change) and copied after.
    using EcsEventKey = std::array<const char*, 7>;  // kind, ecs_kind, outcome, 2 categories, 2 types
    std::map<EcsEventKey, std::string> ecs_events;

    void ecs_event(JsonOut& j, const char* kind, const char* ecs_kind, std::initializer_list<const char*> categories,
                   std::initializer_list<const char*> types, const char* outcome = nullptr) {
        EcsEventKey key{kind, ecs_kind, outcome};
        bool cacheable = categories.size() <= 2 && types.size() <= 2;
        if (cacheable) {
            std::copy(categories.begin(), categories.end(), key.begin() + 3);
            std::copy(types.begin(), types.end(), key.begin() + 5);
        }
        auto it = cacheable ? ecs_events.find(key) : ecs_events.end();
        const bool have = it != ecs_events.end();
        if (!have && cacheable) it = ecs_events.emplace(key, std::string()).first;
        std::string unused;
        write_or_reuse(j, cacheable ? it->second : unused, have, [&](JsonOut& r) {
            r.object("event");
            r.lit("kind", ecs_kind);
            if (categories.size() > 0) {
                r.array("category");
                for (const char* c : categories) r.element_lit(c);
                r.end_array();
            }
            r.array("type");
            for (const char* t : types) r.element_lit(t);
            r.end_array();
            r.lit("action", kind);
            if (outcome) r.lit("outcome", outcome);
            r.lit("module", "lineage");
            r.lit("dataset", "lineage.export");
            r.end_object();
        });
    }

    void ecs_lineage(JsonOut& j, const RunMeta& run, int64_t batch, int64_t time_ns) {
        // The object is open: its head is the run's, and its end the caller's.
        j.fields(run.ecs_lineage);
        j.num("batch", batch);
        j.num("time_ns", time_ns);
    }

    // Fields kept for later lines (JsonOut::fields): written into the line
    // by `write` the first time, and kept as written (the separator before
    // them left out), in one allocation of their size.
    template <class Write>
    void write_or_reuse(JsonOut& j, std::string& kept, bool have, Write&& write) {
        if (have) {
            j.fields(kept);
            return;
        }
        size_t from = out.size();
        write(j);
        if (from < out.size() && out[from] == ',') ++from;
        kept.assign(out, from, out.size() - from);
    }

    void process_json(JsonOut& j, const RunMeta& run, const ProcEntry& p) {
        write_or_reuse(j, p.rendered_head, p.rendered, [&](JsonOut& r) { process_json_head(r, run, p); });
        write_or_reuse(j, p.rendered_parent, p.rendered, [&](JsonOut& r) { process_json_parent(r, p); });
        p.rendered = true;
        if (!p.pod) {
            j.null("pod");
            return;
        }
        write_or_reuse(j, p.pod->json, !p.pod->json.empty(),
                       [&](JsonOut& r) { pod_json(r, p.pod->pod_uid, p.pod->container_id); });
    }

    void process_json_head(JsonOut& j, const RunMeta& run, const ProcEntry& p) {
        j.object("process");
        j.str("entity_id", p.entity_id.view());
        j.num("tgid", p.tgid);
        j.num("start_ns", p.start_ns);
        j.time("start", clock.to_wall(run.boot_id, p.start_ns));
        j.num("nspid", p.nspid);
        j.bytes("comm", p.comm);
        j.bytes("binary", p.binary());
        j.argv("args", p.argv());
        j.end_object();
    }

    void process_json_parent(JsonOut& j, const ProcEntry& p) {
        if (!p.has_parent) {
            j.null("parent");
        } else {
            j.object("parent");
            if (!p.parent_entity_id.known) {
                j.null("entity_id");
            } else {
                j.str("entity_id", p.parent_entity_id.view());
            }
            j.num("tgid", p.parent_tgid);
            if (p.parent_start_ns < 0) {
                j.null("start_ns");
            } else {
                j.num("start_ns", p.parent_start_ns);
            }
            j.end_object();
        }
    }

    void pod_json(JsonOut& j, const std::string& pod_uid, const std::string& container_id) {
        if (pod_uid.empty()) {
            j.null("pod");
        } else {
            j.object("pod");
            j.str("uid", pod_uid);
            auto it = pods.find(pod_uid);
            if (it != pods.end()) {
                j.str("name", it->second.name);
                j.str("namespace", it->second.ns);
            } else {
                j.null("name");
                j.null("namespace");
            }
            j.str("container", container_id);
            const ContainerInfo* c = container_named(container_id);
            j.str("container_name", c ? c->name : std::string());
            j.str("image", c ? c->image : std::string());
            j.end_object();
        }
    }

    const ContainerInfo* container_named(const std::string& id) const {
        if (id.empty()) return nullptr;
        auto it = container_names.find(id);
        return it == container_names.end() ? nullptr : &it->second;
    }

    void process_ecs(JsonOut& j, const RunMeta& run, const ProcEntry& p, const ExitEvent* exit = nullptr,
                     const Credentials* creds = nullptr) {
        // The head leaves the process object open: an exit line adds its
        // fields before the parent's.
        write_or_reuse(j, p.rendered_head, p.rendered, [&](JsonOut& r) {
            r.object("process");
            r.str("entity_id", p.entity_id.view());
            r.num("pid", p.tgid);
            r.bytes("name", p.comm);
            r.bytes("executable", p.binary());
            r.argv("args", p.argv());
            r.time("start", clock.to_wall(run.boot_id, p.start_ns));
        });
        if (exit) {
            j.num("exit_code", exit->signal ? 128 + exit->signal : exit->code);
            j.time("end", clock.to_wall(run.boot_id, static_cast<int64_t>(exit->time_ns)));
        }
        if (creds) {
            // An exec_file line's credentials after the exec (ECS ids are
            // keywords); the caller's before it are under lineage.before.
            auto id = [&](const char* k, uint32_t v) {
                j.object(k);
                j.str("id", fmt::format_int(v).str());
                j.end_object();
            };
            id("user", creds->euid);
            id("real_user", creds->uid);
            id("group", creds->egid);
            id("real_group", creds->gid);
        }
        if (!p.has_parent) {
            p.rendered_parent.clear();
        } else {
            write_or_reuse(j, p.rendered_parent, p.rendered, [&](JsonOut& r) {
                r.object("parent");
                if (p.parent_entity_id.known) r.str("entity_id", p.parent_entity_id.view());
                r.num("pid", p.parent_tgid);
                if (p.parent_start_ns >= 0) r.time("start", clock.to_wall(run.boot_id, p.parent_start_ns));
                r.end_object();
            });
        }
        p.rendered = true;
        j.end_object();
        if (!p.pod) return;
        write_or_reuse(j, p.pod->ecs, !p.pod->ecs.empty(),
                       [&](JsonOut& r) { pod_ecs(r, p.pod->pod_uid, p.pod->container_id); });
    }

    void pod_ecs(JsonOut& j, const std::string& pod_uid, const std::string& container_id) {
        if (!pod_uid.empty()) {
            auto it = pods.find(pod_uid);
            j.object("orchestrator");
            j.lit("type", "kubernetes");
            j.object("resource");
            j.lit("type", "pod");
            j.str("id", pod_uid);
            if (it != pods.end()) j.str("name", it->second.name);
            j.end_object();
            if (it != pods.end() && !it->second.ns.empty()) j.str("namespace", it->second.ns);
            j.end_object();
        }
        if (!container_id.empty()) {
            j.object("container");
            j.str("id", container_id);
            // ECS container.name and container.image.name.
            if (const ContainerInfo* c = container_named(container_id)) {
                if (!c->name.empty()) j.str("name", c->name);
                if (!c->image.empty()) {
                    j.object("image");
                    j.str("name", c->image);
                    j.end_object();
                }
            }
            j.end_object();
        }
    }

    // A line about a process; `details` writes the lineage fields of its
    // kind (jsonl: an object named after the kind; ecs: under lineage.*).
    template <class Details, class Ecs>
    void process_line(const char* kind, const RunMeta& run, int64_t batch, int64_t time_ns, const ProcEntry& p,
                      Details&& details, Ecs&& ecs) {
        if (quiet || !selected(p)) return;
        JsonOut j(out);
        j.begin();
        header(j, kind, run, batch, time_ns);
        if (format == ExportFormat::jsonl) {
            process_json(j, run, p);
            j.object(kind);
            details(j);
            j.end_object();
        } else {
            ecs(j);
            ecs_lineage(j, run, batch, time_ns);
            details(j);
            j.end_object();
        }
        j.end_line();
        ++lines;
    }

    // A line about the journal itself (runs, clock, pods, losses, ...).
    template <class Details>
    void journal_line(const char* kind, const RunMeta& run, int64_t batch, int64_t time_ns, const char* ecs_kind,
                      std::initializer_list<const char*> categories, std::initializer_list<const char*> types,
                      Details&& details) {
        if (quiet) return;
        JsonOut j(out);
        j.begin();
        header(j, kind, run, batch, time_ns);
        if (format == ExportFormat::jsonl) {
            // The batch line's own fields: "batch" is the batch id already.
            j.object(std::string_view(kind) == "batch" ? "chain" : kind);
            details(j);
            j.end_object();
        } else {
            ecs_event(j, kind, ecs_kind, categories, types);
            ecs_lineage(j, run, batch, time_ns);
            details(j);
            j.end_object();
        }
        j.end_line();
        ++lines;
    }

    // ------------------------------------------------------------ processes

    ProcKey key_of(const RunMeta& run, uint32_t tgid, int64_t start_ns) const {
        return ProcKey{run.boot, tgid, static_cast<uint64_t>(start_ns / run.ns_per_tick)};
    }

    ProcEntry& create(const RunMeta& run, uint32_t tgid, int64_t start_ns) {
        ProcKey k = key_of(run, tgid, start_ns);
        ProcEntry& p = procs[k];
        p.rendered = false;  // handed out to be changed
        if (!p.entity_id.known) {
            p.tgid = tgid;
            p.start_ns = start_ns;
            p.entity_id = EntityId(entity_hex(run.boot_id, tgid, k.tick));
        }
        return p;
    }

    void set_parent(const RunMeta& run, ProcEntry& p, uint32_t tgid, int64_t start_ns) {
        p.has_parent = true;
        p.parent_tgid = tgid;
        p.parent_start_ns = start_ns;
        p.parent_entity_id = entity_of(run, tgid, start_ns);
    }

    // A process's entity_id: its entry's when the export knows it (no hash
    // to compute again), else computed.
    EntityId entity_of(const RunMeta& run, uint32_t tgid, int64_t start_ns) const {
        const ProcKey k = key_of(run, tgid, start_ns);
        if (auto it = procs.find(k); it != procs.end() && it->second.entity_id.known) return it->second.entity_id;
        return EntityId(entity_hex(run.boot_id, tgid, k.tick));
    }

    // A carried row's identity, as the row it restates would have set it.
    void apply_carried(const RunMeta& run, ProcEntry& p, const CarriedRow& c) {
        p.comm = c.comm;
        p.image = std::make_shared<const ProcImage>(ProcImage{c.binary, c.argv});
        p.nspid = c.nspid;
        set_pod(p, c.pod_uid, c.cgroup_path);
        if (c.parent.tgid != 0) set_parent(run, p, c.parent.tgid, static_cast<int64_t>(c.parent.start_ns));
    }

    void set_pod(ProcEntry& p, const std::string& pod_uid, const std::string& cgroup_path) {
        if (pod_uid.empty()) {
            p.pod.reset();
            return;
        }
        CgroupPod& c = container_of(cgroup_path);
        std::shared_ptr<const ProcPod> pod = c.pod.lock();
        if (!pod || pod->pod_uid != pod_uid) {
            pod = std::make_shared<const ProcPod>(pod_uid, c.container_id);
            c.pod = pod;
        }
        p.pod = std::move(pod);
    }

    // A process first named by an exit or a connect (or as a forker) in the
    // batches exported now: what the journal said of it before, through
    // the indexes reconstruct uses, up to this batch.
    //
    // What it finds is what the export would have built reading those
    // batches itself (the same lines before and after a restart): the
    // latest image, the forker as parent, and for a child that never
    // exec'd, its forker's image and the comm the fork row gave it.
    Result<ProcEntry*> find_or_recall(const RunMeta& run, uint32_t tgid, int64_t start_ns, int64_t batch,
                                      const std::string& comm, int depth = 0) {
        const ProcKey k = key_of(run, tgid, start_ns);
        if (auto it = procs.find(k); it != procs.end()) return &it->second;
        ProcEntry& p = create(run, tgid, start_ns);
        p.comm = comm;
        const int64_t lo = static_cast<int64_t>(k.tick) * run.ns_per_tick, hi = lo + run.ns_per_tick;
        Stmt* s =
            lookup(fmt::format("SELECT {} FROM exec WHERE tgid = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND "
                               "batch <= ?4 ORDER BY rowid DESC LIMIT 1",
                               select_list(ChainTable::exec)));
        if (!s) return fail("exec");
        s->bind(1, int64_t{tgid});
        s->bind(2, lo);
        s->bind(3, hi);
        s->bind(4, batch);
        int rc = s->step();
        bool have_image = false;
        if (rc == SQLITE_ROW) {
            ExecEvent e = exec_row(*s);
            p.image = std::make_shared<const ProcImage>(ProcImage{std::move(e.binary), std::move(e.argv)});
            p.nspid = e.nspid;
            if (p.comm.empty()) p.comm = e.comm;
            set_pod(p, s->text(col<ChainTable::exec>("pod_uid")), e.cgroup_path);
            set_parent(run, p, e.parent.tgid, static_cast<int64_t>(e.parent.start_ns));
            have_image = true;
        } else if (rc != SQLITE_DONE) {
            return fail("exec");
        }
        if (!have_image && table_in_version(ChainTable::carried, version)) {
            // Retention deleted its exec, fork or snapshot row while it ran.
            s =
                lookup(fmt::format("SELECT {} FROM carried WHERE tgid = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND "
                                   "batch <= ?4 ORDER BY rowid DESC LIMIT 1",
                                   select_list(ChainTable::carried)));
            if (!s) return fail("carried");
            s->bind(1, int64_t{tgid});
            s->bind(2, lo);
            s->bind(3, hi);
            s->bind(4, batch);
            rc = s->step();
            if (rc == SQLITE_ROW) {
                const CarriedRow c = carried_row(*s);
                apply_carried(run, p, c);
                have_image = true;
            } else if (rc != SQLITE_DONE) {
                return fail("carried");
            }
        }
        s = lookup(
            "SELECT parent_tgid, parent_start_ns, parent_comm FROM fork WHERE child_tgid = ?1 AND child_start_ns >= "
            "?2 AND child_start_ns < ?3 AND batch <= ?4 LIMIT 1");
        if (!s) return fail("fork");
        s->bind(1, int64_t{tgid});
        s->bind(2, lo);
        s->bind(3, hi);
        s->bind(4, batch);
        rc = s->step();
        if (rc == SQLITE_ROW) {
            const auto parent_tgid = static_cast<uint32_t>(s->int64(0));
            const int64_t parent_start = s->int64(1);
            const std::string parent_comm = s->blob(2);
            set_parent(run, p, parent_tgid, parent_start);
            if (!have_image && depth < 64) {
                // The entry may move when the parent is added: copy first.
                ProcEntry child = p;
                auto parent = find_or_recall(run, parent_tgid, parent_start, batch, parent_comm, depth + 1);
                if (!parent) return parent.error();
                child.comm = parent_comm;
                child.image = (*parent)->image;
                child.pod = (*parent)->pod;
                ProcEntry& slot = procs[k];
                slot = std::move(child);
                return &slot;
            }
        } else if (rc != SQLITE_DONE) {
            return fail("fork");
        }
        if (!have_image) {
            s =
                lookup(fmt::format("SELECT {} FROM snapshot WHERE tgid = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND "
                                   "batch <= ?4 ORDER BY rowid DESC LIMIT 1",
                                   select_list(ChainTable::snapshot)));
            if (!s) return fail("snapshot");
            s->bind(1, int64_t{tgid});
            s->bind(2, lo);
            s->bind(3, hi);
            s->bind(4, batch);
            rc = s->step();
            if (rc == SQLITE_ROW) {
                SnapshotRow row = snapshot_row(*s);
                p.image = std::make_shared<const ProcImage>(ProcImage{std::move(row.exe), std::move(row.argv)});
                p.nspid = row.nspid;
                if (p.comm.empty()) p.comm = row.comm;
                set_pod(p, s->text(col<ChainTable::snapshot>("pod_uid")), row.cgroup_path);
                if (!p.has_parent) {
                    p.has_parent = true;
                    p.parent_tgid = row.ppid;
                }
            } else if (rc != SQLITE_DONE) {
                return fail("snapshot");
            }
        }
        return &p;
    }

    // ------------------------------------------------------------ rows

    // A row decoded on the reader thread too (the allocations of its
    // strings are half of what decoding costs), for the tables that have
    // a decoder; the other tables' few columns are read from the copy.
    using DecodedRow =
        std::variant<std::monostate, SnapshotRow, ForkEvent, ExecEvent, ExitEvent, ConnectEvent, CgroupRow,
                     ContainerRow, MembershipRow, CarriedRow, ExecFileRow, FileHashRow, ListenEvent, DnsEvent>;
    // The one column of a decoded row that its struct has not: what
    // on_row reads beside it.
    static std::string extra_of(ChainTable t, Stmt& s) {
        switch (t) {
            case ChainTable::snapshot:
                return s.text(col<ChainTable::snapshot>("pod_uid"));
            case ChainTable::exec:
                return s.text(col<ChainTable::exec>("pod_uid"));
            case ChainTable::connect:
                return s.text(col<ChainTable::connect>("result"));
            case ChainTable::memberships:
                return s.text(col<ChainTable::memberships>("how"));
            default:
                return {};
        }
    }

    static DecodedRow decode(ChainTable t, Stmt& s) {
        switch (t) {
            case ChainTable::snapshot:
                return snapshot_row(s);
            case ChainTable::fork:
                return fork_row(s);
            case ChainTable::exec:
                return exec_row(s);
            case ChainTable::exit:
                return exit_row(s);
            case ChainTable::connect:
                return connect_row(s);
            case ChainTable::cgroups:
                return cgroup_row(s);
            case ChainTable::containers:
                return container_row(s);
            case ChainTable::memberships:
                return membership_row(s);
            case ChainTable::carried:
                return carried_row(s);
            case ChainTable::exec_files:
                return exec_file_row(s);
            case ChainTable::file_hashes:
                return file_hash_row(s);
            case ChainTable::listens:
                return listen_row(s);
            case ChainTable::dns:
                return dns_row(s);
            default:
                return std::monostate{};
        }
    }

    // A row: `st`, its copy, for the tables without a decoder; `d` and
    // `extra` (extra_of) for the others, whose copy is empty.
    Status on_row(ChainTable table, const RowCopy& st, DecodedRow& d, const std::string& extra, const RunMeta& run,
                  int64_t batch) {
        switch (table) {
            case ChainTable::runs: {
                constexpr auto T = ChainTable::runs;
                auto it = runs.find(st.int64(col<T>("run_id")));
                if (it == runs.end()) return Ok{};
                const RunMeta& r = it->second;
                if (auto gap = gap_before(r, batch); !gap) return gap.error();
                journal_line("run_start", r, batch, r.started_ns, "event", {"host"}, {"start"}, [&](JsonOut& j) {
                    j.str("version", r.version);
                    j.str("kernel", r.kernel);
                    j.str("hooks", r.hooks);
                    j.str("filters", r.filters);
                    j.num("argv_cap", r.argv_cap);
                    j.num("clk_tck", r.clk_tck);
                    j.num("recorder_pid", r.recorder_pid);
                    j.num("started_wall_ns", r.started_wall_ns);
                });
                return Ok{};
            }
            case ChainTable::clock_samples: {
                constexpr auto T = ChainTable::clock_samples;
                const int64_t boot_ns = st.int64(col<T>("boot_ns")), wall_ns = st.int64(col<T>("wall_ns"));
                journal_line("clock", run, batch, boot_ns, "state", {}, {"info"}, [&](JsonOut& j) {
                    j.num("boot_ns", boot_ns);
                    j.num("wall_ns", wall_ns);
                });
                return Ok{};
            }
            case ChainTable::pods: {
                constexpr auto T = ChainTable::pods;
                const std::string uid = st.text(col<T>("pod_uid")), name = st.text(col<T>("name")),
                                  ns = st.text(col<T>("namespace")), source = st.text(col<T>("source"));
                journal_line("pod_name", run, batch, committed_ns, "state", {}, {"info"}, [&](JsonOut& j) {
                    j.str("uid", uid);
                    j.str("name", name);
                    j.str("namespace", ns);
                    j.str("source", source);
                });
                return Ok{};
            }
            case ChainTable::containers: {
                const ContainerRow& row = std::get<ContainerRow>(d);
                journal_line("container", run, batch, row.time_ns, "state", {}, {"info"}, [&](JsonOut& j) {
                    j.str("id", row.container_id);
                    j.str("name", row.name);
                    j.str("image", row.image);
                    j.str("type", row.type);
                    j.str("pod_uid", row.pod_uid);
                    j.str("pod_name", row.pod_name);
                    j.str("pod_namespace", row.pod_namespace);
                    j.str("source", row.source);
                    j.bytes("path", row.path);
                    j.str("problem", row.problem);
                });
                return Ok{};
            }
            case ChainTable::snapshot: {
                // Its image moves into the entry: the line's own fields
                // below do not write it.
                SnapshotRow& row = std::get<SnapshotRow>(d);
                const std::string& pod_uid = extra;
                ProcEntry& p = create(run, row.tgid, static_cast<int64_t>(row.start_ns));
                p.comm = row.comm;
                p.image = std::make_shared<const ProcImage>(ProcImage{std::move(row.exe), std::move(row.argv)});
                p.nspid = row.nspid;
                set_pod(p, pod_uid, row.cgroup_path);
                if (!p.has_parent) {
                    p.has_parent = true;
                    p.parent_tgid = row.ppid;
                    if (auto it = snapshot_by_pid.find({run.run_id, row.ppid}); it != snapshot_by_pid.end()) {
                        if (auto pp = procs.find(it->second); pp != procs.end()) {
                            p.parent_start_ns = pp->second.start_ns;
                            p.parent_entity_id = pp->second.entity_id;
                        }
                    }
                }
                snapshot_by_pid[{run.run_id, row.tgid}] = key_of(run, row.tgid, static_cast<int64_t>(row.start_ns));
                process_line(
                    "snapshot", run, batch, row.time_ns, p,
                    [&](JsonOut& j) {
                        j.num("ppid", row.ppid);
                        j.num("uid", row.uid);
                        j.num("gid", row.gid);
                        j.num("euid", row.euid);
                        j.bytes("cgroup_path", row.cgroup_path);
                        j.bytes("nodename", row.nodename);
                    },
                    [&](JsonOut& j) {
                        process_ecs(j, run, p);
                        ecs_event(j, "snapshot", "event", {"process"}, {"info"});
                    });
                return Ok{};
            }
            case ChainTable::fork: {
                const ForkEvent& e = std::get<ForkEvent>(d);
                auto parent =
                    find_or_recall(run, e.parent.tgid, static_cast<int64_t>(e.parent.start_ns), batch, e.parent_comm);
                if (!parent) return parent.error();
                // An unordered_map's elements stay where they are when
                // create() adds one: the reference holds. (A child that is
                // its own forker, in a damaged journal, reads the forker's
                // fields before it overwrites them, as a copy would.)
                const ProcEntry& forker = **parent;
                ProcEntry& child = create(run, e.child.tgid, static_cast<int64_t>(e.child.start_ns));
                child.comm = e.parent_comm;
                child.image = forker.image;
                child.nspid = 0;
                child.pod = forker.pod;
                child.has_parent = true;
                child.parent_tgid = forker.tgid;
                // The fork row's own start of the forker: nanoseconds, where
                // a snapshot forker's entry has only its clock tick.
                child.parent_start_ns = static_cast<int64_t>(e.parent.start_ns);
                child.parent_entity_id = forker.entity_id;
                process_line(
                    "fork", run, batch, static_cast<int64_t>(e.time_ns), child,
                    [&](JsonOut& j) { j.bytes("parent_comm", e.parent_comm); },
                    [&](JsonOut& j) {
                        process_ecs(j, run, child);
                        ecs_event(j, "fork", "event", {"process"}, {"start"});
                    });
                return Ok{};
            }
            case ChainTable::exec: {
                // Its image moves into the entry: the line's own fields
                // below do not write it.
                ExecEvent& e = std::get<ExecEvent>(d);
                const std::string& pod_uid = extra;
                ProcEntry& p = create(run, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
                if (p.image_ns >= 0 && p.image_batch == batch) {
                    const ProcKey k = key_of(run, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
                    superseded.insert_or_assign({{k.boot, k.tgid, k.tick}, p.image_ns}, p);
                }
                p.image_ns = static_cast<int64_t>(e.time_ns);
                p.image_batch = batch;
                p.comm = e.comm;
                p.image = std::make_shared<const ProcImage>(ProcImage{std::move(e.binary), std::move(e.argv)});
                p.nspid = e.nspid;
                set_pod(p, pod_uid, e.cgroup_path);
                if (!p.has_parent) set_parent(run, p, e.parent.tgid, static_cast<int64_t>(e.parent.start_ns));
                process_line(
                    "exec", run, batch, static_cast<int64_t>(e.time_ns), p,
                    [&](JsonOut& j) {
                        j.num("old_tid", e.old_tid);
                        j.num("uid", e.uid);
                        j.num("gid", e.gid);
                        j.num("euid", e.euid);
                        j.num("real_parent_tgid", e.parent.tgid);
                        j.num("real_parent_start_ns", static_cast<int64_t>(e.parent.start_ns));
                        j.bytes("real_parent_comm", e.parent_comm);
                        j.bytes("nodename", e.nodename);
                        j.num("cgroup_id", static_cast<int64_t>(e.cgroup_id));
                        j.bytes("cgroup_path", e.cgroup_path);
                        j.num("truncated", e.truncated);
                    },
                    [&](JsonOut& j) {
                        process_ecs(j, run, p);
                        ecs_event(j, "exec", "event", {"process"}, {"start"});
                    });
                return Ok{};
            }
            case ChainTable::exit: {
                const ExitEvent& e = std::get<ExitEvent>(d);
                auto p = find_or_recall(run, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), batch, e.comm);
                if (!p) return p.error();
                ProcEntry& proc = **p;
                if (!proc.exited) exited.push_back(key_of(run, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns)));
                proc.exited = true;
                process_line(
                    "exit", run, batch, static_cast<int64_t>(e.time_ns), proc,
                    [&](JsonOut& j) {
                        j.num("code", e.code);
                        j.num("signal", e.signal);
                        j.boolean("core_dumped", e.core_dumped);
                        j.bytes("comm", e.comm);
                    },
                    [&](JsonOut& j) {
                        process_ecs(j, run, proc, &e);
                        ecs_event(j, "exit", "event", {"process"}, {"end"});
                    });
                return Ok{};
            }
            case ChainTable::connect: {
                const ConnectEvent& e = std::get<ConnectEvent>(d);
                const std::string& result = extra;
                auto p = find_or_recall(run, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), batch, "");
                if (!p) return p.error();
                const ProcEntry& proc = **p;
                process_line(
                    "connect", run, batch, static_cast<int64_t>(e.time_ns), proc,
                    [&](JsonOut& j) {
                        j.num("outcome_ns", static_cast<int64_t>(e.outcome_ns));
                        j.num("family", e.family);
                        j.str("saddr", e.saddr);
                        j.num("sport", e.sport);
                        j.str("daddr", e.daddr);
                        j.num("dport", e.dport);
                        j.str("result", result);
                    },
                    [&](JsonOut& j) {
                        process_ecs(j, run, proc);
                        ecs_event(j, "connect", "event", {"network"}, {"connection", "start"},
                                  !e.outcome_known ? "unknown"
                                  : e.established  ? "success"
                                                   : "failure");
                        endpoints_ecs(j, e.saddr, e.sport, e.daddr, e.dport);
                        j.object("network");
                        j.lit("transport", "tcp");
                        j.lit("type", e.family == 6 ? "ipv6" : "ipv4");
                        j.end_object();
                    });
                return Ok{};
            }
            case ChainTable::loss: {
                constexpr auto T = ChainTable::loss;
                const int64_t from = st.int64(col<T>("from_ns")), to = st.int64(col<T>("to_ns")),
                              count = st.int64(col<T>("count"));
                const std::string reason = st.text(col<T>("reason"));
                journal_line("loss", run, batch, from, "pipeline_error", {}, {"info"}, [&](JsonOut& j) {
                    j.num("from_ns", from);
                    j.num("to_ns", to);
                    j.time("to", clock.to_wall(run.boot_id, to));
                    j.num("count", count);
                    j.str("reason", reason);
                });
                return Ok{};
            }
            case ChainTable::run_stops: {
                constexpr auto T = ChainTable::run_stops;
                auto it = runs.find(st.int64(col<T>("run_id")));
                const RunMeta& r = it == runs.end() ? run : it->second;
                const int64_t stopped = st.int64(col<T>("stopped_ns"));
                journal_line("run_stop", r, batch, stopped, "event", {"host"}, {"end"}, [&](JsonOut& j) {
                    j.num("stopped_wall_ns", st.int64(col<T>("stopped_wall_ns")));
                    j.str("reason", st.text(col<T>("reason")));
                    j.num("events", st.int64(col<T>("events")));
                    j.num("lost", st.int64(col<T>("lost")));
                });
                return Ok{};
            }
            case ChainTable::prunes: {
                constexpr auto T = ChainTable::prunes;
                const std::string through_hash = st.blob(col<T>("through_hash"));
                Hash h{};
                std::memcpy(h.data(), through_hash.data(), std::min(through_hash.size(), h.size()));
                journal_line("prune", run, batch, committed_ns, "event", {"configuration"}, {"deletion"},
                             [&](JsonOut& j) {
                                 j.num("through_batch", st.int64(col<T>("through_batch")));
                                 j.str("through_hash", to_hex(h));
                                 j.time("through_time", st.int64(col<T>("through_wall_ns")));
                                 j.num("rows", st.int64(col<T>("rows")));
                                 j.str("reason", st.text(col<T>("reason")));
                             });
                return Ok{};
            }
            case ChainTable::cgroups: {
                CgroupRow row = std::move(std::get<CgroupRow>(d));
                cgroup_line(run, batch, row);
                cgroups[CgroupKey{run.boot, row.hierarchy, row.cgroup_id}] = std::move(row);
                return Ok{};
            }
            case ChainTable::memberships: {
                const MembershipRow& row = std::get<MembershipRow>(d);
                const std::string& how = extra;
                auto p = find_or_recall(run, row.proc.tgid, static_cast<int64_t>(row.proc.start_ns), batch, row.comm);
                if (!p) return p.error();
                auto cg = cgroup_of(run, row.hierarchy, row.cgroup_id, batch);
                if (!cg) return cg.error();
                // The line's pod is the one the row puts the process in (the
                // row's cgroup's), whatever its image's exec said: lent to
                // the entry for this line, not copied with it.
                ProcEntry& proc = **p;
                const std::string& container =
                    *cg && (*cg)->pod_uid == row.pod_uid ? (*cg)->container_id : ProcEntry::empty();
                // Usually its own pod, and what that rendered is reused.
                const bool own = proc.pod && proc.pod->pod_uid == row.pod_uid && proc.pod->container_id == container;
                PodLoan loan(proc, row.pod_uid.empty() ? nullptr
                                   : own               ? proc.pod
                                                       : std::make_shared<const ProcPod>(row.pod_uid, container));
                const bool has_by = row.by.tgid != 0;
                const EntityId by_entity =
                    has_by ? entity_of(run, row.by.tgid, static_cast<int64_t>(row.by.start_ns)) : EntityId();
                auto details = [&](JsonOut& j) {
                    j.str("how", how);
                    j.num("nspid", row.nspid);
                    j.num("hierarchy", row.hierarchy);
                    j.num("cgroup_id", static_cast<int64_t>(row.cgroup_id));
                    if (*cg) {
                        j.bytes("cgroup_path", (*cg)->path);
                    } else {
                        j.null("cgroup_path");
                    }
                    j.str("pod_uid", row.pod_uid);
                    j.num("uts_ns", row.uts_ns);
                    if (has_by) {
                        j.object("by");
                        j.str("entity_id", by_entity.view());
                        j.num("tgid", row.by.tgid);
                        j.num("start_ns", static_cast<int64_t>(row.by.start_ns));
                        j.end_object();
                    } else {
                        j.null("by");
                    }
                    j.bytes("comm", row.comm);
                };
                process_line("membership", run, batch, row.time_ns, proc, details, [&](JsonOut& j) {
                    process_ecs(j, run, proc);
                    ecs_event(j, "membership", "event", {"process"},
                              {row.how == MembershipHow::move ? "change" : "info"});
                });
                return Ok{};
            }
            case ChainTable::carried: {
                const CarriedRow& c = std::get<CarriedRow>(d);
                ProcEntry& p = create(run, c.proc.tgid, static_cast<int64_t>(c.proc.start_ns));
                apply_carried(run, p, c);
                process_line(
                    "carried", run, batch, c.time_ns, p,
                    [&](JsonOut& j) {
                        j.str("source", c.source);
                        j.num("from_batch", c.from_batch);
                        j.num("uid", c.uid);
                        j.num("gid", c.gid);
                        j.num("euid", c.euid);
                        j.num("parent_tgid", c.parent.tgid);
                        j.num("parent_start_ns", static_cast<int64_t>(c.parent.start_ns));
                        j.str("parent_source", c.parent_source);
                        j.bytes("cgroup_path", c.cgroup_path);
                        j.bytes("nodename", c.nodename);
                    },
                    [&](JsonOut& j) {
                        process_ecs(j, run, p);
                        ecs_event(j, "carried", "state", {"process"}, {"info"});
                    });
                return Ok{};
            }
            case ChainTable::exec_files: {
                const ExecFileRow& row = std::get<ExecFileRow>(d);
                const ExecFile& f = row.file;
                const auto time_ns = static_cast<int64_t>(row.time_ns);
                const uint32_t tgid = row.proc.tgid;
                const auto start_ns = static_cast<int64_t>(row.proc.start_ns);
                // Its exec row came before it, in this batch: the entry is
                // there (a damaged journal's orphan is recalled as any), with
                // the image of that exec unless a later one replaced it.
                auto p = find_or_recall(run, tgid, start_ns, batch, "");
                if (!p) return p.error();
                const ProcEntry* shown = *p;
                if (shown->image_ns != time_ns) {
                    const ProcKey k = key_of(run, tgid, start_ns);
                    if (auto it = superseded.find({{k.boot, k.tgid, k.tick}, time_ns}); it != superseded.end())
                        shown = &it->second;
                }
                const ProcEntry& proc = *shown;
                process_line(
                    "exec_file", run, batch, time_ns, proc, [&](JsonOut& j) { exec_file_json(j, f); },
                    [&](JsonOut& j) {
                        process_ecs(j, run, proc, nullptr, &f.after);
                        ecs_event(j, "exec_file", "event", {"process", "file"}, {"info"});
                        file_ecs(j, f.path, f.dev, f.ino, f.size, f.mtime_ns, &f.mode, "");
                    });
                return Ok{};
            }
            case ChainTable::file_hashes: {
                file_hash_line(run, batch, std::get<FileHashRow>(d));
                return Ok{};
            }
            case ChainTable::listens: {
                const ListenEvent& e = std::get<ListenEvent>(d);
                const auto time_ns = static_cast<int64_t>(e.time_ns);
                const int64_t family = e.family;
                const std::string& addr = e.addr;
                const int64_t port = e.port;
                auto p = find_or_recall(run, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), batch, "");
                if (!p) return p.error();
                const ProcEntry& proc = **p;
                process_line(
                    "listen", run, batch, time_ns, proc,
                    [&](JsonOut& j) {
                        j.num("family", family);
                        j.str("addr", addr);
                        j.num("port", port);
                    },
                    [&](JsonOut& j) {
                        process_ecs(j, run, proc);
                        ecs_event(j, "listen", "event", {"network"}, {"start"});
                        // The listening end is the server of the connections
                        // it will accept (ECS server.*).
                        j.object("server");
                        j.str("ip", addr);
                        j.num("port", port);
                        j.end_object();
                        j.object("network");
                        j.lit("transport", "tcp");
                        j.lit("type", family == 6 ? "ipv6" : "ipv4");
                        j.end_object();
                    });
                return Ok{};
            }
            case ChainTable::dns: {
                const DnsEvent& e = std::get<DnsEvent>(d);
                const auto time_ns = static_cast<int64_t>(e.time_ns);
                const auto* bytes = reinterpret_cast<const uint8_t*>(e.message.data());
                const DnsMessage m =
                    e.tcp ? parse_dns_tcp({bytes, e.message.size()}) : parse_dns({bytes, e.message.size()});
                auto jsonl = [&](JsonOut& j) { dns_json(j, e, m); };
                auto ecs = [&](JsonOut& j) { dns_ecs(j, e, m); };
                if (e.proc.tgid == 0) {
                    // The kernel could not tell the process: a line of the
                    // journal's, with the message.
                    if (quiet) return Ok{};
                    JsonOut j(out);
                    j.begin();
                    header(j, "dns", run, batch, time_ns);
                    if (format == ExportFormat::jsonl) {
                        j.object("dns");
                        jsonl(j);
                    } else {
                        ecs_event(j, "dns", "event", {"network"}, {"protocol"});
                        ecs(j);
                        ecs_lineage(j, run, batch, time_ns);
                        jsonl(j);
                    }
                    j.end_object();
                    j.end_line();
                    ++lines;
                    return Ok{};
                }
                auto p = find_or_recall(run, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), batch, "");
                if (!p) return p.error();
                const ProcEntry& proc = **p;
                process_line("dns", run, batch, time_ns, proc, jsonl, [&](JsonOut& j) {
                    process_ecs(j, run, proc);
                    ecs_event(j, "dns", "event", {"network"}, {"protocol"});
                    ecs(j);
                });
                return Ok{};
            }
            case ChainTable::unexited:  // not streamed (open_streams)
            case ChainTable::dns_names:
                return Ok{};
        }
        return Ok{};
    }

    // A dns row's columns, the message's exact bytes in base64, and what
    // the parser read of them (lib/names/dns.h).
    static void dns_json(JsonOut& j, const DnsEvent& e, const DnsMessage& m) {
        j.lit("direction", e.sent ? "sent" : "received");
        j.lit("transport", e.tcp ? "tcp" : "udp");
        j.num("family", e.family);
        j.str("saddr", e.saddr);
        j.num("sport", e.sport);
        j.str("daddr", e.daddr);
        j.num("dport", e.dport);
        j.num("length", e.length);
        j.str("message_b64", base64_encode(e.message));
        if (m.length >= 12) {
            j.num("id", m.id);
            j.boolean("response", m.is_response);
            j.str("rcode", dns_rcode_name(m.rcode));
        }
        if (!m.questions.empty()) {
            j.str("name", m.questions.front().name);
            j.str("type", dns_type_name(m.questions.front().type));
        }
        if (m.is_response) {
            j.array("answers");
            for (const DnsAnswer& a : m.answers)
                if (!a.data.empty()) j.element_str(a.data);
            j.end_array();
        }
        if (!m.ok()) j.lit("unparsed", dns_unparsed_name(m.unparsed));
    }

    // ECS's source.* and destination.* of a connect or a dns row.
    static void endpoints_ecs(JsonOut& j, const std::string& saddr, int64_t sport, const std::string& daddr,
                              int64_t dport) {
        j.object("source");
        j.str("ip", saddr);
        j.num("port", sport);
        j.end_object();
        j.object("destination");
        j.str("ip", daddr);
        j.num("port", dport);
        j.end_object();
    }

    // ECS's dns.*, source.*, destination.* and network.* of a dns row.
    static void dns_ecs(JsonOut& j, const DnsEvent& e, const DnsMessage& m) {
        j.object("dns");
        if (m.length >= 12) {
            j.num("id", m.id);
            j.lit("type", m.is_response ? "answer" : "query");
            if (m.is_response) j.str("response_code", dns_rcode_name(m.rcode));
        } else {
            j.lit("type", "unknown");
        }
        if (!m.questions.empty()) {
            j.object("question");
            j.str("name", m.questions.front().name);
            j.str("type", dns_type_name(m.questions.front().type));
            j.end_object();
        }
        if (!m.answers.empty()) {
            j.array("answers");
            for (const DnsAnswer& a : m.answers) {
                j.element_object();
                j.str("name", a.name);
                j.str("type", dns_type_name(a.type));
                j.num("ttl", a.ttl);
                if (!a.data.empty()) j.str("data", a.data);
                j.end_object();
            }
            j.end_array();
        }
        j.end_object();
        endpoints_ecs(j, e.saddr, e.sport, e.daddr, e.dport);
        j.object("network");
        j.lit("protocol", "dns");
        j.lit("transport", e.tcp ? "tcp" : "udp");
        j.lit("type", e.family == 6 ? "ipv6" : "ipv4");
        j.lit("direction", e.sent ? "egress" : "ingress");
        j.end_object();
    }

    static void credentials_json(JsonOut& j, const char* k, const Credentials& c) {
        j.object(k);
        j.num("uid", c.uid);
        j.num("gid", c.gid);
        j.num("euid", c.euid);
        j.num("egid", c.egid);
        // 64-bit masks, stored as SQLite's signed integers: the same bits.
        j.num("cap_permitted", static_cast<int64_t>(c.cap_permitted));
        j.num("cap_effective", static_cast<int64_t>(c.cap_effective));
        j.end_object();
    }

    // The jsonl exec_file object: every column, the flags also spelled out
    // (the integer stays, so that a bit added later survives a round trip).
    static void exec_file_json(JsonOut& j, const ExecFile& f) {
        j.bytes("path", f.path);
        j.num("dev", static_cast<int64_t>(f.dev));
        j.num("inode", static_cast<int64_t>(f.ino));
        j.num("links", f.nlink);
        j.num("size", static_cast<int64_t>(f.size));
        j.num("mode", f.mode);
        j.num("mtime_ns", f.mtime_ns);
        j.time("mtime", f.mtime_ns);
        j.num("flags", f.flags);
        j.boolean("memfd", f.flags & kFileMemfd);
        j.boolean("deleted", f.flags & kFileDeleted);
        if (f.flags & kFileUpperKnown) {
            j.boolean("upper_layer", f.flags & kFileUpper);
        } else {
            j.null("upper_layer");
        }
        j.boolean("overlay", f.flags & kFileOverlay);
        j.boolean("script", f.flags & kFileScript);
        j.boolean("secureexec", f.flags & kFileSecureExec);
        j.boolean("path_truncated", f.flags & kFilePathTruncated);
        j.bytes("interpreter", f.interpreter);
        j.boolean("interpreter_truncated", f.flags & kFileInterpreterTruncated);
        credentials_json(j, "before", f.before);
        credentials_json(j, "after", f.after);
        // schema/journal.sql's rule: the exec changed euid, egid or a
        // capability set.
        const Credentials &b = f.before, &a = f.after;
        j.boolean("privilege_change", b.euid != a.euid || b.egid != a.egid || b.cap_permitted != a.cap_permitted ||
                                          b.cap_effective != a.cap_effective);
    }

    // ECS file.*: a file by its identity (exec_file, file_hash lines).
    static void file_ecs(JsonOut& j, const std::string& path, uint64_t dev, uint64_t ino, uint64_t size,
                         int64_t mtime_ns, const uint32_t* mode, const std::string& sha256) {
        j.object("file");
        j.bytes("path", path);
        // ECS keywords: st_dev and st_ino as decimal text.
        j.str("device", fmt::format_int(dev).str());
        j.str("inode", fmt::format_int(ino).str());
        j.num("size", static_cast<int64_t>(size));
        j.time("mtime", mtime_ns);
        if (mode) {
            if ((*mode & 0170000) == 0100000) j.lit("type", "file");
            j.str("mode", fmt::format("{:04o}", *mode & 07777));
        }
        if (!sha256.empty()) {
            j.object("hash");
            j.str("sha256", sha256);
            j.end_object();
        }
        j.end_object();
    }

    // A file_hashes row: a file's content hash (or why none), not a
    // process's line: printed whatever the filter, as pods are.
    void file_hash_line(const RunMeta& run, int64_t batch, const FileHashRow& h) {
        auto details = [&](JsonOut& j) {
            j.num("dev", static_cast<int64_t>(h.key.dev));
            j.num("inode", static_cast<int64_t>(h.key.ino));
            j.num("size", static_cast<int64_t>(h.key.size));
            j.num("mtime_ns", h.key.mtime_ns);
            j.time("mtime", h.key.mtime_ns);
            j.bytes("path", h.path);
            j.str("sha256", h.sha256);
            j.str("problem", h.problem);
        };
        if (quiet) return;
        JsonOut j(out);
        j.begin();
        header(j, "file_hash", run, batch, h.time_ns);
        if (format == ExportFormat::jsonl) {
            j.object("file_hash");
            details(j);
            j.end_object();
        } else {
            ecs_event(j, "file_hash", "event", {"file"}, {"info"}, h.problem.empty() ? "success" : "failure");
            file_ecs(j, h.path, h.key.dev, h.key.ino, h.key.size, h.key.mtime_ns, nullptr, h.sha256);
            ecs_lineage(j, run, batch, h.time_ns);
            details(j);
            j.end_object();
        }
        j.end_line();
        ++lines;
    }

    // A cgroups row: the cgroup, and its pod as the process lines show one.
    void cgroup_line(const RunMeta& run, int64_t batch, const CgroupRow& row) {
        auto details = [&](JsonOut& j) {
            j.num("hierarchy", row.hierarchy);
            j.num("cgroup_id", static_cast<int64_t>(row.cgroup_id));
            j.bytes("path", row.path);
            j.str("pod_uid", row.pod_uid);
            j.str("container_id", row.container_id);
        };
        if (quiet) return;
        JsonOut j(out);
        j.begin();
        header(j, "cgroup", run, batch, committed_ns);
        if (format == ExportFormat::jsonl) {
            pod_json(j, row.pod_uid, row.container_id);
            j.object("cgroup");
            details(j);
            j.end_object();
        } else {
            ecs_event(j, "cgroup", "state", {}, {"info"});
            pod_ecs(j, row.pod_uid, row.container_id);
            ecs_lineage(j, run, batch, committed_ns);
            details(j);
            j.end_object();
        }
        j.end_line();
        ++lines;
    }

    // The cgroup a memberships row names: from the cgroups rows exported so
    // far, else (an export that starts later, or a row retention kept in a
    // pruned batch) the latest row naming it at or before this batch, as
    // the run names each cgroup once. nullptr when none does.
    Result<const CgroupRow*> cgroup_of(const RunMeta& run, uint32_t hierarchy, uint64_t id, int64_t batch) {
        const CgroupKey k{run.boot, hierarchy, id};
        if (auto it = cgroups.find(k); it != cgroups.end()) return &it->second;
        Stmt* s =
            lookup(fmt::format("SELECT {} FROM cgroups WHERE cgroup_id = ?1 AND hierarchy = ?2 AND batch <= ?3 ORDER "
                               "BY rowid DESC LIMIT 1",
                               select_list(ChainTable::cgroups)));
        if (!s) return fail("cgroups");
        s->bind(1, static_cast<int64_t>(id));
        s->bind(2, int64_t{hierarchy});
        s->bind(3, batch);
        const int rc = s->step();
        if (rc == SQLITE_DONE) return nullptr;
        if (rc != SQLITE_ROW) return fail("cgroups");
        if (cgroups.size() > 65536) cgroups.clear();
        return &(cgroups[k] = cgroup_row(*s));
    }

    // A run that starts after one that never stopped (killed, crashed):
    // the time between the last batch of the one and the start of the other
    // was not recorded.
    Status gap_before(const RunMeta& r, int64_t batch) {
        auto prev = runs.find(r.run_id);
        if (prev == runs.begin()) return Ok{};
        --prev;
        if (prev->second.stopped) return Ok{};
        Stmt* s = lookup("SELECT committed_ns FROM batches WHERE batch_id < ?1 ORDER BY batch_id DESC LIMIT 1");
        if (!s) return fail("batches");
        s->bind(1, batch);
        const int rc = s->step();
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail("batches");
        const RunMeta& p = prev->second;
        const int64_t from_wall = rc == SQLITE_ROW ? clock.to_wall(p.boot_id, s->int64(0)) : p.started_wall_ns;
        journal_line("gap", r, batch, r.started_ns, "pipeline_error", {}, {"info"}, [&](JsonOut& j) {
            j.num("previous_run", p.run_id);
            j.time("from", from_wall);
            j.time("to", r.started_wall_ns);
        });
        return Ok{};
    }

    // Batches after `from` that were pruned before this export saw them.
    void pruned_line(const RunMeta& run, int64_t first_missing, int64_t last_missing, int64_t at_ns) {
        journal_line("pruned", run, first_missing, at_ns, "pipeline_error", {}, {"info"}, [&](JsonOut& j) {
            j.num("from_batch", first_missing);
            j.num("through_batch", last_missing);
        });
    }

    void batch_line(const RunMeta& run, int64_t batch, int64_t committed_ns, int64_t rows, int64_t batch_lines,
                    const std::string& prev_hash, const std::string& hash) {
        journal_line("batch", run, batch, committed_ns, "state", {}, {"info"}, [&](JsonOut& j) {
            j.num("rows", rows);
            j.num("lines", batch_lines + 1);
            j.str("prev_hash", prev_hash);
            j.str("hash", hash);
        });
    }

    static std::string hex_of_blob(const std::string& blob) {
        Hash h{};
        std::memcpy(h.data(), blob.data(), std::min(blob.size(), h.size()));
        return to_hex(h);
    }

    // ------------------------------------------------------------ the reader thread
    // Stepping SQLite is about half of an export's CPU (bench/run, section
    // 14). One thread steps the batches and their rows on a connection of
    // its own and copies them; this one turns them into lines. Between the
    // two, a queue of whole batches, bounded in bytes: an export's memory
    // does not grow with the journal, nor with how far ahead the reader is.
    struct BatchRows {
        int64_t batch = 0, run_id = 0, committed_ns = 0, row_count = 0;
        std::string prev_hash, hash;
        std::vector<ChainTable> tables;   // the table of each row
        CopiedRows rows;                  // each row copied, for the tables without a decoder (else empty)
        std::vector<DecodedRow> decoded;  // each row decoded, for the tables that have a decoder
        std::vector<std::string> extra;   // and its extra_of()
        size_t bytes = 0;
        std::optional<Error> error;  // the reader stopped here: the last item
    };

    // A batch taken and written goes back to the reader thread, which
    // frees it: its rows' strings were allocated there, and freeing is a
    // good part of what the line-writing thread, the slower of the two,
    // would do otherwise. Its bytes count until then.
    class BatchQueue {
    public:
        // Waits while the queue is full (one batch always fits, however
        // large), freeing the batches given back meanwhile. False when the
        // consumer has gone: stop reading.
        bool put(BatchRows&& b) {
            std::unique_lock lock(mutex_);
            for (;;) {
                while (!spent_.empty()) {
                    std::deque<BatchRows> spent;
                    spent.swap(spent_);
                    lock.unlock();
                    size_t freed = 0;
                    for (const BatchRows& s : spent) freed += s.bytes;
                    spent.clear();
                    lock.lock();
                    bytes_ -= freed;
                }
                if (cancelled_) return false;
                if (queue_.empty() || bytes_ + b.bytes <= kMaxBytes) break;
                room_.wait(lock);
            }
            bytes_ += b.bytes;
            queue_.push_back(std::move(b));
            ready_.notify_one();
            return true;
        }
        // The next batch, or nothing once the reader has ended and every
        // batch was taken.
        std::optional<BatchRows> take() {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
            if (queue_.empty()) return std::nullopt;
            BatchRows b = std::move(queue_.front());
            queue_.pop_front();
            return b;
        }
        // A batch taken and done with: freed by the reader thread, or here
        // when that has ended.
        void give_back(BatchRows&& b) {
            std::unique_lock lock(mutex_);
            if (closed_ || cancelled_) {
                bytes_ -= b.bytes;
                lock.unlock();
                return;  // b is freed by its owner, on this thread
            }
            spent_.push_back(std::move(b));
            room_.notify_one();
        }
        void close() {
            std::lock_guard lock(mutex_);
            closed_ = true;
            ready_.notify_all();
        }
        void cancel() {
            std::lock_guard lock(mutex_);
            cancelled_ = true;
            room_.notify_all();
        }

    private:
        static constexpr size_t kMaxBytes = 8u << 20;
        std::mutex mutex_;
        std::condition_variable room_, ready_;
        std::deque<BatchRows> queue_, spent_;
        size_t bytes_ = 0;
        bool closed_ = false, cancelled_ = false;
    };

    // The reader thread: every batch after the streams' start, with its
    // rows of every table, in order. Touches nothing of this object but
    // the streams, rows_db and path (read only).
    void read_batches(Stmt& batches, BatchQueue& queue) {
        auto fail = [&](const std::string& what) {
            return Error{fmt::format("{}: cannot read {}: {}", path(), what, rows_db.errmsg())};
        };
        auto give_up = [&](Error e) {
            BatchRows b;
            b.error = std::move(e);
            queue.put(std::move(b));
            queue.close();
        };
        int rc;
        while ((rc = batches.step()) == SQLITE_ROW) {
            BatchRows b;
            b.batch = batches.int64(0);
            b.run_id = batches.int64(1);
            b.committed_ns = batches.int64(2);
            b.row_count = batches.int64(3);
            b.prev_hash = batches.blob(4);
            b.hash = batches.blob(5);
            // The batch's own count of its rows (a damaged journal's may be
            // anything: capped), so that the vectors are not regrown.
            const auto expect = static_cast<size_t>(std::clamp<int64_t>(b.row_count, 0, 4096));
            b.tables.reserve(expect);
            b.decoded.reserve(expect);
            b.extra.reserve(expect);
            for (auto& s : streams) {
                while (!s.done) {
                    if (!s.on_row) {
                        const int step = s.stmt.step();
                        if (step == SQLITE_DONE) {
                            s.done = true;
                            break;
                        }
                        if (step != SQLITE_ROW) return give_up(fail(table_name(s.table)));
                        s.on_row = true;
                    }
                    const int64_t row_batch = s.stmt.int64(0);
                    if (row_batch > b.batch) break;
                    if (row_batch < b.batch) {
                        return give_up(Error{fmt::format(
                            "{}: journal rows are out of batch order: {} row {} is in batch {}, after batch {}'s rows "
                            "(run lineage verify)",
                            path(), table_name(s.table), s.stmt.int64(s.rowid_col), row_batch, b.batch)});
                    }
                    s.on_row = false;
                    b.tables.push_back(s.table);
                    // A row is either decoded or copied, never both: the
                    // copy of a decoded row would be work for nothing.
                    DecodedRow d = decode(s.table, s.stmt);
                    if (std::holds_alternative<std::monostate>(d)) {
                        b.bytes += b.rows.add(s.stmt);
                        b.extra.emplace_back();
                    } else {
                        b.rows.add_empty();
                        b.extra.push_back(extra_of(s.table, s.stmt));
                        // What the decoded strings hold: about the row's bytes.
                        b.bytes += s.stmt.row_bytes(s.byte_columns) + b.extra.back().size();
                    }
                    b.decoded.push_back(std::move(d));
                    b.bytes += sizeof(DecodedRow) + sizeof(std::string);
                }
            }
            if (!queue.put(std::move(b))) return;
        }
        if (rc != SQLITE_DONE) return give_up(fail("batches"));
        queue.close();
    }

    Result<ExportStats> run(ExportPosition& from, const BatchSink& sink, const std::function<bool()>& stop) {
        ExportStats stats;
        int64_t first_batch = 0, last_batch = 0;
        {
            auto st = db().prepare(
                "SELECT coalesce((SELECT min(batch_id) FROM batches), 0), coalesce((SELECT max(batch_id) FROM "
                "batches), 0)");
            if (!st || st->step() != SQLITE_ROW) return fail("batches");
            first_batch = st->int64(0);
            last_batch = st->int64(1);
        }
        out.clear();
        lines = 0;
        quiet = false;
        if (from.batch > 0) {
            auto st = db().prepare("SELECT hash FROM batches WHERE batch_id = ?1");
            if (!st) return fail("batches");
            st->bind(1, from.batch);
            const int rc = st->step();
            if (rc == SQLITE_ROW) {
                if (hex_of_blob(st->blob(0)) != from.hash) {
                    return Error{
                        fmt::format("{}: the cursor names batch {} with hash {}, but the journal's batch {} "
                                    "has another hash: a different journal, or a changed one",
                                    path(), from.batch, from.hash, from.batch)};
                }
            } else if (rc != SQLITE_DONE) {
                return fail("batches");
            } else if (first_batch == 0 || from.batch > last_batch) {
                return Error{
                    fmt::format("{}: the cursor is at batch {}, but the journal ends at batch {}: a different journal?",
                                path(), from.batch, last_batch)};
            }
        }
        // Batches between the position and the first batch still there were
        // pruned before they were exported: say so, once.
        int64_t after = from.batch;
        if (first_batch > from.batch + 1 && !runs.empty()) {
            auto st = db().prepare("SELECT run_id, committed_ns FROM batches WHERE batch_id = ?1");
            if (!st) return fail("batches");
            st->bind(1, first_batch);
            const RunMeta* r = &runs.begin()->second;
            int64_t at_ns = r->started_ns;
            if (st->step() == SQLITE_ROW) {
                if (auto it = runs.find(st->int64(0)); it != runs.end()) r = &it->second;
                at_ns = st->int64(1);
            }
            pruned_line(*r, from.batch + 1, first_batch - 1, at_ns);
            after = first_batch - 1;
        }
        if (auto st = open_streams(after); !st) return st.error();
        auto batches = rows_db.prepare(
            "SELECT batch_id, run_id, committed_ns, row_count, prev_hash, hash FROM batches WHERE batch_id > ?1 "
            "ORDER BY batch_id");
        if (!batches) return Error{fmt::format("{}: cannot read batches: {}", path(), rows_db.errmsg())};
        batches->bind(1, after);
        // The reader thread from here on owns rows_db, the streams and the
        // batches statement; it ends (and is joined) when `rows_reader`
        // goes, whichever way this function returns.
        BatchQueue queue;
        std::jthread rows_reader([&] {
            // Nothing may escape a thread: an exception (out of memory)
            // ends the export with its message, as on this thread.
            try {
                read_batches(*batches, queue);
            } catch (const std::exception& e) {
                BatchRows b;
                b.error = Error{fmt::format("{}: cannot export: {}", path(), e.what())};
                queue.put(std::move(b));
                queue.close();
            }
        });
        struct Cancel {
            BatchQueue& q;
            ~Cancel() { q.cancel(); }
        } cancel{queue};  // declared after the thread: destroyed before the join
        while (auto item = queue.take()) {
            struct GiveBack {
                BatchQueue& q;
                BatchRows& b;
                ~GiveBack() { q.give_back(std::move(b)); }
            } give_back{queue, *item};  // whichever way this iteration ends
            BatchRows& b = *item;
            if (b.error) return *b.error;
            if (stop && stop()) break;
            const int64_t batch = b.batch;
            auto run_it = runs.find(b.run_id);
            // A batch committed outside any run (run 0: a prune by a writer
            // that recorded nothing) belongs with the run before it.
            if (b.run_id == 0 && !runs.empty()) {
                run_it = last_run != 0 ? runs.find(last_run) : std::prev(runs.end());
            }
            if (run_it == runs.end()) {
                return Error{fmt::format("{}: journal is damaged: batch {} names run {}, which is not in runs", path(),
                                         batch, b.run_id)};
            }
            const RunMeta& run = run_it->second;
            last_run = run.run_id;
            committed_ns = b.committed_ns;
            const int64_t commit_wall = clock.to_wall(run.boot_id, committed_ns);
            if (filter.until_wall_ns && commit_wall > *filter.until_wall_ns) {
                stats.past_until = true;
                break;
            }
            const bool in_window = !filter.since_wall_ns || commit_wall >= *filter.since_wall_ns;
            // A batch before --since is read for what it tells of the
            // processes, but its lines would be dropped: not written at all.
            quiet = !in_window;
            const size_t mark = out.size();
            const int64_t lines_before = lines;
            for (size_t i = 0; i < b.rows.size(); ++i) {
                ++stats.rows;
                if (auto st = on_row(b.tables[i], b.rows.row(i), b.decoded[i], b.extra[i], run, batch); !st)
                    return st.error();
            }
            for (const auto& k : exited) procs.erase(k);
            exited.clear();
            superseded.clear();
            if (!in_window) {
                out.resize(mark);
                lines = lines_before;
                from = ExportPosition{batch, hex_of_blob(b.hash)};
                continue;
            }
            batch_line(run, batch, committed_ns, b.row_count, lines - lines_before, hex_of_blob(b.prev_hash),
                       hex_of_blob(b.hash));
            const ExportPosition next{batch, hex_of_blob(b.hash)};
            if (auto st = sink(out, next); !st) return st.error();
            from = next;
            ++stats.batches;
            stats.lines += lines;
            out.clear();
            lines = 0;
        }
        quiet = false;
        // A pruned line with no batch after it still has to go out.
        if (!out.empty()) {
            if (auto st = sink(out, from); !st) return st.error();
            stats.lines += lines;
            out.clear();
            lines = 0;
        }
        return stats;
    }
};

JournalExport::JournalExport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JournalExport::~JournalExport() = default;
JournalExport::JournalExport(JournalExport&&) noexcept = default;

Result<JournalExport> JournalExport::open(const std::string& path, ExportFormat format, ExportFilter filter,
                                          const std::string& label) {
    auto impl = std::make_unique<Impl>();
    impl->format = format;
    impl->filter = std::move(filter);
    impl->label = label;
    auto reader = JournalReader::open(path);
    if (!reader) {
        if (label.empty()) return reader.error();
        // The reader's message names the copy: name the journal.
        std::string message = reader.error().message;
        for (size_t at = message.find(path); at != std::string::npos; at = message.find(path, at + label.size())) {
            message.replace(at, path.size(), label);
        }
        return Error{message};
    }
    impl->reader = std::make_unique<JournalReader>(std::move(*reader));
    if (auto st = impl->load_meta(); !st) return st.error();
    return JournalExport(std::move(impl));
}

Result<ExportStats> JournalExport::run(ExportPosition& from, const BatchSink& sink, const std::function<bool()>& stop) {
    return impl_->run(from, sink, stop);
}

}  // namespace lineage

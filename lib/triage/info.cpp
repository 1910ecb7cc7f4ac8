// lineage info: a journal's runs, span, tables and losses from its small
// tables and the ends of its b-trees; never a scan of its events.
#include "info.h"

#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "journal_format.h"
#include "timeexpr.h"

namespace lineage {

using nlohmann::json;

namespace {

// Two runs this far apart or less are a restart, not a gap.
constexpr int64_t kGapNs = 1'000'000'000;

Error read_error(const std::string& path, const std::string& what, Database& db) {
    return Error{fmt::format("{}: cannot read {}: {}", path, what, db.errmsg())};
}

int64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// One integer from a statement that returns one row (NULL reads as 0).
Result<int64_t> one_int(Database& db, const std::string& path, const std::string& what, const char* sql,
                        std::optional<int64_t> bound = std::nullopt) {
    auto s = db.prepare(sql);
    if (!s) return read_error(path, what, db);
    if (bound) s->bind(1, *bound);
    const int rc = s->step();
    if (rc == SQLITE_ROW) return s->int64(0);
    if (rc == SQLITE_DONE) return int64_t{0};
    return read_error(path, what, db);
}

Status read_runs(Database& db, JournalInfo& info) {
    const std::string& path = info.path;
    auto s = db.prepare(
        "SELECT run_id, batch, boot_id, node, started_ns, started_wall_ns, version, kernel, hooks FROM runs ORDER BY "
        "run_id");
    if (!s) return read_error(path, "runs", db);
    std::vector<int64_t> started_ns;
    int rc;
    while ((rc = s->step()) == SQLITE_ROW) {
        InfoRun run;
        run.run_id = s->int64(0);
        run.first_batch = s->int64(1);
        run.boot_id = s->text(2);
        run.node = s->text(3);
        started_ns.push_back(s->int64(4));
        run.started_wall_ns = s->int64(5);
        run.version = s->text(6);
        run.kernel = s->text(7);
        run.hooks = s->text(8);
        if (std::find(info.nodes.begin(), info.nodes.end(), run.node) == info.nodes.end())
            info.nodes.push_back(run.node);
        if (std::find(info.boot_ids.begin(), info.boot_ids.end(), run.boot_id) == info.boot_ids.end())
            info.boot_ids.push_back(run.boot_id);
        info.runs.push_back(std::move(run));
    }
    if (rc != SQLITE_DONE) return read_error(path, "runs", db);

    auto stop = db.prepare(
        "SELECT stopped_wall_ns, reason, events, lost FROM run_stops WHERE run_id = ?1 ORDER BY rowid DESC LIMIT 1");
    // The run's last kept batch: runs commit in turn, so it is the last
    // batch before the next run's first (a seek of batches' primary key).
    auto last_before = db.prepare(
        "SELECT batch_id, run_id, committed_ns FROM batches WHERE batch_id < ?1 ORDER BY batch_id DESC LIMIT 1");
    if (!stop) return read_error(path, "run_stops", db);
    if (!last_before) return read_error(path, "batches", db);
    for (size_t i = 0; i < info.runs.size(); ++i) {
        InfoRun& run = info.runs[i];
        stop->reset();
        stop->bind(1, run.run_id);
        rc = stop->step();
        if (rc == SQLITE_ROW) {
            run.stopped = true;
            run.ended_wall_ns = stop->int64(0);
            run.stop_reason = stop->text(1);
            run.events = stop->int64(2);
            run.lost = stop->int64(3);
        } else if (rc != SQLITE_DONE) {
            return read_error(path, "run_stops", db);
        }
        last_before->reset();
        last_before->bind(1, i + 1 < info.runs.size() ? info.runs[i + 1].first_batch : INT64_MAX);
        rc = last_before->step();
        run.last_batch = 0;
        if (rc == SQLITE_ROW && last_before->int64(1) == run.run_id) {
            run.last_batch = last_before->int64(0);
            // Through the run's start sample: the clock of a killed run's
            // end, to the second a responder needs here.
            const int64_t wall = run.started_wall_ns + (last_before->int64(2) - started_ns[i]);
            if (!run.stopped) run.ended_wall_ns = std::max(run.started_wall_ns, wall);
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            return read_error(path, "batches", db);
        }
        if (run.last_batch == 0) run.first_batch = 0;
        if (!run.stopped && run.last_batch == 0) run.ended_wall_ns = run.started_wall_ns;
    }
    for (size_t i = 1; i < info.runs.size(); ++i) {
        const InfoRun& a = info.runs[i - 1];
        const InfoRun& b = info.runs[i];
        if (b.started_wall_ns - a.ended_wall_ns > kGapNs)
            info.gaps.push_back(InfoGap{a.ended_wall_ns, b.started_wall_ns, a.run_id, b.run_id});
    }
    return Ok{};
}

Status read_prunes_and_losses(Database& db, JournalInfo& info) {
    const std::string& path = info.path;
    int rc;
    if (table_in_version(ChainTable::prunes, info.schema_version)) {
        auto s = db.prepare("SELECT through_batch, through_wall_ns, rows, reason FROM prunes ORDER BY rowid");
        if (!s) return read_error(path, "prunes", db);
        while ((rc = s->step()) == SQLITE_ROW)
            info.prunes.push_back(InfoPrune{s->int64(0), s->int64(1), s->int64(2), s->text(3)});
        if (rc != SQLITE_DONE) return read_error(path, "prunes", db);
    }
    // The loss table holds one row per loss report: small, read whole.
    auto l = db.prepare("SELECT reason, count(*), sum(count) FROM loss GROUP BY reason ORDER BY reason");
    if (!l) return read_error(path, "loss", db);
    while ((rc = l->step()) == SQLITE_ROW) info.losses.push_back(InfoLoss{l->text(0), l->int64(1), l->int64(2)});
    if (rc != SQLITE_DONE) return read_error(path, "loss", db);
    return Ok{};
}

Status read_tables(Database& db, JournalInfo& info) {
    for (size_t t = 0; t < kChainTableCount; ++t) {
        const ChainTable table = table_at(t);
        if (!table_in_version(table, info.schema_version)) continue;
        const std::string name = table_name(table);
        // Two seeks of the table's b-tree: SQLite answers a lone min() or
        // max() of the rowid without reading the rows.
        auto hi = one_int(db, info.path, name, fmt::format("SELECT max(rowid) FROM {}", name).c_str());
        if (!hi) return hi.error();
        auto lo = one_int(db, info.path, name, fmt::format("SELECT min(rowid) FROM {}", name).c_str());
        if (!lo) return lo.error();
        info.tables.push_back(InfoTable{name, *hi == 0 ? 0 : *hi - *lo + 1});
    }
    {
        auto hi = one_int(db, info.path, "batches", "SELECT max(batch_id) FROM batches");
        if (!hi) return hi.error();
        auto lo = one_int(db, info.path, "batches", "SELECT min(batch_id) FROM batches");
        if (!lo) return lo.error();
        info.tables.insert(info.tables.begin(), InfoTable{"batches", *hi == 0 ? 0 : *hi - *lo + 1});
    }
    auto pods = one_int(db, info.path, "pods", "SELECT count(DISTINCT pod_uid) FROM pods");
    if (!pods) return pods.error();
    info.pods = *pods;
    return Ok{};
}

std::string human_size(int64_t bytes) {
    if (bytes < 1024) return fmt::format("{} B", bytes);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = -1;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        ++u;
    }
    return fmt::format("{:.1f} {}", v, units[u]);
}

std::string span_text(int64_t ns) {
    std::string d = format_duration_short(ns);
    return d.empty() || d[0] != '+' ? d : d.substr(1);
}

json str(const std::string& bytes) {
    return json(utf8_sanitize(bytes));
}

json time_or_null(int64_t wall_ns) {
    return wall_ns ? json(format_rfc3339_ns(wall_ns)) : json(nullptr);
}

}  // namespace

Result<JournalInfo> journal_info(const std::string& path, const ReadOptions& options) {
    // The schema is checked before anything else is read, as for
    // reconstruct; info only reads through the tables, so a journal whose
    // tables are lineage's is told even with objects added beside them.
    ReadOptions read = options;
    auto reader = JournalReader::open(path, read);
    if (!reader) return reader.error();
    JournalInfo info;
    info.path = path;
    info.file_bytes = file_size(path);
    info.wal_bytes = file_size(path + "-wal");
    info.read_from_copy = reader->read_from_copy();
    info.schema_version = reader->schema().user_version;
    info.schema_ok = reader->schema().ok();
    if (!info.schema_ok) info.schema_problem = reader->schema().summary();
    Database& db = reader->db();
    if (auto st = read_runs(db, info); !st) return st.error();
    if (auto st = read_prunes_and_losses(db, info); !st) return st.error();
    if (auto st = read_tables(db, info); !st) return st.error();
    if (!info.runs.empty()) {
        info.from_wall_ns = info.runs.front().started_wall_ns;
        for (const auto& p : info.prunes) info.from_wall_ns = std::max(info.from_wall_ns, p.through_wall_ns);
        for (const auto& r : info.runs) info.to_wall_ns = std::max(info.to_wall_ns, r.ended_wall_ns);
    }
    return info;
}

std::string render_info_text(const JournalInfo& info, bool color) {
    auto head = [&](const std::string& text) { return color ? "\x1b[1m" + text + "\x1b[0m" : text; };
    auto esc = [](const std::string& s) { return escape_for_terminal(s); };
    std::string out;
    out += head(esc(info.path)) + "\n";
    out += fmt::format("  size        {}{}\n", human_size(info.file_bytes),
                       info.wal_bytes ? fmt::format(", WAL {} (read from a private copy)", human_size(info.wal_bytes))
                                      : std::string());
    out += fmt::format("  schema      version {}{}\n", info.schema_version,
                       info.schema_ok ? "" : ", not lineage's: " + esc(info.schema_problem));
    std::string nodes;
    for (const auto& n : info.nodes) nodes += (nodes.empty() ? "" : ", ") + esc(n);
    out += fmt::format("  nodes       {}\n", nodes.empty() ? "none" : nodes);
    out += fmt::format("  boots       {}\n", info.boot_ids.size());
    if (info.runs.empty()) {
        out += "  span        none (no run)\n";
    } else {
        out += fmt::format("  span        {} to {} ({})\n", format_wall_short(info.from_wall_ns),
                           format_wall_short(info.to_wall_ns), span_text(info.to_wall_ns - info.from_wall_ns));
    }
    out += fmt::format("  pods        {}\n", info.pods);

    out += head(fmt::format("runs ({})", info.runs.size())) + "\n";
    for (const auto& r : info.runs) {
        std::string end = r.stopped
                              ? fmt::format("stopped {} ({})", format_wall_short(r.ended_wall_ns), esc(r.stop_reason))
                              : fmt::format("no clean stop, last commit {}", format_wall_short(r.ended_wall_ns));
        std::string counts = r.events ? fmt::format(", {} events, {} lost", *r.events, *r.lost) : std::string();
        out +=
            fmt::format("  {:>4}  {}  {}  node {}, boot {}, lineage {}{}\n", r.run_id,
                        format_wall_short(r.started_wall_ns), end, esc(r.node), esc(r.boot_id), esc(r.version), counts);
    }
    out += head(fmt::format("gaps between runs ({})", info.gaps.size())) + "\n";
    for (const auto& g : info.gaps) {
        out += fmt::format("  {} to {} ({}), after run {}\n", format_wall_short(g.from_wall_ns),
                           format_wall_short(g.to_wall_ns), span_text(g.to_wall_ns - g.from_wall_ns), g.after_run);
    }
    int64_t lost_events = 0, loss_records = 0;
    for (const auto& l : info.losses) {
        lost_events += l.events;
        loss_records += l.records;
    }
    out += head(fmt::format("losses ({} events in {} records)", lost_events, loss_records)) + "\n";
    for (const auto& l : info.losses)
        out += fmt::format("  {:<14} {} events in {} records\n", esc(l.reason), l.events, l.records);
    out += head(fmt::format("prunes ({})", info.prunes.size())) + "\n";
    for (const auto& p : info.prunes) {
        out += fmt::format("  through batch {} ({}), {} rows, {}\n", p.through_batch,
                           format_wall_short(p.through_wall_ns), p.rows, esc(p.reason));
    }
    out += head("rows (by rowid range)") + "\n";
    for (const auto& t : info.tables) out += fmt::format("  {:<14} {:>12}\n", t.name, t.rows);
    return out;
}

std::string render_info_json(const std::vector<JournalInfo>& infos) {
    json journals = json::array();
    for (const auto& info : infos) {
        json nodes = json::array(), boots = json::array(), runs = json::array(), gaps = json::array(),
             prunes = json::array(), losses = json::array(), tables = json::object();
        for (const auto& n : info.nodes) nodes.push_back(str(n));
        for (const auto& b : info.boot_ids) boots.push_back(str(b));
        for (const auto& r : info.runs) {
            runs.push_back({{"run_id", r.run_id},
                            {"boot_id", str(r.boot_id)},
                            {"node", str(r.node)},
                            {"version", str(r.version)},
                            {"kernel", str(r.kernel)},
                            {"hooks", str(r.hooks)},
                            {"started", format_rfc3339_ns(r.started_wall_ns)},
                            {"ended", format_rfc3339_ns(r.ended_wall_ns)},
                            {"stopped", r.stopped},
                            {"stop_reason", r.stopped ? str(r.stop_reason) : json(nullptr)},
                            {"events", r.events ? json(*r.events) : json(nullptr)},
                            {"lost", r.lost ? json(*r.lost) : json(nullptr)},
                            {"first_batch", r.first_batch ? json(r.first_batch) : json(nullptr)},
                            {"last_batch", r.last_batch ? json(r.last_batch) : json(nullptr)}});
        }
        for (const auto& g : info.gaps) {
            gaps.push_back({{"from", format_rfc3339_ns(g.from_wall_ns)},
                            {"to", format_rfc3339_ns(g.to_wall_ns)},
                            {"after_run", g.after_run},
                            {"before_run", g.before_run}});
        }
        for (const auto& p : info.prunes) {
            prunes.push_back({{"through_batch", p.through_batch},
                              {"through", format_rfc3339_ns(p.through_wall_ns)},
                              {"rows", p.rows},
                              {"reason", str(p.reason)}});
        }
        for (const auto& l : info.losses)
            losses.push_back({{"reason", str(l.reason)}, {"records", l.records}, {"events", l.events}});
        for (const auto& t : info.tables) tables[t.name] = t.rows;
        journals.push_back({{"path", str(info.path)},
                            {"file_bytes", info.file_bytes},
                            {"wal_bytes", info.wal_bytes},
                            {"read_from_copy", info.read_from_copy},
                            {"schema_version", info.schema_version},
                            {"schema_ok", info.schema_ok},
                            {"schema_problem", info.schema_ok ? json(nullptr) : str(info.schema_problem)},
                            {"nodes", nodes},
                            {"boot_ids", boots},
                            {"from", time_or_null(info.from_wall_ns)},
                            {"to", time_or_null(info.to_wall_ns)},
                            {"pods", info.pods},
                            {"runs", runs},
                            {"gaps", gaps},
                            {"losses", losses},
                            {"prunes", prunes},
                            {"rows", tables}});
    }
    json doc = {{"format_version", 1}, {"journals", journals}};
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lineage

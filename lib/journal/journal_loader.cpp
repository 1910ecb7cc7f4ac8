// The loader: a journal's rows into a model (JournalReader::load_into).
#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "dns_lookup.h"
#include "hashchain.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "journal_rows.h"
#include "pod.h"
#include "precedents.h"
#include "provenance.h"
#include "saturate.h"

namespace lineage {

// Loads a journal's rows into a model: metadata always, then either every
// event row or only the processes a plan needs, through the indexes.
//
// Every query names the index it goes through (INDEXED BY), reads the
// whole table (NOT INDEXED), or reads rows of batches by their rowid (see
// first_batch_at_or_after): the plan is this file's, never the file's.
// Statistics planted in the journal (sqlite_stat1) cannot turn a look-up
// into a scan, and an index added to it is never read instead of the table
// (a journal whose schema is not lineage's is only read with
// --force-schema). The plans are pinned by a test against planted ones.
class JournalLoader {
public:
    JournalLoader(JournalReader& reader, Database& db, Model& model) : reader_(reader), db_(db), model_(model) {}
    // Counted here and added once: loaders on other threads count into the
    // same reader.
    ~JournalLoader() { reader_.rows_read_.fetch_add(rows_read_, std::memory_order_relaxed); }
    JournalLoader(const JournalLoader&) = delete;
    JournalLoader& operator=(const JournalLoader&) = delete;

    Status load(const LoadPlan& plan) {
        if (auto st = load_meta(); !st) return st;
        if (!plan.processes) return Ok{};
        // The limit holds for a plan that asks for everything, and for a
        // targeted one; a journal too old for a targeted plan is read whole
        // and its answer counted afterwards (the limit is the answer's, not
        // the journal's).
        if (plan.everything || targeted_in_version(plan)) max_processes_ = plan.max_processes;
        files_ = plan.executed_files;
        arguments_ = plan.arguments;
        Status st = plan.everything || !targeted_in_version(plan) ? load_all() : load_targeted(plan);
        if (!st) return st;
        if (auto st = load_file_hashes(); !st) return st;
        return load_containers();
    }

    // --new (JournalReader::find_precedents): the earliest rows of the
    // query's binaries and destinations, before the answer's own. `clock`
    // is the model the journals were loaded into; this loader's own model
    // holds only this journal's metadata.
    Status precedents(const Model& clock, const PrecedentQuery& query, Precedents& out) {
        if (auto st = load_meta(); !st) return st;
        for (const auto& [key, before] : query.binaries) {
            if (auto st = exec_precedent(clock, key, before, out); !st) return st;
            if (auto st = snapshot_precedent(clock, key, before, out); !st) return st;
        }
        std::map<std::string, std::map<DestinationKey, int64_t>> by_pod;
        for (const auto& [key, before] : query.destinations) {
            if (!key.pod_uid.empty()) by_pod[key.pod_uid].emplace(key, before);
        }
        for (auto& [pod, pending] : by_pod) {
            if (auto st = connect_precedents(clock, pod, pending, out); !st) return st;
        }
        return Ok{};
    }

private:
    struct RunRange {
        int64_t run_id = 0;
        std::string boot_id;
        int64_t first_batch = 0;  // 0 when the run has no batch
        int64_t last_batch = -1;
        bool imported = false;  // written by `lineage import`, not by `record`
    };
    struct Seed {
        std::string boot_id;
        uint32_t tgid;
        int64_t start_ns;
    };

    Error fail(const std::string& what) {
        int rc = sqlite3_extended_errcode(db_.get());
        if (is_damage(rc))
            return Error{fmt::format("{}: journal is damaged: {} ({})", reader_.path(), db_.errmsg(), what)};
        // A fence's doing (the time or heap budget, the length limit): only
        // a journal made to exhaust readers gets there.
        const int primary = rc & 0xff;
        const bool fenced = primary == SQLITE_INTERRUPT || primary == SQLITE_NOMEM || primary == SQLITE_TOOBIG;
        return Error{fmt::format("{}: cannot read {}: {}{}", reader_.path(), what, db_.errmsg(),
                                 fenced ? "; run `lineage verify` on it" : "")};
    }

    // Runs sql with integer parameters and calls fn(stmt) per row.
    template <typename Fn>
    Status each(const std::string& what, const std::string& sql, std::initializer_list<int64_t> params, Fn&& fn) {
        return each_in(cached(sql).get(), what, params, std::forward<Fn>(fn));
    }
    // The same on a statement already prepared (nullptr: it failed to).
    template <typename Fn>
    Status each_in(Stmt* stmt, const std::string& what, std::initializer_list<int64_t> params, Fn&& fn) {
        if (!stmt) return fail(what);
        stmt->reset();
        int i = 1;
        for (int64_t p : params) stmt->bind(i++, p);
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) {
            ++rows_read_;
            // A callback that returns bool stops the rows when it says false.
            if constexpr (std::is_same_v<std::invoke_result_t<Fn, Stmt&>, bool>) {
                if (!fn(*stmt)) return Ok{};
            } else {
                fn(*stmt);
            }
        }
        if (rc != SQLITE_DONE) return fail(what);
        return Ok{};
    }
    template <typename Fn>
    Status each_text(const std::string& what, const std::string& sql, const std::string& param, Fn&& fn) {
        return each_until(what, sql, {param}, [&](Stmt& s) {
            fn(s);
            return true;
        });
    }
    // Runs sql with text and integer parameters and calls fn(stmt) per row
    // until it returns false.
    using Param = std::variant<int64_t, std::string>;
    template <typename Fn>
    Status each_until(const std::string& what, const std::string& sql, std::initializer_list<Param> params, Fn&& fn) {
        auto& stmt = cached(sql);
        if (!stmt) return fail(what);
        stmt->reset();
        int i = 1;
        for (const Param& p : params) {
            if (const auto* text = std::get_if<std::string>(&p)) {
                stmt->bind(i++, std::string_view(*text));
            } else {
                stmt->bind(i++, std::get<int64_t>(p));
            }
        }
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) {
            ++rows_read_;
            if (!fn(*stmt.get())) return Ok{};
        }
        if (rc != SQLITE_DONE) return fail(what);
        return Ok{};
    }

    // The statements load_process runs for every process, by the order of
    // ProcessQuery: prepared once and found by index, not by their text (a
    // query that loads 100,000 processes runs them 800,000 times).
    enum ProcessQuery : size_t {
        q_snapshot,
        q_fork,
        q_exec,
        q_exit,
        q_connect,
        q_exec_files,
        q_listens,
        q_dns,
        q_memberships,
        q_carried,
        q_parent_start,
        q_snapshot_parent,
        q_count
    };
    static std::string process_sql(ProcessQuery q) {
        switch (q) {
            case q_snapshot:
                return fmt::format(
                    "SELECT {} FROM snapshot INDEXED BY snapshot_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
                    "start_ns < ?3",
                    select_list(ChainTable::snapshot));
            case q_fork:
                return fmt::format(
                    "SELECT {} FROM fork INDEXED BY fork_by_child WHERE child_tgid = ?1 AND child_start_ns >= ?2 AND "
                    "child_start_ns < ?3",
                    select_list(ChainTable::fork));
            case q_exec:
                return fmt::format(
                    "SELECT {} FROM exec INDEXED BY exec_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND start_ns < ?3",
                    select_list(ChainTable::exec));
            case q_exit:
                return fmt::format(
                    "SELECT {} FROM exit INDEXED BY exit_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND start_ns < ?3",
                    select_list(ChainTable::exit));
            case q_connect:
                return fmt::format(
                    "SELECT {} FROM connect INDEXED BY connect_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
                    "start_ns < ?3",
                    select_list(ChainTable::connect));
            case q_exec_files:
                return fmt::format(
                    "SELECT {} FROM exec_files INDEXED BY exec_files_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
                    "start_ns < ?3",
                    select_list(ChainTable::exec_files));
            case q_listens:
                return fmt::format(
                    "SELECT {} FROM listens INDEXED BY listens_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
                    "start_ns < ?3",
                    select_list(ChainTable::listens));
            case q_dns:
                return fmt::format(
                    "SELECT {} FROM dns INDEXED BY dns_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND start_ns < ?3",
                    select_list(ChainTable::dns));
            case q_memberships:
                return fmt::format(
                    "SELECT {} FROM memberships INDEXED BY memberships_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
                    "start_ns < ?3 AND how != 'alive'",
                    select_list(ChainTable::memberships));
            case q_carried:
                return fmt::format(
                    "SELECT {} FROM carried INDEXED BY carried_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
                    "start_ns < ?3",
                    select_list(ChainTable::carried));
            case q_parent_start:
                return "SELECT batch, parent_start_ns FROM fork INDEXED BY fork_by_parent WHERE parent_tgid = ?1 AND "
                       "parent_start_ns >= ?2 AND parent_start_ns < ?3";
            case q_snapshot_parent:
                return fmt::format("SELECT {} FROM snapshot INDEXED BY snapshot_by_proc WHERE tgid = ?1",
                                   select_list(ChainTable::snapshot));
            case q_count:
                break;
        }
        return {};
    }
    Stmt* process_stmt(ProcessQuery q) {
        if (!process_stmts_[q]) process_stmts_[q] = cached(process_sql(q)).get();
        return process_stmts_[q];
    }

    std::unique_ptr<Stmt>& cached(const std::string& sql) {
        auto& slot = statements_[sql];
        if (!slot) {
            auto stmt = db_.prepare(sql);
            if (stmt) slot = std::make_unique<Stmt>(std::move(*stmt));
        }
        return slot;
    }

    // Batches are numbered in commit order and a run's batches follow each
    // other, so a run is a range of batch ids: found by binary search on the
    // primary key, without reading the (large) batches table.
    //
    // Only look-ups whose plan no statistics can change: one row by its
    // rowid (SQLite takes that path before weighing any plan), and the
    // first and last rowid (min and max). A range of rowids is not among
    // them: statistics planted in sqlite_stat1 that call the table tiny
    // make SQLite scan it for one (this table has no index to name). The
    // batch ids of a journal are consecutive from its first to its last
    // (retention deletes from the start), so a range is needed only over a
    // gap, which only an edited journal has.
    Result<int64_t> batch_bound(const char* sql) {
        int64_t found = 0;
        auto st = each("batches", sql, {}, [&](Stmt& s) { found = s.int64(0); });
        if (!st) return st.error();
        return found;
    }
    Result<int64_t> first_batch_at_or_after(int64_t batch) {
        if (batch <= first_batch_) return first_batch_ > 0 ? first_batch_ : -1;
        if (batch > max_batch_) return -1;
        if (auto run = run_of_batch(batch); !run || *run >= 0) return run ? Result<int64_t>(batch) : run;
        int64_t found = -1;
        auto st = each("batches", "SELECT batch_id FROM batches WHERE batch_id >= ?1 ORDER BY batch_id LIMIT 1",
                       {batch}, [&](Stmt& s) { found = s.int64(0); });
        if (!st) return st.error();
        return found;
    }
    Result<int64_t> last_batch_at_or_before(int64_t batch) {
        if (batch >= max_batch_) return max_batch_ > 0 ? max_batch_ : -1;
        if (batch < first_batch_) return -1;
        if (auto run = run_of_batch(batch); !run || *run >= 0) return run ? Result<int64_t>(batch) : run;
        int64_t found = -1;
        auto st = each("batches", "SELECT batch_id FROM batches WHERE batch_id <= ?1 ORDER BY batch_id DESC LIMIT 1",
                       {batch}, [&](Stmt& s) { found = s.int64(0); });
        if (!st) return st.error();
        return found;
    }
    Result<int64_t> run_of_batch(int64_t batch) {
        int64_t run = -1;
        auto st = each("batches", "SELECT run_id FROM batches WHERE batch_id = ?1", {batch},
                       [&](Stmt& s) { run = s.int64(0); });
        if (!st) return st.error();
        return run;
    }

    Status load_meta() {
        std::vector<RunRecord> runs;
        Status st = each("runs",
                         "SELECT run_id, boot_id, node, started_ns, clk_tck, hooks, filters, started_wall_ns, batch "
                         "FROM runs NOT INDEXED ORDER BY run_id",
                         {}, [&](Stmt& s) {
                             RunRecord r;
                             r.journal = reader_.path();
                             r.run_id = s.int64(0);
                             r.boot_id = s.text(1);
                             r.node = s.text(2);
                             r.started_ns = s.int64(3);
                             r.started_wall_ns = s.int64(7);
                             r.clk_tck = s.int64(4);
                             r.hooks = s.text(5);
                             r.filters = s.text(6);
                             r.imported = import_provenance(r.filters);
                             r.last_batch_ns = r.started_ns;
                             run_first_batches_.emplace_back(s.int64(8), r.boot_id);
                             runs.push_back(r);
                         });
        if (!st) return st;
        st = each("run_stops", "SELECT run_id, stopped_ns, reason FROM run_stops NOT INDEXED", {}, [&](Stmt& s) {
            for (auto& r : runs) {
                if (r.run_id == s.int64(0)) {
                    r.stopped_ns = s.int64(1);
                    r.stop_reason = s.text(2);
                }
            }
        });
        if (!st) return st;

        auto first = batch_bound("SELECT coalesce(min(batch_id), 0) FROM batches");
        if (!first) return first.error();
        auto last = batch_bound("SELECT coalesce(max(batch_id), 0) FROM batches");
        if (!last) return last.error();
        first_batch_ = *first;
        max_batch_ = *last;
        const int64_t max_batch = max_batch_;
        for (auto& r : runs) {
            RunRange range;
            range.run_id = r.run_id;
            range.boot_id = r.boot_id;
            range.imported = r.imported.has_value();
            // Lowest batch whose run is >= this run.
            int64_t lo = 1, hi = max_batch + 1;
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                auto b = first_batch_at_or_after(mid);
                if (!b) return b.error();
                if (*b < 0) {
                    hi = mid;
                    continue;
                }
                auto run = run_of_batch(*b);
                if (!run) return run.error();
                if (*run >= r.run_id)
                    hi = mid;
                else
                    lo = *b + 1;
            }
            auto first = first_batch_at_or_after(lo);
            if (!first) return first.error();
            if (*first >= 0) {
                auto run = run_of_batch(*first);
                if (!run) return run.error();
                if (*run == r.run_id) {
                    range.first_batch = *first;
                    range.last_batch = *first;
                }
            }
            ranges_.push_back(range);
        }
        // A run ends where the next one's batches begin.
        for (size_t i = 0; i < ranges_.size(); ++i) {
            if (ranges_[i].first_batch == 0) continue;
            int64_t end = max_batch;
            for (size_t j = i + 1; j < ranges_.size(); ++j) {
                if (ranges_[j].first_batch != 0) {
                    end = ranges_[j].first_batch - 1;
                    break;
                }
            }
            ranges_[i].last_batch = end;
            auto at = last_batch_at_or_before(end);
            if (!at) return at.error();
            st = each("batches", "SELECT committed_ns FROM batches WHERE batch_id = ?1", {*at},
                      [&](Stmt& s) { runs[i].last_batch_ns = std::max(runs[i].last_batch_ns, s.int64(0)); });
            if (!st) return st;
        }
        for (const auto& r : runs) {
            // /proc's clock ticks per second: 100 on Linux; anything far off
            // is damage, and would break identities built on it.
            if (r.clk_tck < 1 || r.clk_tck > 1'000'000) {
                return Error{fmt::format("{}: journal is damaged: run {} has clk_tck {} (expected 1 to 1000000)",
                                         reader_.path(), r.run_id, r.clk_tck)};
            }
            model_.add_run(r);
        }

        st = each("clock_samples", "SELECT run_id, boot_ns, wall_ns FROM clock_samples NOT INDEXED", {}, [&](Stmt& s) {
            for (const auto& r : runs)
                if (r.run_id == s.int64(0)) model_.add_clock_sample(r.boot_id, s.int64(1), s.int64(2));
        });
        if (!st) return st;
        st = each("loss", "SELECT batch, from_ns, to_ns, count, reason FROM loss NOT INDEXED", {}, [&](Stmt& s) {
            const RunRange* run = range_of(s.int64(0));
            if (!run) {
                ++orphan_rows_;
                return;
            }
            model_.add_loss(LossRecord{reader_.path(), run->boot_id, s.int64(1), s.int64(2), s.int64(3), s.text(4)});
        });
        if (!st) return st;
        if (auto version = query_int(db_, "PRAGMA user_version")) version_ = *version;
        if (version_ >= 2) {
            st = each("prunes", "SELECT coalesce(max(through_batch), 0) FROM prunes NOT INDEXED", {},
                      [&](Stmt& s) { pruned_through_ = s.int64(0); });
            if (!st) return st;
            st = each("prunes",
                      "SELECT through_wall_ns, CAST(min(max((SELECT total(rows) FROM prunes NOT INDEXED), 0), 9e18) AS "
                      "INTEGER), reason FROM prunes NOT INDEXED ORDER BY through_batch DESC LIMIT 1",
                      {}, [&](Stmt& s) {
                          model_.add_prune(PruneRecord{reader_.path(), s.int64(0), s.int64(1), s.text(2)});
                      });
            if (!st) return st;
        }
        // In the order they were stored: the latest host name counts.
        return each("pods", "SELECT pod_uid, name, namespace, source FROM pods NOT INDEXED ORDER BY rowid", {},
                    [&](Stmt& s) {
                        model_.add_pod(s.text(0), PodNameRecord{s.text(1), s.text(2), pod_name_source_from(s.text(3))});
                    });
    }

    bool has_memberships() const { return table_in_version(ChainTable::memberships, version_); }
    bool has_carried() const { return table_in_version(ChainTable::carried, version_); }
    // exec_files, file_hashes and listens (schema version 8).
    bool has_exec_files() const { return table_in_version(ChainTable::exec_files, version_); }
    // dns (schema version 10).
    bool has_dns() const { return table_in_version(ChainTable::dns, version_); }

    // Whether a table has a row at all (one seek, remembered): a process's
    // look-up in a table with none is skipped. A journal without connects
    // or carried rows (a node with no egress, no retention yet) would
    // otherwise pay a look-up per process for each.
    Result<bool> has_rows(ChainTable t) {
        const auto i = static_cast<size_t>(t);
        if (i >= has_rows_.size()) return true;
        if (has_rows_[i] < 0) {
            bool any = false;
            auto st = each(table_name(t), fmt::format("SELECT max(rowid) IS NOT NULL FROM {}", table_name(t)), {},
                           [&](Stmt& s) { any = s.int64(0) != 0; });
            if (!st) return st.error();
            has_rows_[i] = any ? 1 : 0;
        }
        return has_rows_[i] == 1;
    }

    // Whether this journal has what the plan's look-ups go through: a bare
    // window and --binary need version 4's indexes, --namespace and
    // --container the cgroups rows of version 3. An older journal, read
    // read-only, cannot get them: it is read whole (correct, and slow; the
    // man page says which queries).
    bool targeted_in_version(const LoadPlan& plan) const {
        if (plan.pid || plan.pod) return true;
        // An older journal has no hashes: no seed (sha256_seeds), no read.
        if (plan.sha256) return true;
        // Version 10 has no dns_names: its dns rows are parsed (dns_seeds).
        if (plan.dns_glob) return true;
        // From version 6 a glob is matched against each distinct path of
        // exec_by_binary, whatever it starts with; before, a range of the
        // base-name index needs a literal start.
        if (plan.binary_glob) return version_ >= 6 || (version_ >= 4 && !glob_prefix(*plan.binary_glob).empty());
        if (plan.namespace_ || plan.container || plan.image) return has_memberships();
        if (plan.descendants_of) return true;
        return version_ >= 4;
    }

    // The literal start of a glob's base-name part (what exec_by_base can
    // look up as a range): "" when it starts with a wildcard.
    static std::string glob_prefix(const std::string& glob) {
        const auto slash = glob.rfind('/');
        const std::string base = slash == std::string::npos ? glob : glob.substr(slash + 1);
        std::string prefix;
        for (char c : base) {
            if (c == '*' || c == '?' || c == '[' || c == '\\') break;
            prefix += c;
        }
        return prefix;
    }

    // The first rowid of `table` at or after `rowid`'s whose row is in batch
    // `batch` or later: rows are appended in batch order (schema/journal.sql,
    // "No index on batch"), so the rowids of a run of batches are one range,
    // found by binary search on the primary key. A journal whose rows were
    // moved after the fact is what `lineage verify` reports.
    Result<int64_t> first_rowid_in_batch(const char* table, int64_t batch) {
        // min() and max() apart: each alone is one seek, together a scan.
        int64_t lo = 0, hi = 0;
        if (auto st = each(table, fmt::format("SELECT coalesce(min(rowid), 0) FROM {}", table), {},
                           [&](Stmt& s) { lo = s.int64(0); });
            !st)
            return st.error();
        if (auto st = each(table, fmt::format("SELECT coalesce(max(rowid), 0) FROM {}", table), {},
                           [&](Stmt& s) { hi = s.int64(0) + 1; });
            !st)
            return st.error();
        const std::string next =
            fmt::format("SELECT rowid, batch FROM {} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1", table);
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            int64_t found_batch = INT64_MAX;
            if (auto st = each(table, next, {mid}, [&](Stmt& s) { found_batch = s.int64(1); }); !st) return st.error();
            if (found_batch >= batch)
                hi = mid;
            else
                lo = mid + 1;
        }
        return lo;
    }

    // The plan's limit, past: the load stops before the model holds more
    // than the limit (LoadPlan::max_processes).
    Error too_many() const {
        std::string digits = std::to_string(max_processes_), count;
        for (size_t i = 0; i < digits.size(); ++i) {
            if (i && (digits.size() - i) % 3 == 0) count += ',';
            count += digits[i];
        }
        Error e{
            fmt::format("more than {} processes match; narrow the window (--since/--until) or add a selector, or raise "
                        "--max-processes",
                        count)};
        e.code = kTooManyProcesses;
        return e;
    }
    bool over_limit(size_t n) const { return max_processes_ != 0 && n > max_processes_; }
    // A seed, counted by process (a process has rows in several tables);
    // false once the seeds alone pass the limit.
    bool add_seed(std::vector<Seed>& seeds, Seed seed) {
        if (max_processes_ != 0) {
            seed_keys_.insert(model_.key_for(seed.boot_id, seed.tgid, seed.start_ns));
            if (over_limit(seed_keys_.size())) {
                seed_overflow_ = true;
                return false;
            }
        }
        seeds.push_back(std::move(seed));
        return true;
    }

    // The pod of a row with a pod_uid column: its container is its cgroup
    // path's, when that path names the same pod.
    // The last path's answer is remembered: a pod's rows come one after
    // another and name the same few cgroups.
    PodRef pod_ref(std::string uid, const std::string& cgroup_path) {
        PodRef pod{std::move(uid), ""};
        if (pod.uid.empty()) return pod;
        if (cgroup_path != last_cgroup_path_) {
            auto kube = parse_kube_cgroup(cgroup_path);
            last_cgroup_path_ = cgroup_path;
            last_kube_pod_ = kube ? kube->pod_uid : std::string();
            last_kube_container_ = kube ? kube->container_id : std::string();
        }
        if (!last_kube_pod_.empty() && last_kube_pod_ == pod.uid) pod.container_id = last_kube_container_;
        return pod;
    }

    // A cgroup of a boot by hierarchy and id, from the cgroups rows (all of
    // them, or those of its id, read once); nullptr when none names it.
    using CgroupKey = std::tuple<std::string, uint32_t, uint64_t>;  // (boot, hierarchy, id)
    void add_cgroup_row(Stmt& s) {
        const int64_t batch = s.int64(0);
        const RunRange* run = range_of(batch);
        const std::string* boot = run ? &run->boot_id : boot_of_pruned_batch(batch);
        if (!boot) return void(++orphan_rows_);
        CgroupRow row = cgroup_row(s);
        cgroups_.try_emplace(CgroupKey{*boot, row.hierarchy, row.cgroup_id}, std::move(row));
    }
    // The boot of a row that retention keeps (cgroups) in a batch it
    // deleted: a run names a cgroup once, so the rows of its later batches
    // refer to that row. Its run is the one whose first batch (runs.batch,
    // kept) is the latest at or before it.
    const std::string* boot_of_pruned_batch(int64_t batch) const {
        if (batch < 1 || batch > pruned_through_) return nullptr;
        const std::string* boot = nullptr;
        for (const auto& [first, boot_id] : run_first_batches_) {
            if (first <= batch) boot = &boot_id;
        }
        return boot;
    }
    Result<const CgroupRow*> cgroup_of(const std::string& boot, uint32_t hierarchy, uint64_t id) {
        if (!all_cgroups_ && cgroup_ids_read_.insert(id).second) {
            auto st = each("cgroups",
                           fmt::format("SELECT {} FROM cgroups INDEXED BY cgroups_by_id WHERE cgroup_id = ?1",
                                       select_list(ChainTable::cgroups)),
                           {static_cast<int64_t>(id)}, [&](Stmt& s) { add_cgroup_row(s); });
            if (!st) return st.error();
        }
        auto it = cgroups_.find(CgroupKey{boot, hierarchy, id});
        return it == cgroups_.end() ? nullptr : &it->second;
    }

    const RunRange* range_of(int64_t batch) const {
        for (const auto& r : ranges_)
            if (r.first_batch != 0 && batch >= r.first_batch && batch <= r.last_batch) return &r;
        return nullptr;
    }

    Status orphans_check() {
        if (orphan_rows_ > 0) {
            return Error{fmt::format("{}: journal is damaged: {} rows name a batch that does not exist", reader_.path(),
                                     orphan_rows_)};
        }
        return Ok{};
    }

    // Row handlers: attach a row to its boot and hand it to the model.
    void on_snapshot(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        SnapshotRow row = snapshot_row(s);
        if (!arguments_) row.argv.clear();
        model_.add_snapshot(run->boot_id, run->run_id, row,
                            pod_ref(s.text(col<ChainTable::snapshot>("pod_uid")), row.cgroup_path));
        last_snapshot_runs_.push_back({run->run_id, row.ppid});
    }
    void on_fork(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        model_.add_fork(run->boot_id, fork_row(s));
    }
    void on_exec(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        ExecEvent e = exec_row(s);
        if (!arguments_) e.argv.clear();
        if (!pending_files_.empty()) {
            auto it = pending_files_.find(FileOf{run->boot_id, e.proc.tgid, e.proc.start_ns, e.time_ns});
            if (it != pending_files_.end()) e.file = std::move(it->second);
        }
        model_.add_exec(run->boot_id, e, pod_ref(s.text(col<ChainTable::exec>("pod_uid")), e.cgroup_path));
    }
    Status on_membership(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) {
            ++orphan_rows_;
            return Ok{};
        }
        MembershipRow row = membership_row(s);
        PodRef pod{row.pod_uid, ""};
        if (!pod.uid.empty()) {
            // Its container is its cgroup's; a cgroups row that is missing
            // (a damaged journal) leaves the container unknown, not the pod.
            auto cg = cgroup_of(run->boot_id, row.hierarchy, row.cgroup_id);
            if (!cg) return cg.error();
            if (*cg && (*cg)->pod_uid == pod.uid) pod.container_id = (*cg)->container_id;
        }
        model_.add_membership(run->boot_id, row, pod);
        return Ok{};
    }
    // After the process's other rows (Model::add_carried).
    void on_carried(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        CarriedRow row = carried_row(s);
        const PodRef pod = pod_ref(row.pod_uid, row.cgroup_path);
        model_.add_carried(run->boot_id, row, pod);
    }
    void on_exit(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        model_.add_exit(run->boot_id, exit_row(s));
    }
    void on_connect(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        model_.add_connect(run->boot_id, connect_row(s));
    }
    void on_dns(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return;
        model_.add_dns(run->boot_id, dns_row(s));
    }
    void on_listen(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        model_.add_listen(run->boot_id, listen_row(s));
    }
    // An exec_files row waits for its exec row (on_exec), which it matches
    // by process and time_ns: the two are written together, in one batch.
    void on_exec_file(Stmt& s) {
        const RunRange* run = range_of(s.int64(0));
        if (!run) return void(++orphan_rows_);
        ExecFileRow row = exec_file_row(s);
        pending_files_.insert_or_assign(FileOf{run->boot_id, row.proc.tgid, row.proc.start_ns, row.time_ns},
                                        std::move(row.file));
    }

    // The file_hashes rows (schema version 8) of every file the loaded
    // execs ran: one look-up per (ino, dev) through file_hashes_by_file,
    // whole loads too (a file's rows, not the table). In rowid order, so the
    // latest problem is the one that counts when no row has a hash
    // (Model::add_file_hash). The rows are kept when their batch is pruned:
    // no batch check.
    Status load_file_hashes() {
        if (!has_exec_files() || !files_) return Ok{};
        auto any = has_rows(ChainTable::file_hashes);
        if (!any) return any.error();
        if (!*any) return Ok{};
        std::set<FileKey> keys;
        for (const auto& [key, p] : model_.processes()) {
            for (const auto& img : p.execs)
                if (img.file) keys.insert(file_key(*img.file));
        }
        if (keys.empty()) return Ok{};
        std::set<std::pair<uint64_t, uint64_t>> files;  // (ino, dev)
        for (const auto& k : keys) files.emplace(k.ino, k.dev);
        const std::string sql = fmt::format(
            "SELECT {} FROM file_hashes INDEXED BY file_hashes_by_file WHERE ino = ?1 AND dev = ?2 ORDER BY rowid",
            select_list(ChainTable::file_hashes));
        for (const auto& [ino, dev] : files) {
            auto st = each("file_hashes", sql, {static_cast<int64_t>(ino), static_cast<int64_t>(dev)}, [&](Stmt& s) {
                FileHashRow row = file_hash_row(s);
                if (keys.count(row.key)) model_.add_file_hash(row);
            });
            if (!st) return st;
        }
        return Ok{};
    }

    Status load_all() {
        bool room = true;
        auto scan = [&](ChainTable t, auto handler) -> Status {
            auto st =
                each_until(table_name(t), fmt::format("SELECT {} FROM {} NOT INDEXED", select_list(t), table_name(t)),
                           {}, [&](Stmt& s) {
                               (this->*handler)(s);
                               return room = !over_limit(model_.processes().size());
                           });
            if (st && !room) return too_many();
            return st;
        };
        if (auto st = scan(ChainTable::snapshot, &JournalLoader::on_snapshot); !st) return st;
        if (auto st = scan(ChainTable::fork, &JournalLoader::on_fork); !st) return st;
        if (has_exec_files() && files_) {
            // Every exec_files row, then the exec rows take theirs.
            auto st = each("exec_files",
                           fmt::format("SELECT {} FROM exec_files NOT INDEXED", select_list(ChainTable::exec_files)),
                           {}, [&](Stmt& s) { on_exec_file(s); });
            if (!st) return st;
        }
        if (auto st = scan(ChainTable::exec, &JournalLoader::on_exec); !st) return st;
        pending_files_.clear();
        if (auto st = scan(ChainTable::exit, &JournalLoader::on_exit); !st) return st;
        if (auto st = scan(ChainTable::connect, &JournalLoader::on_connect); !st) return st;
        if (has_exec_files()) {
            if (auto st = scan(ChainTable::listens, &JournalLoader::on_listen); !st) return st;
        }
        if (has_dns()) {
            if (auto st = scan(ChainTable::dns, &JournalLoader::on_dns); !st) return st;
        }
        if (has_memberships()) {
            // The same whole-table form as above (the table a parameter of
            // the text, which bench_util plan leaves out: these run only for
            // a query that loads everything).
            all_cgroups_ = true;
            const auto whole = [](ChainTable t, const char* where) {
                return fmt::format("SELECT {} FROM {} NOT INDEXED{}", select_list(t), table_name(t), where);
            };
            auto st = each("cgroups", whole(ChainTable::cgroups, ""), {}, [&](Stmt& s) { add_cgroup_row(s); });
            if (!st) return st;
            // 'alive' rows restate what the others say.
            Status row_status = Ok{};
            st = each("memberships", whole(ChainTable::memberships, " WHERE how != 'alive'"), {}, [&](Stmt& s) {
                if (row_status) row_status = on_membership(s);
            });
            if (!st) return st;
            if (!row_status) return row_status;
        }
        if (has_carried()) {
            if (auto st = scan(ChainTable::carried, &JournalLoader::on_carried); !st) return st;
        }
        return orphans_check();
    }

    // All rows of one process (one boot, tgid, start tick), then its parent.
    Status load_process(const Seed& seed, std::vector<Seed>& parents) {
        ProcessKey key = model_.key_for(seed.boot_id, seed.tgid, seed.start_ns);
        if (!loaded_.insert(key).second) return Ok{};
        int64_t tick = model_.tick_ns(seed.boot_id);
        int64_t lo = sat_mul(static_cast<int64_t>(key.start_tick), tick), hi = sat_add(lo, tick);
        int64_t tgid = seed.tgid;
        // Rows of another boot that happen to share tgid and start tick are
        // skipped: identity includes the boot.
        auto same_boot = [&](Stmt& s) {
            const RunRange* run = range_of(s.int64(0));
            return run && run->boot_id == seed.boot_id;
        };
        // The tables this journal has rows in: a look-up in an empty one
        // finds nothing.
        std::array<bool, q_count> look{};
        for (auto [q, t] :
             {std::pair{q_snapshot, ChainTable::snapshot}, std::pair{q_fork, ChainTable::fork},
              std::pair{q_exec, ChainTable::exec}, std::pair{q_exit, ChainTable::exit},
              std::pair{q_connect, ChainTable::connect}, std::pair{q_memberships, ChainTable::memberships},
              std::pair{q_carried, ChainTable::carried}, std::pair{q_exec_files, ChainTable::exec_files},
              std::pair{q_listens, ChainTable::listens}, std::pair{q_dns, ChainTable::dns}}) {
            if (q == q_memberships && !has_memberships()) continue;
            if (q == q_carried && !has_carried()) continue;
            if ((q == q_exec_files || q == q_listens) && !has_exec_files()) continue;
            if (q == q_dns && !has_dns()) continue;
            auto any = has_rows(t);
            if (!any) return any.error();
            look[q] = *any;
        }
        // Without ancestors, nothing of the parent either: the fork row
        // says only that (LoadPlan::ancestors).
        look[q_fork] = look[q_fork] && parents_;
        look[q_exec_files] = look[q_exec_files] && files_;  // LoadPlan::executed_files
        last_snapshot_runs_.clear();
        Status st = !look[q_snapshot] ? Status{Ok{}}
                                      : each_in(process_stmt(q_snapshot), "snapshot", {tgid, lo, hi}, [&](Stmt& s) {
                                            if (same_boot(s)) on_snapshot(s);
                                        });
        if (!st) return st;
        auto snapshot_parents = last_snapshot_runs_;
        if (look[q_fork])
            st = each_in(process_stmt(q_fork), "fork", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_fork(s);
            });
        if (!st) return st;
        pending_files_.clear();
        if (look[q_exec_files] && look[q_exec])
            st = each_in(process_stmt(q_exec_files), "exec_files", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_exec_file(s);
            });
        if (!st) return st;
        if (look[q_exec])
            st = each_in(process_stmt(q_exec), "exec", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_exec(s);
            });
        if (!st) return st;
        pending_files_.clear();
        if (look[q_exit])
            st = each_in(process_stmt(q_exit), "exit", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_exit(s);
            });
        if (!st) return st;
        if (look[q_connect])
            st = each_in(process_stmt(q_connect), "connect", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_connect(s);
            });
        if (!st) return st;
        if (look[q_listens])
            st = each_in(process_stmt(q_listens), "listens", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_listen(s);
            });
        if (!st) return st;
        if (look[q_dns])
            st = each_in(process_stmt(q_dns), "dns", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_dns(s);
            });
        if (!st) return st;
        if (look[q_memberships]) {
            Status row_status = Ok{};
            st = each_in(process_stmt(q_memberships), "memberships", {tgid, lo, hi}, [&](Stmt& s) {
                if (row_status && same_boot(s)) row_status = on_membership(s);
            });
            if (!st) return st;
            if (!row_status) return row_status;
        }
        if (look[q_carried]) {
            st = each_in(process_stmt(q_carried), "carried", {tgid, lo, hi}, [&](Stmt& s) {
                if (same_boot(s)) on_carried(s);
            });
            if (!st) return st;
        }

        return follow_parent(seed, key, snapshot_parents, parents);
    }

    // After a process's rows: its parent, to load next (nothing without
    // ancestors). `snapshot_parents` are its snapshot rows' (run, ppid).
    Status follow_parent(const Seed& seed, const ProcessKey& key,
                         const std::vector<std::pair<int64_t, uint32_t>>& snapshot_parents,
                         std::vector<Seed>& parents) {
        if (!parents_) return Ok{};
        const int64_t tick = model_.tick_ns(seed.boot_id);
        const int64_t lo = sat_mul(static_cast<int64_t>(key.start_tick), tick), hi = sat_add(lo, tick);
        const int64_t tgid = seed.tgid;
        auto same_boot = [&](Stmt& s) {
            const RunRange* run = range_of(s.int64(0));
            return run && run->boot_id == seed.boot_id;
        };
        Status st = Ok{};
        const Process* p = model_.find(key);
        // Known from the snapshot alone: its start in nanoseconds is in a
        // fork row of a child, as a full load would find it.
        if (p && !p->start_precise) {
            st = each_in(process_stmt(q_parent_start), "fork", {tgid, lo, hi}, [&](Stmt& s) {
                if (!same_boot(s)) return true;
                model_.add_parent_start(key, s.int64(1));
                return false;
            });
            if (!st) return st;
        }
        if (p && p->parent) {
            parents.push_back({seed.boot_id, p->parent->tgid,
                               p->parent_source == ParentSource::fork
                                   ? p->parent_start_ns
                                   : sat_mul(static_cast<int64_t>(p->parent->start_tick), tick)});
        } else if (p && p->in_snapshot) {
            // A snapshot parent is the process with that PID in the same
            // snapshot: resolved by Model::finish() once its row is loaded.
            // Plain variables, not structured bindings: the lambda below
            // captures them, which clang before 16 does not allow.
            for (const auto& entry : snapshot_parents) {
                const int64_t run_id = entry.first;
                const uint32_t ppid = entry.second;
                if (ppid == 0) continue;
                st = each_in(process_stmt(q_snapshot_parent), "snapshot", {ppid}, [&](Stmt& s) {
                    const RunRange* run = range_of(s.int64(0));
                    if (run && run->run_id == run_id)
                        parents.push_back({seed.boot_id, ppid, s.int64(col<ChainTable::snapshot>("start_ns"))});
                });
                if (!st) return st;
            }
        }
        return Ok{};
    }

    // Seeds that started close together (schema version 9): with `window`,
    // a window's seeds that started in it or shortly before it, nearly all
    // of them; and, for any seeds (ancestors too), a cluster of them that
    // started within a second of each other among few other processes (a
    // pod's first processes, the node's first minutes, whose long-lived
    // processes are the parents of a busy day's). Their rows are read
    // table by table, each table through ranges of its *_by_start index,
    // instead of a look-up per process and table through the (tgid,
    // start_ns) indexes, whose entries for the processes of one day are
    // spread over half of their pages. A range holds every row of each
    // process whose start tick lies in it, exactly the rows load_process
    // would read, in the same order within a process (start_ns, then
    // rowid) and table by table as there. Other boots' entries in a range
    // are passed over in the index (their rowids are outside the boot's),
    // and rows of the boot's processes that are not seeds are not kept.
    // The seeds left go through load_process, and every seed loaded here
    // is marked loaded.
    Status load_started(const LoadPlan& plan, const std::vector<Seed>& seeds, bool window, std::vector<Seed>& parents) {
        std::map<std::string, std::vector<const Seed*>> by_boot;
        for (const Seed& seed : seeds) by_boot[seed.boot_id].push_back(&seed);
        for (const auto& entry : by_boot) {
            // Named, not structured bindings: the lambdas below use them,
            // which clang before 16 (the fuzz build) does not allow.
            const std::string& boot = entry.first;
            const std::vector<const Seed*>& boot_seeds = entry.second;
            const int64_t tick = model_.tick_ns(boot);
            const int64_t since = since_in(plan, boot), until = until_in(plan, boot);
            // Processes started in the minute, and the quarter of the
            // window, before it: how long a health check or a build step
            // runs. The rows of those that ended before the window are read
            // for nothing; those started earlier are looked up.
            int64_t before = 60'000'000'000;
            if (since != INT64_MIN && until != INT64_MAX) before = sat_add(before, (until - since) / 4);
            const int64_t from = since == INT64_MIN ? 0 : std::max<int64_t>(0, sat_sub(since, before)) / tick * tick;
            const int64_t to = until == INT64_MAX ? INT64_MAX : sat_add(until / tick * tick, tick);
            // Model::key_for, with the boot interned once.
            const Symbol boot_symbol(boot);
            auto key_of = [&](int64_t tgid, int64_t start_ns) {
                return ProcessKey{boot_symbol, static_cast<uint32_t>(tgid), static_cast<uint64_t>(start_ns / tick)};
            };
            // Whether a process's start tick lies in the window's range.
            auto in_window = [&](const ProcessKey& key) {
                const int64_t lo = sat_mul(static_cast<int64_t>(key.start_tick), tick);
                return window && lo >= from && sat_add(lo, tick) <= to;
            };
            std::unordered_set<ProcessKey, ProcessKeyHash> wanted;
            std::vector<const Seed*> started;
            // The clusters' ranges of start times, [first, second) each, in
            // order, apart, and outside the window's range [from, to).
            std::vector<std::pair<int64_t, int64_t>> clusters;
            std::vector<const Seed*> rest;
            for (const Seed* seed : boot_seeds) {
                const ProcessKey key = key_of(seed->tgid, seed->start_ns);
                if (loaded_.count(key)) continue;
                if (!in_window(key)) {
                    rest.push_back(seed);
                    continue;
                }
                loaded_.insert(key);
                wanted.insert(key);
                started.push_back(seed);
            }
            // The boot's rows of a table: [first, end) of their rowids.
            auto rowids_of = [&](const char* table) -> Result<std::pair<int64_t, int64_t>> {
                auto rowids = boot_rowids(table);
                if (!rowids) return rowids.error();
                auto range = rowids->find(boot);
                if (range == rowids->end()) return std::pair<int64_t, int64_t>{0, 0};
                return range->second;
            };
            // Clusters of the other seeds: at least cluster_seeds of them,
            // each started within a second of the one before, among at most
            // cluster_spread times as many processes started then (fork
            // index entries, counted up to that bound). Reading a range
            // costs an index entry per process started in it and table,
            // a look-up about ten index searches per seed.
            if (plan.cluster_seeds != 0 && rest.size() >= plan.cluster_seeds) {
                // In order of start, each process once (a process can be
                // a seed several times, by each of its rows that found it).
                std::sort(rest.begin(), rest.end(), [&](const Seed* a, const Seed* b) {
                    return std::pair(a->start_ns / tick, a->tgid) < std::pair(b->start_ns / tick, b->tgid);
                });
                rest.erase(std::unique(rest.begin(), rest.end(),
                                       [&](const Seed* a, const Seed* b) {
                                           return key_of(a->tgid, a->start_ns) == key_of(b->tgid, b->start_ns);
                                       }),
                           rest.end());
                auto forks = rowids_of("fork");
                if (!forks) return forks.error();
                const int64_t gap = 1'000'000'000;
                size_t i = 0;
                std::vector<std::pair<int64_t, int64_t>> found;
                while (i < rest.size()) {
                    size_t j = i + 1;
                    while (j < rest.size() && rest[j]->start_ns - rest[j - 1]->start_ns <= gap) ++j;
                    const size_t n = j - i;
                    const int64_t lo = rest[i]->start_ns / tick * tick,
                                  hi = sat_add(rest[j - 1]->start_ns / tick * tick, tick);
                    if (n >= plan.cluster_seeds) {
                        const int64_t most = sat_mul(static_cast<int64_t>(n), plan.cluster_spread);
                        int64_t count = 0;
                        auto st = each("fork",
                                       "SELECT count(*) FROM (SELECT 1 FROM fork INDEXED BY fork_by_start WHERE "
                                       "child_start_ns >= ?1 AND child_start_ns < ?2 AND rowid >= ?3 AND rowid < ?4 "
                                       "LIMIT ?5)",
                                       {lo, hi, forks->first, forks->second, sat_add(most, 1)},
                                       [&](Stmt& c) { count = c.int64(0); });
                        if (!st) return st;
                        if (count <= most) {
                            found.push_back({lo, hi});
                            for (size_t k = i; k < j; ++k) {
                                const ProcessKey key = key_of(rest[k]->tgid, rest[k]->start_ns);
                                if (!loaded_.insert(key).second) continue;
                                wanted.insert(key);
                                started.push_back(rest[k]);
                            }
                        }
                    }
                    i = j;
                }
                // Found in order; a tick longer than a second's gap could
                // still make two overlap, and a window shorter than one, a
                // cluster around the window's range.
                for (const auto& range : found) {
                    std::vector<std::pair<int64_t, int64_t>> parts = {range};
                    if (window && range.first < to && range.second > from) {
                        parts.clear();
                        if (range.first < from) parts.push_back({range.first, from});
                        if (range.second > to) parts.push_back({to, range.second});
                    }
                    for (const auto& part : parts) {
                        if (!clusters.empty() && part.first < clusters.back().second) {
                            clusters.back().second = std::max(clusters.back().second, part.second);
                        } else {
                            clusters.push_back(part);
                        }
                    }
                }
            }
            if (wanted.empty()) continue;
            // Rows of this boot, of a wanted process.
            auto wanted_row = [&](Stmt& s, int tgid_col, int start_col) {
                const RunRange* run = range_of(s.int64(0));
                if (!run || run->boot_id != boot) return false;
                return wanted.count(key_of(s.int64(tgid_col), s.int64(start_col))) != 0;
            };
            std::map<ProcessKey, std::vector<std::pair<int64_t, uint32_t>>> snapshot_runs;
            // A table's rows in the window's range and the clusters':
            // through its *_by_start index, or, for snapshot and carried
            // (no such index; a few rows a run), the boot's rows in rowid
            // order. In the window's range, nearly every process is
            // wanted, and each row is read. In a cluster's, the rows are
            // picked from the index's entries, and only a wanted one is
            // read from the table: the rows of a range of start times are
            // spread over all of the table's pages written since (exit
            // rows come in exit order), so a row read for nothing costs a
            // page. The clusters' processes are looked up instead (by
            // `lookup`, below) in snapshot and carried, and in memberships,
            // whose index leaves 'alive' rows out and so cannot tell a row
            // without reading it (`also` says so).
            auto scan = [&](ChainTable t, const char* index, const char* tgid, const char* start, const char* also,
                            auto&& handle) -> Status {
                auto any = has_rows(t);
                if (!any) return any.error();
                if (!*any) return Ok{};
                const char* table = table_name(t);
                auto rowids = rowids_of(table);
                if (!rowids) return rowids.error();
                const auto [first_rowid, end_rowid] = *rowids;
                if (first_rowid == end_rowid) return Ok{};
                if (!index) {
                    // The rowid range first where there is no index to
                    // name: the form of the window's other passes over a
                    // boot's rows.
                    if (!window) return Ok{};
                    return each(table,
                                fmt::format("SELECT {} FROM {} WHERE rowid >= ?1 AND rowid < ?2 AND {} >= ?3 AND {} "
                                            "< ?4{}",
                                            select_list(t), table, start, start, also),
                                {first_rowid, end_rowid, from, to}, handle);
                }
                if (window) {
                    auto st = each(table,
                                   fmt::format("SELECT {} FROM {} INDEXED BY {} WHERE {} >= ?1 AND {} < ?2 AND rowid "
                                               ">= ?3 AND rowid < ?4{}",
                                               select_list(t), table, index, start, start, also),
                                   {from, to, first_rowid, end_rowid}, handle);
                    if (!st) return st;
                }
                if (*also || clusters.empty()) return Ok{};
                Stmt* row = cached(fmt::format("SELECT {} FROM {} WHERE rowid = ?1", select_list(t), table)).get();
                const std::string entries = fmt::format(
                    "SELECT rowid, {1}, {2} FROM {0} INDEXED BY {3} WHERE {2} >= ?1 AND {2} < ?2 AND "
                    "rowid >= ?3 AND rowid < ?4",
                    table, tgid, start, index);
                for (const auto& cluster : clusters) {
                    Status fetched = Ok{};
                    auto st =
                        each(table, entries, {cluster.first, cluster.second, first_rowid, end_rowid}, [&](Stmt& entry) {
                            if (!wanted.count(key_of(entry.int64(1), entry.int64(2)))) return true;
                            fetched = each_in(row, table, {entry.int64(0)}, handle);
                            return static_cast<bool>(fetched);
                        });
                    if (!st) return st;
                    if (!fetched) return fetched;
                }
                return Ok{};
            };
            // A table's rows of each cluster's process, looked up.
            auto lookup = [&](ChainTable t, ProcessQuery q, auto&& handle) -> Status {
                if (clusters.empty()) return Ok{};
                auto any = has_rows(t);
                if (!any) return any.error();
                if (!*any) return Ok{};
                for (const Seed* seed : started) {
                    const ProcessKey key = key_of(seed->tgid, seed->start_ns);
                    if (in_window(key)) continue;
                    const int64_t lo = sat_mul(static_cast<int64_t>(key.start_tick), tick);
                    auto st =
                        each_in(process_stmt(q), table_name(t), {int64_t{seed->tgid}, lo, sat_add(lo, tick)}, handle);
                    if (!st) return st;
                }
                return Ok{};
            };
            auto snapshot = [&](Stmt& s) {
                if (!wanted_row(s, col<ChainTable::snapshot>("tgid"), col<ChainTable::snapshot>("start_ns"))) return;
                last_snapshot_runs_.clear();
                on_snapshot(s);
                if (parents_) {
                    auto& runs = snapshot_runs[key_of(s.int64(col<ChainTable::snapshot>("tgid")),
                                                      s.int64(col<ChainTable::snapshot>("start_ns")))];
                    runs.insert(runs.end(), last_snapshot_runs_.begin(), last_snapshot_runs_.end());
                }
            };
            auto st = scan(ChainTable::snapshot, nullptr, "tgid", "start_ns", "", snapshot);
            if (!st) return st;
            st = lookup(ChainTable::snapshot, q_snapshot, snapshot);
            if (!st) return st;
            if (parents_) {
                st = scan(ChainTable::fork, "fork_by_start", "child_tgid", "child_start_ns", "", [&](Stmt& s) {
                    if (wanted_row(s, col<ChainTable::fork>("child_tgid"), col<ChainTable::fork>("child_start_ns")))
                        on_fork(s);
                });
                if (!st) return st;
            }
            pending_files_.clear();
            if (files_ && has_exec_files()) {
                st = scan(ChainTable::exec_files, "exec_files_by_start", "tgid", "start_ns", "", [&](Stmt& s) {
                    if (wanted_row(s, col<ChainTable::exec_files>("tgid"), col<ChainTable::exec_files>("start_ns")))
                        on_exec_file(s);
                });
                if (!st) return st;
            }
            st = scan(ChainTable::exec, "exec_by_start", "tgid", "start_ns", "", [&](Stmt& s) {
                if (wanted_row(s, col<ChainTable::exec>("tgid"), col<ChainTable::exec>("start_ns"))) on_exec(s);
            });
            if (!st) return st;
            pending_files_.clear();
            st = scan(ChainTable::exit, "exit_by_start", "tgid", "start_ns", "", [&](Stmt& s) {
                if (wanted_row(s, col<ChainTable::exit>("tgid"), col<ChainTable::exit>("start_ns"))) on_exit(s);
            });
            if (!st) return st;
            st = scan(ChainTable::connect, "connect_by_start", "tgid", "start_ns", "", [&](Stmt& s) {
                if (wanted_row(s, col<ChainTable::connect>("tgid"), col<ChainTable::connect>("start_ns")))
                    on_connect(s);
            });
            if (!st) return st;
            st = scan(ChainTable::listens, "listens_by_start", "tgid", "start_ns", "", [&](Stmt& s) {
                if (wanted_row(s, col<ChainTable::listens>("tgid"), col<ChainTable::listens>("start_ns"))) on_listen(s);
            });
            if (!st) return st;
            if (has_dns()) {
                st = scan(ChainTable::dns, "dns_by_start", "tgid", "start_ns", "", [&](Stmt& s) {
                    if (wanted_row(s, col<ChainTable::dns>("tgid"), col<ChainTable::dns>("start_ns"))) on_dns(s);
                });
                if (!st) return st;
            }
            Status row_status = Ok{};
            auto membership = [&](Stmt& s) {
                if (row_status &&
                    wanted_row(s, col<ChainTable::memberships>("tgid"), col<ChainTable::memberships>("start_ns")))
                    row_status = on_membership(s);
            };
            st = scan(ChainTable::memberships, "memberships_by_start", "tgid", "start_ns", " AND how != 'alive'",
                      membership);
            if (!st) return st;
            st = lookup(ChainTable::memberships, q_memberships, membership);
            if (!st) return st;
            if (!row_status) return row_status;
            auto carried = [&](Stmt& s) {
                if (wanted_row(s, col<ChainTable::carried>("tgid"), col<ChainTable::carried>("start_ns")))
                    on_carried(s);
            };
            st = scan(ChainTable::carried, nullptr, "tgid", "start_ns", "", carried);
            if (!st) return st;
            st = lookup(ChainTable::carried, q_carried, carried);
            if (!st) return st;
            if (over_limit(model_.processes().size())) return too_many();
            static const std::vector<std::pair<int64_t, uint32_t>> none;
            for (const Seed* seed : started) {
                const ProcessKey key = key_of(seed->tgid, seed->start_ns);
                auto runs = snapshot_runs.find(key);
                if (auto st = follow_parent(*seed, key, runs == snapshot_runs.end() ? none : runs->second, parents);
                    !st)
                    return st;
            }
        }
        return Ok{};
    }

    // Every incarnation of a PID, in any boot.
    Status seeds_for_pid(uint32_t pid, std::vector<Seed>& out) {
        auto add = [&](Stmt& s) {
            const RunRange* run = range_of(s.int64(0));
            if (run) out.push_back({run->boot_id, pid, s.int64(1)});
        };
        int64_t p = pid;
        if (auto st =
                each("snapshot", "SELECT batch, start_ns FROM snapshot INDEXED BY snapshot_by_proc WHERE tgid = ?1",
                     {p}, add);
            !st)
            return st;
        if (auto st =
                each("fork", "SELECT batch, child_start_ns FROM fork INDEXED BY fork_by_child WHERE child_tgid = ?1",
                     {p}, add);
            !st)
            return st;
        if (auto st =
                each("exec", "SELECT batch, start_ns FROM exec INDEXED BY exec_by_proc WHERE tgid = ?1", {p}, add);
            !st)
            return st;
        if (auto st =
                each("exit", "SELECT batch, start_ns FROM exit INDEXED BY exit_by_proc WHERE tgid = ?1", {p}, add);
            !st)
            return st;
        if (has_memberships()) {
            auto st = each("memberships",
                           "SELECT batch, start_ns FROM memberships INDEXED BY memberships_by_proc WHERE tgid = ?1 AND "
                           "how != 'alive'",
                           {p}, add);
            if (!st) return st;
        }
        if (has_carried()) {
            auto st = each("carried", "SELECT batch, start_ns FROM carried INDEXED BY carried_by_proc WHERE tgid = ?1",
                           {p}, add);
            if (!st) return st;
        }
        return each("connect", "SELECT batch, start_ns FROM connect INDEXED BY connect_by_proc WHERE tgid = ?1", {p},
                    add);
    }

    // The pod's processes that memberships rows put in it (schema version
    // 3): with a window, those of each boot from the last 'alive' set before
    // it (every process still in the pod then), each with its exit (through
    // the exit index), so that a pod forking all year costs the rows since
    // its last set, not the year's. A process is selected by a pod it was
    // ever in (build_report), so one whose life overlaps the window and that
    // was moved into the pod after it counts too: the pod's moves after the
    // window of processes started by its end (version 5, through
    // memberships_moves_by_pod; before it, the pod's rows to the end of the
    // journal). Only a move can put a process started by then in the pod
    // later: a fork row is as old as its child, and an exec is in the
    // cgroup the process was already in.
    template <typename InWindow>
    Status membership_seeds(const std::string& uid, const LoadPlan& plan, InWindow&& in_window, int64_t margin,
                            std::vector<Seed>& seeds) {
        auto boots = boot_rowids("memberships");
        if (!boots) return boots.error();
        for (const auto& boot_rows : *boots) {
            // Plain variables, not structured bindings: the lambdas below
            // capture them, which clang before 16 (the fuzz build) refuses.
            const std::string& boot = boot_rows.first;
            // Boot-time clocks restart at each boot, so the index's entries
            // of one pod interleave every boot's; the boot's rowid range
            // (tested on the index entry, before any table row is read)
            // skips the other boots' rows.
            const int64_t lo = boot_rows.second.first, hi = boot_rows.second.second;
            int64_t from = INT64_MIN, to = INT64_MAX;
            if (plan.until_wall_ns) to = sat_add(model_.to_boot(boot, *plan.until_wall_ns), margin);
            // A boot over before the window: none of its processes overlaps
            // it (in_window), and no other journal can say otherwise.
            if (plan.sole_journal && plan.since_wall_ns &&
                boot_ends_by(boot, sat_sub(sat_sub(model_.to_boot(boot, *plan.since_wall_ns), margin), 1)))
                continue;
            if (plan.since_wall_ns) {
                const int64_t since = sat_sub(model_.to_boot(boot, *plan.since_wall_ns), margin);
                auto st = each_until("memberships",
                                     "SELECT batch, time_ns, how FROM memberships INDEXED BY memberships_by_pod WHERE "
                                     "pod_uid = ?1 AND pod_uid != '' AND "
                                     "time_ns <= ?2 AND rowid >= ?3 AND rowid < ?4 ORDER BY time_ns DESC",
                                     {uid, since, lo, hi}, [&](Stmt& s) {
                                         const RunRange* run = range_of(s.int64(0));
                                         if (!run || run->boot_id != boot || s.text(2) != "alive") return true;
                                         from = s.int64(1);
                                         return false;
                                     });
                if (!st) return st;
            }
            if (from > to) continue;
            Status row_status = Ok{};
            auto seed_row = [&](Stmt& s) {
                const RunRange* run = range_of(s.int64(0));
                if (!run || run->boot_id != boot) return true;
                constexpr int exit_col = 1 + static_cast<int>(chain_column_count(ChainTable::memberships));
                const bool exited = sqlite3_column_type(s.get(), exit_col) != SQLITE_NULL;
                const int64_t start = s.int64(col<ChainTable::memberships>("start_ns"));
                if (!in_window(boot, start, exited, s.int64(exit_col))) return true;
                if (!add_seed(seeds,
                              {boot, static_cast<uint32_t>(s.int64(col<ChainTable::memberships>("tgid"))), start}))
                    return false;
                // An 'alive' row is the process's own evidence when the
                // rows that put it in the pod were pruned.
                if (s.text(col<ChainTable::memberships>("how")) == "alive") row_status = on_membership(s);
                return static_cast<bool>(row_status);
            };
            const bool moves_index = version_ >= 5;
            auto st = each_until(
                "memberships",
                fmt::format(
                    "SELECT {}, x.time_ns FROM memberships m INDEXED BY memberships_by_pod LEFT JOIN exit x "
                    "INDEXED BY exit_by_proc ON x.tgid = m.tgid AND "
                    "x.start_ns = m.start_ns WHERE m.pod_uid = ?1 AND m.pod_uid != '' AND m.time_ns >= ?2 AND "
                    "m.rowid >= ?4 AND m.rowid < ?5 AND {}",
                    qualified_select_list(ChainTable::memberships, "m"),
                    moves_index ? "m.time_ns <= ?3" : "(m.time_ns <= ?3 OR (m.start_ns <= ?3 AND m.how != 'alive'))"),
                {uid, from, to, lo, hi}, seed_row);
            if (!st) return st;
            if (!row_status) return row_status;
            // Moves after the window: none when the boot's rows end by then.
            if (moves_index && to != INT64_MAX && !boot_ends_by(boot, to)) {
                st = each_until(
                    "memberships",
                    fmt::format("SELECT {}, x.time_ns FROM memberships m INDEXED BY memberships_moves_by_pod LEFT JOIN "
                                "exit x INDEXED BY exit_by_proc ON x.tgid = m.tgid AND x.start_ns = m.start_ns WHERE "
                                "m.pod_uid = ?1 AND m.how = 'move' AND m.pod_uid != '' AND m.start_ns <= ?2 AND "
                                "m.time_ns > ?2 AND m.rowid >= ?3 AND m.rowid < ?4",
                                qualified_select_list(ChainTable::memberships, "m")),
                    {uid, to, lo, hi}, seed_row);
                if (!st) return st;
                if (!row_status) return row_status;
            }
        }
        return Ok{};
    }

    // The window in each boot's clock, widened by a second so that
    // clock-sample rounding never drops a process; build_report applies the
    // exact window later.
    static constexpr int64_t kMargin = 1'000'000'000;
    int64_t since_in(const LoadPlan& plan, const std::string& boot) const {
        return plan.since_wall_ns ? sat_sub(model_.to_boot(boot, *plan.since_wall_ns), kMargin) : INT64_MIN;
    }
    int64_t until_in(const LoadPlan& plan, const std::string& boot) const {
        return plan.until_wall_ns ? sat_add(model_.to_boot(boot, *plan.until_wall_ns), kMargin) : INT64_MAX;
    }
    bool in_window(const LoadPlan& plan, const std::string& boot, int64_t start_ns, bool exited,
                   int64_t exit_ns) const {
        if (start_ns > until_in(plan, boot)) return false;
        if (exited) return exit_ns >= since_in(plan, boot);
        // Never seen to exit: it ends where its boot's journal ends
        // (process_end_wall), known once no other journal can extend it.
        return !plan.sole_journal || std::max(model_.journal_end_ns(boot), start_ns) >= since_in(plan, boot);
    }
    // Every row of `boot` in this journal is at or before `time_ns`: a
    // recorder's rows are no later than the batch that commits them, whose
    // time Model::journal_end_ns has seen. Not said of an imported run,
    // whose times are its source's.
    bool boot_ends_by(const std::string& boot, int64_t time_ns) const {
        for (const auto& r : ranges_) {
            if (r.boot_id == boot && r.imported) return false;
        }
        return model_.journal_end_ns(boot) <= time_ns;
    }

    // Each boot's first and last batch: a boot's runs follow one another.
    std::map<std::string, std::pair<int64_t, int64_t>> boot_batches() const {
        std::map<std::string, std::pair<int64_t, int64_t>> boots;
        for (const auto& r : ranges_) {
            if (r.first_batch == 0) continue;
            auto [it, fresh] = boots.try_emplace(r.boot_id, r.first_batch, r.last_batch);
            if (!fresh) {
                it->second.first = std::min(it->second.first, r.first_batch);
                it->second.second = std::max(it->second.second, r.last_batch);
            }
        }
        return boots;
    }

    // Each boot's rows of `table`, as one range of rowids [from, to): a
    // boot's runs follow one another in batch order, and rows are appended
    // in batch order. Computed once per table.
    Result<std::map<std::string, std::pair<int64_t, int64_t>>> boot_rowids(const char* table) {
        auto cached_ranges = boot_rowids_.find(table);
        if (cached_ranges != boot_rowids_.end()) return cached_ranges->second;
        std::map<std::string, std::pair<int64_t, int64_t>> out;
        for (const auto& [boot, range] : boot_batches()) {
            auto from = first_rowid_in_batch(table, range.first);
            if (!from) return from.error();
            auto to = first_rowid_in_batch(table, sat_add(range.second, 1));
            if (!to) return to.error();
            out.emplace(boot, std::make_pair(*from, *to));
        }
        boot_rowids_.emplace(table, out);
        return out;
    }

    // The rowid ranges [from, to) of the exec rows that membership_seeds
    // cannot stand in for. Since schema version 3, `record` writes a
    // memberships row beside every exec in a pod's cgroup (same process,
    // same pod, same time), and membership_seeds reads those of the window
    // and of the pod's last 'alive' set before it; a pass over the pod's
    // exec rows of the whole journal (a busy namespace's are hundreds of
    // thousands) would add nothing there. What remains:
    //  - the runs recorded before the journal had memberships (one that a
    //    later `record` upgraded: the runs before its first memberships
    //    row) and imported runs (their sources have no cgroup rows; lineage's
    //    own import copies memberships only when the export had them): all
    //    their exec rows;
    //  - in the other runs, the exec rows after the window: a process
    //    started by the window's end whose first sign of the pod is a later
    //    exec (the fork or move that put it there lost with a full ring
    //    buffer, or in a cgroup the recorder had not yet met) is in the pod
    //    for a full load, so it is for the plan too.
    // Rows are appended in batch order, and batches in time order within a
    // boot, so each is one range of rowids; each comes with the latest start
    // a process in it can have to be in the window (its boot's until_in).
    struct ExecRange {
        int64_t from_rowid, to_rowid, max_start;
    };
    Result<std::vector<ExecRange>> exec_pass_rowids(const LoadPlan& plan) {
        std::vector<ExecRange> out;
        if (!has_memberships()) {
            out.push_back({INT64_MIN, INT64_MAX, INT64_MAX});
            return out;
        }
        int64_t covered_from = INT64_MAX;  // first batch of a run that writes memberships
        if (auto st = each("memberships", "SELECT batch FROM memberships WHERE rowid >= ?1 ORDER BY rowid LIMIT 1",
                           {INT64_MIN},
                           [&](Stmt& s) {
                               const RunRange* run = range_of(s.int64(0));
                               covered_from = run ? run->first_batch : s.int64(0);
                           });
            !st)
            return st.error();
        auto add = [&](int64_t from, int64_t to, int64_t max_start) {
            if (from >= to) return;
            if (!out.empty() && out.back().to_rowid == from && out.back().max_start == max_start)
                out.back().to_rowid = to;
            else
                out.push_back({from, to, max_start});
        };
        for (const auto& r : ranges_) {
            if (r.first_batch == 0) continue;
            int64_t first = r.first_batch;
            if (!r.imported && r.first_batch >= covered_from) {
                if (!plan.until_wall_ns) continue;
                // The run's first batch committed after the window's end.
                const int64_t until = until_in(plan, r.boot_id);
                if (until < 0) continue;  // the boot began after the window: nothing started by then
                auto after = first_batch_committed_after(r.first_batch, r.last_batch, until);
                if (!after) return after.error();
                first = *after;
                if (first > r.last_batch) continue;
            }
            auto from = first_rowid_in_batch("exec", first);
            if (!from) return from.error();
            auto to = first_rowid_in_batch("exec", sat_add(r.last_batch, 1));
            if (!to) return to.error();
            add(*from, *to, until_in(plan, r.boot_id));
        }
        return out;
    }

    // The first batch from `first` through `last` (one run's) committed
    // after boot time `time_ns`, or last + 1: a batch holds rows up to its
    // commit, so the rows after `time_ns` are in it and the batches after.
    Result<int64_t> first_batch_committed_after(int64_t first, int64_t last, int64_t time_ns) {
        int64_t lo = first, hi = sat_add(last, 1);
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            // Batch ids may have holes (a batch rolled back): the first one
            // at or after `mid`, then its commit time, each a look-up.
            auto at = first_batch_at_or_after(mid);
            if (!at) return at.error();
            int64_t committed = INT64_MAX;  // past the run: after anything
            if (*at >= 0 && *at <= last) {
                if (auto st = each("batches", "SELECT committed_ns FROM batches WHERE batch_id = ?1", {*at},
                                   [&](Stmt& s) { committed = s.int64(0); });
                    !st)
                    return st.error();
            }
            if (committed > time_ns)
                hi = mid;
            else
                lo = mid + 1;
        }
        return lo;
    }

    // The processes of the pods `uids` (a pod, or every pod of a namespace
    // or with a container), within the plan's window.
    Status pod_seeds(const std::set<std::string>& uids, const LoadPlan& plan, std::vector<Seed>& seeds) {
        auto window = [&](const std::string& boot, int64_t start_ns, bool exited, int64_t exit_ns) {
            return in_window(plan, boot, start_ns, exited, exit_ns);
        };
        auto exec_rowids = exec_pass_rowids(plan);
        if (!exec_rowids) return exec_rowids.error();
        for (const auto& uid : uids) {
            bool room = true;
            auto add_exec = [&](Stmt& s) {
                const RunRange* run = range_of(s.int64(0));
                if (!run) return room;
                bool exited = sqlite3_column_type(s.get(), 3) != SQLITE_NULL;
                if (!window(run->boot_id, s.int64(2), exited, s.int64(3))) return true;
                return room = add_seed(seeds, {run->boot_id, static_cast<uint32_t>(s.int64(1)), s.int64(2)});
            };
            // One pass over the pod's exec rows that no memberships row
            // restates (exec_pass_rowids), each with its process's exit
            // (through the exit index), so that processes outside the window
            // cost one row, not five look-ups.
            for (const ExecRange& range : *exec_rowids) {
                if (auto st =
                        each_until("exec",
                                   "SELECT e.batch, e.tgid, e.start_ns, x.time_ns FROM exec e INDEXED BY exec_by_pod "
                                   "LEFT JOIN exit x INDEXED BY exit_by_proc ON x.tgid = e.tgid AND "
                                   "x.start_ns = e.start_ns "
                                   "WHERE e.pod_uid = ?1 AND e.pod_uid != '' AND e.rowid >= ?2 AND e.rowid < ?3 AND "
                                   "e.start_ns <= ?4",
                                   {uid, range.from_rowid, range.to_rowid, range.max_start}, add_exec);
                    !st)
                    return st;
                if (!room) return Ok{};
            }
            auto add = [&](Stmt& s) {
                const RunRange* run = range_of(s.int64(0));
                if (!run) return true;
                return room = add_seed(seeds, {run->boot_id, static_cast<uint32_t>(s.int64(1)), s.int64(2)});
            };
            if (auto st = each_until(
                    "snapshot",
                    "SELECT batch, tgid, start_ns FROM snapshot INDEXED BY snapshot_by_pod WHERE pod_uid = ?1 "
                    "AND pod_uid != ''",
                    {uid}, add);
                !st)
                return st;
            if (!room) return Ok{};
            if (has_memberships()) {
                if (auto st = membership_seeds(uid, plan, window, kMargin, seeds); !st) return st;
            }
        }
        return Ok{};
    }

    // The containers rows (schema version 7) of every container the loaded
    // processes were in: one indexed look-up per container of the answer.
    Status load_containers() {
        if (!table_in_version(ChainTable::containers, version_)) return Ok{};
        std::set<std::string> ids;
        for (const auto& [key, p] : model_.processes()) {
            for (const auto& e : p.pod_entries) {
                if (!e.pod.container_id.empty()) ids.insert(e.pod.container_id);
            }
        }
        const std::string sql =
            fmt::format("SELECT {} FROM containers INDEXED BY containers_by_id WHERE container_id = ?1 ORDER BY rowid",
                        select_list(ChainTable::containers));
        for (const auto& id : ids) {
            auto st = each_text("containers", sql, id, [&](Stmt& s) { model_.add_container(container_row(s)); });
            if (!st) return st;
        }
        return Ok{};
    }

    // The container IDs that a --container name and an --image glob match
    // (schema version 7), by the model's one rule (container_info), as the
    // tree shows them. containers is metadata, a few rows per container:
    // read whole.
    Status containers_matching(const LoadPlan& plan, std::set<std::string>& by_name, std::set<std::string>& by_image,
                               std::set<std::string>& pods) {
        if (!table_in_version(ChainTable::containers, version_)) return Ok{};
        std::map<std::string, std::vector<ContainerRow>> rows;
        auto st = each(
            "containers",
            fmt::format("SELECT {} FROM containers NOT INDEXED ORDER BY rowid", select_list(ChainTable::containers)),
            {}, [&](Stmt& s) {
                ContainerRow row = container_row(s);
                if (row.container_id.empty() || !row.problem.empty()) return;
                rows[row.container_id].push_back(std::move(row));
            });
        if (!st) return st;
        for (const auto& [id, of_id] : rows) {
            const ContainerInfo info = container_info(of_id);
            const bool named = plan.container && info.name == *plan.container;
            const bool imaged = plan.image && image_matches(*plan.image, info.image);
            if (named) by_name.insert(id);
            if (imaged) by_image.insert(id);
            // The pod the rows name, for a run without cgroups rows (an
            // import): a superset, as build_report selects again.
            if ((named || !plan.container) && (imaged || !plan.image)) {
                for (const auto& r : of_id)
                    if (!r.pod_uid.empty()) pods.insert(r.pod_uid);
            }
        }
        return Ok{};
    }

    // The pods a --namespace, --container or --image selector can mean: by
    // the pods rows' namespaces (the model's names, as the tree shows them),
    // and by the cgroups rows' container IDs (an ID prefix, or the IDs the
    // containers rows name).
    Result<std::set<std::string>> pods_of(const LoadPlan& plan) {
        std::set<std::string> uids;
        if (plan.namespace_) {
            for (const auto& uid : model_.named_pods()) {
                if (model_.pod_name(uid).namespace_ == *plan.namespace_) uids.insert(uid);
            }
        }
        if (plan.container || plan.image) {
            std::set<std::string> by_name, by_image, with_container;
            if (auto st = containers_matching(plan, by_name, by_image, with_container); !st) return st.error();
            // cgroups is the run's metadata (a row per cgroup and run), not
            // an event table: read whole.
            auto st = each("cgroups", "SELECT pod_uid, container_id FROM cgroups NOT INDEXED", {}, [&](Stmt& s) {
                const std::string container = s.text(1);
                if (s.text(0).empty() || container.empty()) return;
                const bool named =
                    !plan.container || by_name.count(container) ||
                    (!plan.container->empty() && container.compare(0, plan.container->size(), *plan.container) == 0);
                const bool imaged = !plan.image || by_image.count(container);
                if (named && imaged) with_container.insert(s.text(0));
            });
            if (!st) return st.error();
            if (plan.namespace_) {
                std::set<std::string> both;
                for (const auto& uid : uids)
                    if (with_container.count(uid)) both.insert(uid);
                uids = std::move(both);
            } else {
                uids = std::move(with_container);
            }
        }
        return uids;
    }

    // The exec_by_base / snapshot_by_base key of a path column: its base
    // name, as schema/journal.sql's version 4 indexes compute it.
    static std::string base_expr(const char* column) {
        return fmt::format("substr({0}, length(CAST(rtrim({0}, replace({0}, '/', '')) AS BLOB)) + 1)", column);
    }

    // Processes whose executed path matches a --binary glob (through
    // exec_by_binary from version 6, else the base-name index as a range on
    // the glob's literal start; snapshot_by_base for /proc's), then the
    // children they forked that never exec'd, which run their image.
    Status binary_seeds(const LoadPlan& plan, std::vector<Seed>& seeds) {
        if (plan.since_wall_ns || plan.until_wall_ns) {
            // By the binary first, while its rows are few; past the budget,
            // by the window's processes, from a clean slate.
            const size_t seeds_before = seeds.size();
            const auto keys_before = seed_keys_;
            auto restore = [&] {
                seeds.resize(seeds_before);
                seed_keys_ = keys_before;
                seed_overflow_ = false;
            };
            auto done = binary_first(plan, seeds, plan.binary_rows_before_window);
            if (!done) return done.error();
            if (*done) return Ok{};
            restore();
            auto walked = window_images(plan, *plan.binary_glob, seeds, true);
            if (!walked) return walked.error();
            if (*walked) return Ok{};
            restore();
        }
        auto done = binary_first(plan, seeds, std::nullopt);
        if (!done) return done.error();
        return Ok{};
    }

    // The seeds of --binary from the rows that name the binary: exec rows
    // (exec_by_binary), the executed files' paths, snapshot rows, then the
    // fork-only processes that run what a match ran. False, with the seeds
    // half found, when more than `budget` exec and exec_files rows match.
    Result<bool> binary_first(const LoadPlan& plan, std::vector<Seed>& seeds, std::optional<size_t> budget) {
        const std::string& glob = *plan.binary_glob;
        const std::string prefix = glob_prefix(glob);
        std::string upper = prefix;
        while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
        if (!upper.empty()) upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
        // No upper bound: every key at or after the prefix.
        const std::string below = upper.empty() ? "" : " AND " + base_expr("binary") + " < ?2";
        std::vector<Seed> matched;
        bool room = true;
        size_t rows_matched = 0;
        bool over_budget = false;
        // An exec or exec_files row (batch, tgid, start_ns, path) of a
        // matching path: its process is a seed when its life overlaps the
        // window, and its fork-only children may be in the window when it is
        // not, if it started by the window's end and forked. Its exit and
        // forks are looked up only when they can change that: a process
        // started in the window is in it whatever its exit (exit rows come
        // after their process's start), and whether a match forked is asked
        // once the seeds are known to fit (forked_matches). A common binary
        // past --max-processes then costs a row a process, not three
        // searches of the exit and fork indexes, whose entries are spread
        // over the journal.
        struct Match {
            const std::string* boot;  // a RunRange's, which outlive the load
            uint32_t tgid;
            int64_t start_ns;
        };
        std::vector<Match> may_have_forked;
        Status row_error = Ok{};
        Stmt* exit_of = nullptr;
        auto path_row = [&](Stmt& s) {
            if (budget && ++rows_matched > *budget) {
                over_budget = true;
                return false;
            }
            const RunRange* run = range_of(s.int64(0));
            if (!run || !binary_matches(glob, s.text(3))) return true;
            const uint32_t tgid = static_cast<uint32_t>(s.int64(1));
            const int64_t start_ns = s.int64(2);
            if (start_ns > until_in(plan, run->boot_id)) return true;
            may_have_forked.push_back({&run->boot_id, tgid, start_ns});
            bool in = start_ns >= since_in(plan, run->boot_id);
            if (!in) {
                if (!exit_of)
                    exit_of =
                        cached("SELECT time_ns FROM exit INDEXED BY exit_by_proc WHERE tgid = ?1 AND start_ns = ?2")
                            .get();
                bool exited = false;
                auto looked = each_in(exit_of, "exit", {int64_t{tgid}, start_ns}, [&](Stmt& x) {
                    exited = true;
                    in = in || in_window(plan, run->boot_id, start_ns, true, x.int64(0));
                });
                if (!looked) {
                    row_error = looked;
                    return false;
                }
                if (!exited) in = in_window(plan, run->boot_id, start_ns, false, 0);
            }
            if (!in) return true;
            return room = add_seed(seeds, {run->boot_id, tgid, start_ns});
        };
        // The matches of path_row that forked, into `matched`.
        auto forked_matches = [&]() -> Status {
            if (may_have_forked.empty()) return Ok{};
            Stmt* forked = cached(
                               "SELECT 1 FROM fork INDEXED BY fork_by_parent WHERE parent_tgid = ?1 AND "
                               "parent_start_ns = ?2 LIMIT 1")
                               .get();
            for (const Match& m : may_have_forked) {
                auto st = each_in(forked, "fork", {int64_t{m.tgid}, m.start_ns}, [&](Stmt&) {
                    matched.push_back({*m.boot, m.tgid, m.start_ns});
                });
                if (!st) return st;
            }
            may_have_forked = {};
            return Ok{};
        };
        Status st = Ok{};
        // The distinct paths of an index, one seek each, and the rows of
        // those whose base name (or whole path) the glob matches. Each step
        // binds the value it read, as SQLite stored it, so that a journal
        // whose paths are not all BLOBs is stepped through whole. With a
        // budget, the matching paths' rows are counted first, in the index
        // alone: a binary over budget costs a count, not a walk of its rows
        // with their exits and forks.
        using Value = std::unique_ptr<sqlite3_value, decltype(&sqlite3_value_free)>;
        auto walk_paths = [&](const char* what, const std::string& first_sql, const std::string& next_sql,
                              const std::string& count_sql, const std::string& rows_sql) -> Status {
            auto& first_path = cached(first_sql);
            auto& next_path = cached(next_sql);
            auto& count = cached(count_sql);
            auto& rows = cached(rows_sql);
            if (!first_path || !next_path || !count || !rows) return fail(what);
            std::vector<Value> matching;
            Value path(nullptr, &sqlite3_value_free);
            while (true) {
                Stmt& step = path ? *next_path : *first_path;
                step.reset();
                if (path) {
                    sqlite3_bind_value(step.get(), 1, path.get());
                } else {
                    // Below every value a column can hold (numbers sort first).
                    sqlite3_bind_double(step.get(), 1, -std::numeric_limits<double>::infinity());
                }
                const int rc = step.step();
                if (rc == SQLITE_DONE) break;
                if (rc != SQLITE_ROW) return fail(what);
                ++rows_read_;
                path.reset(sqlite3_value_dup(sqlite3_column_value(step.get(), 0)));
                step.reset();
                if (!path) return fail(what);
                const auto* bytes = static_cast<const char*>(sqlite3_value_blob(path.get()));
                const std::string text(bytes ? bytes : "", static_cast<size_t>(sqlite3_value_bytes(path.get())));
                if (!binary_matches(glob, text)) continue;
                Value copy(sqlite3_value_dup(path.get()), &sqlite3_value_free);
                if (!copy) return fail(what);
                matching.push_back(std::move(copy));
            }
            if (budget) {
                size_t counted = rows_matched;
                for (const Value& v : matching) {
                    count->reset();
                    sqlite3_bind_value(count->get(), 1, v.get());
                    sqlite3_bind_int64(count->get(), 2, static_cast<int64_t>(*budget - std::min(counted, *budget) + 1));
                    if (count->step() != SQLITE_ROW) return fail(what);
                    counted += static_cast<size_t>(count->int64(0));
                    count->reset();
                    if (counted > *budget) {
                        over_budget = true;
                        return Ok{};
                    }
                }
            }
            for (const Value& v : matching) {
                if (!room || over_budget) break;
                rows->reset();
                sqlite3_bind_value(rows->get(), 1, v.get());
                int row_rc;
                while ((row_rc = rows->step()) == SQLITE_ROW) {
                    ++rows_read_;
                    if (!path_row(*rows)) break;
                }
                rows->reset();
                if (!row_error) return row_error;
                if (row_rc != SQLITE_ROW && row_rc != SQLITE_DONE) return fail(what);
            }
            return Ok{};
        };
        if (version_ >= 6) {
            st = walk_paths(
                "exec", "SELECT binary FROM exec INDEXED BY exec_by_binary WHERE binary >= ?1 ORDER BY binary LIMIT 1",
                "SELECT binary FROM exec INDEXED BY exec_by_binary WHERE binary > ?1 ORDER BY binary LIMIT 1",
                "SELECT count(*) FROM (SELECT 1 FROM exec INDEXED BY exec_by_binary WHERE binary = ?1 LIMIT ?2)",
                "SELECT batch, tgid, start_ns, binary FROM exec INDEXED BY exec_by_binary WHERE binary = ?1");
            if (!st) return st.error();
        } else {
            st = each_blobs("exec",
                            fmt::format("SELECT batch, tgid, start_ns, binary FROM exec INDEXED BY exec_by_base WHERE "
                                        "{} >= ?1{}",
                                        base_expr("binary"), below),
                            prefix, upper, path_row);
            if (!st) return st.error();
            if (!row_error) return row_error.error();
        }
        if (over_budget) return false;
        // The executed file's path (schema version 8): /proc/self/exe,
        // /dev/fd/N or a link given to execve, the file it ran matched.
        if (room && has_exec_files()) {
            st = walk_paths(
                "exec_files",
                "SELECT path FROM exec_files INDEXED BY exec_files_by_path WHERE path >= ?1 ORDER BY path LIMIT 1",
                "SELECT path FROM exec_files INDEXED BY exec_files_by_path WHERE path > ?1 ORDER BY path LIMIT 1",
                "SELECT count(*) FROM (SELECT 1 FROM exec_files INDEXED BY exec_files_by_path WHERE path = ?1 LIMIT "
                "?2)",
                "SELECT batch, tgid, start_ns, path FROM exec_files INDEXED BY exec_files_by_path WHERE path = ?1");
            if (!st) return st.error();
            if (over_budget) return false;
        }
        if (!room) return true;
        if (st = forked_matches(); !st) return st.error();
        st = each_blobs("snapshot",
                        fmt::format("SELECT batch, tgid, start_ns, exe FROM snapshot INDEXED BY snapshot_by_base WHERE "
                                    "{} >= ?1{}",
                                    base_expr("exe"), upper.empty() ? "" : " AND " + base_expr("exe") + " < ?2"),
                        prefix, upper, [&](Stmt& s) {
                            // What /proc showed: a process taken to be alive
                            // to the journal's end, whose fork-only children
                            // are looked for.
                            const RunRange* run = range_of(s.int64(0));
                            if (!run || !binary_matches(glob, s.text(3))) return true;
                            Seed seed{run->boot_id, static_cast<uint32_t>(s.int64(1)), s.int64(2)};
                            if (seed.start_ns <= until_in(plan, seed.boot_id)) matched.push_back(seed);
                            if (!in_window(plan, run->boot_id, seed.start_ns, false, 0)) return true;
                            return room = add_seed(seeds, std::move(seed));
                        });
        if (!st) return st.error();
        if (room && !matched.empty()) {
            auto walked = window_images(plan, glob, seeds, false);
            if (!walked) return walked.error();
            if (*walked) return true;
        }
        // Fork-only children, and theirs: they run what their forker ran.
        if (room) {
            auto walked = fork_only_descendants(plan, std::move(matched), seeds);
            if (!walked) return walked.error();
        }
        return true;
    }

    // Seeds the fork-only descendants of `forkers` (processes that ran what
    // a query matches) that are in the window: a process that never exec'd
    // runs its forker's image, and so do its own fork-only children. The
    // forkers themselves are not seeded here. False when the limit stopped
    // the seeds (add_seed).
    Result<bool> fork_only_descendants(const LoadPlan& plan, std::vector<Seed> forkers, std::vector<Seed>& seeds) {
        bool room = true;
        while (room && !forkers.empty()) {
            Seed parent = forkers.back();
            forkers.pop_back();
            const int64_t tick = model_.tick_ns(parent.boot_id);
            const int64_t lo = sat_mul(parent.start_ns / tick, tick);
            auto st = each_until(
                "fork",
                "SELECT f.batch, f.child_tgid, f.child_start_ns, x.time_ns FROM fork f INDEXED BY fork_by_parent LEFT "
                "JOIN exit x INDEXED BY exit_by_proc ON x.tgid = f.child_tgid AND x.start_ns = f.child_start_ns WHERE "
                "f.parent_tgid = ?1 AND f.parent_start_ns >= ?2 AND f.parent_start_ns < ?3 AND NOT EXISTS (SELECT 1 "
                "FROM exec e INDEXED BY exec_by_proc WHERE e.tgid = f.child_tgid AND e.start_ns = f.child_start_ns)",
                {int64_t{parent.tgid}, lo, sat_add(lo, tick)}, [&](Stmt& s) {
                    const RunRange* run = range_of(s.int64(0));
                    if (!run || run->boot_id != parent.boot_id) return true;
                    Seed child{parent.boot_id, static_cast<uint32_t>(s.int64(1)), s.int64(2)};
                    // Its own children may run the image too, whether or
                    // not it is in the window.
                    forkers.push_back(child);
                    if (!in_window(plan, child.boot_id, child.start_ns, sqlite3_column_type(s.get(), 3) != SQLITE_NULL,
                                   s.int64(3)))
                        return true;
                    return room = add_seed(seeds, std::move(child));
                });
            if (!st) return st.error();
        }
        return room;
    }

    // Processes that ran a file with a --sha256 hash (schema version 8):
    // the hash's file_hashes rows (file_hashes_by_sha256) give each file's
    // identity and the paths it ran at, and the exec_files rows of each
    // path (exec_files_by_path) of that identity are its execs. A few rows
    // per file and per exec: the answer's size, not the journal's. Then the
    // fork-only descendants of those that forked, which run the file too:
    // their fork rows (fork_by_parent), read whether or not they are in
    // the window.
    Status sha256_seeds(const LoadPlan& plan, std::vector<Seed>& seeds) {
        if (!has_exec_files()) return Ok{};
        std::set<std::pair<std::string, FileKey>> files;  // (path, identity)
        auto st = each_until(
            "file_hashes",
            "SELECT dev, ino, size, mtime_ns, path FROM file_hashes INDEXED BY file_hashes_by_sha256 "
            "WHERE sha256 = ?1 AND sha256 != ''",
            {*plan.sha256}, [&](Stmt& s) {
                files.emplace(s.blob(4), FileKey{static_cast<uint64_t>(s.int64(0)), static_cast<uint64_t>(s.int64(1)),
                                                 static_cast<uint64_t>(s.int64(2)), s.int64(3)});
                return true;
            });
        if (!st) return st;
        std::set<std::string> paths;
        for (const auto& f : files) paths.insert(f.first);
        // The matches that forked, whose fork-only children run the file
        // too (as --binary's do).
        std::vector<Seed> forkers;
        bool room = true;
        for (const auto& path : paths) {
            st = each_blobs(
                "exec_files",
                "SELECT m.batch, m.tgid, m.start_ns, m.dev, m.ino, m.size, m.mtime_ns, x.time_ns, EXISTS (SELECT 1 "
                "FROM fork f INDEXED BY fork_by_parent WHERE f.parent_tgid = m.tgid AND f.parent_start_ns = "
                "m.start_ns) FROM exec_files m INDEXED BY exec_files_by_path LEFT JOIN exit x INDEXED BY exit_by_proc "
                "ON x.tgid = m.tgid AND x.start_ns = m.start_ns WHERE m.path = ?1",
                path, "", [&](Stmt& s) {
                    const FileKey key{static_cast<uint64_t>(s.int64(3)), static_cast<uint64_t>(s.int64(4)),
                                      static_cast<uint64_t>(s.int64(5)), s.int64(6)};
                    if (!files.count({path, key})) return true;
                    const RunRange* run = range_of(s.int64(0));
                    if (!run) return true;
                    Seed seed{run->boot_id, static_cast<uint32_t>(s.int64(1)), s.int64(2)};
                    // Its fork-only children may be in the window when it
                    // is not: any that started before the window's end.
                    if (s.int64(8) != 0 && seed.start_ns <= until_in(plan, seed.boot_id)) forkers.push_back(seed);
                    if (!in_window(plan, run->boot_id, s.int64(2), sqlite3_column_type(s.get(), 7) != SQLITE_NULL,
                                   s.int64(7)))
                        return true;
                    return room = add_seed(seeds, std::move(seed));
                });
            if (!st) return st;
            if (!room) return Ok{};
        }
        if (auto walked = fork_only_descendants(plan, std::move(forkers), seeds); !walked) return walked.error();
        return Ok{};
    }

    // Processes that looked up a name a --dns glob matches (dns_name_matches),
    // as build_report matches them: a lookup of pair_dns over the process's
    // dns rows. From schema version 11 through dns_names_by_name: the keys
    // that start with the glob's fixed end (every key when it ends with a
    // wildcard), a seek per name and process: a name the glob does not
    // match is stepped over whole, and a process's other rows of a name (one
    // a batch) are not read. The processes with key "" (TCP segments with
    // part of a message) are checked by their TCP rows joined. Version 10
    // has no such index: every dns row is parsed, correct and slow on a
    // large journal; so are the dns rows before the first dns_names row (a
    // version 10 journal's that `record` upgraded, and the few before a
    // version 11 writer's first lookup). The window applies to each process
    // (its exit row), not to when it looked the name up, as with --binary: a
    // process of the window that ever looked the name up. With a window,
    // past plan.dns_pairs_before_window names and processes walked (a
    // common suffix over a year), the window's processes are checked
    // instead, each by its dns rows, when they are few enough (as --binary
    // does); the answer is the same. No fork-only children: a lookup is not
    // inherited as an image is.
    Status dns_seeds(const LoadPlan& plan, std::vector<Seed>& seeds) {
        if (!has_dns()) return Ok{};
        const std::string& glob = *plan.dns_glob;
        std::set<std::tuple<std::string, uint32_t, int64_t>> seeded, checked;  // the answer's size
        bool room = true;
        // Whether the process is in the window (its exit row: one seek).
        auto windowed_in = [&](const std::string& boot, uint32_t tgid, int64_t start_ns) -> Result<bool> {
            bool exited = false;
            int64_t exit_ns = 0;
            auto st = each("exit",
                           "SELECT batch, time_ns FROM exit INDEXED BY exit_by_proc WHERE tgid = ?1 AND start_ns = ?2",
                           {int64_t{tgid}, start_ns}, [&](Stmt& s) {
                               const RunRange* run = range_of(s.int64(0));
                               if (run && run->boot_id == boot) {
                                   exited = true;
                                   exit_ns = s.int64(1);
                               }
                           });
            if (!st) return st.error();
            return in_window(plan, boot, start_ns, exited, exit_ns);
        };
        auto found = [&](const std::string& boot, uint32_t tgid, int64_t start_ns) -> Status {
            if (seeded.count({boot, tgid, start_ns})) return Ok{};
            auto in = windowed_in(boot, tgid, start_ns);
            if (!in) return in.error();
            if (!*in) return Ok{};
            seeded.emplace(boot, tgid, start_ns);
            room = add_seed(seeds, Seed{boot, tgid, start_ns});
            return Ok{};
        };
        // Whether a process's dns rows (`tcp_only`: its TCP rows), paired as
        // the tree pairs them, hold a lookup the glob matches.
        auto rows_match = [&](const Seed& p, bool tcp_only) -> Result<bool> {
            const ProcessKey key = model_.key_for(p.boot_id, p.tgid, p.start_ns);
            const int64_t tick = model_.tick_ns(p.boot_id);
            const int64_t lo = sat_mul(static_cast<int64_t>(key.start_tick), tick);
            std::vector<DnsEvent> rows;
            auto st =
                each("dns",
                     fmt::format("SELECT {} FROM dns INDEXED BY dns_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
                                 "start_ns < ?3{}",
                                 select_list(ChainTable::dns), tcp_only ? " AND transport = 'tcp'" : ""),
                     {int64_t{p.tgid}, lo, sat_add(lo, tick)}, [&](Stmt& s) {
                         const RunRange* run = range_of(s.int64(0));
                         if (run && run->boot_id == p.boot_id) rows.push_back(dns_row(s));
                     });
            if (!st) return st.error();
            const std::vector<DnsLookup> lookups = pair_dns(rows);
            return std::any_of(lookups.begin(), lookups.end(),
                               [&](const DnsLookup& l) { return !l.served && dns_name_matches(glob, l.name); });
        };
        // A process with part of a TCP message: its TCP messages joined.
        auto check_tcp = [&](const std::string& boot, uint32_t tgid, int64_t start_ns) -> Status {
            if (!checked.emplace(boot, tgid, start_ns).second) return Ok{};
            // Outside the window, its rows are not read.
            auto in = windowed_in(boot, tgid, start_ns);
            if (!in) return in.error();
            if (!*in) return Ok{};
            auto match = rows_match(Seed{boot, tgid, start_ns}, true);
            if (!match) return match.error();
            return *match ? found(boot, tgid, start_ns) : Status{Ok{}};
        };
        // The dns rows below this rowid, parsed (INT64_MAX: all of them).
        auto parse_rows = [&](int64_t below_rowid) -> Status {
            Status inner = Ok{};
            auto st = each_until(
                "dns", fmt::format("SELECT {} FROM dns WHERE rowid < ?1 ORDER BY rowid", select_list(ChainTable::dns)),
                {below_rowid}, [&](Stmt& s) {
                    const DnsEvent e = dns_row(s);
                    const RunRange* run = range_of(s.int64(0));
                    if (e.proc.tgid == 0 || !run) return true;
                    const RowLookups row = looked_up_names(e);
                    const auto tgid = e.proc.tgid;
                    const auto start_ns = static_cast<int64_t>(e.proc.start_ns);
                    if (std::any_of(row.names.begin(), row.names.end(),
                                    [&](const std::string& name) { return dns_name_matches(glob, name); })) {
                        inner = found(run->boot_id, tgid, start_ns);
                    } else if (row.partial) {
                        inner = check_tcp(run->boot_id, tgid, start_ns);
                    }
                    return inner && room;
                });
            if (!st) return st;
            return inner;
        };
        if (!table_in_version(ChainTable::dns_names, version_)) return parse_rows(INT64_MAX);
        // Rows are appended in batch order: a table's first rowid is in its
        // first batch (one seek each).
        int64_t first_dns = 0, first_named = 0;
        auto st =
            each("dns", "SELECT batch FROM dns ORDER BY rowid LIMIT 1", {}, [&](Stmt& s) { first_dns = s.int64(0); });
        if (!st) return st;
        if (first_dns == 0) return Ok{};
        st = each("dns_names", "SELECT batch FROM dns_names ORDER BY rowid LIMIT 1", {},
                  [&](Stmt& s) { first_named = s.int64(0); });
        if (!st) return st;
        if (first_named == 0) return parse_rows(INT64_MAX);
        if (first_dns < first_named) {
            auto below = first_rowid_in_batch("dns", first_named);
            if (!below) return below.error();
            if (auto parsed = parse_rows(*below); !parsed) return parsed;
        }
        // The keys in [lo, hi) ("" and "": all) that `wanted` says, each
        // process of each given to `on_process` once per boot; false when
        // more than `most` names and processes were walked (SIZE_MAX: never).
        auto scan_keys = [&](const std::string& lo, std::string hi, auto&& wanted, auto&& on_process,
                             size_t most) -> Result<bool> {
            while (!hi.empty() && static_cast<unsigned char>(hi.back()) == 0xff) hi.pop_back();
            if (!hi.empty()) hi.back() = static_cast<char>(hi.back() + 1);
            const std::string next_sql = fmt::format(
                "SELECT name_key, tgid, start_ns, batch FROM dns_names INDEXED BY dns_names_by_name WHERE (name_key, "
                "tgid, start_ns) > (?1, ?2, ?3){} ORDER BY name_key, tgid, start_ns, batch LIMIT 1",
                hi.empty() ? "" : " AND name_key < ?4");
            // Past the last (name, process) read.
            std::string key = lo;
            int64_t tgid = -1, start_ns = INT64_MIN;
            size_t walked = 0;
            while (room) {
                bool any = false;
                int64_t batch = 0;
                auto next = [&](Stmt& s) {
                    any = true;
                    key = s.text(0);
                    tgid = s.int64(1);
                    start_ns = s.int64(2);
                    batch = s.int64(3);
                    return false;
                };
                auto st = hi.empty() ? each_until("dns_names", next_sql, {key, tgid, start_ns}, next)
                                     : each_until("dns_names", next_sql, {key, tgid, start_ns, hi}, next);
                if (!st) return st.error();
                if (!any) break;
                if (!wanted(key)) {
                    tgid = INT64_MAX;  // the next name
                    start_ns = INT64_MAX;
                    continue;
                }
                if (++walked > most) return false;
                // The boots of this (tgid, start_ns): its first row's, and
                // its last row's; when they differ, or another boot's run
                // lies between them (two boots' processes with the same PID
                // and start time: imported runs), every row's.
                int64_t last_batch = batch;
                st = each_until("dns_names",
                                "SELECT max(batch) FROM dns_names INDEXED BY dns_names_by_name WHERE name_key = ?1 AND "
                                "tgid = ?2 AND start_ns = ?3",
                                {key, tgid, start_ns}, [&](Stmt& s) {
                                    last_batch = s.int64(0);
                                    return false;
                                });
                if (!st) return st.error();
                std::set<std::string> boots;
                for (const RunRange& r : ranges_) {
                    if (r.first_batch != 0 && r.first_batch <= last_batch && r.last_batch >= batch)
                        boots.insert(r.boot_id);
                }
                if (boots.size() > 1) {
                    boots.clear();
                    st = each_until("dns_names",
                                    "SELECT batch FROM dns_names INDEXED BY dns_names_by_name WHERE name_key = ?1 AND "
                                    "tgid = ?2 AND start_ns = ?3",
                                    {key, tgid, start_ns}, [&](Stmt& s) {
                                        if (const RunRange* run = range_of(s.int64(0))) boots.insert(run->boot_id);
                                        return true;
                                    });
                    if (!st) return st.error();
                }
                for (const auto& boot : boots) {
                    if (!room) break;
                    if (auto done = on_process(boot, static_cast<uint32_t>(tgid), start_ns); !done) return done.error();
                }
            }
            return true;
        };
        // The names the glob can match, from its fixed end.
        const std::string lo = dns_glob_key_prefix(glob);
        const bool windowed = plan.since_wall_ns || plan.until_wall_ns;
        auto walked = scan_keys(
            lo, lo, [&](const std::string& key) { return dns_name_matches(glob, dns_name_of_key(key)); }, found,
            windowed ? plan.dns_pairs_before_window : SIZE_MAX);
        if (!walked) return walked.error();
        if (!*walked) {
            // Too many for the window: its processes, each by its rows, when
            // they are few; else the walk to its end.
            std::vector<Seed> alive;
            auto few = few_window_processes(plan, alive);
            if (!few) return few.error();
            if (*few) {
                seeds.clear();
                seed_keys_.clear();
                seeded.clear();
                room = true;
                // window_seeds gives a process once per row that named it.
                std::set<ProcessKey> seen;
                for (const Seed& p : alive) {
                    if (!room) break;
                    if (!seen.insert(model_.key_for(p.boot_id, p.tgid, p.start_ns)).second) continue;
                    auto match = rows_match(p, false);
                    if (!match) return match.error();
                    if (*match) room = add_seed(seeds, p);
                }
                return Ok{};
            }
            walked = scan_keys(
                lo, lo, [&](const std::string& key) { return dns_name_matches(glob, dns_name_of_key(key)); }, found,
                SIZE_MAX);
            if (!walked) return walked.error();
        }
        // The processes with part of a TCP message (key "").
        walked = scan_keys(
            "", std::string(1, '\x01'), [](const std::string& key) { return key.empty(); }, check_tcp, SIZE_MAX);
        if (!walked) return walked.error();
        return Ok{};
    }

    // The window's processes into `alive`, when there is a window and it
    // holds at most plan.binary_window_most of them (counted against that
    // limit, not the plan's): false otherwise. A window that more processes
    // started in is told by the fork index alone (schema version 9), without
    // walking them.
    Result<bool> few_window_processes(const LoadPlan& plan, std::vector<Seed>& alive) {
        if (!plan.since_wall_ns && !plan.until_wall_ns) return false;
        const size_t most_in_window = plan.binary_window_most;
        if (most_in_window == 0) return false;
        if (version_ >= 9) {
            auto started = started_in_window(plan, most_in_window == SIZE_MAX ? SIZE_MAX : most_in_window + 1);
            if (!started) return started.error();
            if (*started > most_in_window) return false;
        }
        const size_t limit = max_processes_;
        std::unordered_set<ProcessKey, ProcessKeyHash> counted;
        std::swap(counted, seed_keys_);
        max_processes_ = most_in_window;
        auto st = window_seeds(plan, alive);
        max_processes_ = limit;
        std::swap(counted, seed_keys_);
        const bool too_many_alive = seed_overflow_;
        seed_overflow_ = false;
        if (!st) return st.error();
        return !too_many_alive;
    }

    // The processes of a --binary query's window, when they are few: each
    // of them that never exec'd is walked up its fork rows to the first
    // process with an image of its own (an exec, or /proc's exe in a
    // snapshot row), and is a seed when that image matches. Following every
    // match's fork-only children down instead reads the fork-only churn of
    // every match in the journal (a common binary's over a year: whole
    // containers). With `own_images`, a process whose own image matches is a
    // seed too: the exec rows of a common binary over the journal's span are
    // then not read at all (binary_seeds). False when the window holds too
    // many processes for this to be the cheaper way.
    Result<bool> window_images(const LoadPlan& plan, const std::string& glob, std::vector<Seed>& seeds,
                               bool own_images) {
        std::vector<Seed> alive;
        if (auto few = few_window_processes(plan, alive); !few) {
            return few.error();
        } else if (!*few) {
            return false;
        }

        // What a process's own image says: 1 matches, 0 does not, -1 it has
        // none (it never exec'd and /proc never showed it), by process.
        std::map<ProcessKey, int> image_matches;
        auto own_image = [&](const Seed& p) -> Result<int> {
            const ProcessKey key = model_.key_for(p.boot_id, p.tgid, p.start_ns);
            if (auto it = image_matches.find(key); it != image_matches.end()) return it->second;
            const int64_t tick = model_.tick_ns(p.boot_id);
            const int64_t lo = sat_mul(static_cast<int64_t>(key.start_tick), tick), hi = sat_add(lo, tick);
            int found = -1;
            auto look = [&](Stmt& s) {
                const RunRange* run = range_of(s.int64(0));
                if (!run || run->boot_id != p.boot_id) return true;
                const int matches = binary_matches(glob, s.text(1)) ? 1 : 0;
                found = std::max(found, matches);
                return true;
            };
            auto st1 = each_until("exec",
                                  "SELECT batch, binary FROM exec INDEXED BY exec_by_proc WHERE tgid = ?1 AND "
                                  "start_ns >= ?2 AND start_ns < ?3",
                                  {int64_t{p.tgid}, lo, hi}, look);
            if (!st1) return st1.error();
            // The file an exec ran matches too (schema version 8).
            if (has_exec_files() && found == 0) {
                auto st = each_until("exec_files",
                                     "SELECT batch, path FROM exec_files INDEXED BY exec_files_by_proc WHERE tgid = ?1 "
                                     "AND start_ns >= ?2 AND start_ns < ?3",
                                     {int64_t{p.tgid}, lo, hi}, look);
                if (!st) return st.error();
            }
            auto st2 = each_until("snapshot",
                                  "SELECT batch, exe FROM snapshot INDEXED BY snapshot_by_proc WHERE tgid = ?1 AND "
                                  "start_ns >= ?2 AND start_ns < ?3",
                                  {int64_t{p.tgid}, lo, hi}, look);
            if (!st2) return st2.error();
            image_matches.emplace(key, found);
            return found;
        };
        auto forker = [&](const Seed& p) -> Result<std::optional<Seed>> {
            const int64_t tick = model_.tick_ns(p.boot_id);
            const int64_t lo = sat_mul(p.start_ns / tick, tick);
            std::optional<Seed> parent;
            auto st1 = each_until("fork",
                                  "SELECT batch, parent_tgid, parent_start_ns FROM fork INDEXED BY fork_by_child WHERE "
                                  "child_tgid = ?1 AND child_start_ns >= ?2 AND child_start_ns < ?3",
                                  {int64_t{p.tgid}, lo, sat_add(lo, tick)}, [&](Stmt& s) {
                                      const RunRange* run = range_of(s.int64(0));
                                      if (!run || run->boot_id != p.boot_id) return true;
                                      parent = Seed{p.boot_id, static_cast<uint32_t>(s.int64(1)), s.int64(2)};
                                      return false;
                                  });
            if (!st1) return st1.error();
            return parent;
        };
        // The image a fork-only process runs, by process, once found: the
        // processes of a window share their forkers (a container's init, a
        // prober's loop), so each fork chain is walked once.
        std::map<ProcessKey, bool> runs_match;
        for (const Seed& w : alive) {
            // Its own image: an exec or snapshot that matches was found by
            // the look-ups above; one that does not is not this query's.
            auto own = own_image(w);
            if (!own) return own.error();
            if (*own == 1 && own_images) {
                if (!add_seed(seeds, w)) return true;
                continue;
            }
            if (*own != -1) continue;
            std::vector<ProcessKey> path = {model_.key_for(w.boot_id, w.tgid, w.start_ns)};
            std::optional<Seed> up = w;
            bool matches = false;
            // A fork chain is as deep as the process tree; the bound only
            // stops a journal whose fork rows loop.
            for (int depth = 0; depth < 4096; ++depth) {
                auto parent = forker(*up);
                if (!parent) return parent.error();
                up = *parent;
                if (!up) break;
                const ProcessKey key = model_.key_for(up->boot_id, up->tgid, up->start_ns);
                if (auto known = runs_match.find(key); known != runs_match.end()) {
                    matches = known->second;
                    break;
                }
                auto image = own_image(*up);
                if (!image) return image.error();
                if (*image != -1) {
                    matches = *image == 1;
                    break;
                }
                path.push_back(key);
            }
            for (const ProcessKey& key : path) runs_match.emplace(key, matches);
            if (matches && !add_seed(seeds, w)) return true;
        }
        return true;
    }

    // How many processes the window's fork rows (fork_by_start, schema
    // version 9) say started in it, up to `most`: each is in the window
    // whatever its exit, so a lower bound of the processes window_seeds
    // would find.
    Result<size_t> started_in_window(const LoadPlan& plan, size_t most) {
        auto boots = boot_rowids("fork");
        if (!boots) return boots.error();
        size_t started = 0;
        for (const auto& [boot, rowids] : *boots) {
            if (started >= most) break;
            auto st = each("fork",
                           "SELECT count(*) FROM (SELECT 1 FROM fork INDEXED BY fork_by_start WHERE child_start_ns >= "
                           "?1 AND child_start_ns <= ?2 AND rowid >= ?3 AND rowid < ?4 LIMIT ?5)",
                           {since_in(plan, boot), until_in(plan, boot), rowids.first, rowids.second,
                            static_cast<int64_t>(std::min<size_t>(most - started, INT64_MAX))},
                           [&](Stmt& c) { started += static_cast<size_t>(c.int64(0)); });
            if (!st) return st.error();
        }
        return started;
    }

    // Every process whose life overlaps a bare window (version 4). Those
    // that exited, through exit_by_life: per order of magnitude of a life,
    // the exits from the window's start to its end plus that longest life.
    // Those with no exit row, which the model takes to live to the end of
    // the journal, by one pass over each boot's rows (through rowid ranges,
    // each row checked against the exit index): only such a pass can tell a
    // process the journal never saw end.
    Status window_seeds(const LoadPlan& plan, std::vector<Seed>& seeds) {
        for (const auto& [boot_key, batch_range] : boot_batches()) {
            // Named references, not the structured bindings, for the lambdas
            // below: clang (the fuzz build) does not capture bindings.
            const auto& boot = boot_key;
            const auto& batches = batch_range;
            const int64_t since = since_in(plan, boot), until = until_in(plan, boot);
            bool room = true;
            auto add = [&](Stmt& s) {
                const RunRange* run = range_of(s.int64(0));
                if (!run || run->boot_id != boot) return true;
                return room = add_seed(seeds, {boot, static_cast<uint32_t>(s.int64(1)), s.int64(2)});
            };
            int64_t longest = 1;
            for (int64_t digits = 1; digits <= 20 && room; ++digits) {
                longest = digits <= 18 ? longest * 10 : INT64_MAX;
                auto st = each_until("exit",
                                     "SELECT batch, tgid, start_ns FROM exit INDEXED BY exit_by_life WHERE "
                                     "length(time_ns - start_ns) = ?1 AND time_ns >= ?2 AND time_ns <= ?3 AND "
                                     "start_ns <= ?4",
                                     {digits, since, sat_add(until, longest), until}, add);
                if (!st) return st;
            }
            // The boot's rows from batch `first` through `last`, table by
            // table (a range of rowids each), that name a process started by
            // the window's end and that no exit row of the boot ends.
            const int64_t tick = model_.tick_ns(boot);
            auto unended = [&](const char* table, const char* tgid, const char* start, const char* also,
                               int64_t from_rowid, int64_t to_rowid) {
                return each_until(
                    table,
                    fmt::format("SELECT batch, {1}, {2} FROM {0} WHERE rowid >= ?1 AND rowid < ?2 AND {2} <= ?3{3} AND "
                                "NOT EXISTS (SELECT 1 FROM exit x INDEXED BY exit_by_proc WHERE x.tgid = {0}.{1} AND "
                                "x.start_ns >= {0}.{2} - {0}.{2} % ?4 AND x.start_ns < {0}.{2} - {0}.{2} % ?4 + ?4 AND "
                                "x.batch >= ?5 AND x.batch <= ?6)",
                                table, tgid, start, also),
                    {from_rowid, to_rowid, until, tick, batches.first, batches.second}, add);
            };
            auto pass = [&](int64_t first, int64_t last) -> Status {
                struct Pass {
                    ChainTable table;
                    const char* tgid;
                    const char* start;
                    const char* also;
                };
                std::vector<Pass> passes = {{ChainTable::snapshot, "tgid", "start_ns", ""},
                                            {ChainTable::fork, "child_tgid", "child_start_ns", ""},
                                            {ChainTable::exec, "tgid", "start_ns", ""},
                                            {ChainTable::connect, "tgid", "start_ns", ""}};
                // 'alive' rows restate the others, and a full load skips them.
                if (has_memberships())
                    passes.push_back({ChainTable::memberships, "tgid", "start_ns", " AND how != 'alive'"});
                if (has_carried()) passes.push_back({ChainTable::carried, "tgid", "start_ns", ""});
                for (const Pass& p : passes) {
                    if (!room || first > last) break;
                    const char* table = table_name(p.table);
                    auto from = first_rowid_in_batch(table, first);
                    if (!from) return from.error();
                    auto to = first_rowid_in_batch(table, sat_add(last, 1));
                    if (!to) return to.error();
                    if (auto st = unended(table, p.tgid, p.start, p.also, *from, *to); !st) return st;
                }
                return Ok{};
            };
            // A process that never exited ends where its boot's journal ends
            // (in_window): none of a boot over before the window is in it,
            // once no other journal can extend the boot.
            if (plan.sole_journal && plan.since_wall_ns && boot_ends_by(boot, sat_sub(since, 1))) continue;
            // The boot's last set of such processes (version 5), when it has
            // one: its members, then the rows after it, and the rows before
            // the batch it accounts from. Without one, every row of the boot.
            auto set = last_unexited_set(boot, batches.first, batches.second);
            if (!set) return set.error();
            if (!set->header_rowid) {
                if (auto st = pass(batches.first, batches.second); !st) return st;
                continue;
            }
            if (auto st = pass(batches.first, set->from_batch - 1); !st) return st;
            if (room) {
                if (auto st = unended("unexited", "tgid", "start_ns", " AND tgid != 0", set->header_rowid + 1,
                                      set->end_rowid);
                    !st)
                    return st;
            }
            if (auto st = pass(set->batch + 1, batches.second); !st) return st;
        }
        return Ok{};
    }

    // The last set of table unexited in a boot's batches first..last: its
    // header's rowid (0 when there is none), its batch, the first batch it
    // accounts for, and the rowid after its last member. A set is all in
    // one batch, its header first.
    struct UnexitedSet {
        int64_t header_rowid = 0;
        int64_t batch = 0;
        int64_t from_batch = 0;
        int64_t end_rowid = 0;
    };
    Result<UnexitedSet> last_unexited_set(const std::string& boot, int64_t first, int64_t last) {
        UnexitedSet set;
        if (!table_in_version(ChainTable::unexited, version_)) return set;
        auto end = first_rowid_in_batch("unexited", sat_add(last, 1));
        if (!end) return end.error();
        // Backwards over the last set's members to its header: as many rows
        // as the set has.
        auto st = each("unexited",
                       "SELECT rowid, batch, from_batch FROM unexited NOT INDEXED WHERE rowid < ?1 AND tgid = 0 "
                       "ORDER BY rowid DESC LIMIT 1",
                       {*end}, [&](Stmt& s) {
                           set.header_rowid = s.int64(0);
                           set.batch = s.int64(1);
                           set.from_batch = s.int64(2);
                       });
        if (!st) return st.error();
        const RunRange* run = set.header_rowid ? range_of(set.batch) : nullptr;
        // Another boot's (journals whose boots interleave, as an import may
        // make them): none of this boot's.
        if (!run || run->boot_id != boot || set.batch < first) return UnexitedSet{};
        auto after = first_rowid_in_batch("unexited", sat_add(set.batch, 1));
        if (!after) return after.error();
        set.end_rowid = *after;
        return set;
    }

    // Runs sql with one or two BLOB parameters (an empty second one is not
    // bound) and calls fn(stmt) per row until it returns false.
    template <typename Fn>
    Status each_blobs(const std::string& what, const std::string& sql, const std::string& first,
                      const std::string& second, Fn&& fn) {
        auto& stmt = cached(sql);
        if (!stmt) return fail(what);
        stmt->reset();
        sqlite3_bind_blob(stmt->get(), 1, first.data(), static_cast<int>(first.size()), SQLITE_TRANSIENT);
        if (!second.empty())
            sqlite3_bind_blob(stmt->get(), 2, second.data(), static_cast<int>(second.size()), SQLITE_TRANSIENT);
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) {
            ++rows_read_;
            if (!fn(*stmt.get())) return Ok{};
        }
        if (rc != SQLITE_DONE) return fail(what);
        return Ok{};
    }

    // --new. Rows are appended in batch order, which is wall-clock order
    // (unless a node's clock was set back), so an index's entries for one
    // key come in rowid order, earliest first: a look-up stops at the first
    // row that matches, or at the first row not before the answer's own.
    std::optional<int64_t> wall_of_row(const Model& clock, int64_t batch, int64_t boot_ns) const {
        const RunRange* run = range_of(batch);
        if (!run) return std::nullopt;
        return clock.to_wall(run->boot_id, boot_ns);
    }
    static void earliest(std::map<BinaryKey, int64_t>& found, const BinaryKey& key, int64_t wall) {
        auto [it, fresh] = found.try_emplace(key, wall);
        if (!fresh) it->second = std::min(it->second, wall);
    }

    // The first exec of a binary in a pod, through two indexes at once: the
    // rows of its path (exec_by_binary; exec_by_base, its base name's,
    // before version 6) and, in a pod, the pod's rows
    // (exec_by_pod). Both hold every row that can match, in rowid order, so
    // the first match either finds is the first; stepping them in turn
    // costs twice the smaller of the two, not the larger (a common binary
    // new in a busy pod is where both are long).
    Status exec_precedent(const Model& clock, const BinaryKey& key, int64_t before, Precedents& out) {
        // Version 6: the path's own rows (exec_by_binary); before, those of
        // its base name (exec_by_base), the path checked below.
        auto& by_base =
            cached(version_ >= 6
                       ? std::string("SELECT batch, time_ns, pod_uid, binary FROM exec INDEXED BY exec_by_binary WHERE "
                                     "binary = ?1")
                       : fmt::format("SELECT batch, time_ns, pod_uid, binary FROM exec INDEXED BY exec_by_base WHERE "
                                     "{} = {}",
                                     base_expr("binary"), base_expr("?1")));
        if (!by_base) return fail("exec");
        by_base->reset();
        by_base->bind_blob(1, key.binary);
        std::vector<Stmt*> cursors{by_base.get()};
        if (!key.pod_uid.empty()) {
            auto& by_pod = cached(
                "SELECT batch, time_ns, pod_uid, binary FROM exec INDEXED BY exec_by_pod WHERE pod_uid = ?1 AND "
                "pod_uid != ''");
            if (!by_pod) return fail("exec");
            by_pod->reset();
            by_pod->bind(1, std::string_view(key.pod_uid));
            cursors.push_back(by_pod.get());
        }
        Status st = Ok{};
        for (size_t turn = 0;; turn = (turn + 1) % cursors.size()) {
            Stmt& s = *cursors[turn];
            const int rc = s.step();
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) {
                st = fail("exec");
                break;
            }
            ++rows_read_;
            const auto wall = wall_of_row(clock, s.int64(0), s.int64(1));
            if (!wall) continue;
            if (*wall >= before) break;
            if (s.text(2) == key.pod_uid && s.blob(3) == key.binary) {
                earliest(out.binaries, key, *wall);
                break;
            }
        }
        for (Stmt* s : cursors) s->reset();
        return st;
    }

    // A process that was running when a run started: /proc's exe, seen
    // then (the snapshot table is a few hundred rows a run).
    Status snapshot_precedent(const Model& clock, const BinaryKey& key, int64_t before, Precedents& out) {
        std::optional<int64_t> found;
        auto st = each_blobs("snapshot",
                             fmt::format("SELECT batch, time_ns, pod_uid, exe FROM snapshot INDEXED BY "
                                         "snapshot_by_base WHERE {} = {}",
                                         base_expr("exe"), base_expr("?1")),
                             key.binary, "", [&](Stmt& s) {
                                 const auto wall = wall_of_row(clock, s.int64(0), s.int64(1));
                                 if (!wall) return true;
                                 if (*wall >= before) return false;
                                 if (s.text(2) != key.pod_uid || s.blob(3) != key.binary) return true;
                                 found = *wall;
                                 return false;
                             });
        if (found) earliest(out.binaries, key, *found);
        return st;
    }

    // The first connects of one pod to the answer's destinations. The
    // connect table is indexed by process only, so the pod's processes are
    // listed through the pod's indexes (memberships_by_pod, or exec_by_pod
    // before schema version 3, and snapshot_by_pod), up to the answer's
    // latest first connect, and each one's connects looked up
    // (connect_by_proc): the cost is one look-up per process the pod ran
    // before the answer, whatever the rest of the journal holds. It stops
    // once every destination has an earlier connect.
    Status connect_precedents(const Model& clock, const std::string& pod, std::map<DestinationKey, int64_t>& pending,
                              Precedents& out) {
        int64_t bound = INT64_MIN;
        for (const auto& [key, before] : pending) bound = std::max(bound, before);
        DestinationKey probe{pod, "", 0};
        auto visit = [&](int64_t batch, int64_t tgid, int64_t start_ns) -> Status {
            const RunRange* run = range_of(batch);
            if (!run) return Ok{};
            const std::string& boot = run->boot_id;
            const int64_t tick = model_.tick_ns(boot);
            const int64_t lo = sat_mul(start_ns / tick, tick);
            return each("connect",
                        "SELECT batch, time_ns, daddr, dport FROM connect INDEXED BY connect_by_proc WHERE tgid = ?1 "
                        "AND start_ns >= ?2 AND start_ns < ?3",
                        {tgid, lo, sat_add(lo, tick)}, [&](Stmt& s) {
                            const RunRange* at = range_of(s.int64(0));
                            if (!at || at->boot_id != boot) return;
                            probe.daddr = s.text(2);
                            probe.dport = static_cast<uint16_t>(s.int64(3));
                            auto it = pending.find(probe);
                            if (it == pending.end()) return;
                            const int64_t wall = clock.to_wall(boot, s.int64(1));
                            if (wall >= it->second) return;
                            auto [seen, fresh] = out.destinations.try_emplace(probe, wall);
                            if (!fresh) seen->second = std::min(seen->second, wall);
                            pending.erase(it);
                        });
        };
        Status row_status = Ok{};
        auto each_process = [&](Stmt& s) {
            const auto wall = wall_of_row(clock, s.int64(0), s.int64(3));
            if (!wall || *wall >= bound) return true;
            row_status = visit(s.int64(0), s.int64(1), s.int64(2));
            return row_status && !pending.empty();
        };
        auto st = each_until("snapshot",
                             "SELECT batch, tgid, start_ns, time_ns FROM snapshot INDEXED BY snapshot_by_pod WHERE "
                             "pod_uid = ?1 AND pod_uid != ''",
                             {pod}, each_process);
        if (!st) return st;
        if (!row_status || pending.empty()) return row_status;
        if (has_memberships()) {
            // Ordered by each boot's clock: bounded by the latest boot time
            // the bound can be in any of them, each row checked after.
            int64_t until = INT64_MIN;
            for (const auto& r : ranges_) {
                if (r.first_batch != 0) until = std::max(until, sat_add(clock.to_boot(r.boot_id, bound), kMargin));
            }
            st = each_until("memberships",
                            "SELECT batch, tgid, start_ns, time_ns FROM memberships INDEXED BY memberships_by_pod "
                            "WHERE pod_uid = ?1 AND pod_uid != '' AND time_ns <= ?2 AND how != 'alive'",
                            {pod, until}, each_process);
        } else {
            st = each_until("exec",
                            "SELECT batch, tgid, start_ns, time_ns FROM exec INDEXED BY exec_by_pod WHERE pod_uid = "
                            "?1 AND pod_uid != ''",
                            {pod}, [&](Stmt& s) {
                                const auto wall = wall_of_row(clock, s.int64(0), s.int64(3));
                                if (wall && *wall >= bound) return false;
                                return each_process(s);
                            });
        }
        if (!st) return st;
        return row_status;
    }

    // Whether reading the tables whole costs less than looking up `seeds`
    // one by one (LoadPlan::whole_rows_per_process): the tables' rows,
    // counted from the ends of their rowids (at least their rows, however
    // the journal was edited), against the distinct processes seeded. And
    // only when the whole journal's processes are within the plan's limit
    // (each has a row): a whole load then stops where the targeted one
    // would not.
    Result<bool> whole_is_cheaper(const LoadPlan& plan, const std::vector<Seed>& seeds) {
        if (plan.whole_rows_per_process == 0 || seeds.empty()) return false;
        std::vector<std::pair<uint32_t, int64_t>> distinct;
        distinct.reserve(seeds.size());
        for (const Seed& s : seeds) distinct.emplace_back(s.tgid, s.start_ns);
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        const int64_t budget =
            sat_mul(static_cast<int64_t>(distinct.size()), static_cast<int64_t>(plan.whole_rows_per_process));
        std::vector<ChainTable> tables = {ChainTable::snapshot, ChainTable::fork, ChainTable::exec, ChainTable::exit,
                                          ChainTable::connect};
        if (has_exec_files()) {
            tables.push_back(ChainTable::exec_files);
            tables.push_back(ChainTable::listens);
        }
        if (has_dns()) tables.push_back(ChainTable::dns);
        if (has_memberships()) {
            tables.push_back(ChainTable::memberships);
            tables.push_back(ChainTable::cgroups);
        }
        if (has_carried()) tables.push_back(ChainTable::carried);
        int64_t rows = 0;
        for (ChainTable t : tables) {
            const char* name = table_name(t);
            auto st = each(name, rowid_span_sql(name), {},
                           [&](Stmt& s) { rows = sat_add(rows, std::max<int64_t>(s.int64(0), 0)); });
            if (!st) return st.error();
            if (rows > budget) return false;
        }
        return max_processes_ == 0 || rows <= static_cast<int64_t>(max_processes_);
    }

    Status load_targeted(const LoadPlan& plan) {
        parents_ = plan.ancestors;
        std::vector<Seed> seeds;
        bool by_window = false;  // the seeds are the window's processes
        if (plan.pid) {
            if (auto st = seeds_for_pid(*plan.pid, seeds); !st) return st;
        } else if (plan.pod) {
            // A pod is named by name, namespace/name or UID; its processes
            // are found through the exec rows' pod_uid index.
            // The names are the model's (Model::pod_name): the selector
            // matches exactly what the tree's header shows.
            std::set<std::string> uids;
            for (const auto& uid : model_.named_pods()) {
                const PodNameRecord name = model_.pod_name(uid);
                if (pod_selector_matches(*plan.pod, uid, name.name, name.namespace_)) uids.insert(uid);
            }
            uids.insert(*plan.pod);  // a UID the recorder could not name
            if (auto st = pod_seeds(uids, plan, seeds); !st) return st;
        } else if (plan.sha256) {
            if (auto st = sha256_seeds(plan, seeds); !st) return st;
        } else if (plan.dns_glob) {
            if (auto st = dns_seeds(plan, seeds); !st) return st;
        } else if (plan.binary_glob) {
            if (auto st = binary_seeds(plan, seeds); !st) return st;
        } else if (plan.namespace_ || plan.container || plan.image) {
            auto uids = pods_of(plan);
            if (!uids) return uids.error();
            if (auto st = pod_seeds(*uids, plan, seeds); !st) return st;
        } else if (!plan.descendants_of) {
            if (auto st = window_seeds(plan, seeds); !st) return st;
            by_window = true;
        }
        if (seed_overflow_) return too_many();
        // Descendants: every process forked, directly or not, by a seed.
        std::vector<Seed> frontier;
        if (plan.descendants_of) {
            if (auto st = seeds_for_pid(*plan.descendants_of, frontier); !st) return st;
            std::set<ProcessKey> expanded;
            while (!frontier.empty()) {
                Seed s = frontier.back();
                frontier.pop_back();
                if (!add_seed(seeds, s)) return too_many();
                ProcessKey key = model_.key_for(s.boot_id, s.tgid, s.start_ns);
                if (!expanded.insert(key).second) continue;
                int64_t tick = model_.tick_ns(s.boot_id);
                int64_t lo = sat_mul(static_cast<int64_t>(key.start_tick), tick);
                auto st =
                    each("fork",
                         "SELECT batch, child_tgid, child_start_ns FROM fork INDEXED BY fork_by_parent WHERE "
                         "parent_tgid = ?1 AND "
                         "parent_start_ns >= ?2 AND parent_start_ns < ?3",
                         {int64_t{s.tgid}, lo, sat_add(lo, tick)}, [&](Stmt& row) {
                             const RunRange* run = range_of(row.int64(0));
                             if (run && run->boot_id == s.boot_id)
                                 frontier.push_back({s.boot_id, static_cast<uint32_t>(row.int64(1)), row.int64(2)});
                         });
                if (!st) return st;
            }
        }
        if (auto whole = whole_is_cheaper(plan, seeds); !whole) {
            return whole.error();
        } else if (*whole) {
            return load_all();
        }
        // Each seed, then its ancestors, up to the top of what is known:
        // first those that started close together, table by table
        // (load_started: a window's, then clusters), then the rest one by
        // one.
        std::vector<Seed> parents;
        bool first = true;
        while (!seeds.empty()) {
            if (version_ >= 9) {
                if (auto st = load_started(plan, seeds, by_window && first, parents); !st) return st;
            }
            first = false;
            // In the order of the tables' (tgid, start_ns) indexes: each
            // look-up then lands on or next to the b-tree pages the one
            // before it read, which SQLite's page cache still holds.
            std::sort(seeds.begin(), seeds.end(), [](const Seed& a, const Seed& b) {
                return std::tie(a.tgid, a.start_ns, a.boot_id) < std::tie(b.tgid, b.start_ns, b.boot_id);
            });
            for (const auto& seed : seeds) {
                if (auto st = load_process(seed, parents); !st) return st;
                if (over_limit(model_.processes().size())) return too_many();
            }
            if (!plan.ancestors) break;
            seeds = std::move(parents);
            parents.clear();
        }
        return orphans_check();
    }

    JournalReader& reader_;
    Database& db_;
    Model& model_;
    int64_t version_ = 1;  // the journal's schema version
    std::vector<RunRange> ranges_;
    std::map<std::string, std::map<std::string, std::pair<int64_t, int64_t>>> boot_rowids_;  // by table, then boot
    int64_t first_batch_ = 0, max_batch_ = 0;                                                // 0: no batch
    std::vector<std::pair<int64_t, std::string>> run_first_batches_;  // (runs.batch, boot) in run order
    int64_t pruned_through_ = 0;                                      // the latest prune's through_batch
    std::map<CgroupKey, CgroupRow> cgroups_;
    std::set<uint64_t> cgroup_ids_read_;
    bool all_cgroups_ = false;
    std::map<std::string, std::unique_ptr<Stmt>> statements_;
    std::array<Stmt*, q_count> process_stmts_{};  // process_stmt(), into statements_
    bool parents_ = true;                         // LoadPlan::ancestors
    bool files_ = true;                           // LoadPlan::executed_files
    bool arguments_ = true;                       // LoadPlan::arguments
    // pod_ref's last cgroup path and what parse_kube_cgroup made of it.
    std::string last_cgroup_path_, last_kube_pod_, last_kube_container_;
    std::array<int8_t, kChainTableCount + 1> has_rows_ = [] {  // has_rows(), by ChainTable: -1 not asked yet
        std::array<int8_t, kChainTableCount + 1> a{};
        a.fill(-1);
        return a;
    }();
    std::unordered_set<ProcessKey, ProcessKeyHash> loaded_;
    // exec_files rows waiting for their exec rows (on_exec_file): one
    // process's in a targeted load, every row in a whole one.
    using FileOf = std::tuple<std::string, uint32_t, uint64_t, uint64_t>;  // (boot, tgid, start_ns, time_ns)
    std::map<FileOf, ExecFile> pending_files_;
    std::vector<std::pair<int64_t, uint32_t>> last_snapshot_runs_;  // (run, ppid) of snapshot rows just added
    size_t orphan_rows_ = 0;
    size_t max_processes_ = 0;                                  // LoadPlan::max_processes
    std::unordered_set<ProcessKey, ProcessKeyHash> seed_keys_;  // the processes seeded, when there is a limit
    bool seed_overflow_ = false;                                // the seeds alone passed the limit
    size_t rows_read_ = 0;                                      // added to the reader's by the destructor
};

Status JournalReader::load_into(Model& model, const LoadPlan& plan) {
    return JournalLoader(*this, db_, model).load(plan);
}

Status JournalReader::load_into(Model& model, const LoadPlan& plan, Database& db) {
    return JournalLoader(*this, db, model).load(plan);
}

Status JournalReader::find_precedents(const Model& model, const PrecedentQuery& query, Precedents& out) {
    // The loader's metadata goes into a model of its own: `model` already
    // has it, and is only asked for its clock.
    Model meta;
    return JournalLoader(*this, db_, meta).precedents(model, query, out);
}

}  // namespace lineage

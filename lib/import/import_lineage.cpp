// lineage import --from lineage: export lines back into a journal.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "argv.h"
#include "event.h"
#include "hashchain.h"
#include "import.h"
#include "import_util.h"
#include "journal_writer.h"
#include "provenance.h"
#include "version.h"

namespace lineage {

namespace {

using nlohmann::json;
using namespace import_detail;

constexpr const char* kFormatTag = "lineage-export-1";

// A line's field that must be there, of the right type: a json exception
// (caught per line) otherwise.
int64_t i64(const json& o, const char* k) {
    return o.at(k).get<int64_t>();
}
std::string str(const json& o, const char* k) {
    return o.at(k).get<std::string>();
}

std::string bytes_of(const json& o, const std::string& k) {
    if (auto it = o.find(k + "_b64"); it != o.end()) {
        auto raw = base64_decode(it->get<std::string>());
        if (!raw) throw std::runtime_error(k + "_b64 is not base64");
        return *raw;
    }
    return o.at(k).get<std::string>();
}

std::string argv_of(const json& process) {
    if (auto it = process.find("args_b64"); it != process.end()) {
        auto raw = base64_decode(it->get<std::string>());
        if (!raw) throw std::runtime_error("args_b64 is not base64");
        return *raw;
    }
    std::vector<std::string> args;
    for (const auto& a : process.at("args")) args.push_back(a.get<std::string>());
    return join_argv(args);
}

std::string pod_uid_of(const json& line) {
    const json& pod = line.at("pod");
    return pod.is_null() ? std::string() : str(pod, "uid");
}

// A 32-bit column (uid, mode, flags...): a value out of its range is
// malformed, not cut.
uint32_t u32(const json& o, const char* k) {
    const int64_t v = i64(o, k);
    if (v < 0 || v > int64_t{UINT32_MAX}) throw std::runtime_error(fmt::format("{} is out of range", k));
    return static_cast<uint32_t>(v);
}

Credentials credentials_of(const json& c) {
    return Credentials{u32(c, "uid"),
                       u32(c, "gid"),
                       u32(c, "euid"),
                       u32(c, "egid"),
                       static_cast<uint64_t>(i64(c, "cap_permitted")),
                       static_cast<uint64_t>(i64(c, "cap_effective"))};
}

ProcRef proc_of(const json& process) {
    return {static_cast<uint32_t>(i64(process, "tgid")), static_cast<uint64_t>(i64(process, "start_ns"))};
}

class Importer {
public:
    Importer(JournalWriter& w, ImportReport& report) : w_(w), report_(report) {}

    Status file(const std::string& path) {
        auto sha = sha256_of_file(path);
        if (!sha) return sha.error();
        sha_ = *sha;
        file_ = path;
        std::ifstream in(path, std::ios::binary);
        if (!in) return Error{fmt::format("{}: cannot open", path)};
        std::string line;
        int64_t number = 0;
        bool first = true;
        while (std::getline(in, line)) {
            ++number;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            ++report_.lines;
            json j = json::parse(line, nullptr, false);
            // A store's row of lineage.events (schema/clickhouse.sql) as
            // JSONEachRow, {"line": "<the exported line>"}: the line.
            if (j.is_object() && !j.contains("schema")) {
                if (auto it = j.find("line"); it != j.end() && it->is_string()) {
                    j = json::parse(it->get<std::string>(), nullptr, false);
                }
            }
            if (first) {
                first = false;
                if (j.is_discarded() || !j.is_object() || j.value("schema", "") != kFormatTag) {
                    return Error{fmt::format(
                        "{}:{}: not a line of lineage export --format jsonl (no \"schema\": \"{}\"); refused, "
                        "nothing imported",
                        path, number, kFormatTag)};
                }
            }
            std::string why;
            if (j.is_discarded() || !j.is_object()) {
                why = "not a JSON object";
            } else {
                try {
                    auto st = one(j);
                    if (!st) return st;  // the journal could not be written: stop
                } catch (const std::exception& e) {
                    // Every field is read before the writer is called, so a
                    // line that fails here has written nothing.
                    why = e.what();
                }
            }
            if (!why.empty()) malformed(report_, path, number, why);
        }
        if (in.bad()) return Error{fmt::format("{}: read error", path)};
        return finish_run(std::nullopt);
    }

private:
    // Commits what is open and leaves the run (a run without its stop line
    // stays without a stop row, as the original did).
    Status finish_run(std::optional<int64_t> commit_ns) {
        if (!w_.batch_open()) return Ok{};
        if (auto st = w_.commit(commit_ns.value_or(last_ns_)); !st) return st;
        ++report_.batches;
        return Ok{};
    }

    Status one(const json& j) {
        const std::string kind = str(j, "kind");
        const int64_t time_ns = i64(j, "time_ns");
        const std::string run_key = str(j, "journal_id") + ":" + std::to_string(i64(j, "run"));
        if (kind != "run_start" && run_key != run_key_) {
            // A line of a run whose start line was not given (a query
            // result, a cursor's later part): the run is made from the line.
            if (auto st = start_run(j, nullptr); !st) return st;
        }
        last_ns_ = time_ns;
        if (kind == "run_start") return start_run(j, &j.at("run_start"));
        if (kind == "clock") {
            const json& c = j.at("clock");
            if (i64(c, "boot_ns") == run_started_ns_ && i64(c, "wall_ns") == run_started_wall_ns_) {
                ++report_.skipped;  // begin_run wrote the run's start sample already
                return Ok{};
            }
            return row(w_.add_clock_sample(i64(c, "boot_ns"), i64(c, "wall_ns")));
        }
        if (kind == "pod_name") {
            const json& p = j.at("pod_name");
            return row(
                w_.add_pod(str(p, "uid"), str(p, "name"), str(p, "namespace"), pod_name_source_from(str(p, "source"))));
        }
        if (kind == "snapshot") {
            const json& p = j.at("process");
            const json& s = j.at("snapshot");
            SnapshotRow r;
            r.time_ns = time_ns;
            r.tgid = static_cast<uint32_t>(i64(p, "tgid"));
            r.nspid = static_cast<uint32_t>(i64(p, "nspid"));
            r.ppid = static_cast<uint32_t>(i64(s, "ppid"));
            r.start_ns = static_cast<uint64_t>(i64(p, "start_ns"));
            r.uid = static_cast<uint32_t>(i64(s, "uid"));
            r.gid = static_cast<uint32_t>(i64(s, "gid"));
            r.euid = static_cast<uint32_t>(i64(s, "euid"));
            r.comm = bytes_of(p, "comm");
            r.exe = bytes_of(p, "binary");
            r.argv = argv_of(p);
            r.cgroup_path = bytes_of(s, "cgroup_path");
            r.nodename = bytes_of(s, "nodename");
            return row(w_.add_snapshot(r, pod_uid_of(j)));
        }
        if (kind == "fork") {
            const json& parent = j.at("parent");
            ForkEvent e;
            e.time_ns = static_cast<uint64_t>(time_ns);
            e.child = proc_of(j.at("process"));
            e.parent = {static_cast<uint32_t>(i64(parent, "tgid")), static_cast<uint64_t>(i64(parent, "start_ns"))};
            e.parent_comm = bytes_of(j.at("fork"), "parent_comm");
            return row(w_.add(Event{e}, ""));
        }
        if (kind == "exec") {
            const json& p = j.at("process");
            const json& x = j.at("exec");
            ExecEvent e;
            e.time_ns = static_cast<uint64_t>(time_ns);
            e.proc = proc_of(p);
            e.parent = {static_cast<uint32_t>(i64(x, "real_parent_tgid")),
                        static_cast<uint64_t>(i64(x, "real_parent_start_ns"))};
            e.nspid = static_cast<uint32_t>(i64(p, "nspid"));
            e.old_tid = static_cast<uint32_t>(i64(x, "old_tid"));
            e.uid = static_cast<uint32_t>(i64(x, "uid"));
            e.gid = static_cast<uint32_t>(i64(x, "gid"));
            e.euid = static_cast<uint32_t>(i64(x, "euid"));
            e.truncated = static_cast<uint32_t>(i64(x, "truncated"));
            e.cgroup_id = static_cast<uint64_t>(i64(x, "cgroup_id"));
            e.comm = bytes_of(p, "comm");
            e.parent_comm = bytes_of(x, "real_parent_comm");
            e.nodename = bytes_of(x, "nodename");
            e.cgroup_path = bytes_of(x, "cgroup_path");
            e.binary = bytes_of(p, "binary");
            e.argv = argv_of(p);
            return row(w_.add(Event{e}, pod_uid_of(j)));
        }
        if (kind == "exec_file") {
            const json& f = j.at("exec_file");
            ExecFile file;
            file.path = bytes_of(f, "path");
            file.dev = static_cast<uint64_t>(i64(f, "dev"));
            file.ino = static_cast<uint64_t>(i64(f, "inode"));
            file.nlink = u32(f, "links");
            file.size = static_cast<uint64_t>(i64(f, "size"));
            file.mode = u32(f, "mode");
            file.mtime_ns = i64(f, "mtime_ns");
            // The integer, not the booleans beside it: a bit this version
            // does not know is kept.
            file.flags = u32(f, "flags");
            file.interpreter = bytes_of(f, "interpreter");
            file.before = credentials_of(f.at("before"));
            file.after = credentials_of(f.at("after"));
            // Written alone, not with its exec line: a store's query may
            // give the two in either order (they share their time).
            return row(w_.add_exec_file(static_cast<uint64_t>(time_ns), proc_of(j.at("process")), file));
        }
        if (kind == "file_hash") {
            const json& h = j.at("file_hash");
            FileHashRow r;
            r.time_ns = time_ns;
            r.key.dev = static_cast<uint64_t>(i64(h, "dev"));
            r.key.ino = static_cast<uint64_t>(i64(h, "inode"));
            r.key.size = static_cast<uint64_t>(i64(h, "size"));
            r.key.mtime_ns = i64(h, "mtime_ns");
            r.path = bytes_of(h, "path");
            r.sha256 = str(h, "sha256");
            r.problem = str(h, "problem");
            if (r.sha256.empty() == r.problem.empty())
                throw std::runtime_error("file_hash has both a sha256 and a problem, or neither");
            if (!r.sha256.empty() &&
                (r.sha256.size() != 64 || r.sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
                throw std::runtime_error("file_hash.sha256 is not 64 lower-case hex digits");
            return row(w_.add_file_hash(r));
        }
        if (kind == "listen") {
            const json& l = j.at("listen");
            ListenEvent e;
            e.time_ns = static_cast<uint64_t>(time_ns);
            e.proc = proc_of(j.at("process"));
            e.family = static_cast<int>(i64(l, "family"));
            if (e.family != 4 && e.family != 6) throw std::runtime_error("listen.family is not 4 or 6");
            e.addr = str(l, "addr");
            const int64_t port = i64(l, "port");
            if (port < 0 || port > 65535) throw std::runtime_error("listen.port is not a port");
            e.port = static_cast<uint16_t>(port);
            return row(w_.add(Event{e}, ""));
        }
        if (kind == "dns") {
            // A line of a process's, or (no "process") of a message the
            // probe could not tell the process of.
            const json& d = j.at("dns");
            DnsEvent e;
            e.time_ns = static_cast<uint64_t>(time_ns);
            if (j.contains("process")) e.proc = proc_of(j.at("process"));
            const std::string direction = str(d, "direction"), transport = str(d, "transport");
            if (direction != "sent" && direction != "received")
                throw std::runtime_error("dns.direction is not sent or received");
            if (transport != "udp" && transport != "tcp") throw std::runtime_error("dns.transport is not udp or tcp");
            e.sent = direction == "sent";
            e.tcp = transport == "tcp";
            e.family = static_cast<int>(i64(d, "family"));
            if (e.family != 4 && e.family != 6) throw std::runtime_error("dns.family is not 4 or 6");
            e.saddr = str(d, "saddr");
            e.daddr = str(d, "daddr");
            for (const char* k : {"sport", "dport"}) {
                const int64_t port = i64(d, k);
                if (port < 0 || port > 65535) throw std::runtime_error(std::string("dns.") + k + " is not a port");
                (std::string_view(k) == "sport" ? e.sport : e.dport) = static_cast<uint16_t>(port);
            }
            const int64_t length = i64(d, "length");
            if (length < 0 || length > UINT32_MAX) throw std::runtime_error("dns.length is out of range");
            e.length = static_cast<uint32_t>(length);
            auto message = base64_decode(str(d, "message_b64"));
            if (!message) throw std::runtime_error("dns.message_b64 is not base64");
            e.message = std::move(*message);
            return row(w_.add(Event{e}, ""));
        }
        if (kind == "exit") {
            const json& x = j.at("exit");
            ExitEvent e;
            e.time_ns = static_cast<uint64_t>(time_ns);
            e.proc = proc_of(j.at("process"));
            e.code = static_cast<int>(i64(x, "code"));
            e.signal = static_cast<int>(i64(x, "signal"));
            e.core_dumped = x.at("core_dumped").get<bool>();
            e.comm = bytes_of(x, "comm");
            return row(w_.add(Event{e}, ""));
        }
        if (kind == "connect") {
            const json& c = j.at("connect");
            ConnectEvent e;
            e.time_ns = static_cast<uint64_t>(time_ns);
            e.outcome_ns = static_cast<uint64_t>(i64(c, "outcome_ns"));
            e.proc = proc_of(j.at("process"));
            e.family = static_cast<int>(i64(c, "family"));
            e.saddr = str(c, "saddr");
            e.sport = static_cast<uint16_t>(i64(c, "sport"));
            e.daddr = str(c, "daddr");
            e.dport = static_cast<uint16_t>(i64(c, "dport"));
            e.established = str(c, "result") == "established";
            e.outcome_known = str(c, "result") != "unknown";
            return row(w_.add(Event{e}, ""));
        }
        if (kind == "container") {
            const json& c = j.at("container");
            ContainerRow r;
            r.time_ns = time_ns;
            r.container_id = str(c, "id");
            r.pod_uid = str(c, "pod_uid");
            r.pod_name = str(c, "pod_name");
            r.pod_namespace = str(c, "pod_namespace");
            r.name = str(c, "name");
            r.image = str(c, "image");
            r.type = str(c, "type");
            r.source = str(c, "source");
            r.path = bytes_of(c, "path");
            r.problem = str(c, "problem");
            return row(w_.add_container(r));
        }
        if (kind == "cgroup") {
            const json& c = j.at("cgroup");
            CgroupRow r;
            r.hierarchy = static_cast<uint32_t>(i64(c, "hierarchy"));
            r.cgroup_id = static_cast<uint64_t>(i64(c, "cgroup_id"));
            r.path = bytes_of(c, "path");
            r.pod_uid = str(c, "pod_uid");
            r.container_id = str(c, "container_id");
            return row(w_.add_cgroup(r));
        }
        if (kind == "membership") {
            const json& m = j.at("membership");
            MembershipRow r;
            r.time_ns = time_ns;
            r.proc = proc_of(j.at("process"));
            r.nspid = static_cast<uint32_t>(i64(m, "nspid"));
            r.how = membership_how_from(str(m, "how"));
            if (r.how == MembershipHow::unknown)
                throw std::runtime_error("membership.how is not fork, exec, move or alive");
            r.hierarchy = static_cast<uint32_t>(i64(m, "hierarchy"));
            r.cgroup_id = static_cast<uint64_t>(i64(m, "cgroup_id"));
            r.pod_uid = str(m, "pod_uid");
            r.uts_ns = static_cast<uint32_t>(i64(m, "uts_ns"));
            if (const json& by = m.at("by"); !by.is_null()) {
                r.by = {static_cast<uint32_t>(i64(by, "tgid")), static_cast<uint64_t>(i64(by, "start_ns"))};
            }
            r.comm = bytes_of(m, "comm");
            return row(w_.add_membership(r));
        }
        if (kind == "carried") {
            const json& p = j.at("process");
            const json& c = j.at("carried");
            CarriedRow r;
            r.time_ns = time_ns;
            r.proc = proc_of(p);
            r.nspid = static_cast<uint32_t>(i64(p, "nspid"));
            r.uid = static_cast<uint32_t>(i64(c, "uid"));
            r.gid = static_cast<uint32_t>(i64(c, "gid"));
            r.euid = static_cast<uint32_t>(i64(c, "euid"));
            r.parent = {static_cast<uint32_t>(i64(c, "parent_tgid")), static_cast<uint64_t>(i64(c, "parent_start_ns"))};
            r.parent_source = str(c, "parent_source");
            r.comm = bytes_of(p, "comm");
            r.binary = bytes_of(p, "binary");
            r.argv = argv_of(p);
            r.cgroup_path = bytes_of(c, "cgroup_path");
            r.pod_uid = pod_uid_of(j);
            r.nodename = bytes_of(c, "nodename");
            r.source = str(c, "source");
            if (r.source != "exec" && r.source != "fork" && r.source != "snapshot")
                throw std::runtime_error("carried.source is not exec, fork or snapshot");
            r.from_batch = i64(c, "from_batch");
            return row(w_.add_carried(r));
        }
        if (kind == "loss") {
            const json& l = j.at("loss");
            return row(w_.add_loss(i64(l, "from_ns"), i64(l, "to_ns"), i64(l, "count"), str(l, "reason")));
        }
        if (kind == "run_stop") {
            const json& s = j.at("run_stop");
            if (auto st =
                    w_.end_run(time_ns, i64(s, "stopped_wall_ns"), str(s, "reason"), i64(s, "events"), i64(s, "lost"));
                !st) {
                return st;
            }
            ++report_.imported;
            ++report_.batches;
            return Ok{};
        }
        if (kind == "batch") {
            // The exported batch is complete: so is the imported one.
            ++report_.skipped;
            return finish_run(time_ns);
        }
        if (kind == "gap" || kind == "prune" || kind == "pruned") {
            // A gap follows from the runs; prunes of the original are not
            // prunes of this journal.
            ++report_.skipped;
            return Ok{};
        }
        throw std::runtime_error(fmt::format("unknown kind \"{}\"", kind));
    }

    Status row(Status st) {
        if (st) ++report_.imported;
        return st;
    }

    // A run of the original, from its run_start line (`start`), or from any
    // line of it when the start line is missing.
    Status start_run(const json& j, const json* start) {
        if (auto st = finish_run(std::nullopt); !st) return st;
        RunInfo info;
        info.boot_id = str(j, "boot_id");
        info.node = str(j, "node");
        std::string recorded_filters = "{}";
        if (start) {
            info.started_ns = i64(j, "time_ns");
            info.started_wall_ns = i64(*start, "started_wall_ns");
            info.version = str(*start, "version");
            info.kernel = str(*start, "kernel");
            info.hooks = str(*start, "hooks");
            recorded_filters = str(*start, "filters");
            info.argv_cap = i64(*start, "argv_cap");
            info.clk_tck = i64(*start, "clk_tck");
            info.recorder_pid = i64(*start, "recorder_pid");
        } else {
            // Only the line's own time and its wall-clock form are known.
            info.started_ns = i64(j, "time_ns");
            info.started_wall_ns = wall_of(j);
            info.version = "unknown";
        }
        ImportProvenance provenance;
        provenance.format = "lineage";
        provenance.file = file_;
        provenance.sha256 = sha_;
        provenance.importer = std::string("lineage ") + kVersion;
        provenance.source = fmt::format("journal {} run {}", str(j, "journal_id"), i64(j, "run"));
        info.filters_json = import_filters_json(provenance, recorded_filters);
        auto run = w_.begin_run(info);
        if (!run) return run.error();
        ++report_.runs;
        if (start) ++report_.imported;
        run_key_ = str(j, "journal_id") + ":" + std::to_string(i64(j, "run"));
        run_started_ns_ = info.started_ns;
        run_started_wall_ns_ = info.started_wall_ns;
        return Ok{};
    }

    // Wall-clock ns of a line from its RFC 3339 "time" (nanoseconds, UTC).
    static int64_t wall_of(const json& j) {
        const std::string t = str(j, "time");
        std::tm tm{};
        int ns = 0;
        if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec, &ns) != 7) {
            throw std::runtime_error("time is not RFC 3339 with nanoseconds");
        }
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000 + ns;
    }

    JournalWriter& w_;
    ImportReport& report_;
    std::string file_, sha_, run_key_;
    int64_t last_ns_ = 0, run_started_ns_ = 0, run_started_wall_ns_ = 0;
};

}  // namespace

Result<ImportReport> import_lineage(const std::vector<std::string>& files, const std::string& journal) {
    return build_journal(files, journal, [&](JournalWriter& w, ImportReport& report) -> Status {
        Importer importer(w, report);
        for (const auto& f : files) {
            if (auto st = importer.file(f); !st) return st;
        }
        return Ok{};
    });
}

}  // namespace lineage

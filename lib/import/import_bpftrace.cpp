// lineage import --from bpftrace: the text log of a bpftrace recorder, in the
// seed article's forms:
//
//   FORK parent=P child=C parent_comm=X          (sys_exit_clone)
//   EXEC pid=P ppid=Q binary=B args=A            (sys_enter_execve)
//   NSECS EXEC pid=P ppid=Q binary=B
//   NSECS EXIT pid=P comm=X                      (sched_process_exit)
//   F NSECS PARENT CHILD COMM                    (the compact form)
//   E NSECS PID PPID FILENAME
//   X NSECS PID PPID COMM GROUP_DEAD
//
// Such a log has no start times, so a process is a PID from the event that
// first shows it (a FORK's child, else its first line) to its EXIT: a PID
// that exited and reappears is a new process. Its parent is the forker when
// a FORK line names it, else the ppid its EXEC line gave, which is the
// real parent at exec time: a reaper (init, a subreaper) once the forker
// has exited. The journal says so (the run's note, reconstruct's warning).
#include <sys/stat.h>

#include <charconv>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "argv.h"
#include "event.h"
#include "import.h"
#include "import_util.h"
#include "journal_writer.h"
#include "provenance.h"
#include "version.h"

namespace lineage {

namespace {

using namespace import_detail;

constexpr const char* kNoteParents =
    "parents come from the ppid of each EXEC (the real parent at exec) unless a FORK line names the forker, and may "
    "be reapers; identity is the PID from its first line to its EXIT, so a PID reused without an EXIT in the log is "
    "taken for one process";

// Event times at or above this are wall-clock ns since the epoch (the
// article's sample, 2001 onwards); below, bpftrace's nsecs (the boot clock).
constexpr uint64_t kEpochNsFloor = 1'000'000'000'000'000'000ULL;

struct Line {
    enum class Kind { fork, exec, exit } kind = Kind::exec;
    std::optional<uint64_t> ns;
    uint32_t pid = 0, other = 0;  // fork: parent, child; exec: pid, ppid; exit: pid, ppid
    std::string name;             // fork: parent comm; exec: binary; exit: comm
    std::vector<std::string> args;
    bool group_dead = true;
};

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

template <typename T>
T number(std::string_view s, const char* what) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
        throw std::runtime_error(fmt::format("{} is not a number", what));
    }
    return v;
}

std::string trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
    return std::string(s.substr(a, b - a));
}

// The value of key= in the key=value form: up to the next known key (the
// seed pads its fields with spaces), or to the end for the last one.
std::string field(std::string_view rest, std::string_view key, std::initializer_list<std::string_view> later,
                  bool required = true) {
    const std::string k = std::string(key) + "=";
    size_t at = rest.find(k);
    while (at != std::string_view::npos && at != 0 && rest[at - 1] != ' ') at = rest.find(k, at + 1);
    if (at == std::string_view::npos) {
        if (required) throw std::runtime_error(fmt::format("no {}", k));
        return {};
    }
    const size_t from = at + k.size();
    size_t to = rest.size();
    for (std::string_view l : later) {
        const size_t e = rest.find(" " + std::string(l) + "=", from);
        if (e != std::string_view::npos) to = std::min(to, e);
    }
    return trim(rest.substr(from, to - from));
}

// One line, or nullopt for a line of no event (bpftrace's "Attaching N
// probes...", a blank line); throws for a line that looks like an event
// and is not one.
std::optional<Line> parse(std::string_view text) {
    const std::string t = trim(text);
    if (t.empty() || t.rfind("Attaching ", 0) == 0) return std::nullopt;
    std::vector<std::string> w = words(t);
    Line l;
    // The compact form.
    if (w[0] == "F" || w[0] == "E" || w[0] == "X") {
        const char k = w[0][0];
        const size_t want = k == 'F' ? 5 : k == 'E' ? 5 : 6;
        if (w.size() < want) throw std::runtime_error(fmt::format("{} line with {} fields", w[0], w.size()));
        l.ns = number<uint64_t>(w[1], "the time");
        l.pid = number<uint32_t>(w[2], "a PID");
        l.other = number<uint32_t>(w[3], "a PID");
        if (k == 'F') {
            l.kind = Line::Kind::fork;
            l.name = w[4];
        } else if (k == 'E') {
            l.kind = Line::Kind::exec;
            // The file name is the rest of the line (it may hold spaces).
            const size_t at = t.find(w[4], t.find(w[3], t.find(w[2]) + w[2].size()) + w[3].size());
            l.name = trim(std::string_view(t).substr(at));
        } else {
            l.kind = Line::Kind::exit;
            l.name = w[4];
            l.group_dead = number<int>(w[5], "group_dead") != 0;
        }
        return l;
    }
    size_t first = 0;
    if (!w[0].empty() && w[0][0] >= '0' && w[0][0] <= '9') {
        l.ns = number<uint64_t>(w[0], "the time");
        first = 1;
        if (w.size() < 2) throw std::runtime_error("a time and nothing else");
    }
    const std::string& tag = w[first];
    const std::string_view rest = std::string_view(t).substr(t.find(tag) + tag.size());
    if (tag == "FORK") {
        l.kind = Line::Kind::fork;
        l.pid = number<uint32_t>(field(rest, "parent", {"child", "parent_comm"}), "parent");
        l.other = number<uint32_t>(field(rest, "child", {"parent_comm"}), "child");
        l.name = field(rest, "parent_comm", {}, false);
    } else if (tag == "EXEC") {
        l.kind = Line::Kind::exec;
        l.pid = number<uint32_t>(field(rest, "pid", {"ppid", "binary", "args"}), "pid");
        l.other = number<uint32_t>(field(rest, "ppid", {"binary", "args"}), "ppid");
        l.name = field(rest, "binary", {"args"});
        const std::string args = field(rest, "args", {}, false);
        l.args = words(args);
    } else if (tag == "EXIT") {
        l.kind = Line::Kind::exit;
        l.pid = number<uint32_t>(field(rest, "pid", {"comm"}), "pid");
        l.name = field(rest, "comm", {}, false);
    } else {
        throw std::runtime_error("not a FORK, EXEC or EXIT line");
    }
    return l;
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

class LogWriter {
public:
    LogWriter(JournalWriter& w, ImportReport& report) : w_(w), report_(report) {}

    Status file(const std::string& path) {
        auto sha = sha256_of_file(path);
        if (!sha) return sha.error();
        std::ifstream in(path, std::ios::binary);
        if (!in) return Error{fmt::format("{}: cannot open", path)};
        // Read whole first: the clock is known only once the last line is.
        std::vector<std::pair<int64_t, Line>> lines;
        std::string text;
        int64_t number = 0;
        bool first = true;
        while (std::getline(in, text)) {
            ++number;
            try {
                auto l = parse(text);
                if (!l) continue;
                ++report_.lines;
                first = false;
                lines.emplace_back(number, std::move(*l));
            } catch (const std::exception& e) {
                ++report_.lines;
                if (first) {
                    return Error{fmt::format(
                        "{}:{}: not a line of a bpftrace recorder log (FORK/EXEC/EXIT, with or without a time, or "
                        "F/E/X); refused, nothing imported",
                        path, number)};
                }
                malformed(report_, path, number, e.what());
            }
        }
        if (in.bad()) return Error{fmt::format("{}: read error", path)};
        if (lines.empty()) return Error{fmt::format("{}: no FORK, EXEC or EXIT line; refused, nothing imported", path)};
        return write(path, *sha, lines);
    }

private:
    struct Proc {
        ProcRef ref;
        ProcRef parent;
        std::string comm;
        bool exited = false;
    };

    Status write(const std::string& path, const std::string& sha, std::vector<std::pair<int64_t, Line>>& lines) {
        // Times: the log's own, else the line's place (1 µs apart, the
        // identity's tick); wall clock from the file's modification time,
        // unless the times are wall-clock times already.
        bool timed = true, epoch = true;
        for (auto& [n, l] : lines) {
            if (!l.ns) timed = false;
            if (l.ns && *l.ns < kEpochNsFloor) epoch = false;
        }
        uint64_t prev = 0;
        for (auto& [n, l] : lines) {
            if (!timed) l.ns = static_cast<uint64_t>(n) * 1000;
            // A line out of order keeps the order of the log.
            if (*l.ns < prev) l.ns = prev;
            prev = *l.ns;
        }
        std::string clock_note;
        int64_t offset = 0;
        if (timed && epoch) {
            clock_note = "times are the log's wall-clock ns";
        } else {
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) return Error{fmt::format("{}: cannot stat", path)};
            const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
            offset = mtime - static_cast<int64_t>(prev);
            clock_note = timed ? "wall-clock times assume that the last line was written at the file's modification "
                                 "time"
                               : "the log has no times: events are 1 us apart in the log's order, the last at the "
                                 "file's modification time";
        }
        ImportProvenance p;
        p.format = "bpftrace";
        p.file = path;
        p.sha256 = sha;
        p.importer = std::string("lineage ") + kVersion;
        p.source = "log";
        p.note = std::string(kNoteParents) + "; " + clock_note;
        RunInfo info;
        // One boot per file: its PIDs and times are its own.
        info.boot_id = "bpftrace-" + sha.substr(0, 32);
        info.node = "unknown";
        info.started_ns = static_cast<int64_t>(*lines.front().second.ns);
        info.started_wall_ns = info.started_ns + offset;
        info.version = "bpftrace";
        info.kernel = "unknown";
        info.hooks = "bpftrace";
        info.filters_json = import_filters_json(p);
        info.clk_tck = 1'000'000;
        auto run = w_.begin_run(info);
        if (!run) return run.error();
        ++report_.runs;
        procs_.clear();
        for (const auto& [n, l] : lines) {
            last_ns_ = static_cast<int64_t>(*l.ns);
            if (auto st = one(l); !st) return st;
            if (rows_ >= kImportBatchRows) {
                if (auto st = commit(); !st) return st;
            }
        }
        return commit();
    }

    // The live process of `pid` at `ns`: the one the log showed last, or a
    // new one first seen now.
    Proc& current(uint32_t pid, uint64_t ns) {
        auto it = procs_.find(pid);
        if (it == procs_.end() || it->second.exited) {
            Proc p;
            p.ref = {pid, ns};
            it = procs_.insert_or_assign(pid, p).first;
        }
        return it->second;
    }

    Status one(const Line& l) {
        const uint64_t ns = *l.ns;
        switch (l.kind) {
            case Line::Kind::fork: {
                Proc& parent = current(l.pid, ns);
                if (!l.name.empty()) parent.comm = l.name;
                Proc child;
                child.ref = {l.other, ns};
                child.parent = parent.ref;
                child.comm = parent.comm;
                procs_.insert_or_assign(l.other, child);
                ForkEvent e;
                e.time_ns = ns;
                e.parent = parent.ref;
                e.child = child.ref;
                e.parent_comm = parent.comm.substr(0, 15);
                return row(w_.add(Event{e}, ""));
            }
            case Line::Kind::exec: {
                Proc& p = current(l.pid, ns);
                Proc& parent_now = current(l.other, ns);
                if (p.parent.tgid == 0) p.parent = parent_now.ref;
                std::vector<std::string> args = l.args;
                if (args.empty()) args.push_back(l.name);
                ExecEvent e;
                e.time_ns = ns;
                e.proc = p.ref;
                e.parent = p.parent;
                e.parent_comm = parent_now.comm.substr(0, 15);
                e.binary = l.name;
                e.comm = base_name(l.name).substr(0, 15);
                e.argv = join_argv(args);
                p.comm = e.comm;
                return row(w_.add(Event{e}, ""));
            }
            case Line::Kind::exit: {
                // A thread's exit (the compact form says so) is not the
                // process's.
                if (!l.group_dead) return Ok{};
                auto it = procs_.find(l.pid);
                if (it != procs_.end() && it->second.exited) return Ok{};  // a second thread of it
                Proc& p = current(l.pid, ns);
                p.exited = true;
                ExitEvent e;
                e.time_ns = ns;
                e.proc = p.ref;
                e.comm = l.name.substr(0, 15);
                return row(w_.add(Event{e}, ""));
            }
        }
        return Ok{};
    }

    Status commit() {
        if (!w_.batch_open()) return Ok{};
        if (auto st = w_.commit(last_ns_); !st) return st;
        ++report_.batches;
        rows_ = 0;
        return Ok{};
    }
    Status row(Status st) {
        if (st) {
            ++report_.imported;
            ++rows_;
        }
        return st;
    }

    JournalWriter& w_;
    ImportReport& report_;
    std::map<uint32_t, Proc> procs_;
    int64_t last_ns_ = 0, rows_ = 0;
};

}  // namespace

Result<ImportReport> import_bpftrace(const std::vector<std::string>& files, const std::string& journal) {
    return build_journal(files, journal, [&](JournalWriter& w, ImportReport& report) -> Status {
        LogWriter log(w, report);
        for (const auto& f : files) {
            if (auto st = log.file(f); !st) return st;
        }
        return Ok{};
    });
}

}  // namespace lineage

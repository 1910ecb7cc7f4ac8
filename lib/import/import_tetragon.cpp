// lineage import --from tetragon: Tetragon's JSON export (tetra getevents
// -o json, the export file of its daemon) into a journal.
//
// Tetragon names a process image by its exec_id, base64 of
// "node:ktime:pid", where ktime is the kernel's clock (ns) at that exec. A
// journal names a process by (boot, tgid, start). So: each node's events
// are one run, whose boot clock is Tetragon's ktime; a process starts at the
// ktime of its first image, and an exec without the "clone" flag in the
// same PID as its parent image (bash exec'ing curl) is a further image of
// that same process, with its parent's start. Wall-clock time comes from the
// events' own pairs of ktime (exec_id) and start_time.
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "argv.h"
#include "event.h"
#include "hashchain.h"
#include "import.h"
#include "import_util.h"
#include "journal_writer.h"
#include "pod.h"
#include "provenance.h"
#include "version.h"

namespace lineage {

namespace {

using nlohmann::json;
using namespace import_detail;

constexpr const char* kEventKinds[] = {"process_exec",       "process_exit",   "process_kprobe", "process_connect",
                                       "process_tracepoint", "process_uprobe", "process_lsm",    "process_loader",
                                       "process_throttle",   "process_close",  "process_listen"};

constexpr const char* kNote =
    "Tetragon's export has no pod UID (derived from namespace and name) and no argv[0] (the binary path stands in "
    "for it); a tcp_connect is its SYN, the outcome not recorded";

struct ExecId {
    std::string node;
    uint64_t ktime = 0;
    uint32_t pid = 0;
};

std::optional<ExecId> decode_exec_id(const std::string& id) {
    auto raw = base64_decode(id);
    if (!raw) return std::nullopt;
    // The node name may itself hold ':'; ktime and pid are the last two fields.
    const size_t b = raw->rfind(':');
    if (b == std::string::npos || b == 0) return std::nullopt;
    const size_t a = raw->rfind(':', b - 1);
    if (a == std::string::npos) return std::nullopt;
    ExecId out;
    out.node = raw->substr(0, a);
    try {
        size_t used = 0;
        const std::string k = raw->substr(a + 1, b - a - 1), p = raw->substr(b + 1);
        out.ktime = std::stoull(k, &used);
        if (used != k.size() || k.empty() || k[0] == '-') return std::nullopt;
        const unsigned long pid = std::stoul(p, &used);
        if (used != p.size() || p.empty() || p[0] == '-' || pid > 0xffffffffUL) return std::nullopt;
        out.pid = static_cast<uint32_t>(pid);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return out;
}

// RFC 3339 with up to 9 fraction digits, UTC ("Z") as Tetragon writes it:
// ns since the epoch.
int64_t wall_ns_of(const std::string& t) {
    std::tm tm{};
    char frac[16] = {0};
    int n = 0;
    if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &n) != 6) {
        throw std::runtime_error("a time is not RFC 3339: " + t.substr(0, 40));
    }
    size_t i = static_cast<size_t>(n);
    int64_t ns = 0;
    if (i < t.size() && t[i] == '.') {
        size_t digits = 0;
        ++i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
            if (digits < 9) frac[digits++] = t[i];
            ++i;
        }
        while (digits < 9) frac[digits++] = '0';
        ns = std::stoll(frac);
    }
    if (i >= t.size() || t[i] != 'Z' || i + 1 != t.size()) {
        throw std::runtime_error("a time is not RFC 3339 in UTC: " + t.substr(0, 40));
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const int64_t seconds = static_cast<int64_t>(timegm(&tm));
    // Nanoseconds since 1970 fit in int64 until 2262: a later (or much
    // earlier) time is not one Tetragon wrote, and must not overflow.
    if (seconds <= -INT64_MAX / 1'000'000'000 || seconds >= INT64_MAX / 1'000'000'000) {
        throw std::runtime_error("a time is out of range: " + t.substr(0, 40));
    }
    return seconds * 1'000'000'000 + ns;
}

// Tetragon's "arguments": the arguments after argv[0], joined by spaces, an
// argument with a space in double quotes (its own quotes escaped).
std::vector<std::string> split_arguments(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    bool in_arg = false, quoted = false;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                cur += s[++i];
            } else if (c == '"') {
                quoted = false;
            } else {
                cur += c;
            }
        } else if (c == ' ') {
            if (in_arg) out.push_back(std::move(cur));
            cur.clear();
            in_arg = false;
        } else if (c == '"' && !in_arg) {
            quoted = in_arg = true;
        } else {
            cur += c;
            in_arg = true;
        }
    }
    if (in_arg) out.push_back(std::move(cur));
    return out;
}

int signal_number(const std::string& name) {
    if (name.empty()) return 0;
    for (int sig = 1; sig < 65; ++sig) {
        const char* abbrev = sigabbrev_np(sig);
        if (abbrev && name == std::string("SIG") + abbrev) return sig;
    }
    throw std::runtime_error("unknown signal " + name.substr(0, 20));
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A pod UID in the canonical form, from what Tetragon names a pod by: a
// name-based UUID (version 5 layout over SHA-256), the same for the same
// namespace/name in every import.
std::string pod_uid_for(const std::string& ns, const std::string& name) {
    Sha256 sha;
    sha.begin();
    const std::string key = "tetragon-pod\n" + ns + "/" + name;
    sha.update(key.data(), key.size());
    Hash h = sha.finish();
    h[6] = static_cast<uint8_t>((h[6] & 0x0f) | 0x50);
    h[8] = static_cast<uint8_t>((h[8] & 0x3f) | 0x80);
    const std::string hex = to_hex(h);
    return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4), hex.substr(16, 4),
                       hex.substr(20, 12));
}

// The cgroup path a kubelet with the systemd driver would have given the
// container, so that the pod and container are read as from lineage's own
// record (parse_kube_cgroup).
std::string cgroup_path_for(const std::string& pod_uid, const std::string& container) {
    std::string uid = pod_uid;
    std::replace(uid.begin(), uid.end(), '-', '_');
    std::string path = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uid + ".slice";
    const size_t sep = container.find("://");
    if (sep == std::string::npos) return path;
    const std::string runtime = container.substr(0, sep), id = container.substr(sep + 3);
    if (id.size() < 12 || id.size() > 64 || id.find_first_not_of("0123456789abcdef") != std::string::npos) return path;
    if (runtime == "containerd") return path + "/cri-containerd-" + id + ".scope";
    if (runtime == "cri-o") return path + "/crio-" + id + ".scope";
    if (runtime == "docker") return path + "/docker-" + id + ".scope";
    return path;
}

// One JSON document of the file and the line it starts on.
struct Record {
    int64_t line = 0;
    json doc;
};

// Splits the file into JSON documents: one per line (Tetragon's export),
// or spread over lines (a pretty-printed event). A document that does not
// parse is reported by its first line; reading goes on at the next line.
class Documents {
public:
    explicit Documents(std::string text) : text_(std::move(text)) {}

    // false at the end; `why` set when the document at `line` is malformed.
    bool next(Record& out, std::string& why) {
        why.clear();
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c == '\n') {
                ++line_;
                ++pos_;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                ++pos_;
            } else {
                break;
            }
        }
        if (pos_ >= text_.size()) return false;
        out.line = line_;
        const size_t start = pos_;
        size_t end = text_[pos_] == '{' ? object_end(pos_) : std::string::npos;
        if (end != std::string::npos) {
            out.doc = json::parse(text_.begin() + static_cast<std::ptrdiff_t>(start),
                                  text_.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
            if (!out.doc.is_discarded()) {
                line_ += std::count(text_.begin() + static_cast<std::ptrdiff_t>(start),
                                    text_.begin() + static_cast<std::ptrdiff_t>(end), '\n');
                pos_ = end;
                return true;
            }
        }
        why = "not a JSON object";
        skip_line();
        return true;
    }

private:
    // One past the '}' that closes the object at `from`; npos when the
    // text ends first.
    size_t object_end(size_t from) const {
        int depth = 0;
        bool in_string = false;
        for (size_t i = from; i < text_.size(); ++i) {
            const char c = text_[i];
            if (in_string) {
                if (c == '\\') {
                    ++i;
                } else if (c == '"') {
                    in_string = false;
                }
            } else if (c == '"') {
                in_string = true;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
        }
        return std::string::npos;
    }
    void skip_line() {
        const size_t nl = text_.find('\n', pos_);
        pos_ = nl == std::string::npos ? text_.size() : nl;
    }

    std::string text_;
    size_t pos_ = 0;
    int64_t line_ = 1;
};

const std::string* event_kind(const json& doc) {
    for (const char* k : kEventKinds) {
        auto it = doc.find(k);
        if (it != doc.end() && it->is_object()) return &it.key();
    }
    return nullptr;
}

// An event read from the file, before it is written: every field checked.
struct Event_ {
    int64_t line = 0;
    std::string kind;
    std::string node;
    uint64_t ktime = 0;  // when it happened, on the node's ktime clock
    json body;           // the event's own object
    std::optional<int64_t> wall_ns;
};

// The processes of one node, and the rows they make.
class NodeWriter {
public:
    NodeWriter(JournalWriter& w, ImportReport& report, const std::string& file) : w_(w), report_(report), file_(file) {}

    Status write(const std::string& node, std::vector<Event_>& events, const ImportProvenance& provenance,
                 int64_t offset_ns) {
        std::stable_sort(events.begin(), events.end(),
                         [](const Event_& a, const Event_& b) { return a.ktime < b.ktime; });
        node_ = node;
        offset_ns_ = offset_ns;
        RunInfo info;
        info.boot_id = "tetragon-" + node;
        info.node = node;
        info.started_ns = static_cast<int64_t>(events.front().ktime);
        info.started_wall_ns = info.started_ns + offset_ns;
        info.version = "tetragon";
        info.kernel = "unknown";
        info.hooks = "tetragon";
        ImportProvenance p = provenance;
        p.source = "node " + node;
        info.filters_json = import_filters_json(p);
        // Identity at microseconds: Tetragon's start_time has them or more.
        info.clk_tck = 1'000'000;
        auto run = w_.begin_run(info);
        if (!run) return run.error();
        ++report_.runs;
        last_ns_ = info.started_ns;
        for (const auto& e : events) {
            try {
                if (auto st = one(e); !st) return st;
            } catch (const std::exception& ex) {
                // Every field is read before a row is written.
                malformed(report_, file_, e.line, ex.what());
            }
            if (rows_ >= kImportBatchRows) {
                if (auto st = commit(); !st) return st;
            }
        }
        if (auto st = commit(); !st) return st;
        return Ok{};
    }

private:
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

    ExecId exec_id_of(const json& process) const {
        auto id = decode_exec_id(process.at("exec_id").get<std::string>());
        if (!id) throw std::runtime_error("exec_id is not base64 of node:ktime:pid");
        return *id;
    }

    // The process an image belongs to.
    ProcRef proc_of(const std::string& exec_id, const ExecId& id) const {
        auto it = images_.find(exec_id);
        if (it != images_.end()) return it->second.proc;
        return {id.pid, id.ktime};
    }

    // Writes the exec row of an image once: the event's process, or its
    // parent object when the log never had that image's own exec.
    Status image(const json& process, uint64_t time_ns) {
        const std::string exec_id = process.at("exec_id").get<std::string>();
        if (images_.count(exec_id)) return Ok{};
        const ExecId id = exec_id_of(process);
        const std::string flags = process.value("flags", "");
        const bool clone = flags.find("clone") != std::string::npos;
        ProcRef proc{id.pid, id.ktime};
        ProcRef parent;
        std::string parent_comm;
        if (auto pit = process.find("parent_exec_id"); pit != process.end() && pit->is_string()) {
            const std::string parent_exec_id = pit->get<std::string>();
            auto pid = decode_exec_id(parent_exec_id);
            if (!pid) throw std::runtime_error("parent_exec_id is not base64 of node:ktime:pid");
            auto known = images_.find(parent_exec_id);
            const ProcRef parent_image = known != images_.end() ? known->second.proc : ProcRef{pid->pid, pid->ktime};
            if (!clone && pid->pid == id.pid) {
                // An exec of an exec: the same process, a further image.
                proc = parent_image;
                if (known != images_.end()) {
                    parent = known->second.parent;
                    parent_comm = known->second.parent_comm;
                }
            } else {
                parent = parent_image;
                if (known != images_.end()) parent_comm = known->second.comm;
            }
        }
        const std::string binary = process.at("binary").get<std::string>();
        std::vector<std::string> args{binary};
        for (auto& a : split_arguments(process.value("arguments", ""))) args.push_back(std::move(a));
        ExecEvent e;
        e.time_ns = time_ns;
        e.proc = proc;
        e.parent = parent;
        e.uid = e.euid = static_cast<uint32_t>(process.value("uid", int64_t{0}));
        e.comm = base_name(binary).substr(0, 15);
        e.parent_comm = parent_comm;
        e.binary = binary;
        e.argv = join_argv(args);
        std::string pod_uid;
        if (auto pod = process.find("pod"); pod != process.end() && pod->is_object()) {
            const std::string ns = pod->value("namespace", ""), name = pod->value("name", "");
            pod_uid = pod_uid_for(ns, name);
            std::string container, container_name, image;
            if (auto c = pod->find("container"); c != pod->end() && c->is_object()) {
                container = c->value("id", "");
                container_name = c->value("name", "");
                if (auto im = c->find("image"); im != c->end() && im->is_object()) image = im->value("name", "");
                e.nspid = static_cast<uint32_t>(c->value("pid", int64_t{0}));
            }
            e.cgroup_path = cgroup_path_for(pod_uid, container);
            // Tetragon asked the runtime (the CRI) for the container's name
            // and image: a containers row, once per container, as record's
            // from a bundle's annotations (schema version 7).
            const auto kube = parse_kube_cgroup(e.cgroup_path);
            if (kube && !kube->container_id.empty() && (!container_name.empty() || !image.empty()) &&
                named_containers_.insert(kube->container_id).second) {
                ContainerRow c;
                c.time_ns = static_cast<int64_t>(e.time_ns);
                c.container_id = kube->container_id;
                c.pod_uid = pod_uid;
                c.pod_name = name;
                c.pod_namespace = ns;
                c.name = container_name;
                c.image = image;
                c.source = "tetragon";
                c.path = file_;
                if (auto st = row(w_.add_container(c)); !st) return st;
            }
            e.nodename = name;
            if (named_pods_.insert(pod_uid).second) {
                if (auto st = row(w_.add_pod(pod_uid, name, ns, PodNameSource::unknown)); !st) return st;
            }
        }
        images_[exec_id] = Image{proc, parent, parent_comm, e.comm};
        return row(w_.add(Event{e}, pod_uid));
    }

    Status one(const Event_& ev) {
        last_ns_ = std::max(last_ns_, static_cast<int64_t>(ev.ktime));
        const json& b = ev.body;
        const json& process = b.at("process");
        // The parent's image first, from the event's parent object, when
        // the log did not have its exec.
        if (auto parent = b.find("parent"); parent != b.end() && parent->is_object()) {
            if (auto st = image(*parent, exec_id_of(*parent).ktime); !st) return st;
        }
        if (ev.kind == "process_exec") return image(process, exec_id_of(process).ktime);
        const std::string exec_id = process.at("exec_id").get<std::string>();
        const ExecId id = exec_id_of(process);
        if (!images_.count(exec_id)) {
            // A process whose exec the log does not have: its image from
            // the event itself.
            if (auto st = image(process, id.ktime); !st) return st;
        }
        const ProcRef proc = proc_of(exec_id, id);
        if (ev.kind == "process_exit") {
            ExitEvent e;
            e.time_ns = ev.ktime;
            e.proc = proc;
            e.code = static_cast<int>(b.value("status", int64_t{0}));
            e.signal = signal_number(b.value("signal", ""));
            e.comm = images_[exec_id].comm;
            return row(w_.add(Event{e}, ""));
        }
        ConnectEvent e;
        e.time_ns = e.outcome_ns = ev.ktime;
        e.proc = proc;
        e.outcome_known = false;
        if (ev.kind == "process_connect") {
            e.daddr = b.at("destination_ip").get<std::string>();
            e.saddr = b.value("source_ip", "");
            e.dport = static_cast<uint16_t>(b.at("destination_port").get<int64_t>());
            e.sport = static_cast<uint16_t>(b.value("source_port", int64_t{0}));
            e.family = e.daddr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
        } else {
            const json& sock = b.at("args").at(0).at("sock_arg");
            e.daddr = sock.at("daddr").get<std::string>();
            e.saddr = sock.value("saddr", "");
            e.dport = static_cast<uint16_t>(sock.at("dport").get<int64_t>());
            e.sport = static_cast<uint16_t>(sock.value("sport", int64_t{0}));
            e.family = sock.value("family", "AF_INET") == "AF_INET6" ? AF_INET6 : AF_INET;
        }
        return row(w_.add(Event{e}, ""));
    }

    struct Image {
        ProcRef proc, parent;
        std::string parent_comm, comm;
    };

    JournalWriter& w_;
    ImportReport& report_;
    std::string file_, node_;
    int64_t offset_ns_ = 0, last_ns_ = 0, rows_ = 0;
    std::map<std::string, Image> images_;  // by exec_id
    std::set<std::string> named_pods_;
    std::set<std::string> named_containers_;  // container ids with a containers row
};

}  // namespace

Result<ImportReport> import_tetragon(const std::vector<std::string>& files, const std::string& journal) {
    return build_journal(files, journal, [&](JournalWriter& w, ImportReport& report) -> Status {
        for (const auto& path : files) {
            auto sha = sha256_of_file(path);
            if (!sha) return sha.error();
            std::ifstream in(path, std::ios::binary);
            if (!in) return Error{fmt::format("{}: cannot open", path)};
            std::stringstream buf;
            buf << in.rdbuf();
            if (in.bad()) return Error{fmt::format("{}: read error", path)};
            Documents docs(buf.str());
            // Each node's events, and its ktime-to-wall offset from the
            // first event that gives both.
            std::map<std::string, std::vector<Event_>> by_node;
            std::map<std::string, int64_t> offsets;
            Record rec;
            std::string why;
            bool first = true;
            while (docs.next(rec, why)) {
                ++report.lines;
                const std::string* kind = why.empty() && rec.doc.is_object() ? event_kind(rec.doc) : nullptr;
                if (first) {
                    first = false;
                    if (!kind) {
                        return Error{fmt::format(
                            "{}:{}: not a Tetragon JSON event (no process_exec, process_exit, process_kprobe, ... "
                            "object); refused, nothing imported",
                            path, rec.line)};
                    }
                }
                if (!why.empty()) {
                    malformed(report, path, rec.line, why);
                    continue;
                }
                if (!kind) {
                    malformed(report, path, rec.line, "not a Tetragon event");
                    continue;
                }
                try {
                    Event_ e;
                    e.line = rec.line;
                    e.kind = *kind;
                    e.body = rec.doc.at(*kind);
                    const bool wanted =
                        e.kind == "process_exec" || e.kind == "process_exit" || e.kind == "process_connect" ||
                        (e.kind == "process_kprobe" && e.body.value("function_name", "") == "tcp_connect");
                    if (!wanted) {
                        ++report.skipped;
                        continue;
                    }
                    const json& process = e.body.at("process");
                    auto id = decode_exec_id(process.at("exec_id").get<std::string>());
                    if (!id) throw std::runtime_error("exec_id is not base64 of node:ktime:pid");
                    e.node = rec.doc.value("node_name", id->node);
                    const int64_t start_wall = wall_ns_of(process.at("start_time").get<std::string>());
                    offsets.try_emplace(e.node, start_wall - static_cast<int64_t>(id->ktime));
                    const int64_t offset = offsets[e.node];
                    if (auto t = rec.doc.find("time"); t != rec.doc.end() && t->is_string()) {
                        e.wall_ns = wall_ns_of(t->get<std::string>());
                    }
                    // An exec happens at its image's ktime; the other events
                    // at their time, on the node's ktime clock.
                    if (e.kind == "process_exec") {
                        e.ktime = id->ktime;
                    } else if (e.wall_ns) {
                        e.ktime = static_cast<uint64_t>(std::max<int64_t>(*e.wall_ns - offset, 0));
                    } else {
                        throw std::runtime_error(e.kind + " without a time");
                    }
                    by_node[e.node].push_back(std::move(e));
                } catch (const std::exception& ex) {
                    malformed(report, path, rec.line, ex.what());
                }
            }
            if (first) return Error{fmt::format("{}: no Tetragon JSON event; refused, nothing imported", path)};
            ImportProvenance provenance;
            provenance.format = "tetragon";
            provenance.file = path;
            provenance.sha256 = *sha;
            provenance.importer = std::string("lineage ") + kVersion;
            provenance.note = kNote;
            for (auto& [node, events] : by_node) {
                NodeWriter nw(w, report, path);
                if (auto st = nw.write(node, events, provenance, offsets[node]); !st) return st;
            }
        }
        return Ok{};
    });
}

}  // namespace lineage

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "event.h"
#include "events.h"
#include "saturate.h"

namespace lineage {

// The wire format is shared with the BPF programs; pin it so a change on one
// side cannot silently shift fields on the other.
static_assert(sizeof(lineage_hdr) == 16);
static_assert(sizeof(lineage_proc) == 16);
static_assert(sizeof(lineage_fork_event) == 88);
static_assert(offsetof(lineage_fork_event, child) == 32);
static_assert(offsetof(lineage_fork_event, cgroup_id) == 64);
static_assert(offsetof(lineage_fork_event, nspid) == 80);
static_assert(sizeof(lineage_cred) == 32);
static_assert(sizeof(lineage_exec_file) == 120);
static_assert(offsetof(lineage_exec_file, flags) == 44);
static_assert(offsetof(lineage_exec_file, before) == 56);
static_assert(offsetof(lineage_exec_file, after) == 88);
static_assert(sizeof(lineage_exec_event) == 328);
static_assert(offsetof(lineage_exec_event, cgroup_id) == 48);
static_assert(offsetof(lineage_exec_event, binary_len) == 80);
static_assert(offsetof(lineage_exec_event, comm) == 88);
static_assert(offsetof(lineage_exec_event, nodename) == 120);
static_assert(offsetof(lineage_exec_event, cgroup1_id) == 192);
static_assert(offsetof(lineage_exec_event, uts_ns) == 200);
static_assert(offsetof(lineage_exec_event, file) == 208);
static_assert(offsetof(lineage_exec_event, data) == 328);
static_assert(sizeof(lineage_listen_event) == 56);
static_assert(offsetof(lineage_listen_event, addr) == 40);
static_assert(offsetof(lineage_dns_event, length) == 40);
static_assert(offsetof(lineage_dns_event, saddr) == 48);
static_assert(offsetof(lineage_dns_event, payload) == 80);
static_assert(sizeof(lineage_dns_event) == 80 + LINEAGE_DNS_CAP);
static_assert(offsetof(lineage_cgroup_event, names) == 32);
static_assert(sizeof(lineage_cgroup_event) == 32 + LINEAGE_CGROUP_PATH_MAX);
static_assert(offsetof(lineage_move_event, cgroup_id) == 48);
static_assert(offsetof(lineage_move_event, path_len) == 64);
static_assert(offsetof(lineage_move_event, comm) == 72);
static_assert(offsetof(lineage_move_event, path) == 88);
static_assert(sizeof(lineage_move_event) == 88 + LINEAGE_MOVE_PATH_MAX);
static_assert(sizeof(lineage_exit_event) == 56);
static_assert(sizeof(lineage_connect_event) == 80);
static_assert(offsetof(lineage_connect_event, saddr) == 48);

namespace {

// A fixed char array from the kernel, up to its first NUL.
template <size_t N>
std::string fixed_string(const char (&a)[N]) {
    return std::string(a, strnlen(a, N));
}

ProcRef proc_ref(const lineage_proc& p) {
    return ProcRef{p.tgid, p.start_ns};
}

std::string address_text(int family, const uint8_t* bytes) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == 6 ? AF_INET6 : AF_INET, bytes, buf, sizeof(buf));
    return buf;
}

// Copies the fixed part of a record; false when the record is too short.
template <typename T>
bool copy_fixed(T* out, const void* data, size_t size) {
    if (size < sizeof(T)) return false;
    std::memcpy(out, data, sizeof(T));
    return true;
}

// The same for a record whose last field, an array, is sent only as far as
// it is used: `head` bytes are fixed, the rest of *out is zeroed.
template <typename T>
bool copy_head(T* out, size_t head, const void* data, size_t size) {
    if (size < head) return false;
    std::memset(out, 0, sizeof(T));
    std::memcpy(out, data, std::min(size, sizeof(T)));
    return true;
}

Error too_short(const char* what, size_t size, size_t expected) {
    return Error{fmt::format("{} record of {} bytes, expected at least {}", what, size, expected)};
}

Credentials credentials(const lineage_cred& c) {
    return Credentials{c.uid, c.gid, c.euid, c.egid, c.cap_permitted, c.cap_effective};
}

// The probe's file block, its names and interpreter already checked to lie
// inside the record. The probe sets LINEAGE_FILE_KNOWN on every exec; a
// record without it says nothing of its file.
Result<std::optional<ExecFile>> exec_file(const lineage_exec_file& raw, std::string_view names,
                                          std::string_view interpreter) {
    if (!(raw.flags & LINEAGE_FILE_KNOWN)) return std::optional<ExecFile>{};
    // Every name ends with its NUL: bytes after the last one mean the
    // lengths are not what the probe wrote.
    if (!names.empty() && names.back() != '\0') {
        return Error{fmt::format("exec record's file names ({} bytes) do not end with a NUL", names.size())};
    }
    ExecFile f;
    f.path = names.empty() ? std::string() : file_path_from_names(names);
    // The kernel's s_dev is major << 20 | minor; stat(2) gives makedev's.
    f.dev = makedev(static_cast<unsigned>(raw.dev >> 20), static_cast<unsigned>(raw.dev & 0xfffff));
    f.ino = raw.ino;
    f.nlink = raw.nlink;
    f.size = raw.size;
    f.mode = raw.mode;
    f.mtime_ns = sat_add(sat_mul(raw.mtime_sec, 1'000'000'000), int64_t{raw.mtime_nsec});
    // The same bits as kFile*; KNOWN is the optional itself.
    f.flags = raw.flags & ~uint32_t{LINEAGE_FILE_KNOWN};
    f.interpreter.assign(interpreter);
    f.before = credentials(raw.before);
    f.after = credentials(raw.after);
    return std::optional<ExecFile>{std::move(f)};
}

}  // namespace

std::string cgroup_path_from_names(std::string_view names) {
    std::string path = file_path_from_names(names);
    return path.empty() ? "/" : path;
}

std::string file_path_from_names(std::string_view names) {
    std::vector<std::string_view> parts;
    size_t pos = 0;
    while (pos < names.size()) {
        size_t nul = names.find('\0', pos);
        size_t end = nul == std::string_view::npos ? names.size() : nul;
        if (end > pos) parts.push_back(names.substr(pos, end - pos));
        pos = end + 1;
    }
    std::string path;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        path += '/';
        path += *it;
    }
    return path;
}

void decode_wait_status(uint32_t status, int* code, int* signal, bool* core) {
    *signal = static_cast<int>(status & 0x7f);
    *core = (status & 0x80) != 0;
    *code = *signal ? 0 : static_cast<int>((status >> 8) & 0xff);
}

Result<Event> decode_event(const void* data, size_t size) {
    lineage_hdr hdr{};
    if (!copy_fixed(&hdr, data, size)) return too_short("event", size, sizeof(hdr));
    if (hdr.size > size) {
        return Error{fmt::format("record says {} bytes but only {} arrived", hdr.size, size)};
    }
    size = hdr.size;

    switch (hdr.type) {
        case LINEAGE_EV_FORK: {
            lineage_fork_event r{};
            if (!copy_fixed(&r, data, size)) return too_short("fork", size, sizeof(r));
            const auto* raw = &r;
            ForkEvent e{raw->hdr.time_ns, proc_ref(raw->parent), proc_ref(raw->child), fixed_string(raw->parent_comm)};
            e.cgroup_id = raw->cgroup_id;
            e.cgroup1_id = raw->cgroup1_id;
            e.nspid = raw->nspid;
            return Event{std::move(e)};
        }
        case LINEAGE_EV_EXEC: {
            lineage_exec_event r{};
            if (!copy_fixed(&r, data, size)) return too_short("exec", size, sizeof(r));
            const auto* raw = &r;
            size_t variable =
                size_t{raw->binary_len} + raw->cgroup_len + raw->file.path_len + raw->file.interp_len + raw->argv_len;
            if (sizeof(lineage_exec_event) + variable != size) {
                return Error{fmt::format("exec record of {} bytes does not match its lengths ({}+{}+{}+{}+{})", size,
                                         raw->binary_len, raw->cgroup_len, raw->file.path_len, raw->file.interp_len,
                                         raw->argv_len)};
            }
            const char* tail = static_cast<const char*>(data) + sizeof(lineage_exec_event);
            const char* names = tail + raw->binary_len + raw->cgroup_len;
            auto file = exec_file(raw->file, std::string_view(names, raw->file.path_len),
                                  std::string_view(names + raw->file.path_len, raw->file.interp_len));
            if (!file) return file.error();
            ExecEvent e;
            e.time_ns = raw->hdr.time_ns;
            e.proc = proc_ref(raw->proc);
            e.parent = proc_ref(raw->parent);
            e.nspid = raw->nspid;
            e.old_tid = raw->old_tid;
            e.uid = raw->uid;
            e.gid = raw->gid;
            e.euid = raw->euid;
            e.truncated = raw->flags;
            e.cgroup_id = raw->cgroup_id;
            e.cgroup1_id = raw->cgroup1_id;
            e.uts_ns = raw->uts_ns;
            e.comm = fixed_string(raw->comm);
            e.parent_comm = fixed_string(raw->parent_comm);
            e.nodename = fixed_string(raw->nodename);
            e.binary.assign(tail, raw->binary_len);
            e.cgroup_path = cgroup_path_from_names(std::string_view(tail + raw->binary_len, raw->cgroup_len));
            e.argv.assign(names + raw->file.path_len + raw->file.interp_len, raw->argv_len);
            e.file = std::move(*file);
            return Event{std::move(e)};
        }
        case LINEAGE_EV_EXIT: {
            lineage_exit_event r{};
            if (!copy_fixed(&r, data, size)) return too_short("exit", size, sizeof(r));
            const auto* raw = &r;
            ExitEvent e;
            e.time_ns = raw->hdr.time_ns;
            e.proc = proc_ref(raw->proc);
            decode_wait_status(raw->exit_code, &e.code, &e.signal, &e.core_dumped);
            e.comm = fixed_string(raw->comm);
            return Event{std::move(e)};
        }
        case LINEAGE_EV_CONNECT: {
            lineage_connect_event r{};
            if (!copy_fixed(&r, data, size)) return too_short("connect", size, sizeof(r));
            const auto* raw = &r;
            if (raw->family != AF_INET && raw->family != AF_INET6) {
                return Error{fmt::format("connect record with address family {}", raw->family)};
            }
            ConnectEvent e;
            e.time_ns = raw->syn_time_ns;
            e.outcome_ns = raw->hdr.time_ns;
            e.proc = proc_ref(raw->proc);
            e.family = raw->family == AF_INET6 ? 6 : 4;
            e.saddr = address_text(e.family, raw->saddr);
            e.daddr = address_text(e.family, raw->daddr);
            e.sport = raw->sport;
            e.dport = raw->dport;
            e.established = raw->result == LINEAGE_CONNECT_OK;
            return Event{std::move(e)};
        }
        case LINEAGE_EV_LISTEN: {
            lineage_listen_event r{};
            if (!copy_fixed(&r, data, size)) return too_short("listen", size, sizeof(r));
            if (r.family != AF_INET && r.family != AF_INET6) {
                return Error{fmt::format("listen record with address family {}", r.family)};
            }
            ListenEvent e;
            e.time_ns = r.hdr.time_ns;
            e.proc = proc_ref(r.proc);
            e.family = r.family == AF_INET6 ? 6 : 4;
            e.addr = address_text(e.family, r.addr);
            e.port = r.port;
            return Event{std::move(e)};
        }
        case LINEAGE_EV_DNS: {
            lineage_dns_event r;
            constexpr size_t head = offsetof(lineage_dns_event, payload);
            if (!copy_head(&r, head, data, size)) return too_short("dns", size, head);
            if (r.cap_len > sizeof(r.payload) || head + r.cap_len != size || r.cap_len > r.length) {
                return Error{fmt::format("dns record of {} bytes does not match its lengths ({} of {})", size,
                                         r.cap_len, r.length)};
            }
            if (r.family != AF_INET && r.family != AF_INET6) {
                return Error{fmt::format("dns record with address family {}", r.family)};
            }
            DnsEvent e;
            e.time_ns = r.hdr.time_ns;
            if (r.flags & LINEAGE_DNS_OWNER) e.proc = proc_ref(r.proc);
            e.sent = (r.flags & LINEAGE_DNS_SENT) != 0;
            e.tcp = (r.flags & LINEAGE_DNS_TCP) != 0;
            e.family = r.family == AF_INET6 ? 6 : 4;
            e.saddr = address_text(e.family, r.saddr);
            e.daddr = address_text(e.family, r.daddr);
            e.sport = r.sport;
            e.dport = r.dport;
            e.length = r.length;
            e.message.assign(reinterpret_cast<const char*>(static_cast<const uint8_t*>(data) + head), r.cap_len);
            return Event{std::move(e)};
        }
        case LINEAGE_EV_CGROUP: {
            lineage_cgroup_event r;
            constexpr size_t head = offsetof(lineage_cgroup_event, names);
            if (!copy_head(&r, head, data, size)) return too_short("cgroup", size, head);
            if (r.names_len > sizeof(r.names) || head + r.names_len != size) {
                return Error{
                    fmt::format("cgroup record of {} bytes does not match its length ({})", size, r.names_len)};
            }
            CgroupEvent e;
            e.time_ns = r.hdr.time_ns;
            e.cgroup_id = r.cgroup_id;
            e.hierarchy = r.hierarchy;
            e.path = cgroup_path_from_names(std::string_view(r.names, r.names_len));
            e.truncated = (r.flags & LINEAGE_CGROUP_NAMES_TRUNCATED) != 0;
            return Event{std::move(e)};
        }
        case LINEAGE_EV_MOVE: {
            lineage_move_event r;
            constexpr size_t head = offsetof(lineage_move_event, path);
            if (!copy_head(&r, head, data, size)) return too_short("move", size, head);
            if (r.path_len > sizeof(r.path) || head + r.path_len != size) {
                return Error{fmt::format("move record of {} bytes does not match its length ({})", size, r.path_len)};
            }
            MoveEvent e;
            e.time_ns = r.hdr.time_ns;
            e.proc = proc_ref(r.proc);
            e.mover = proc_ref(r.mover);
            e.cgroup_id = r.cgroup_id;
            e.hierarchy = r.hierarchy;
            e.nspid = r.nspid;
            e.transfer = (r.flags & LINEAGE_MOVE_TRANSFER) != 0;
            e.comm = fixed_string(r.comm);
            // The kernel's text, up to its first NUL: a path is never empty.
            e.path.assign(r.path, strnlen(r.path, r.path_len));
            if (e.path.empty()) e.path = "/";
            return Event{std::move(e)};
        }
        default:
            return Error{fmt::format("unknown event type {}", hdr.type)};
    }
}

const char* pod_name_source_text(PodNameSource s) {
    switch (s) {
        case PodNameSource::log_dir:
            return "log-dir";
        case PodNameSource::runtime:
            return "runtime";
        case PodNameSource::hostname:
            return "hostname";
        case PodNameSource::unknown:
            break;
    }
    return "unknown";
}

const char* membership_how_text(MembershipHow h) {
    switch (h) {
        case MembershipHow::fork:
            return "fork";
        case MembershipHow::exec:
            return "exec";
        case MembershipHow::move:
            return "move";
        case MembershipHow::alive:
            return "alive";
        case MembershipHow::unknown:
            break;
    }
    return "unknown";
}

MembershipHow membership_how_from(std::string_view text) {
    if (text == "fork") return MembershipHow::fork;
    if (text == "exec") return MembershipHow::exec;
    if (text == "move") return MembershipHow::move;
    if (text == "alive") return MembershipHow::alive;
    return MembershipHow::unknown;
}

bool container_source_is_runtime(std::string_view source) {
    return source == "bundle" || source == "containerd-task" || source == "crio-state" || source == "tetragon";
}

PodNameSource pod_name_source_from(std::string_view text) {
    if (text == "log-dir") return PodNameSource::log_dir;
    if (text == "hostname") return PodNameSource::hostname;
    if (text == "runtime") return PodNameSource::runtime;
    return PodNameSource::unknown;
}

}  // namespace lineage

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "event.h"
#include "events.h"

namespace lineage {

// The wire format is shared with the BPF programs; pin it so a change on one
// side cannot silently shift fields on the other.
static_assert(sizeof(lineage_hdr) == 16);
static_assert(sizeof(lineage_proc) == 16);
static_assert(sizeof(lineage_fork_event) == 64);
static_assert(offsetof(lineage_fork_event, child) == 32);
static_assert(sizeof(lineage_exec_event) == 192);
static_assert(offsetof(lineage_exec_event, cgroup_id) == 48);
static_assert(offsetof(lineage_exec_event, binary_len) == 80);
static_assert(offsetof(lineage_exec_event, comm) == 88);
static_assert(offsetof(lineage_exec_event, nodename) == 120);
static_assert(offsetof(lineage_exec_event, data) == 192);
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

Error too_short(const char* what, size_t size, size_t expected) {
    return Error{fmt::format("{} record of {} bytes, expected at least {}", what, size, expected)};
}

}  // namespace

std::string cgroup_path_from_names(std::string_view names) {
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
    return path.empty() ? "/" : path;
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
            return Event{ForkEvent{raw->hdr.time_ns, proc_ref(raw->parent), proc_ref(raw->child),
                                   fixed_string(raw->parent_comm)}};
        }
        case LINEAGE_EV_EXEC: {
            lineage_exec_event r{};
            if (!copy_fixed(&r, data, size)) return too_short("exec", size, sizeof(r));
            const auto* raw = &r;
            size_t variable = size_t{raw->binary_len} + raw->cgroup_len + raw->argv_len;
            if (sizeof(lineage_exec_event) + variable != size) {
                return Error{fmt::format("exec record of {} bytes does not match its lengths ({}+{}+{})", size,
                                         raw->binary_len, raw->cgroup_len, raw->argv_len)};
            }
            const char* tail = static_cast<const char*>(data) + sizeof(lineage_exec_event);
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
            e.comm = fixed_string(raw->comm);
            e.parent_comm = fixed_string(raw->parent_comm);
            e.nodename = fixed_string(raw->nodename);
            e.binary.assign(tail, raw->binary_len);
            e.cgroup_path = cgroup_path_from_names(std::string_view(tail + raw->binary_len, raw->cgroup_len));
            e.argv.assign(tail + raw->binary_len + raw->cgroup_len, raw->argv_len);
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
        default:
            return Error{fmt::format("unknown event type {}", hdr.type)};
    }
}

const char* pod_name_source_text(PodNameSource s) {
    switch (s) {
        case PodNameSource::log_dir:
            return "log-dir";
        case PodNameSource::hostname:
            return "hostname";
        case PodNameSource::unknown:
            break;
    }
    return "unknown";
}

PodNameSource pod_name_source_from(std::string_view text) {
    if (text == "log-dir") return PodNameSource::log_dir;
    if (text == "hostname") return PodNameSource::hostname;
    return PodNameSource::unknown;
}

}  // namespace lineage

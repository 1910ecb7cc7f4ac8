#include "probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "events.h"
#include "lineage_bpf.skel.h"

namespace lineage {

namespace {

// libbpf's log goes to stderr with -v; otherwise its last warning is kept so
// a load failure can say what libbpf saw.
bool g_verbose = false;
std::mutex g_log_mutex;
std::string g_last_libbpf_line;

int libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
    char line[1024];
    vsnprintf(line, sizeof(line), format, args);
    std::string text(line);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    {
        std::lock_guard<std::mutex> lock(g_log_mutex);
        if (level != LIBBPF_DEBUG && !text.empty()) g_last_libbpf_line = text;
    }
    // Not fmt::print, which throws when stderr cannot be written: this is
    // called from C.
    if (g_verbose) std::fprintf(stderr, "libbpf: %s\n", text.c_str());
    return 0;
}

// Does this kernel's sched_process_exit tracepoint pass group_dead? Read
// from the kernel's BTF: typedef btf_trace_sched_process_exit is a pointer
// to a function (void *ctx, struct task_struct *p[, bool group_dead]).
bool exit_tracepoint_has_group_dead() {
    struct btf* btf = btf__load_vmlinux_btf();
    if (!btf || libbpf_get_error(btf)) return false;
    bool has = false;
    int id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
    if (id > 0) {
        const struct btf_type* t = btf__type_by_id(btf, id);
        t = t ? btf__type_by_id(btf, t->type) : nullptr;
        if (t && btf_is_ptr(t)) t = btf__type_by_id(btf, t->type);
        if (t && btf_is_func_proto(t)) has = btf_vlen(t) >= 3;
    }
    btf__free(btf);
    return has;
}

// The rodata code of a cgroup v1 controller the probes can follow.
std::optional<uint32_t> cgroup1_controller_code(const std::string& name) {
    if (name == "memory") return LINEAGE_CGROUP1_MEMORY;
    if (name == "cpu") return LINEAGE_CGROUP1_CPU;
    if (name == "pids") return LINEAGE_CGROUP1_PIDS;
    return std::nullopt;
}

// Names what is missing, so a failed start says more than "EPERM".
std::string explain_failure(int err) {
    std::string why;
    auto caps = effective_capabilities();
    const std::vector<Capability> missing = caps ? probe_missing_capabilities(*caps) : std::vector<Capability>{};
    if (!missing.empty()) {
        why = fmt::format("lineage record needs root, or CAP_BPF and CAP_PERFMON (missing: {})",
                          capability_names(missing));
    } else if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) {
        why = "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF=y is needed)";
    } else if (err == -ENOSYS) {
        why = "the kernel has no BPF support (bpf() returned ENOSYS)";
    } else if (err == -EPERM || err == -EACCES) {
        // The capabilities are there, so something else said no. A
        // container runtime's default seccomp profile allows bpf() only
        // with CAP_SYS_ADMIN; kernels before 5.11 charge BPF memory to
        // RLIMIT_MEMLOCK.
        why =
            "the kernel refused BPF although the capabilities are there (EPERM: a seccomp filter such as a "
            "container runtime's default profile, kernel lockdown, a security module, or RLIMIT_MEMLOCK on "
            "kernels before 5.11)";
    } else {
        why = std::strerror(-err);
    }
    std::lock_guard<std::mutex> lock(g_log_mutex);
    if (!g_last_libbpf_line.empty()) {
        std::string line = g_last_libbpf_line;
        if (line.rfind("libbpf: ", 0) == 0) line.erase(0, 8);
        why += fmt::format(" [libbpf: {}]", line);
    }
    return why;
}

}  // namespace

std::vector<Capability> probe_missing_capabilities(const CapabilitySet& have) {
    std::vector<Capability> missing;
    if (have.has(Capability::sys_admin)) return missing;
    if (!have.has(Capability::bpf)) missing.push_back(Capability::bpf);
    if (!have.has(Capability::perfmon)) missing.push_back(Capability::perfmon);
    return missing;
}

int Probe::on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Probe*>(ctx);
    self->sink_(data, size);
    return 0;
}

void Probe::SkeletonDeleter::operator()(lineage_bpf* skel) const {
    lineage_bpf__destroy(skel);
}

void Probe::RingBufferDeleter::operator()(ring_buffer* rb) const {
    ring_buffer__free(rb);
}

Result<std::unique_ptr<Probe>> Probe::start(const ProbeOptions& options, RecordSink sink) {
    g_verbose = options.verbose;
    libbpf_set_print(libbpf_log);

    std::unique_ptr<Probe> probe(new Probe());
    probe->sink_ = std::move(sink);

    probe->skel_.reset(lineage_bpf__open());
    if (!probe->skel_) {
        return Error{fmt::format("cannot open BPF object: {}", explain_failure(-errno))};
    }
    auto* skel = probe->skel_.get();

    // Configure between open and load, so the verifier sees the constants.
    skel->rodata->argv_cap = options.argv_cap;
    skel->rodata->wakeup_bytes = options.wakeup_bytes;
    skel->rodata->filter_cgroups = options.filter_cgroups;
    skel->rodata->exit_has_group_dead = exit_tracepoint_has_group_dead();
    if (!options.cgroup1_controller.empty()) {
        const auto controller = cgroup1_controller_code(options.cgroup1_controller);
        if (!controller) {
            return Error{fmt::format("cannot follow the cgroup v1 controller '{}' (only memory, cpu and pids)",
                                     options.cgroup1_controller)};
        }
        skel->rodata->cgroup1_controller = *controller;
        skel->rodata->cgroup1_hierarchy = options.cgroup1_hierarchy;
    }
    if (int err = bpf_map__set_max_entries(skel->maps.events, static_cast<uint32_t>(options.ring_bytes)); err) {
        return Error{
            fmt::format("cannot size the ring buffer to {} bytes: {}", options.ring_bytes, std::strerror(-err))};
    }

    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0 || bpf_map__set_max_entries(skel->maps.exec_scratch, static_cast<uint32_t>(ncpu)) != 0) {
        return Error{"cannot size the exec scratch map to the number of CPUs"};
    }

    if (options.pending_connects != 0 &&
        bpf_map__set_max_entries(skel->maps.pending_connects, options.pending_connects) != 0) {
        return Error{"cannot size the map of connects in progress"};
    }

    // DNS (issue 21): the cgroup_skb hooks need a cgroup2 hierarchy to
    // attach to. Without one, neither they nor the irq tracepoints that
    // serve them are loaded.
    const bool dns = !options.cgroup2_mount.empty();
    for (bpf_program* prog :
         {skel->progs.dns_egress, skel->progs.dns_ingress, skel->progs.dns_softirq_entry, skel->progs.dns_softirq_exit,
          skel->progs.dns_hardirq_entry, skel->progs.dns_hardirq_exit}) {
        bpf_program__set_autoload(prog, dns);
    }

    if (int err = lineage_bpf__load(skel); err) {
        return Error{fmt::format("cannot load BPF programs: {}", explain_failure(err))};
    }

    for (uint64_t id : options.allowed_cgroup_ids) {
        uint8_t one = 1;
        if (bpf_map__update_elem(skel->maps.allowed_cgroups, &id, sizeof(id), &one, sizeof(one), BPF_ANY) != 0) {
            return Error{fmt::format("cannot add cgroup id {} to the filter: {}", id, std::strerror(errno))};
        }
    }

    struct Hook {
        struct bpf_program* prog;
        struct bpf_link** link;
        const char* name;
    };
    const Hook hooks[] = {
        {skel->progs.handle_fork, &skel->links.handle_fork, "tp_btf/sched_process_fork"},
        {skel->progs.handle_exec, &skel->links.handle_exec, "tp_btf/sched_process_exec"},
        {skel->progs.handle_exit, &skel->links.handle_exit, "tp_btf/sched_process_exit"},
        {skel->progs.handle_set_state, &skel->links.handle_set_state, "tp_btf/inet_sock_set_state"},
        {skel->progs.handle_attach, &skel->links.handle_attach, "tp_btf/cgroup_attach_task"},
        {skel->progs.handle_transfer, &skel->links.handle_transfer, "tp_btf/cgroup_transfer_tasks"},
    };
    for (const auto& h : hooks) {
        *h.link = bpf_program__attach(h.prog);
        if (!*h.link) {
            int err = -errno;
            return Error{fmt::format("cannot attach {}: {}", h.name, explain_failure(err))};
        }
        if (!probe->hooks_.empty()) probe->hooks_ += ',';
        probe->hooks_ += h.name;
    }
    if (dns) {
        // The exits before the entries: an irq flag then never stays set
        // for want of its exit (bpf/lineage.bpf.c, irq_flags).
        const Hook irq_hooks[] = {
            {skel->progs.dns_softirq_exit, &skel->links.dns_softirq_exit, "tp_btf/softirq_exit"},
            {skel->progs.dns_hardirq_exit, &skel->links.dns_hardirq_exit, "tp_btf/irq_handler_exit"},
            {skel->progs.dns_softirq_entry, &skel->links.dns_softirq_entry, "tp_btf/softirq_entry"},
            {skel->progs.dns_hardirq_entry, &skel->links.dns_hardirq_entry, "tp_btf/irq_handler_entry"},
        };
        for (const auto& h : irq_hooks) {
            *h.link = bpf_program__attach(h.prog);
            if (!*h.link) return Error{fmt::format("cannot attach {}: {}", h.name, explain_failure(-errno))};
        }
        probe->cgroup2_root_ = UniqueFd(open(options.cgroup2_mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!probe->cgroup2_root_) {
            return Error{fmt::format("cannot open the cgroup2 root {} for the DNS hooks: {}", options.cgroup2_mount,
                                     std::strerror(errno))};
        }
        // A link, so that the programs other software attached to the root
        // (systemd's, a CNI's) stay, and ours go when the recorder does.
        for (auto [prog, link, name] :
             {std::tuple{skel->progs.dns_egress, &skel->links.dns_egress, "cgroup_skb/egress"},
              std::tuple{skel->progs.dns_ingress, &skel->links.dns_ingress, "cgroup_skb/ingress"}}) {
            *link = bpf_program__attach_cgroup(prog, probe->cgroup2_root_.get());
            if (!*link) {
                return Error{
                    fmt::format("cannot attach {} to {}: {}", name, options.cgroup2_mount, explain_failure(-errno))};
            }
            probe->hooks_ += ',';
            probe->hooks_ += name;
        }
    }

    probe->rb_.reset(ring_buffer__new(bpf_map__fd(skel->maps.events), &Probe::on_record, probe.get(), nullptr));
    if (!probe->rb_) {
        return Error{fmt::format("cannot open the ring buffer: {}", std::strerror(errno))};
    }
    return probe;
}

Result<int> Probe::poll(int timeout_ms) {
    int n = ring_buffer__poll(rb_.get(), timeout_ms);
    if (n < 0 && n != -EINTR) return Error{fmt::format("ring buffer poll failed: {}", std::strerror(-n))};
    // Records submitted without a wakeup are not signalled: take them too.
    auto more = drain();
    if (!more) return more;
    return (n > 0 ? n : 0) + *more;
}

Result<int> Probe::drain() {
    int n = ring_buffer__consume(rb_.get());
    if (n < 0 && n != -EINTR) return Error{fmt::format("ring buffer read failed: {}", std::strerror(-n))};
    return n > 0 ? n : 0;
}

Result<DropCounters> Probe::drops() const {
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return Error{fmt::format("cannot read the ring buffer's drop counters: {}", std::strerror(-ncpu))};
    std::vector<lineage_drops> per_cpu(static_cast<size_t>(ncpu));
    uint32_t zero = 0;
    if (bpf_map__lookup_elem(skel_->maps.drops, &zero, sizeof(zero), per_cpu.data(),
                             per_cpu.size() * sizeof(lineage_drops), 0) != 0) {
        return Error{fmt::format("cannot read the ring buffer's drop counters: {}", std::strerror(errno))};
    }
    DropCounters total;
    for (const auto& d : per_cpu) {
        total.count += d.count;
        if (d.last_ns > total.last_ns) total.last_ns = d.last_ns;
        total.map_full += d.map_full;
        if (d.map_full_last_ns > total.map_full_last_ns) total.map_full_last_ns = d.map_full_last_ns;
    }
    return total;
}

}  // namespace lineage

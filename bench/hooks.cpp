// bench_hooks: attaches one syscall hook of bpf/syscall_hooks.bpf.c and
// keeps it attached until SIGINT or SIGTERM, for bench/run's "syscalls"
// section (what a hook on the syscall tracepoints costs every syscall of
// every process: the files issue's choice of hook).
//
//   bench_hooks raw_tp       raw_tp/sys_enter
//   bench_hooks tp_btf       tp_btf/sys_enter
//   bench_hooks tp_btf_exit  tp_btf/sys_enter and tp_btf/sys_exit (an open's result needs the exit)
//   bench_hooks tracepoint   tracepoint/syscalls/sys_enter_openat (needs tracefs mounted)
//
// Prints "bench_hooks: attached HOOK" once attached, and at the signal
// "hook=HOOK enter_matched=N exit_matched=N": the openat calls each side
// saw, proof that the hook ran. Exit 1 with one line on stderr when it
// cannot load or attach.
#include <signal.h>

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "syscall_hooks_bpf.skel.h"

namespace {

struct SkeletonDeleter {
    void operator()(syscall_hooks_bpf* skel) const { syscall_hooks_bpf__destroy(skel); }
};
using Skeleton = std::unique_ptr<syscall_hooks_bpf, SkeletonDeleter>;

int fail(const std::string& what, int err) {
    fmt::print(stderr, "bench_hooks: {}: {}\n", what, std::strerror(err < 0 ? -err : err));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string hook = argc == 2 ? argv[1] : "";
    if (hook != "raw_tp" && hook != "tp_btf" && hook != "tp_btf_exit" && hook != "tracepoint") {
        fmt::print(stderr, "usage: bench_hooks raw_tp|tp_btf|tp_btf_exit|tracepoint\n");
        return 2;
    }
    // Block the stop signals before anything runs, then wait for one.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    // Open, choose the programs, load, attach: the order libbpf expects.
    Skeleton skel(syscall_hooks_bpf__open());
    if (!skel) return fail("cannot open the BPF object", errno);
    std::vector<bpf_program*> wanted;
    if (hook == "raw_tp") wanted = {skel->progs.enter_raw};
    if (hook == "tp_btf") wanted = {skel->progs.enter_btf};
    if (hook == "tp_btf_exit") wanted = {skel->progs.enter_btf, skel->progs.exit_btf};
    if (hook == "tracepoint") wanted = {skel->progs.enter_openat_tp};
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, skel->obj) {
        bool keep = false;
        for (bpf_program* w : wanted) keep = keep || w == prog;
        bpf_program__set_autoload(prog, keep);
    }
    if (int err = syscall_hooks_bpf__load(skel.get()); err) return fail("cannot load", err);
    std::vector<std::unique_ptr<bpf_link, decltype(&bpf_link__destroy)>> links;
    for (bpf_program* w : wanted) {
        bpf_link* link = bpf_program__attach(w);
        if (!link) return fail(fmt::format("cannot attach {}", bpf_program__section_name(w)), errno);
        links.emplace_back(link, &bpf_link__destroy);
    }
    fmt::print("bench_hooks: attached {}\n", hook);
    std::fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    fmt::print("hook={} enter_matched={} exit_matched={}\n", hook, skel->bss->enter_matched, skel->bss->exit_matched);
    return 0;
}

// The /proc parsers on one input, as any of the files they read: a process
// chooses its comm, argv and (through a container runtime) cgroup names.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "argv.h"
#include "fuzz_check.h"
#include "procfs.h"

namespace {

using namespace lineage;

void check_stat(std::string_view text) {
    auto stat = parse_proc_stat(text);
    if (!stat) {
        FUZZ_CHECK(!stat.error().message.empty());
        return;
    }
    FUZZ_CHECK(stat->pid > 0);
    FUZZ_CHECK(stat->ppid >= 0);
    FUZZ_CHECK(stat->comm.size() < text.size());
}

void check_status(std::string_view text) {
    auto status = parse_proc_status(text);
    if (!status) {
        FUZZ_CHECK(!status.error().message.empty());
        return;
    }
    // The snapshot takes nspid.back() of every parsed status.
    FUZZ_CHECK(!status->nspid.empty());
    FUZZ_CHECK(status->tgid >= 0 && status->ppid >= 0);
}

void check_cmdline(std::string_view bytes) {
    auto args = split_argv(bytes);
    if (bytes.empty()) {
        FUZZ_CHECK(args.empty());
        return;
    }
    // Joining on NUL gives the input back, less its one trailing NUL.
    std::string joined;
    for (size_t i = 0; i < args.size(); ++i) {
        if (i) joined += '\0';
        joined += args[i];
    }
    std::string_view expected = bytes;
    if (expected.back() == '\0') expected.remove_suffix(1);
    FUZZ_CHECK(joined == expected);
}

void check_cgroup(std::string_view text) {
    ProcCgroup cgroup = parse_proc_cgroup(text);
    FUZZ_CHECK(cgroup.unified.find('\n') == std::string::npos);
    for (const auto& [controllers, path] : cgroup.v1) {
        FUZZ_CHECK(controllers.find('\n') == std::string::npos);
        FUZZ_CHECK(path.find('\n') == std::string::npos);
    }
    std::string best = best_cgroup_path(cgroup);
    FUZZ_CHECK(best.size() <= text.size());
    FUZZ_CHECK(best.find('\n') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    check_stat(text);
    check_status(text);
    check_cmdline(text);
    check_cgroup(text);
    return 0;
}

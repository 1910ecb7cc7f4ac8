// End-to-end tests need root and a kernel that runs our BPF programs. Where
// they cannot run they skip visibly (exit 77, "Skipped" in CTest) unless
// LINEAGE_REQUIRE_BPF=1, which turns the skip into a failure. Catch2's
// session is compiled once, in tests/common/catch_session.cpp.
#include "catch_session.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
    std::string missing;
    if (geteuid() != 0)
        missing = "root";
    else if (!std::filesystem::exists("/sys/kernel/btf/vmlinux"))
        missing = "kernel BTF (/sys/kernel/btf/vmlinux)";
    // Listing tests (ctest discovery) must work anywhere.
    bool listing = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--list", 6) == 0) listing = true;
    }
    if (!missing.empty() && !listing) {
        const char* req = std::getenv("LINEAGE_REQUIRE_BPF");
        if (req && std::string(req) == "1") {
            std::fprintf(stderr, "FAIL: eBPF end-to-end test needs %s, and LINEAGE_REQUIRE_BPF=1\n", missing.c_str());
            return 1;
        }
        std::fprintf(stderr, "SKIPPED: eBPF end-to-end test needs %s (set LINEAGE_REQUIRE_BPF=1 to fail instead)\n",
                     missing.c_str());
        return 77;
    }
    return run_catch_session(argc, argv);
}

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "huge_heap.h"

namespace {

// AnonHugePages of this process, in KiB.
long anon_huge_kib() {
    std::ifstream in("/proc/self/smaps_rollup");
    const std::string key = "AnonHugePages:";
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key, 0) == 0) return std::strtol(line.c_str() + key.size(), nullptr, 10);
    }
    return -1;
}

}  // namespace

TEST_CASE("a read command's heap is in huge pages when the kernel gives them on request", "[core][huge]") {
    // In a child process: mallopt and the reserve change the heap of the
    // whole process, and this one runs every other test.
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (!lineage::prefer_huge_heap()) _exit(77);
        // 32 MiB in blocks of the size of a model's strings and vectors,
        // written to, as a model is built.
        std::vector<char*> blocks;
        blocks.reserve(32 * 1024);
        for (int i = 0; i < 32 * 1024; ++i) {
            char* b = static_cast<char*>(std::malloc(1000));
            if (!b) _exit(2);
            std::memset(b, 1, 1000);
            blocks.push_back(b);
        }
        long kib = anon_huge_kib();
        _exit(kib >= 8 * 1024 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        WARN("skipped: THP is not in madvise mode here (or AddressSanitizer's allocator is in use): nothing is asked");
        return;
    }
    // Most of the 32 MiB in 2 MiB pages, not none.
    CHECK(WEXITSTATUS(status) == 0);
}

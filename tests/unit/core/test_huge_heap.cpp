#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "huge_heap.h"
#include "test_files.h"

namespace test_huge_heap {

namespace {

// Whether prefer_huge_heap() should ask for huge pages here (huge_heap.h).
bool huge_pages_expected() {
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string modes;
    std::getline(in, modes);
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    return modes.find("[madvise]") != std::string::npos && !lineage::test::kLineageSanitized &&
           !(tunables && std::strstr(tunables, "glibc.malloc."));
}

// The VmFlags line of the mapping that holds p (/proc/self/smaps).
std::string vm_flags_of(const void* p) {
    const auto at = reinterpret_cast<uintptr_t>(p);
    std::ifstream in("/proc/self/smaps");
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        uintptr_t begin = 0, end = 0;
        if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " ", &begin, &end) == 2) {
            inside = begin <= at && at < end;
        } else if (inside && line.rfind("VmFlags:", 0) == 0) {
            return line + " ";
        }
    }
    return "";
}

// AnonHugePages of this process, in KiB; -1 when not known.
long anon_huge_kib() {
    std::ifstream in("/proc/self/smaps_rollup");
    const std::string key = "AnonHugePages:";
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key, 0) == 0) return std::strtol(line.c_str() + key.size(), nullptr, 10);
    }
    return -1;
}

// The child's verdicts.
constexpr int kAsExpected = 0;
constexpr int kWrongAnswer = 3;  // asked when it should not have, or the reverse
constexpr int kNotMarked = 4;    // the heap's top is not marked for huge pages
constexpr int kNoneGranted = 5;  // marked, but the kernel gave no huge page

}  // namespace

TEST_CASE("a read command's heap is in huge pages when the kernel gives them on request", "[core][huge]") {
    const bool expected = huge_pages_expected();
    // In a child process: mallopt and the reserve change the heap of the
    // whole process, and this one runs other tests.
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const bool marked = lineage::prefer_huge_heap();
        if (marked != expected) _exit(kWrongAnswer);
        if (!marked) _exit(kAsExpected);
        // 32 MiB in blocks the size of a model's strings and vectors,
        // written to, as a model is built. The first blocks may come from
        // free chunks the process already had; the last comes from the top
        // of the heap: the reserve.
        std::vector<char*> blocks;
        blocks.reserve(32 * 1024);
        for (int i = 0; i < 32 * 1024; ++i) {
            char* b = static_cast<char*>(std::malloc(1000));
            if (!b) _exit(2);
            std::memset(b, 1, 1000);
            blocks.push_back(b);
        }
        if (vm_flags_of(blocks.back()).find(" hg ") == std::string::npos) _exit(kNotMarked);
        _exit(anon_huge_kib() >= 8 * 1024 ? kAsExpected : kNoneGranted);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    const int verdict = WEXITSTATUS(status);
    INFO("huge pages expected here: " << expected << ", the child's verdict: " << verdict);
    if (!expected) {
        WARN(
            "THP is not in madvise mode here (or AddressSanitizer, or GLIBC_TUNABLES tunes malloc): only checked "
            "that nothing is asked");
    }
    if (verdict == kNoneGranted) {
        // The kernel decides: fragmented memory, or THP's defrag off.
        WARN("the heap is marked for huge pages, but the kernel gave none this time");
    } else {
        CHECK(verdict == kAsExpected);
    }
}

}  // namespace test_huge_heap

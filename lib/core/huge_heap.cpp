#include "huge_heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace lineage {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// Virtual address space, not memory: pages are only taken as they are
// touched. 256 MiB covers the answers that gain (thousands to 100,000
// processes, 20-230 MiB); beyond it the heap grows in ordinary pages.
constexpr size_t kReserve = size_t{256} << 20;

bool thp_on_request_only() {
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string modes;
    std::getline(in, modes);
    return modes.find("[madvise]") != std::string::npos;
}

}  // namespace

// Why it works: a command such as reconstruct builds its whole answer on the
// heap, and on a virtual machine a page fault costs about 10 us, a fifth of
// the time of an answer of thousands of processes (bench/results/huge-pages.txt).
// glibc's own switch (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) can only be set
// before the process starts; this does the same from inside:
//  - every allocation, however large, comes from the heap (brk) rather than
//    a mapping of its own, and freed memory is never given back (a command
//    runs for seconds; its peak is what counts);
//  - one block of kReserve is allocated, the 2 MiB-aligned part of it marked
//    MADV_HUGEPAGE, and freed: it stays the top of the heap, and every later
//    allocation is carved out of it, in huge pages.
// Under an RLIMIT_AS, the block is at most a quarter of the limit, or
// nothing when that is under two huge pages. Only the main thread's heap:
// another thread's allocations come from an arena of its own (lineage pods'
// second loader), in ordinary pages, as with glibc's switch.
bool prefer_huge_heap() {
#if defined(__SANITIZE_ADDRESS__)
#define LINEAGE_HUGE_HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LINEAGE_HUGE_HEAP_ASAN 1
#endif
#endif
#ifdef LINEAGE_HUGE_HEAP_ASAN
    // AddressSanitizer's allocator ignores mallopt, and would poison the
    // whole block's shadow for nothing.
    return false;
#endif
    // A user who tunes glibc's malloc (hugetlb, mmap_threshold,
    // trim_threshold, ...) gets what they asked for, and nothing of this.
    if (const char* t = std::getenv("GLIBC_TUNABLES"); t && std::strstr(t, "glibc.malloc.")) return false;
    if (!thp_on_request_only()) return false;
    size_t reserve = kReserve;
    rlimit as{};
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
        reserve = std::min<size_t>(reserve, static_cast<size_t>(as.rlim_cur) / 4);
    }
    if (reserve < 2 * kHugePage) return false;
    if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(reserve + kHugePage)) == 0) return false;
    if (mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * reserve)) == 0) return false;
    void* block = std::malloc(reserve);
    if (!block) return false;
    auto begin = (reinterpret_cast<uintptr_t>(block) + kHugePage - 1) & ~(kHugePage - 1);
    auto end = (reinterpret_cast<uintptr_t>(block) + reserve) & ~(kHugePage - 1);
    bool marked = end > begin && madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) == 0;
    std::free(block);
    return marked;
}

}  // namespace lineage

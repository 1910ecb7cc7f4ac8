#pragma once
// The heap of a read command in transparent huge pages, where the kernel
// gives them only on request (THP mode "madvise", the default of Debian's
// and many distributions' kernels).

namespace lineage {

// Asks the kernel for huge pages under the first part of the heap (see
// huge_heap.cpp), so that a large answer takes one page fault per 2 MiB
// instead of one per 4 KiB. Does nothing when THP is "always" (already so)
// or "never", when GLIBC_TUNABLES tunes glibc's malloc (glibc.malloc.*:
// hugetlb=1 does the same in glibc, hugetlb=0 turns it off), or under
// AddressSanitizer. Never fails: without it the command
// is only slower. True when it marked a part of the heap.
bool prefer_huge_heap();

}  // namespace lineage

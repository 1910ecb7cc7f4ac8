#pragma once
// FUZZ_CHECK: a property that must hold for every input. A failure prints
// the condition and aborts, which libFuzzer reports as a crash with the
// input saved. Unlike assert() it is never compiled out.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                      \
        }                                                                                      \
    } while (0)

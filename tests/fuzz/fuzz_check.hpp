#pragma once
// An invariant a fuzz target checks. A failure says which and aborts: libFuzzer
// reports that as a crash and keeps the input, and the corpus driver as a
// failed test.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                      \
        }                                                                                      \
    } while (0)

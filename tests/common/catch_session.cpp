// Catch2 v2's implementation (Debian 12's catch2 package is header-only),
// compiled once for both test programs. Building it into each program's
// main.cpp cost 15 to 20 s of compile per program, per build.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "catch_session.h"

int run_catch_session(int argc, char** argv) {
    return Catch::Session().run(argc, argv);
}

// The unit tests' main(): Catch2's session, compiled once in
// tests/common/catch_session.cpp.
#include "catch_session.h"

int main(int argc, char** argv) {
    return run_catch_session(argc, argv);
}

#pragma once

// Runs the Catch2 tests of this program with its command line: what a test
// program's main() calls. Catch::Session is only declared where Catch2's
// implementation is compiled (catch_session.cpp), hence this function.
int run_catch_session(int argc, char** argv);

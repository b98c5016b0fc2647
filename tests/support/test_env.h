// File: tests/support/test_env.h
// Facts the test command (tools/test.sh) hands to the tests through the environment.
#pragma once

#include <string>

namespace p402::testing {

// DSN of the throwaway PostgreSQL started by tools/test.sh (P402_TEST_PG_DSN). A test that needs
// PostgreSQL calls this; when the variable is missing it FAILS (never skips) with a message that
// says how to run the tests.
std::string RequirePostgresDsn();

// Absolute path of the build tree (where the built binaries are), from P402_BUILD_DIR or the
// current working directory (ctest runs tests there).
std::string BuildDir();

// Absolute path of the source tree (P402_SOURCE_DIR, compiled in as a default).
std::string SourceDir();

}  // namespace p402::testing

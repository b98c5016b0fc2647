#include "tests/support/test_env.h"

#include <unistd.h>

#include <cstdlib>

#include "catch2/catch.hpp"

namespace p402::testing {

std::string RequirePostgresDsn() {
  const char* dsn = std::getenv("P402_TEST_PG_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    FAIL("P402_TEST_PG_DSN is not set: run the tests with tools/test.sh, which starts a "
         "throwaway PostgreSQL on loopback");
  }
  return dsn;
}

std::string BuildDir() {
  if (const char* dir = std::getenv("P402_BUILD_DIR")) {
    return dir;
  }
  char buf[4096];
  if (::getcwd(buf, sizeof(buf)) != nullptr) {
    return buf;
  }
  return ".";
}

std::string SourceDir() {
  if (const char* dir = std::getenv("P402_SOURCE_DIR")) {
    return dir;
  }
  return P402_SOURCE_DIR_DEFAULT;
}

}  // namespace p402::testing

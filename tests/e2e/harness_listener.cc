// Catch2 listener: when an assertion fails while a Suite is alive, print the tail of every
// service log once per test case (the failure is usually explained there) and keep the suite's
// temp dir. Registered with CATCH_REGISTER_LISTENER, so every test in p402_e2e_test gets it.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <algorithm>
#include <iostream>
#include <mutex>
#include <set>
#include <vector>

#include "catch2/catch.hpp"
#include "tests/e2e/harness.h"

namespace p402::e2e {
namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::vector<Suite*>& Registry() {
  static std::vector<Suite*> suites;
  return suites;
}
// Suites whose logs were already printed in the current test case.
std::set<Suite*>& Dumped() {
  static std::set<Suite*> dumped;
  return dumped;
}

struct E2eFailureListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    TestEventListenerBase::testCaseStarting(info);
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Dumped().clear();
  }

  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (stats.assertionResult.isOk()) {
      return true;
    }
    std::lock_guard<std::mutex> lock(RegistryMutex());
    for (Suite* suite : Registry()) {
      suite->MarkFailedForTest();
      if (Dumped().insert(suite).second) {
        std::cerr << "==== e2e: service logs at the first failure (" << suite->work_dir()
                  << ") ====\n"
                  << suite->LogTails(30) << "==== end of service logs ====\n";
      }
    }
    return true;
  }
};

CATCH_REGISTER_LISTENER(E2eFailureListener)

}  // namespace

void RegisterSuiteForFailureLogs(Suite* suite) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry().push_back(suite);
}

void UnregisterSuiteForFailureLogs(Suite* suite) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto& r = Registry();
  r.erase(std::remove(r.begin(), r.end(), suite), r.end());
  Dumped().erase(suite);
}

}  // namespace p402::e2e

// File: tests/libs/x402/x402_test_data.h
// Loads the samples the x402 trial rig captured from the official clients/servers
// (tests/libs/x402/data, copied from shared/reference/x402-trial/samples) and small JSON helpers
// shared by the libs/x402 tests.
#pragma once

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "tests/support/catch_status.h"
#include "tests/support/test_env.h"

namespace p402::x402::testdata {

inline std::string ReadText(std::string_view name) {
  const std::string path =
      ::p402::testing::SourceDir() + "/tests/libs/x402/data/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  INFO("reading " << path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

inline json::Value ReadJson(std::string_view name) {
  absl::StatusOr<json::Value> v = json::Value::Parse(ReadText(name));
  REQUIRE_THAT(v.status(), ::p402::testing::IsOk());
  return *v;
}

// The member at `path` (object keys); REQUIREs that it exists.
inline const json::Value& At(const json::Value& root,
                             std::initializer_list<std::string_view> path) {
  const json::Value* v = &root;
  for (std::string_view key : path) {
    INFO("key " << key);
    v = v->Find(key);
    REQUIRE(v != nullptr);
  }
  return *v;
}

// A copy of `root` with the member at `path` replaced by `replacement` (or removed when
// `remove`); intermediate objects must exist.
inline json::Value With(json::Value root, std::initializer_list<std::string_view> path,
                        json::Value replacement, bool remove = false) {
  REQUIRE(path.size() > 0);
  json::Value* v = &root;
  auto it = path.begin();
  for (; it + 1 != path.end(); ++it) {
    json::Value* next = nullptr;
    for (auto& [k, child] : v->MutableObject()) {
      if (k == *it) next = &child;
    }
    INFO("key " << *it);
    REQUIRE(next != nullptr);
    v = next;
  }
  if (remove) {
    v->Erase(*it);
  } else {
    v->Set(*it, std::move(replacement));
  }
  return root;
}

inline json::Value Without(json::Value root, std::initializer_list<std::string_view> path) {
  return With(std::move(root), path, json::Value(), /*remove=*/true);
}

}  // namespace p402::x402::testdata

// File: libs/common/status_macros.h
// Early-return helpers for absl::Status / absl::StatusOr. Abseil 20220623 has none of its own, and
// the P402_ prefix keeps them from clashing with names later Abseil versions add.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define P402_STATUS_CONCAT_INNER_(a, b) a##b
#define P402_STATUS_CONCAT_(a, b) P402_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define P402_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status p402_status_ = (expr);        \
    if (!p402_status_.ok()) return p402_status_; \
  } while (0)

// `P402_ASSIGN_OR_RETURN(auto x, Fn());` declares/assigns from a StatusOr or returns its status.
#define P402_ASSIGN_OR_RETURN(lhs, expr) \
  P402_ASSIGN_OR_RETURN_IMPL_(P402_STATUS_CONCAT_(p402_statusor_, __LINE__), lhs, expr)
#define P402_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(*tmp)

// Always-on invariant check (Envoy RELEASE_ASSERT). Never use on external input.
#define P402_CHECK(cond)                                               \
  do {                                                                 \
    if (!(cond)) ::p402::internal::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace p402::internal {
[[noreturn]] void CheckFailed(const char* cond, const char* file, int line);
}  // namespace p402::internal

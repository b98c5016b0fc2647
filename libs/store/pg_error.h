// File: libs/store/pg_error.h
// How PostgreSQL errors become absl::Status values (house style 3.7), in one table:
//   connection exception (08xxx), admin shutdown (57P01-57P03),
//   insufficient resources (53xxx)                       -> Unavailable
//   unique violation 23505                               -> AlreadyExists
//   serialization failure 40001, deadlock 40P01,
//   lock not available 55P03                             -> Aborted (retry the transaction)
//   query canceled / statement timeout 57014             -> DeadlineExceeded
//   data exception 22xxx, not-null 23502, check 23514    -> InvalidArgument
//   other integrity violations 23xxx (foreign key, ...),
//   invalid transaction state 25xxx                      -> FailedPrecondition
//   anything else (syntax 42601, undefined table, ...)   -> Internal
// Messages read "postgres: <server's primary message> (SQLSTATE xxxxx)". They never carry
// parameter values: the server's DETAIL (which echoes key values) is dropped, and quoted text in
// data-exception messages (e.g. `invalid input syntax for type integer: "..."`) is elided.
// The SQLSTATE also travels as a status payload, read with SqlStateOf.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace p402::store {

// The status for a server error with SQLSTATE `sqlstate` and primary message `message`.
// An empty or malformed sqlstate gives Internal. Pure; thread-safe.
absl::Status StatusFromPgError(std::string_view sqlstate, std::string_view message);

// The SQLSTATE attached to a status made by this library, if any.
std::optional<std::string> SqlStateOf(const absl::Status& status);

}  // namespace p402::store

// File: libs/store/internal/pg_result_access.h
// Private to libs/store: builds a PgResult around a libpq PGresult. This header includes
// libpq-fe.h, so only libs/store/*.cc may include it (house style 3.14).
#pragma once

#include <libpq-fe.h>

#include "libs/store/pg_result.h"

namespace p402::store::internal {

struct PgResultAccess {
  // Takes ownership of `result` (PQclear on destruction). `result` must not be null.
  static PgResult Wrap(PGresult* result);
};

}  // namespace p402::store::internal

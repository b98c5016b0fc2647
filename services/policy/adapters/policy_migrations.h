// File: services/policy/adapters/policy_migrations.h
// The policy service's schema migrations (services/policy/schema/*.sql), embedded into the
// binary at build time; the .sql files are the source of truth. Applied by PgPolicyStore::Open
// through libs/store Migrate under the service name kPolicyMigrationService.
#pragma once

#include <string_view>
#include <vector>

#include "libs/store/migrate.h"

namespace p402::policy {

inline constexpr std::string_view kPolicyMigrationService = "policy";

// All migrations, in version order (1 = 0001_init.sql, ...).
std::vector<store::Migration> PolicyMigrations();

}  // namespace p402::policy

// File: services/settlement/adapters/settlement_migrations.h
// The settlement service's schema migrations (services/settlement/schema/*.sql), embedded into the
// binary at build time; the .sql files are the source of truth. Applied through libs/store Migrate
// under the service name kSettlementMigrationService (schema "settlement").
#pragma once

#include <string_view>
#include <vector>

#include "libs/store/migrate.h"

namespace p402::settlement {

inline constexpr std::string_view kSettlementMigrationService = "settlement";

// All migrations, in version order (1 = 0001_payments_ledger.sql, 2 = 0002_bazaar.sql).
std::vector<store::Migration> SettlementMigrations();

}  // namespace p402::settlement

-- services/policy/schema/0001_init.sql
-- The billing guard's state: tenants with their limits and budget counters, API keys (only the
-- SHA-256 of the secret, never the secret) and budget reservations. Applied by libs/store Migrate
-- as version 1 of service "policy"; embedded into the binary at build time
-- (services/policy/CMakeLists.txt). Never edit an applied migration: add 0002_....sql instead.
-- All money is integer micro-USD, all times Unix epoch milliseconds (UTC).

CREATE SCHEMA IF NOT EXISTS policy;

CREATE TABLE policy.tenants (
  id                        text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,64}$'),
  name                      text NOT NULL,
  -- Limits: 0 = the service default; budget 0 = unlimited.
  per_request_cap_micro_usd bigint NOT NULL DEFAULT 0 CHECK (per_request_cap_micro_usd >= 0),
  daily_limit_micro_usd     bigint NOT NULL DEFAULT 0 CHECK (daily_limit_micro_usd >= 0),
  budget_micro_usd          bigint NOT NULL DEFAULT 0 CHECK (budget_micro_usd >= 0),
  requests_per_hour         bigint NOT NULL DEFAULT 0 CHECK (requests_per_hour >= 0),
  max_concurrent            integer NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
  -- Committed spend and the sum of open reservations. Reservations are granted only while
  -- budget_micro_usd = 0 OR budget_micro_usd - spent_micro_usd - reserved_micro_usd >= amount,
  -- checked and updated in one statement (see pg_policy_store.cc).
  spent_micro_usd           bigint NOT NULL DEFAULT 0 CHECK (spent_micro_usd >= 0),
  reserved_micro_usd        bigint NOT NULL DEFAULT 0 CHECK (reserved_micro_usd >= 0),
  created_unix_ms           bigint NOT NULL
);

CREATE TABLE policy.api_keys (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES policy.tenants (id),
  name            text NOT NULL DEFAULT '',
  -- First characters of the secret, to recognise a key in listings.
  prefix          text NOT NULL,
  -- SHA-256 of the secret, lowercase hex. The secret itself is never stored.
  key_hash        text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  admin           boolean NOT NULL DEFAULT false,
  revoked         boolean NOT NULL DEFAULT false,
  created_unix_ms bigint NOT NULL
);

CREATE INDEX api_keys_tenant_idx ON policy.api_keys (tenant_id, created_unix_ms, id);

CREATE TABLE policy.reservations (
  id                text PRIMARY KEY,
  tenant_id         text NOT NULL REFERENCES policy.tenants (id),
  amount_micro_usd  bigint NOT NULL CHECK (amount_micro_usd >= 0),
  status            text NOT NULL DEFAULT 'reserved'
                    CHECK (status IN ('reserved', 'committed', 'released', 'expired')),
  -- Charged by the commit (<= amount); 0 otherwise.
  actual_micro_usd  bigint NOT NULL DEFAULT 0
                    CHECK (actual_micro_usd >= 0 AND actual_micro_usd <= amount_micro_usd),
  created_unix_ms   bigint NOT NULL,
  expires_unix_ms   bigint NOT NULL,
  -- When the reservation left 'reserved'; NULL while open.
  finalized_unix_ms bigint
);

-- The expiry sweep reads only open reservations, oldest expiry first.
CREATE INDEX reservations_open_expiry_idx ON policy.reservations (expires_unix_ms)
  WHERE status = 'reserved';
CREATE INDEX reservations_tenant_idx ON policy.reservations (tenant_id, created_unix_ms);

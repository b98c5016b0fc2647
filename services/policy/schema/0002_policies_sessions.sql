-- services/policy/schema/0002_policies_sessions.sql
-- Issue 3 of the billing guard: tenant pause and the new limits, tenant policies, agent sessions
-- (each with its own budget, held together with the tenant's) and approvals. Applied by
-- libs/store Migrate as version 2 of service "policy"; embedded into the binary at build time
-- (services/policy/CMakeLists.txt). Never edit an applied migration: add 0003_....sql instead.
-- All money is integer micro-USD, all times Unix epoch milliseconds (UTC).

ALTER TABLE policy.tenants
  -- Kill switch / operator pause: all traffic refused while true; pause_reason says why.
  ADD COLUMN paused               boolean NOT NULL DEFAULT false,
  ADD COLUMN pause_reason         text NOT NULL DEFAULT '',
  -- Layer 4 threshold in hundredths of a sigma; 0 = the service default.
  ADD COLUMN anomaly_zscore_centi integer NOT NULL DEFAULT 0 CHECK (anomaly_zscore_centi >= 0),
  -- Layer 6 reservation TTL; 0 = the service default.
  ADD COLUMN reservation_ttl_ms   bigint NOT NULL DEFAULT 0 CHECK (reservation_ttl_ms >= 0);

-- Tenant policies (p402.v1.TenantPolicy). The columns are what is filtered and ordered on; `rule`
-- holds the message's rule oneof as proto3 JSON (MessageToJsonString of the TenantPolicy with the
-- column fields cleared), so a new rule type needs no migration.
CREATE TABLE policy.policies (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES policy.tenants (id),
  name            text NOT NULL,
  priority        integer NOT NULL,
  enabled         boolean NOT NULL,
  created_unix_ms bigint NOT NULL,
  updated_unix_ms bigint NOT NULL,
  rule            jsonb NOT NULL CHECK (jsonb_typeof(rule) = 'object')
);

-- ListPolicies: highest priority first, then oldest.
CREATE INDEX policies_tenant_idx
  ON policy.policies (tenant_id, priority DESC, created_unix_ms, id);

-- Agent sessions: a budget an agent spends through a session token (only its SHA-256 is stored).
-- Reservations against a session hold its budget and the tenant's in one transaction
-- (pg_policy_store.cc): granted only while the session is unrevoked, unexpired and
-- budget - spent - reserved >= amount, checked by the UPDATE that takes the hold.
-- There is deliberately no CHECK (spent + reserved <= budget): a commit arriving after its
-- reservation expired (its hold already returned and possibly re-used) still records the real
-- charge, which may put spent above the budget; refusing it would lose money spent upstream.
CREATE TABLE policy.sessions (
  id                               text PRIMARY KEY,
  tenant_id                        text NOT NULL REFERENCES policy.tenants (id),
  agent_id                         text NOT NULL DEFAULT '',
  wallet                           text NOT NULL DEFAULT '',
  token_hash                       text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  token_prefix                     text NOT NULL DEFAULT '',
  budget_micro_usd                 bigint NOT NULL CHECK (budget_micro_usd >= 0),
  spent_micro_usd                  bigint NOT NULL DEFAULT 0 CHECK (spent_micro_usd >= 0),
  reserved_micro_usd               bigint NOT NULL DEFAULT 0 CHECK (reserved_micro_usd >= 0),
  -- 0 = none.
  per_request_cap_micro_usd        bigint NOT NULL DEFAULT 0
                                   CHECK (per_request_cap_micro_usd >= 0),
  -- {"<provider>": micro-USD}: per-provider caps and committed spend.
  provider_budgets                 jsonb NOT NULL DEFAULT '{}'
                                   CHECK (jsonb_typeof(provider_budgets) = 'object'),
  provider_spent                   jsonb NOT NULL DEFAULT '{}'
                                   CHECK (jsonb_typeof(provider_spent) = 'object'),
  -- Empty = any.
  allowed_providers                text[] NOT NULL DEFAULT '{}',
  allowed_capabilities             text[] NOT NULL DEFAULT '{}',
  -- Allowed local hours [start, end) in the time zone; all NULL = any time.
  allowed_start_hour               integer CHECK (allowed_start_hour BETWEEN 0 AND 23),
  allowed_end_hour                 integer CHECK (allowed_end_hour BETWEEN 0 AND 24),
  allowed_time_zone                text,
  -- 0 = never.
  require_approval_above_micro_usd bigint NOT NULL DEFAULT 0
                                   CHECK (require_approval_above_micro_usd >= 0),
  created_unix_ms                  bigint NOT NULL,
  expires_unix_ms                  bigint NOT NULL,
  -- 0 = not revoked.
  revoked_unix_ms                  bigint NOT NULL DEFAULT 0 CHECK (revoked_unix_ms >= 0),
  CHECK ((allowed_start_hour IS NULL) = (allowed_end_hour IS NULL)
         AND (allowed_start_hour IS NULL) = (allowed_time_zone IS NULL))
);

-- ListSessions: newest first, keyset paging on (created_unix_ms, id).
CREATE INDEX sessions_tenant_idx
  ON policy.sessions (tenant_id, created_unix_ms DESC, id DESC);

ALTER TABLE policy.reservations
  -- The agent session held together with the tenant; NULL = none.
  ADD COLUMN session_id text REFERENCES policy.sessions (id),
  -- Provider of the committed answer (set by the commit); '' before.
  ADD COLUMN provider   text NOT NULL DEFAULT '';

-- Requests held for a human's approval (a session's require_approval_above threshold).
CREATE TABLE policy.approvals (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES policy.tenants (id),
  session_id       text NOT NULL DEFAULT '',
  request_id       text NOT NULL DEFAULT '',
  amount_micro_usd bigint NOT NULL CHECK (amount_micro_usd >= 0),
  model_provider   text NOT NULL DEFAULT '',
  model_id         text NOT NULL DEFAULT '',
  -- A pending approval past expires_unix_ms is moved to 'expired' by whoever reads it next.
  state            text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'used')),
  created_unix_ms  bigint NOT NULL,
  expires_unix_ms  bigint NOT NULL,
  -- When approved/denied (or expired: expires_unix_ms); 0 while pending.
  decided_unix_ms  bigint NOT NULL DEFAULT 0,
  decision_reason  text NOT NULL DEFAULT ''
);

-- ListApprovals: newest first per tenant.
CREATE INDEX approvals_tenant_idx
  ON policy.approvals (tenant_id, created_unix_ms DESC, id DESC);

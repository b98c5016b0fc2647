-- services/settlement/schema/0001_payments_ledger.sql
-- The settlement service's state: x402 payment states (the replay guard: one row per EIP-3009
-- authorization), the append-only ledger and the prepaid balances it maintains. Applied by
-- libs/store Migrate as version 1 of service "settlement"; embedded into the binary at build time
-- (services/settlement/CMakeLists.txt). Never edit an applied migration: add 0003_....sql instead.
-- All money is integer micro-USD (USDC atomic units), all times Unix epoch milliseconds (UTC),
-- except payments.valid_before (Unix seconds, as the authorization says).

CREATE SCHEMA IF NOT EXISTS settlement;

-- One row per authorization (chain, token, payer, nonce), as unique as on chain: the primary key
-- is the replay guard across processes (PgPaymentStore::Claim inserts ON CONFLICT DO NOTHING).
CREATE TABLE settlement.payments (
  chain_id        bigint NOT NULL CHECK (chain_id >= 0),
  asset           text NOT NULL,
  payer           text NOT NULL,
  nonce           text NOT NULL,
  state           text NOT NULL CHECK (state IN ('claimed', 'submitted', 'settled', 'failed')),
  -- Request id that claimed it, or "facilitator:<digest>".
  claim_owner     text NOT NULL DEFAULT '',
  pay_to          text NOT NULL DEFAULT '',
  -- Atomic units as decimal text, kept exactly as given (uint256 does not fit any integer type).
  amount          text NOT NULL DEFAULT '',
  network         text NOT NULL DEFAULT '',
  valid_before    bigint NOT NULL DEFAULT 0,
  -- Set before broadcasting (with the signed transaction, to rebroadcast after a crash).
  tx_hash         text NOT NULL DEFAULT '',
  raw_tx          text NOT NULL DEFAULT '',
  error_reason    text NOT NULL DEFAULT '',
  error_message   text NOT NULL DEFAULT '',
  created_unix_ms bigint NOT NULL,
  updated_unix_ms bigint NOT NULL,
  PRIMARY KEY (chain_id, asset, payer, nonce)
);

-- ListSubmitted (the reconciler): submitted payments, oldest first.
CREATE INDEX payments_submitted_idx
  ON settlement.payments (created_unix_ms, chain_id, asset, payer, nonce)
  WHERE state = 'submitted';

-- The ledger. `id` orders the entries (and is the paging cursor); entry_id is the public id.
-- Every insert runs in one transaction with the update of its account's balances row, which it
-- locks first (pg_ledger.cc), so balance_before/after chain exactly per account.
CREATE TABLE settlement.ledger_entries (
  id                     bigserial PRIMARY KEY,
  entry_id               text NOT NULL UNIQUE,
  tenant_id              text NOT NULL CHECK (tenant_id <> ''),
  -- '' = the tenant's own account.
  session_id             text NOT NULL DEFAULT '',
  kind                   text NOT NULL CHECK (kind <> ''),
  amount_micro_usd       bigint NOT NULL,
  cost_micro_usd         bigint NOT NULL DEFAULT 0,
  platform_fee_micro_usd bigint NOT NULL DEFAULT 0,
  balance_before_micro_usd bigint NOT NULL,
  balance_after_micro_usd  bigint NOT NULL,
  -- Unique across the ledger: a replayed append finds the first entry here.
  idempotency_key        text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
  request_id             text NOT NULL DEFAULT '',
  transaction_hash       text NOT NULL DEFAULT '',
  payer                  text NOT NULL DEFAULT '',
  provider               text NOT NULL DEFAULT '',
  model                  text NOT NULL DEFAULT '',
  input_tokens           bigint NOT NULL DEFAULT 0,
  output_tokens          bigint NOT NULL DEFAULT 0,
  cost_estimated         boolean NOT NULL DEFAULT false,
  note                   text NOT NULL DEFAULT '',
  created_unix_ms        bigint NOT NULL
);

-- List of one account, and of all the tenant's accounts, in id order.
CREATE INDEX ledger_entries_account_idx ON settlement.ledger_entries (tenant_id, session_id, id);
CREATE INDEX ledger_entries_tenant_idx ON settlement.ledger_entries (tenant_id, id);
-- VolumeSince: the cost of usage and payment entries of a tenant since a time.
CREATE INDEX ledger_entries_volume_idx
  ON settlement.ledger_entries (tenant_id, created_unix_ms)
  WHERE kind IN ('usage', 'payment');

-- Prepaid balance per account; a deduction never takes it below 0.
CREATE TABLE settlement.balances (
  tenant_id                 text NOT NULL,
  session_id                text NOT NULL DEFAULT '',
  balance_micro_usd         bigint NOT NULL DEFAULT 0 CHECK (balance_micro_usd >= 0),
  total_topped_up_micro_usd bigint NOT NULL DEFAULT 0 CHECK (total_topped_up_micro_usd >= 0),
  total_spent_micro_usd     bigint NOT NULL DEFAULT 0 CHECK (total_spent_micro_usd >= 0),
  PRIMARY KEY (tenant_id, session_id)
);

-- services/settlement/schema/0002_bazaar.sql
-- Bazaar listings (p402.v1.Listing). Applied by libs/store Migrate as version 2 of service
-- "settlement"; embedded into the binary at build time (services/settlement/CMakeLists.txt).
-- Never edit an applied migration: add 0003_....sql instead.
-- reliability_bps is not stored: it is derived from the two counters when read (core/bazaar.h
-- ReliabilityBps), so it can never disagree with them.

CREATE TABLE settlement.listings (
  -- Creation order (and the ListListings cursor); id is the public "lst_..." id.
  seq              bigserial NOT NULL UNIQUE,
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL DEFAULT '',
  provider         text NOT NULL DEFAULT '',
  name             text NOT NULL DEFAULT '',
  description      text NOT NULL DEFAULT '',
  capabilities     text[] NOT NULL DEFAULT '{}',
  price_micro_usd  bigint NOT NULL DEFAULT 0 CHECK (price_micro_usd >= 0),
  pricing_model    text NOT NULL DEFAULT '',
  endpoint         text NOT NULL DEFAULT '',
  network          text NOT NULL DEFAULT '',
  asset            text NOT NULL DEFAULT '',
  pay_to           text NOT NULL DEFAULT '',
  settled_count    bigint NOT NULL DEFAULT 0 CHECK (settled_count >= 0),
  failed_count     bigint NOT NULL DEFAULT 0 CHECK (failed_count >= 0),
  volume_micro_usd bigint NOT NULL DEFAULT 0 CHECK (volume_micro_usd >= 0),
  created_unix_ms  bigint NOT NULL
);

-- RecordOutcome matches pay_to case-insensitively (listings store it EIP-55).
CREATE INDEX listings_pay_to_idx ON settlement.listings (lower(pay_to));
-- Discovery by capability and price.
CREATE INDEX listings_capabilities_idx ON settlement.listings USING gin (capabilities);
CREATE INDEX listings_price_idx ON settlement.listings (price_micro_usd);

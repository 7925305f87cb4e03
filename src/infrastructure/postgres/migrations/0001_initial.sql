-- The adapter's storage on PostgreSQL (docs/decisions/0017). Each record is kept whole as JSON
-- (`doc`, what the embedded store keeps too); the columns beside it are copies for filtering,
-- ordering and claiming. Idempotent: every statement may run again.

-- SequenceNumbers (docs/decisions/0004): one database sequence for every adapter instance of the
-- database, so they never repeat among them; it starts at a random origin in [1, 2^30] (set once
-- below) and stops at the largest xs:int rather than wrap around.
CREATE SEQUENCE IF NOT EXISTS conax_sequence_number AS integer MINVALUE 1 MAXVALUE 2147483647 NO CYCLE;

CREATE TABLE IF NOT EXISTS subscriptions (
  ordinal bigserial UNIQUE,
  id text PRIMARY KEY,
  type text,
  created_at timestamptz NOT NULL,
  doc jsonb NOT NULL
);

-- Which subscription holds each installed item's CA ID (a card or an STB is on one subscription).
CREATE TABLE IF NOT EXISTS installed_items (
  ca_id text PRIMARY KEY,
  subscription_id text NOT NULL
);

CREATE TABLE IF NOT EXISTS requests (
  number bigint PRIMARY KEY,
  id text NOT NULL UNIQUE,
  type text NOT NULL,
  sequence_number integer NOT NULL UNIQUE,
  precedence integer NOT NULL,
  life_cycle_state text NOT NULL,
  reference_number text,
  subscription_id text,
  process_name text NOT NULL,
  process_id text,
  -- The adapter instance sending it now, until when (see PostgresProvisioningStore.claimRequests).
  claimed_by text,
  claimed_until timestamptz,
  doc jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_pending ON requests (precedence, sequence_number)
  WHERE life_cycle_state = 'PENDING';
CREATE INDEX IF NOT EXISTS requests_subscription ON requests (subscription_id, number);
CREATE INDEX IF NOT EXISTS requests_process ON requests (process_id, number);
CREATE INDEX IF NOT EXISTS requests_reference ON requests (reference_number);

CREATE TABLE IF NOT EXISTS run_definitions (
  ordinal bigserial UNIQUE,
  id text PRIMARY KEY,
  alternative_code text NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS run_definitions_code ON run_definitions (alternative_code);

CREATE TABLE IF NOT EXISTS run_executions (
  ordinal bigserial UNIQUE,
  id text PRIMARY KEY,
  run_id text NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS run_executions_run ON run_executions (run_id, ordinal);

CREATE TABLE IF NOT EXISTS communications (
  number bigint PRIMARY KEY,
  external_system text NOT NULL,
  state text NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS communications_pending ON communications (external_system, number)
  WHERE state = 'PENDING';

-- The random origin, only while the sequence has handed out nothing.
SELECT setval('conax_sequence_number', 1 + floor(random() * 1073741824)::integer, false)
  FROM pg_sequences
  WHERE sequencename = 'conax_sequence_number' AND last_value IS NULL;

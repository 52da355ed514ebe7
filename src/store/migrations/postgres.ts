// Numbered schema migrations for the PostgreSQL store: the same tables as ./sqlite.ts in PostgreSQL's
// dialect (bigint milliseconds, bigserial event sequence, jsonb documents). Applied in order, each once,
// recorded in `schema_migrations`, under an advisory lock so two controllers starting together do not race.
import type { Migration } from './sqlite.js';

export const postgresMigrations: Migration[] = [
  {
    id: 1,
    name: 'core',
    sql: `
CREATE TABLE rollouts (
  id         text PRIMARY KEY,
  service    text NOT NULL,
  version    text NOT NULL,
  phase      text NOT NULL,
  state      jsonb NOT NULL,
  revision   integer NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX rollouts_service ON rollouts (service, created_at);
CREATE INDEX rollouts_phase ON rollouts (phase);

CREATE TABLE events (
  seq        bigserial PRIMARY KEY,
  rollout_id text,
  at         bigint NOT NULL,
  actor      text NOT NULL,
  type       text NOT NULL,
  data       jsonb
);
CREATE INDEX events_rollout ON events (rollout_id, seq);

CREATE TABLE actions (
  key         text PRIMARY KEY,
  rollout_id  text NOT NULL,
  status      text NOT NULL,
  started_at  bigint NOT NULL,
  finished_at bigint,
  result      jsonb
);
CREATE INDEX actions_rollout ON actions (rollout_id);

CREATE TABLE observations (
  id         bigserial PRIMARY KEY,
  service    text NOT NULL,
  region     text NOT NULL,
  cell       text,
  source     text NOT NULL,
  at         bigint NOT NULL,
  verdict    text NOT NULL,
  latency_ms double precision,
  value      double precision,
  version    text,
  requests   bigint,
  failures   bigint,
  detail     text
);
CREATE INDEX observations_key_at ON observations (service, region, cell, source, at);
CREATE INDEX observations_at ON observations (at);

CREATE TABLE leases (
  name   text PRIMARY KEY,
  holder text NOT NULL,
  until  bigint NOT NULL
);

CREATE TABLE incidents (
  id          text PRIMARY KEY,
  kind        text NOT NULL,
  status      text NOT NULL,
  is_open     boolean NOT NULL,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  record      jsonb NOT NULL
);
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_open ON incidents (is_open, created_at);
`,
  },
  {
    id: 2,
    name: 'observations-by-service-and-time',
    // The controller and the status page read "this service's evidence since t".
    sql: `CREATE INDEX observations_service_at ON observations (service, at);`,
  },
  {
    id: 3,
    name: 'observations-evidence-fraction',
    // The canary judge's share of the minimum data behind a measurement: bake accrues with it.
    sql: `ALTER TABLE observations ADD COLUMN evidence_fraction double precision;`,
  },
  {
    id: 4,
    name: 'observations-timed-out',
    // The target did not answer in time (true, else NULL): a hang, which rollback forces (I4).
    sql: `ALTER TABLE observations ADD COLUMN timed_out boolean;`,
  },
];

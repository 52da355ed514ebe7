// Numbered schema migrations for the SQLite store. Applied in order, each once, recorded in
// `schema_migrations`. Never edit a released migration: add the next number. Kept as TypeScript so the
// build carries them (tsc does not copy .sql files). The PostgreSQL twin is ./postgres.ts: same tables.

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const sqliteMigrations: Migration[] = [
  {
    id: 1,
    name: 'core',
    sql: `
CREATE TABLE rollouts (
  id         TEXT PRIMARY KEY,
  service    TEXT NOT NULL,
  version    TEXT NOT NULL,
  phase      TEXT NOT NULL,
  state      TEXT NOT NULL,
  revision   INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX rollouts_service ON rollouts (service, created_at);
CREATE INDEX rollouts_phase ON rollouts (phase);

CREATE TABLE events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  rollout_id TEXT,
  at         INTEGER NOT NULL,
  actor      TEXT NOT NULL,
  type       TEXT NOT NULL,
  data       TEXT
);
CREATE INDEX events_rollout ON events (rollout_id, seq);

CREATE TABLE actions (
  key         TEXT PRIMARY KEY,
  rollout_id  TEXT NOT NULL,
  status      TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  result      TEXT
);
CREATE INDEX actions_rollout ON actions (rollout_id);

CREATE TABLE observations (
  id         INTEGER PRIMARY KEY,
  service    TEXT NOT NULL,
  region     TEXT NOT NULL,
  cell       TEXT,
  source     TEXT NOT NULL,
  at         INTEGER NOT NULL,
  verdict    TEXT NOT NULL,
  latency_ms REAL,
  value      REAL,
  version    TEXT,
  requests   INTEGER,
  failures   INTEGER,
  detail     TEXT
);
CREATE INDEX observations_key_at ON observations (service, region, cell, source, at);
CREATE INDEX observations_at ON observations (at);

CREATE TABLE leases (
  name   TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  until  INTEGER NOT NULL
);

CREATE TABLE incidents (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  status      TEXT NOT NULL,
  is_open     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  record      TEXT NOT NULL
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
    sql: `ALTER TABLE observations ADD COLUMN evidence_fraction REAL;`,
  },
  {
    id: 4,
    name: 'observations-timed-out',
    // The target did not answer in time (1, else NULL): a hang, which rollback forces (I4).
    sql: `ALTER TABLE observations ADD COLUMN timed_out INTEGER;`,
  },
];

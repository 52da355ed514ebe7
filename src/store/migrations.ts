// Numbered schema migrations, written once for both stores. Applied in order, each once, recorded in
// `schema_migrations` (PostgreSQL takes an advisory lock so two controllers starting together do not race).
// Never edit a released migration: add the next number. Kept as TypeScript so the build carries them (tsc
// does not copy .sql files).
//
// The two dialects differ only in column types, so the DDL names logical types in braces and each dialect
// spells them: {text}, {int} (32-bit), {bigint} (milliseconds, counts), {real}, {bool}, {json} (a document),
// {serial} (an ever-growing key: AUTOINCREMENT in SQLite, so a key is never reused; bigserial in
// PostgreSQL) and {rowid} (a generated key that may be reused after deletes in SQLite).

export interface Migration {
  id: number;
  name: string;
  sql: string;
  /**
   * A query that finds rows the migration cannot accept (each row: one `problem` text). The runner runs it
   * first and, if it finds any, stops with a message listing them and what to do, changing nothing.
   */
  blockers?: { sql: string; fix: string };
}

/** Phases of a rollout that is still active, as the one-active-rollout index spells them (src/rollout/phases.ts). */
const ACTIVE = `('pending', 'running', 'paused', 'halted', 'aborted', 'rolling_back')`;

export type Dialect = 'sqlite' | 'postgres';

const TYPES: Record<Dialect, Record<string, string>> = {
  sqlite: {
    text: 'TEXT',
    int: 'INTEGER',
    bigint: 'INTEGER',
    real: 'REAL',
    bool: 'INTEGER',
    json: 'TEXT',
    serial: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    rowid: 'INTEGER PRIMARY KEY',
  },
  postgres: {
    text: 'text',
    int: 'integer',
    bigint: 'bigint',
    real: 'double precision',
    bool: 'boolean',
    json: 'jsonb',
    serial: 'bigserial PRIMARY KEY',
    rowid: 'bigserial PRIMARY KEY',
  },
};

/** The DDL of `sql` in a dialect: every {type} spelled the dialect's way. */
export function inDialect(sql: string, dialect: Dialect): string {
  return sql.replace(/\{([a-z]+)\}/g, (_, t: string) => {
    const spelled = TYPES[dialect][t];
    if (spelled === undefined) throw new Error(`migration names an unknown column type {${t}}`);
    return spelled;
  });
}

const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'core',
    sql: `
CREATE TABLE rollouts (
  id         {text} PRIMARY KEY,
  service    {text} NOT NULL,
  version    {text} NOT NULL,
  phase      {text} NOT NULL,
  state      {json} NOT NULL,
  revision   {int} NOT NULL,
  created_at {bigint} NOT NULL,
  updated_at {bigint} NOT NULL
);
CREATE INDEX rollouts_service ON rollouts (service, created_at);
CREATE INDEX rollouts_phase ON rollouts (phase);

CREATE TABLE events (
  seq        {serial},
  rollout_id {text},
  at         {bigint} NOT NULL,
  actor      {text} NOT NULL,
  type       {text} NOT NULL,
  data       {json}
);
CREATE INDEX events_rollout ON events (rollout_id, seq);

CREATE TABLE actions (
  key         {text} PRIMARY KEY,
  rollout_id  {text} NOT NULL,
  status      {text} NOT NULL,
  started_at  {bigint} NOT NULL,
  finished_at {bigint},
  result      {json}
);
CREATE INDEX actions_rollout ON actions (rollout_id);

CREATE TABLE observations (
  id         {rowid},
  service    {text} NOT NULL,
  region     {text} NOT NULL,
  cell       {text},
  source     {text} NOT NULL,
  at         {bigint} NOT NULL,
  verdict    {text} NOT NULL,
  latency_ms {real},
  value      {real},
  version    {text},
  requests   {bigint},
  failures   {bigint},
  detail     {text}
);
CREATE INDEX observations_key_at ON observations (service, region, cell, source, at);
CREATE INDEX observations_at ON observations (at);

CREATE TABLE leases (
  name   {text} PRIMARY KEY,
  holder {text} NOT NULL,
  until  {bigint} NOT NULL
);

CREATE TABLE incidents (
  id          {text} PRIMARY KEY,
  kind        {text} NOT NULL,
  status      {text} NOT NULL,
  is_open     {bool} NOT NULL,
  created_at  {bigint} NOT NULL,
  updated_at  {bigint} NOT NULL,
  record      {json} NOT NULL
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
    sql: `ALTER TABLE observations ADD COLUMN evidence_fraction {real};`,
  },
  {
    id: 4,
    name: 'observations-timed-out',
    // The target did not answer in time (true, else NULL): a hang, which rollback forces (I4).
    sql: `ALTER TABLE observations ADD COLUMN timed_out {bool};`,
  },
  {
    id: 5,
    name: 'one-active-rollout-per-service',
    // I5: a service has at most one active rollout, enforced by the store, whatever number of servers start one.
    sql: `CREATE UNIQUE INDEX rollouts_one_active ON rollouts (service) WHERE phase IN ${ACTIVE};`,
    blockers: {
      sql: `SELECT service || ': ' || COUNT(*) || ' active rollouts' AS problem FROM rollouts
            WHERE phase IN ${ACTIVE} GROUP BY service HAVING COUNT(*) > 1 ORDER BY service`,
      fix: 'abort all but one active rollout of each with the etape you ran before (`etape rollout abort ID`), let them end, then start this one again',
    },
  },
  {
    id: 6,
    name: 'lease-tokens-and-call-ownership',
    // Fencing (I5): a lease's token grows with every new holding; a driver call remembers the holding that
    // runs it, the time by which its attempt in flight is surely over, and where that attempt runs.
    sql: `
ALTER TABLE leases ADD COLUMN token {bigint} NOT NULL DEFAULT 0;
ALTER TABLE actions ADD COLUMN target {text};
ALTER TABLE actions ADD COLUMN token {bigint};
ALTER TABLE actions ADD COLUMN deadline {bigint};
ALTER TABLE actions ADD COLUMN place {text};
ALTER TABLE actions ADD COLUMN pgid {int};
CREATE INDEX actions_target ON actions (rollout_id, target, status);
`,
  },
  {
    id: 7,
    name: 'notifications',
    // Subscribers (email with double opt-in, webhooks), the durable outbox of messages to send and the log of
    // every delivery attempt (src/store/notifications.ts).
    sql: `
CREATE TABLE subscribers (
  id              {text} PRIMARY KEY,
  channel         {text} NOT NULL,
  address         {text} NOT NULL,
  services        {text},
  regions         {text},
  format          {text},
  secret          {text},
  status          {text} NOT NULL,
  token           {text} NOT NULL,
  created_at      {bigint} NOT NULL,
  updated_at      {bigint} NOT NULL,
  confirmed_at    {bigint},
  unsubscribed_at {bigint},
  confirm_sent_at {bigint}
);
CREATE UNIQUE INDEX subscribers_address ON subscribers (channel, address);
CREATE UNIQUE INDEX subscribers_token ON subscribers (token);
CREATE INDEX subscribers_status ON subscribers (status, created_at);

CREATE TABLE outbox (
  id            {serial},
  key           {text} NOT NULL,
  channel       {text} NOT NULL,
  target        {text} NOT NULL,
  subscriber_id {text},
  kind          {text} NOT NULL,
  payload       {text} NOT NULL,
  status        {text} NOT NULL,
  attempts      {int} NOT NULL,
  next_at       {bigint} NOT NULL,
  created_at    {bigint} NOT NULL,
  sent_at       {bigint},
  last_error    {text},
  claimed_by    {text},
  claimed_until {bigint}
);
CREATE UNIQUE INDEX outbox_key ON outbox (key);
CREATE INDEX outbox_due ON outbox (status, next_at);

CREATE TABLE deliveries (
  id         {serial},
  message_id {bigint} NOT NULL,
  at         {bigint} NOT NULL,
  attempt    {int} NOT NULL,
  ok         {int} NOT NULL,
  detail     {text}
);
CREATE INDEX deliveries_message ON deliveries (message_id, id);

CREATE TABLE notification_cursors (
  name {text} PRIMARY KEY,
  seq  {bigint} NOT NULL
);
`,
  },
  {
    id: 8,
    name: 'retention-rollups',
    // Retention (src/store/retention.ts): each component's per-minute availability, a UTC day per row (one
    // character per minute), kept after the raw observations of that day are pruned; and the marks of how far
    // rollup and pruning have gone.
    sql: `
CREATE TABLE availability_days (
  service  {text} NOT NULL,
  region   {text} NOT NULL,
  day      {bigint} NOT NULL,
  states   {text} NOT NULL,
  requests {text},
  failures {text},
  rules    {text} NOT NULL,
  first_at {bigint},
  PRIMARY KEY (service, region, day)
);
CREATE INDEX availability_days_day ON availability_days (day);

CREATE TABLE retention_marks (
  name  {text} PRIMARY KEY,
  value {bigint} NOT NULL
);
`,
  },
];

export const sqliteMigrations: Migration[] = MIGRATIONS.map((m) => ({ ...m, sql: inDialect(m.sql, 'sqlite') }));
export const postgresMigrations: Migration[] = MIGRATIONS.map((m) => ({ ...m, sql: inDialect(m.sql, 'postgres') }));

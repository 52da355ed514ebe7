// The PostgreSQL store, for several controllers and large fleets. Same contract and same tables as the
// SQLite store (see ./migrations.ts). Notes on the choices:
// - saveRollout is one `UPDATE … WHERE id = $1 AND revision = $2`: under READ COMMITTED a concurrent writer
//   waits for the row lock, then re-checks the revision against the committed row, so exactly one of two
//   racing saves wins and the other gets store.conflict.
// - Event `seq` is a bigserial. Sequence values are handed out before commit, so two transactions could
//   commit out of order and a reader tailing `afterSeq` could skip an event that commits late. So every
//   statement that appends events takes an advisory lock in SHARED mode before drawing sequence values
//   (writers never wait for each other and still share WAL flushes), and a reader with `afterSeq` first
//   takes the same lock EXCLUSIVELY, in its own transaction, before reading: it waits for every writer that
//   already drew a seq to commit, and writers that come after draw higher seqs. Commit order then does not
//   matter to anyone reading by seq. Each write is a single statement (one round trip).
// - `?schema=name` in the URL puts every table in that schema (created if missing): tests use a fresh schema
//   per run; several etape installations can share a database.
import pg from 'pg';
import { EtapeError } from '../core/errors.js';
import type { Observation } from '../core/types.js';
import { postgresMigrations, type Migration } from './migrations.js';
import { blockedMigration, pendingMigrations, type AppliedMigration } from './migration-plan.js';
import { etapeVersion } from '../core/version.js';
import { ACTIVE_PHASES } from '../rollout/phases.js';
import { notificationStore, numberPlaceholders, type NotificationStore } from './notifications.js';
import { redactStoreUrl } from './url.js';
import { retentionStore, type RetentionStore } from './retention.js';
import {
  activeRolloutConflict,
  fencedError,
  clampLimit,
  observationSelect,
  isOpenIncident,
  observationFromRow,
  OBSERVATION_COLUMNS,
  toJson,
  type ObservationRow,
} from './shared.js';
import type {
  ActionRecord,
  BeginActionOptions,
  BeginActionResult,
  EventRecord,
  Fence,
  IncidentRecord,
  LeaseGrant,
  NewEvent,
  ObservationQuery,
  RolloutListFilter,
  RolloutRecord,
  Store,
} from './store.js';

/** The database server's clock in ms: lease expiry and call deadlines are judged by it, never by a controller's. */
const DB_NOW = `(floor(extract(epoch from clock_timestamp()) * 1000))::bigint`;

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** The advisory lock that orders event appends against tailing readers (see the header). */
const EVENTS_LOCK = `hashtext('etape.events:' || coalesce(current_schema(), ''))`;

export interface PostgresStoreOptions {
  /** Maximum pool size. Default 10. */
  max?: number;
  migrations?: Migration[];
}

interface RolloutRow {
  id: string;
  service: string;
  version: string;
  phase: string;
  state: unknown;
  revision: number;
  created_at: number;
  updated_at: number;
}

interface ActionRow {
  key: string;
  rollout_id: string;
  status: string;
  started_at: number;
  finished_at: number | null;
  result: unknown;
  target: string | null;
  token: number | null;
  deadline: number | null;
  place: string | null;
  pgid: number | null;
}

function rolloutFromRow(r: RolloutRow): RolloutRecord {
  return {
    id: r.id,
    service: r.service,
    version: r.version,
    phase: r.phase,
    state: r.state,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function actionFromRow(r: ActionRow): ActionRecord {
  return {
    key: r.key,
    rolloutId: r.rollout_id,
    status: r.status as ActionRecord['status'],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: r.result ?? null,
    target: r.target ?? null,
    token: r.token ?? null,
    deadline: r.deadline ?? null,
    place: r.place ?? null,
    pgid: r.pgid ?? null,
  };
}

// bigint columns hold milliseconds and counts, all far below 2^53: read them as numbers. Set per pool, not
// globally, so other users of `pg` in the process are not affected.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '3D000', // invalid_catalog_name: database does not exist
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
]);

/** Parses the URL: strips `schema` from the query (it is ours, not libpq's). */
export function parsePostgresUrl(url: string): { connectionString: string; schema: string | undefined } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EtapeError('usage', `store URL ${redactStoreUrl(url)} is not a valid URL: write postgres://user@host:5432/database`);
  }
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema !== undefined && !SCHEMA_RE.test(schema)) {
    throw new EtapeError('usage', `schema "${schema}" in the store URL must be a lower-case identifier (letters, digits, _)`);
  }
  return { connectionString: u.toString(), schema };
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string | undefined;
  private pool: pg.Pool;
  private where: string;
  private migrations: Migration[];

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    const { connectionString, schema } = parsePostgresUrl(url);
    this.schema = schema;
    this.where = redactStoreUrl(url);
    this.migrations = opts.migrations ?? postgresMigrations;
    this.pool = new pg.Pool({
      connectionString,
      max: opts.max ?? 10,
      types,
      connectionTimeoutMillis: 10_000,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
    const runner = {
      all: async <R>(sql: string, args: unknown[] = []) => (await this.query(numberPlaceholders(sql), args)).rows as R[],
      run: async (sql: string, args: unknown[] = []) => (await this.query(numberPlaceholders(sql), args)).rowCount ?? 0,
    };
    this.notifications = notificationStore(runner);
    this.retention = retentionStore(runner);
  }

  readonly notifications: NotificationStore;
  readonly retention: RetentionStore;

  private unavailable(e: unknown): unknown {
    const code = (e as { code?: string })?.code;
    if (
      e instanceof Error &&
      (CONNECTION_CODES.has(code ?? '') || /timeout exceeded when trying to connect|Connection terminated/i.test(e.message))
    ) {
      return new EtapeError(
        'store.unavailable',
        `cannot use the PostgreSQL store at ${this.where}: ${e.message}${code ? ` (${code})` : ''}. Check that PostgreSQL is running and the URL, user and database are right`,
        { cause: e },
      );
    }
    return e;
  }

  private async query<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, args);
    } catch (e) {
      throw this.unavailable(e);
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw this.unavailable(e);
    }
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await c.query('ROLLBACK');
      } catch (re) {
        broken = re as Error;
      }
      throw this.unavailable(e);
    } finally {
      c.release(broken);
    }
  }

  /**
   * The CTEs that append events inside one statement, once `source` (a CTE name; none: always) has produced
   * a row: first the events advisory lock, then the rows in order (eventArgs, from parameter `first`).
   */
  private eventsCte(source: string | null, first: number): string {
    const p = (i: number) => `$${first + i}`;
    return `l AS (
          SELECT pg_advisory_xact_lock_shared(${EVENTS_LOCK}) AS locked${source ? ` FROM ${source}` : ''}
        ), i AS (
          INSERT INTO events (rollout_id, at, actor, type, data)
          SELECT x.r, x.a, x.ac, x.t, x.d
          FROM l, unnest(${p(0)}::text[], ${p(1)}::bigint[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::jsonb[])
            WITH ORDINALITY AS x(r, a, ac, t, d, n)
          ORDER BY x.n
        )`;
  }

  private static eventArgs(events: NewEvent[]): unknown[] {
    return [
      events.map((e) => e.rolloutId ?? null),
      events.map((e) => e.at),
      events.map((e) => e.actor),
      events.map((e) => e.type),
      events.map((e) => toJson(e.data)),
    ];
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('etape.migrate:' || $1::text))`, [this.schema ?? '']);
      if (this.schema) {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
        await c.query(`SET LOCAL search_path TO ${this.schema}`);
      }
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
      );
      await c.query('ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS etape_version text');
      const applied = (await c.query<AppliedMigration>('SELECT id, name, etape_version FROM schema_migrations')).rows;
      for (const m of pendingMigrations(this.migrations, applied, this.where)) {
        if (m.blockers) {
          const problems = (await c.query<{ problem: string }>(m.blockers.sql)).rows.map((r) => r.problem);
          if (problems.length) throw blockedMigration(m, problems, this.where);
        }
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (id, name, applied_at, etape_version) VALUES ($1, $2, $3, $4)', [
          m.id,
          m.name,
          Date.now(),
          etapeVersion(),
        ]);
      }
    });
  }

  async appliedMigrations(): Promise<{ id: number; name: string }[]> {
    const t = await this.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
    if (!t.rows[0]?.t) return [];
    return (await this.query<{ id: number; name: string }>('SELECT id, name FROM schema_migrations ORDER BY id')).rows;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // Writes that append events are one statement each (an implicit transaction): the row change, the events
  // lock and the events commit together, in one round trip, and the lock is held for as short as possible.
  async createRollout(r: Omit<RolloutRecord, 'revision'>, events: NewEvent[]): Promise<RolloutRecord> {
    const ev = this.eventsCte('c', 8);
    const res = await this.createRolloutQuery(
      `WITH c AS (
         INSERT INTO rollouts (id, service, version, phase, state, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, 1, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id
       ), ${ev}
       SELECT id FROM c`,
      [r.id, r.service, r.version, r.phase, toJson(r.state), r.createdAt, r.updatedAt, ...PostgresStore.eventArgs(events)],
    );
    if (res.rowCount === 0) throw new EtapeError('store.conflict', `a rollout with id ${r.id} already exists`);
    return { ...r, revision: 1 };
  }

  /** The insert of a rollout, turning the one-active-rollout index's refusal (migration 5) into a conflict naming the active one. */
  private async createRolloutQuery(sql: string, args: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.query(sql, args);
    } catch (e) {
      const err = e as { code?: string; constraint?: string };
      if (err.code === '23505' && err.constraint === 'rollouts_one_active') {
        const service = args[1] as string;
        const cur = await this.query<RolloutRow>('SELECT * FROM rollouts WHERE service = $1 AND phase = ANY($2::text[]) LIMIT 1', [
          service,
          [...ACTIVE_PHASES],
        ]);
        throw activeRolloutConflict(service, cur.rows[0] && { id: cur.rows[0].id, phase: cur.rows[0].phase });
      }
      throw e;
    }
  }

  /** Inside a transaction: locks the lease row (a takeover waits for this transaction) and throws store.fenced unless `f` is current. */
  private async checkFence(c: pg.PoolClient, f: Fence): Promise<number> {
    const r = await c.query<{ now: number }>(
      `SELECT ${DB_NOW} AS now FROM leases WHERE name = $1 AND holder = $2 AND token = $3 AND until > ${DB_NOW} FOR SHARE`,
      [f.lease, f.holder, f.token],
    );
    if (r.rowCount === 0) throw fencedError(f);
    return r.rows[0].now;
  }

  async getRollout(id: string): Promise<RolloutRecord | undefined> {
    const res = await this.query<RolloutRow>('SELECT * FROM rollouts WHERE id = $1', [id]);
    return res.rows[0] ? rolloutFromRow(res.rows[0]) : undefined;
  }

  async listRollouts(filter: RolloutListFilter = {}): Promise<RolloutRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.service !== undefined) {
      args.push(filter.service);
      where.push(`service = $${args.length}`);
    }
    if (filter.phases !== undefined) {
      if (filter.phases.length === 0) return [];
      args.push(filter.phases);
      where.push(`phase = ANY($${args.length}::text[])`);
    }
    if (filter.before !== undefined) {
      args.push(filter.before.createdAt, filter.before.id);
      where.push(`(created_at < $${args.length - 1} OR (created_at = $${args.length - 1} AND id < $${args.length}))`);
    }
    let sql = 'SELECT * FROM rollouts' + (where.length ? ' WHERE ' + where.join(' AND ') : '') + ' ORDER BY created_at DESC, id DESC';
    const limit = clampLimit(filter.limit);
    if (limit !== undefined) {
      args.push(limit);
      sql += ` LIMIT $${args.length}`;
    }
    return (await this.query<RolloutRow>(sql, args)).rows.map(rolloutFromRow);
  }

  async saveRollout(
    id: string,
    expectedRevision: number,
    next: { phase: string; state: unknown; updatedAt: number },
    events: NewEvent[],
    fence?: Fence,
  ): Promise<number> {
    // Under READ COMMITTED a concurrent save of the same row waits for the row lock, then re-checks the
    // revision against the committed row: exactly one of two racing saves updates it.
    const ev = this.eventsCte('u', 6);
    const sql = `WITH u AS (
         UPDATE rollouts SET phase = $1, state = $2::jsonb, updated_at = $3, revision = revision + 1
         WHERE id = $4 AND revision = $5 RETURNING revision
       ), ${ev}
       SELECT revision FROM u`;
    const args = [next.phase, toJson(next.state), next.updatedAt, id, expectedRevision, ...PostgresStore.eventArgs(events)];
    // Fenced: the lease row is checked and share-locked in the same transaction as the write.
    const res = fence
      ? await this.tx(async (c) => {
          await this.checkFence(c, fence);
          return c.query<{ revision: number }>(sql, args);
        })
      : await this.query<{ revision: number }>(sql, args);
    if (res.rowCount === 0) {
      const cur = await this.query<{ revision: number }>('SELECT revision FROM rollouts WHERE id = $1', [id]);
      if (cur.rowCount === 0) throw new EtapeError('not_found', `no rollout with id ${id}`);
      throw new EtapeError(
        'store.conflict',
        `rollout ${id} changed underneath (stored revision ${cur.rows[0].revision}, expected ${expectedRevision}); reload it and try again`,
      );
    }
    return res.rows[0].revision;
  }

  async appendEvents(events: NewEvent[], fence?: Fence): Promise<void> {
    if (events.length === 0) return;
    const ev = this.eventsCte(null, 1);
    if (!fence) {
      await this.query(`WITH ${ev} SELECT 1`, PostgresStore.eventArgs(events));
      return;
    }
    await this.tx(async (c) => {
      await this.checkFence(c, fence);
      await c.query(`WITH ${ev} SELECT 1`, PostgresStore.eventArgs(events));
    });
  }

  async listEvents(filter: { rolloutId?: string; afterSeq?: number; types?: string[]; limit?: number } = {}): Promise<EventRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.rolloutId !== undefined) {
      args.push(filter.rolloutId);
      where.push(`rollout_id = $${args.length}`);
    }
    if (filter.afterSeq !== undefined) {
      args.push(filter.afterSeq);
      where.push(`seq > $${args.length}`);
    }
    if (filter.types !== undefined) {
      if (filter.types.length === 0) return [];
      args.push(filter.types);
      where.push(`type = ANY($${args.length}::text[])`);
    }
    let sql = 'SELECT * FROM events' + (where.length ? ' WHERE ' + where.join(' AND ') : '') + ' ORDER BY seq';
    const limit = clampLimit(filter.limit);
    if (limit !== undefined) {
      args.push(limit);
      sql += ` LIMIT $${args.length}`;
    }
    type Row = { seq: number; rollout_id: string | null; at: number; actor: string; type: string; data: unknown };
    const res =
      filter.afterSeq === undefined
        ? await this.query<Row>(sql, args)
        : await this.tx(async (c) => {
            // wait for every writer that has drawn a seq to commit; the read then gets a fresh snapshot
            await c.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
            await c.query(`SELECT pg_advisory_xact_lock(${EVENTS_LOCK})`);
            return c.query<Row>(sql, args);
          });
    return res.rows.map((r) => ({ seq: r.seq, rolloutId: r.rollout_id, at: r.at, actor: r.actor, type: r.type, data: r.data ?? null }));
  }

  async beginAction(key: string, rolloutId: string, at: number, opts: BeginActionOptions = {}): Promise<BeginActionResult> {
    const f = opts.fence;
    if (!f) {
      const ins = await this.query<ActionRow>(
        `INSERT INTO actions (key, rollout_id, status, started_at, target) VALUES ($1, $2, 'started', $3, $4)
         ON CONFLICT (key) DO NOTHING RETURNING *`,
        [key, rolloutId, at, opts.target ?? null],
      );
      if (ins.rows[0]) return { record: actionFromRow(ins.rows[0]), created: true };
      const cur = await this.query<ActionRow>('SELECT * FROM actions WHERE key = $1', [key]);
      return { record: actionFromRow(cur.rows[0]), created: false };
    }
    return this.tx(async (c) => {
      const now = await this.checkFence(c, f);
      const deadline = now + Math.max(0, Math.floor(opts.holdMs ?? 0));
      // Holding the lease row, no other holding can begin calls of this rollout until this commits.
      const cur = (await c.query<ActionRow>('SELECT * FROM actions WHERE key = $1 FOR UPDATE', [key])).rows[0];
      if (cur && cur.status !== 'started') return { record: actionFromRow(cur), created: false };
      if (opts.target !== undefined) {
        const other = await c.query<ActionRow>(
          `SELECT * FROM actions WHERE rollout_id = $1 AND target = $2 AND status = 'started' AND token IS DISTINCT FROM $3
             AND deadline > $4 ORDER BY deadline DESC LIMIT 1`,
          [rolloutId, opts.target, f.token, now],
        );
        if (other.rows[0]) {
          const record = cur
            ? actionFromRow(cur)
            : { key, rolloutId, status: 'started' as const, startedAt: at, finishedAt: null, result: null };
          return { record, created: false, busyUntil: other.rows[0].deadline!, blocking: actionFromRow(other.rows[0]) };
        }
      }
      const row = cur
        ? (
            await c.query<ActionRow>('UPDATE actions SET token = $2, deadline = $3, place = NULL, pgid = NULL WHERE key = $1 RETURNING *', [
              key,
              f.token,
              deadline,
            ])
          ).rows[0]
        : (
            await c.query<ActionRow>(
              `INSERT INTO actions (key, rollout_id, status, started_at, target, token, deadline)
               VALUES ($1, $2, 'started', $3, $4, $5, $6) RETURNING *`,
              [key, rolloutId, at, opts.target ?? null, f.token, deadline],
            )
          ).rows[0];
      return { record: actionFromRow(row), created: !cur };
    });
  }

  async armAttempt(key: string, fence: Fence, attemptMs: number): Promise<boolean> {
    return this.tx(async (c) => {
      let now: number;
      try {
        now = await this.checkFence(c, fence);
      } catch (e) {
        if (e instanceof EtapeError && e.code === 'store.fenced') return false;
        throw e;
      }
      const until = now + Math.max(0, Math.floor(attemptMs));
      const res = await c.query(
        `UPDATE actions SET deadline = GREATEST(COALESCE(deadline, 0), $1), place = NULL, pgid = NULL
         WHERE key = $2 AND token = $3 AND status = 'started'`,
        [until, key, fence.token],
      );
      if ((res.rowCount ?? 0) === 0) return false;
      // The lease outlives the attempt it covers.
      await c.query('UPDATE leases SET until = GREATEST(until, $1) WHERE name = $2 AND token = $3', [until, fence.lease, fence.token]);
      return true;
    });
  }

  async noteAttempt(key: string, token: number, place: string, pgid: number): Promise<void> {
    await this.query('UPDATE actions SET place = $1, pgid = $2 WHERE key = $3 AND token = $4', [place, pgid, key, token]);
  }

  async attemptOver(key: string, token: number): Promise<void> {
    await this.query(`UPDATE actions SET deadline = 0 WHERE key = $1 AND token = $2 AND status = 'started'`, [key, token]);
  }

  async finishAction(key: string, status: 'succeeded' | 'failed', at: number, result: unknown, fence?: Fence): Promise<void> {
    const res = fence
      ? await this.query(
          `UPDATE actions SET status = $1, finished_at = $2, result = $3::jsonb WHERE key = $4 AND token = $5 AND status = 'started'`,
          [status, at, toJson(result), key, fence.token],
        )
      : await this.query('UPDATE actions SET status = $1, finished_at = $2, result = $3::jsonb WHERE key = $4', [
          status,
          at,
          toJson(result),
          key,
        ]);
    if (res.rowCount === 0) {
      if (fence && (await this.query('SELECT 1 FROM actions WHERE key = $1', [key])).rowCount) throw fencedError(fence, `call ${key}`);
      throw new EtapeError('not_found', `no action with key ${key}: call beginAction first`);
    }
  }

  async getAction(key: string): Promise<ActionRecord | undefined> {
    const res = await this.query<ActionRow>('SELECT * FROM actions WHERE key = $1', [key]);
    return res.rows[0] ? actionFromRow(res.rows[0]) : undefined;
  }

  async recordObservations(obs: Observation[]): Promise<void> {
    if (obs.length === 0) return;
    // One statement per batch: arrays of columns, unnested in order.
    const col = <T>(f: (o: Observation) => T) => obs.map(f);
    await this.query(
      `INSERT INTO observations (${OBSERVATION_COLUMNS.join(', ')})
       SELECT s, r, c, src, a, v, l, val, ver, req, f, d, ef, tout FROM unnest(
         $1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::float8[], $8::float8[],
         $9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::float8[], $14::boolean[]
       ) WITH ORDINALITY AS x(s, r, c, src, a, v, l, val, ver, req, f, d, ef, tout, n) ORDER BY n`,
      [
        col((o) => o.service),
        col((o) => o.region),
        col((o) => o.cell ?? null),
        col((o) => o.source),
        col((o) => o.at),
        col((o) => o.verdict),
        col((o) => o.latencyMs ?? null),
        col((o) => o.value ?? null),
        col((o) => o.version ?? null),
        col((o) => o.requests ?? null),
        col((o) => o.failures ?? null),
        col((o) => (o.detail === undefined ? null : o.detail.replaceAll('\u0000', '\uFFFD'))),
        col((o) => o.evidenceFraction ?? null),
        col((o) => (o.timedOut ? true : null)),
      ],
    );
  }

  async queryObservations(q: ObservationQuery): Promise<Observation[]> {
    const { sql, args } = observationSelect(q, (n) => `$${n}`);
    return (await this.query<ObservationRow & pg.QueryResultRow>(sql, args)).rows.map(observationFromRow);
  }

  async latestObservations(q: { service?: string; since: number }): Promise<Observation[]> {
    const args: unknown[] = [q.since];
    let filter = 'at >= $1';
    if (q.service !== undefined) {
      args.push(q.service);
      filter += ' AND service = $2';
    }
    const sql = `SELECT DISTINCT ON (service, region, cell, source) ${OBSERVATION_COLUMNS.join(', ')}
      FROM observations WHERE ${filter}
      ORDER BY service, region, cell, source, at DESC, id DESC`;
    return (await this.query<ObservationRow & pg.QueryResultRow>(sql, args)).rows.map(observationFromRow);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    // One statement: free → token 1; expired or released → the next token; still ours → renewed, same token,
    // never shortened. Expiry is judged by the database's clock.
    const res = await this.query<{ token: number; until: number }>(
      `INSERT INTO leases (name, holder, until, token) VALUES ($1, $2, ${DB_NOW} + $3, 1)
       ON CONFLICT (name) DO UPDATE SET
         holder = EXCLUDED.holder,
         token = CASE WHEN leases.until > ${DB_NOW} THEN leases.token ELSE leases.token + 1 END,
         until = CASE WHEN leases.until > ${DB_NOW} THEN GREATEST(leases.until, EXCLUDED.until) ELSE EXCLUDED.until END
       WHERE leases.until <= ${DB_NOW} OR leases.holder = EXCLUDED.holder
       RETURNING token, until`,
      [name, holder, Math.max(1, Math.floor(ttlMs))],
    );
    const row = res.rows[0];
    return row ? { name, holder, token: row.token, until: row.until } : undefined;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.query('UPDATE leases SET until = 0 WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async getLease(name: string): Promise<LeaseGrant | undefined> {
    const res = await this.query<LeaseGrant>('SELECT name, holder, until, token FROM leases WHERE name = $1', [name]);
    return res.rows[0] ? { ...res.rows[0] } : undefined;
  }

  async liveLeases(prefix: string): Promise<LeaseGrant[]> {
    const res = await this.query<LeaseGrant>(
      `SELECT name, holder, until, token FROM leases WHERE starts_with(name, $1) AND until > ${DB_NOW} ORDER BY name`,
      [prefix],
    );
    return res.rows.map((r) => ({ ...r }));
  }

  async now(): Promise<number> {
    return (await this.query<{ now: number }>(`SELECT ${DB_NOW} AS now`)).rows[0].now;
  }

  async saveIncident(i: IncidentRecord, fence?: Fence): Promise<void> {
    const sql = `INSERT INTO incidents (id, kind, status, is_open, created_at, updated_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, status = EXCLUDED.status, is_open = EXCLUDED.is_open,
         created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, record = EXCLUDED.record`;
    const args = [i.id, i.kind, i.status, isOpenIncident(i), i.createdAt, i.updatedAt, toJson(i)];
    if (!fence) {
      await this.query(sql, args);
      return;
    }
    await this.tx(async (c) => {
      await this.checkFence(c, fence);
      await c.query(sql, args);
    });
  }

  async getIncident(id: string): Promise<IncidentRecord | undefined> {
    const res = await this.query<{ record: IncidentRecord }>('SELECT record FROM incidents WHERE id = $1', [id]);
    return res.rows[0]?.record;
  }

  async listIncidents(
    filter: { open?: boolean; kind?: 'incident' | 'maintenance'; since?: number; limit?: number } = {},
  ): Promise<IncidentRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.open !== undefined) {
      args.push(filter.open);
      where.push(`is_open = $${args.length}`);
    }
    if (filter.kind !== undefined) {
      args.push(filter.kind);
      where.push(`kind = $${args.length}`);
    }
    if (filter.since !== undefined) {
      args.push(filter.since);
      where.push(`(created_at >= $${args.length} OR updated_at >= $${args.length})`);
    }
    let sql = 'SELECT record FROM incidents' + (where.length ? ' WHERE ' + where.join(' AND ') : '') + ' ORDER BY created_at DESC, id DESC';
    const limit = clampLimit(filter.limit);
    if (limit !== undefined) {
      args.push(limit);
      sql += ` LIMIT $${args.length}`;
    }
    return (await this.query<{ record: IncidentRecord }>(sql, args)).rows.map((r) => r.record);
  }
}

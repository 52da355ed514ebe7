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
import { redactStoreUrl } from './url.js';
import {
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
  EventRecord,
  IncidentRecord,
  NewEvent,
  ObservationQuery,
  RolloutListFilter,
  RolloutRecord,
  Store,
} from './store.js';

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
  }

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
      const done = new Set((await c.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      for (const m of [...this.migrations].sort((a, b) => a.id - b.id)) {
        if (done.has(m.id)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
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
    const res = await this.query(
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
  ): Promise<number> {
    // Under READ COMMITTED a concurrent save of the same row waits for the row lock, then re-checks the
    // revision against the committed row: exactly one of two racing saves updates it.
    const ev = this.eventsCte('u', 6);
    const res = await this.query<{ revision: number }>(
      `WITH u AS (
         UPDATE rollouts SET phase = $1, state = $2::jsonb, updated_at = $3, revision = revision + 1
         WHERE id = $4 AND revision = $5 RETURNING revision
       ), ${ev}
       SELECT revision FROM u`,
      [next.phase, toJson(next.state), next.updatedAt, id, expectedRevision, ...PostgresStore.eventArgs(events)],
    );
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

  async appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const ev = this.eventsCte(null, 1);
    await this.query(`WITH ${ev} SELECT 1`, PostgresStore.eventArgs(events));
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

  async beginAction(key: string, rolloutId: string, at: number): Promise<{ record: ActionRecord; created: boolean }> {
    const ins = await this.query<ActionRow>(
      `INSERT INTO actions (key, rollout_id, status, started_at) VALUES ($1, $2, 'started', $3)
       ON CONFLICT (key) DO NOTHING RETURNING *`,
      [key, rolloutId, at],
    );
    if (ins.rows[0]) return { record: actionFromRow(ins.rows[0]), created: true };
    const cur = await this.query<ActionRow>('SELECT * FROM actions WHERE key = $1', [key]);
    return { record: actionFromRow(cur.rows[0]), created: false };
  }

  async finishAction(key: string, status: 'succeeded' | 'failed', at: number, result: unknown): Promise<void> {
    const res = await this.query('UPDATE actions SET status = $1, finished_at = $2, result = $3::jsonb WHERE key = $4', [
      status,
      at,
      toJson(result),
      key,
    ]);
    if (res.rowCount === 0) throw new EtapeError('not_found', `no action with key ${key}: call beginAction first`);
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

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean> {
    const res = await this.query(
      `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
       WHERE leases.until <= $4 OR leases.holder = EXCLUDED.holder`,
      [name, holder, until, now],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async saveIncident(i: IncidentRecord): Promise<void> {
    await this.query(
      `INSERT INTO incidents (id, kind, status, is_open, created_at, updated_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, status = EXCLUDED.status, is_open = EXCLUDED.is_open,
         created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, record = EXCLUDED.record`,
      [i.id, i.kind, i.status, isOpenIncident(i), i.createdAt, i.updatedAt, toJson(i)],
    );
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

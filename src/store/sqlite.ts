// The embedded store: SQLite in one file, through better-sqlite3 (synchronous; each method is wrapped in a
// promise so callers see the same Store contract as PostgreSQL). WAL mode lets readers (the CLI, the status
// page builder) run while the controller writes; busy_timeout makes a second writer wait instead of failing.
// Write transactions are BEGIN IMMEDIATE, so two processes never deadlock upgrading a read lock.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { EtapeError } from '../core/errors.js';
import type { Observation } from '../core/types.js';
import { sqliteMigrations, type Migration } from './migrations.js';
import {
  clampLimit,
  isOpenIncident,
  observationFromRow,
  observationSelect,
  observationValues,
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

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's write lock before failing (ms). Default 10 s. */
  busyTimeoutMs?: number;
  migrations?: Migration[];
}

interface RolloutRow {
  id: string;
  service: string;
  version: string;
  phase: string;
  state: string;
  revision: number;
  created_at: number;
  updated_at: number;
}

interface EventRow {
  seq: number;
  rollout_id: string | null;
  at: number;
  actor: string;
  type: string;
  data: string | null;
}

interface ActionRow {
  key: string;
  rollout_id: string;
  status: string;
  started_at: number;
  finished_at: number | null;
  result: string | null;
}

const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

function rolloutFromRow(r: RolloutRow): RolloutRecord {
  return {
    id: r.id,
    service: r.service,
    version: r.version,
    phase: r.phase,
    state: parse(r.state),
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function eventFromRow(r: EventRow): EventRecord {
  return { seq: r.seq, rolloutId: r.rollout_id, at: r.at, actor: r.actor, type: r.type, data: parse(r.data) };
}

function actionFromRow(r: ActionRow): ActionRecord {
  return {
    key: r.key,
    rolloutId: r.rollout_id,
    status: r.status as ActionRecord['status'],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: parse(r.result),
  };
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private db: Database.Database;
  private migrations: Migration[];
  private insertEventStmt: Database.Statement | undefined;
  private statements = new Map<string, Database.Statement>();

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.path = path === ':memory:' ? path : resolve(path);
    if (this.path !== ':memory:') {
      try {
        mkdirSync(dirname(this.path), { recursive: true });
      } catch (e) {
        throw new EtapeError('store.unavailable', `cannot create the folder for the SQLite store ${this.path}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    try {
      this.db = new Database(this.path);
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000))}`);
      if (this.path !== ':memory:') this.db.pragma('journal_mode = WAL');
      // WAL + NORMAL survives a killed process (every commit is in the WAL); only a power cut may lose the
      // last commits, never corrupt the file.
      this.db.pragma('synchronous = NORMAL');
    } catch (e) {
      throw new EtapeError('store.unavailable', `cannot open the SQLite store ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    this.migrations = opts.migrations ?? sqliteMigrations;
  }

  private get insertEvent(): Database.Statement {
    this.insertEventStmt ??= this.db.prepare('INSERT INTO events (rollout_id, at, actor, type, data) VALUES (?, ?, ?, ?, ?)');
    return this.insertEventStmt;
  }

  /** A prepared statement, cached by its SQL (the filters build a handful of distinct shapes). */
  private prepare(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction. */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private appendEventsSync(events: NewEvent[]): void {
    for (const e of events) this.insertEvent.run(e.rolloutId ?? null, e.at, e.actor, e.type, toJson(e.data));
  }

  async migrate(): Promise<void> {
    this.write(() => {
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
      );
      const done = new Set((this.db.prepare('SELECT id FROM schema_migrations').all() as { id: number }[]).map((r) => r.id));
      for (const m of [...this.migrations].sort((a, b) => a.id - b.id)) {
        if (done.has(m.id)) continue;
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(m.id, m.name, Date.now());
      }
    });
  }

  /** Migrations applied so far, in order (for `etape` diagnostics and tests). */
  async appliedMigrations(): Promise<{ id: number; name: string }[]> {
    const t = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!t) return [];
    return this.db.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all() as { id: number; name: string }[];
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async createRollout(r: Omit<RolloutRecord, 'revision'>, events: NewEvent[]): Promise<RolloutRecord> {
    const rec: RolloutRecord = { ...r, revision: 1 };
    this.write(() => {
      const res = this.db
        .prepare(
          `INSERT INTO rollouts (id, service, version, phase, state, revision, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING`,
        )
        .run(r.id, r.service, r.version, r.phase, toJson(r.state), r.createdAt, r.updatedAt);
      if (res.changes === 0) throw new EtapeError('store.conflict', `a rollout with id ${r.id} already exists`);
      this.appendEventsSync(events);
    });
    return rec;
  }

  async getRollout(id: string): Promise<RolloutRecord | undefined> {
    const row = this.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as RolloutRow | undefined;
    return row ? rolloutFromRow(row) : undefined;
  }

  async listRollouts(filter: RolloutListFilter = {}): Promise<RolloutRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.service !== undefined) {
      where.push('service = ?');
      args.push(filter.service);
    }
    if (filter.phases !== undefined) {
      if (filter.phases.length === 0) return [];
      where.push(`phase IN (${filter.phases.map(() => '?').join(', ')})`);
      args.push(...filter.phases);
    }
    if (filter.before !== undefined) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      args.push(filter.before.createdAt, filter.before.createdAt, filter.before.id);
    }
    let sql = 'SELECT * FROM rollouts' + (where.length ? ' WHERE ' + where.join(' AND ') : '') + ' ORDER BY created_at DESC, id DESC';
    const limit = clampLimit(filter.limit);
    if (limit !== undefined) {
      sql += ' LIMIT ?';
      args.push(limit);
    }
    return (this.prepare(sql).all(...args) as RolloutRow[]).map(rolloutFromRow);
  }

  async saveRollout(
    id: string,
    expectedRevision: number,
    next: { phase: string; state: unknown; updatedAt: number },
    events: NewEvent[],
  ): Promise<number> {
    return this.write(() => {
      const res = this.db
        .prepare('UPDATE rollouts SET phase = ?, state = ?, updated_at = ?, revision = revision + 1 WHERE id = ? AND revision = ?')
        .run(next.phase, toJson(next.state), next.updatedAt, id, expectedRevision);
      if (res.changes === 0) {
        const cur = this.prepare('SELECT revision FROM rollouts WHERE id = ?').get(id) as { revision: number } | undefined;
        if (!cur) throw new EtapeError('not_found', `no rollout with id ${id}`);
        throw new EtapeError(
          'store.conflict',
          `rollout ${id} changed underneath (stored revision ${cur.revision}, expected ${expectedRevision}); reload it and try again`,
        );
      }
      this.appendEventsSync(events);
      return expectedRevision + 1;
    });
  }

  async appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.write(() => this.appendEventsSync(events));
  }

  async listEvents(filter: { rolloutId?: string; afterSeq?: number; types?: string[]; limit?: number } = {}): Promise<EventRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.rolloutId !== undefined) {
      where.push('rollout_id = ?');
      args.push(filter.rolloutId);
    }
    if (filter.afterSeq !== undefined) {
      where.push('seq > ?');
      args.push(filter.afterSeq);
    }
    if (filter.types !== undefined) {
      if (filter.types.length === 0) return [];
      where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
      args.push(...filter.types);
    }
    let sql = 'SELECT * FROM events' + (where.length ? ' WHERE ' + where.join(' AND ') : '') + ' ORDER BY seq';
    const limit = clampLimit(filter.limit);
    if (limit !== undefined) {
      sql += ' LIMIT ?';
      args.push(limit);
    }
    return (this.prepare(sql).all(...args) as EventRow[]).map(eventFromRow);
  }

  async beginAction(key: string, rolloutId: string, at: number): Promise<{ record: ActionRecord; created: boolean }> {
    return this.write(() => {
      const res = this.db
        .prepare(`INSERT INTO actions (key, rollout_id, status, started_at) VALUES (?, ?, 'started', ?) ON CONFLICT (key) DO NOTHING`)
        .run(key, rolloutId, at);
      const row = this.prepare('SELECT * FROM actions WHERE key = ?').get(key) as ActionRow;
      return { record: actionFromRow(row), created: res.changes > 0 };
    });
  }

  async finishAction(key: string, status: 'succeeded' | 'failed', at: number, result: unknown): Promise<void> {
    const res = this.db
      .prepare('UPDATE actions SET status = ?, finished_at = ?, result = ? WHERE key = ?')
      .run(status, at, toJson(result), key);
    if (res.changes === 0) throw new EtapeError('not_found', `no action with key ${key}: call beginAction first`);
  }

  async getAction(key: string): Promise<ActionRecord | undefined> {
    const row = this.prepare('SELECT * FROM actions WHERE key = ?').get(key) as ActionRow | undefined;
    return row ? actionFromRow(row) : undefined;
  }

  async recordObservations(obs: Observation[]): Promise<void> {
    if (obs.length === 0) return;
    const stmt = this.prepare(
      `INSERT INTO observations (${OBSERVATION_COLUMNS.join(', ')}) VALUES (${OBSERVATION_COLUMNS.map(() => '?').join(', ')})`,
    );
    this.write(() => {
      for (const o of obs) stmt.run(...observationValues(o));
    });
  }

  async queryObservations(q: ObservationQuery): Promise<Observation[]> {
    const { sql, args } = observationSelect(q, () => '?');
    return (this.prepare(sql).all(...args) as ObservationRow[]).map(observationFromRow);
  }

  async latestObservations(q: { service?: string; since: number }): Promise<Observation[]> {
    const args: unknown[] = [q.since];
    let filter = 'at >= ?';
    if (q.service !== undefined) {
      filter += ' AND service = ?';
      args.push(q.service);
    }
    const sql = `SELECT ${OBSERVATION_COLUMNS.join(', ')} FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY service, region, cell, source ORDER BY at DESC, id DESC) AS rn
        FROM observations WHERE ${filter}
      ) WHERE rn = 1 ORDER BY service, region, cell, source`;
    return (this.prepare(sql).all(...args) as ObservationRow[]).map(observationFromRow);
  }

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean> {
    return this.write(() => {
      const res = this.db
        .prepare(
          `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
           WHERE leases.until <= ? OR leases.holder = excluded.holder`,
        )
        .run(name, holder, until, now);
      return res.changes > 0;
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.prepare('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
  }

  async saveIncident(i: IncidentRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO incidents (id, kind, status, is_open, created_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, status = excluded.status, is_open = excluded.is_open,
           created_at = excluded.created_at, updated_at = excluded.updated_at, record = excluded.record`,
      )
      .run(i.id, i.kind, i.status, isOpenIncident(i) ? 1 : 0, i.createdAt, i.updatedAt, toJson(i));
  }

  async getIncident(id: string): Promise<IncidentRecord | undefined> {
    const row = this.prepare('SELECT record FROM incidents WHERE id = ?').get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as IncidentRecord) : undefined;
  }

  async listIncidents(
    filter: { open?: boolean; kind?: 'incident' | 'maintenance'; since?: number; limit?: number } = {},
  ): Promise<IncidentRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.open !== undefined) {
      where.push('is_open = ?');
      args.push(filter.open ? 1 : 0);
    }
    if (filter.kind !== undefined) {
      where.push('kind = ?');
      args.push(filter.kind);
    }
    if (filter.since !== undefined) {
      where.push('(created_at >= ? OR updated_at >= ?)');
      args.push(filter.since, filter.since);
    }
    let sql = 'SELECT record FROM incidents' + (where.length ? ' WHERE ' + where.join(' AND ') : '') + ' ORDER BY created_at DESC, id DESC';
    const limit = clampLimit(filter.limit);
    if (limit !== undefined) {
      sql += ' LIMIT ?';
      args.push(limit);
    }
    return (this.prepare(sql).all(...args) as { record: string }[]).map((r) => JSON.parse(r.record) as IncidentRecord);
  }
}

// The embedded store: SQLite in one file, through better-sqlite3 (synchronous; each method is wrapped in a
// promise so callers see the same Store contract as PostgreSQL). WAL mode lets readers (the CLI, the status
// page builder) run while the controller writes; busy_timeout makes a second writer wait instead of failing.
// Write transactions are BEGIN IMMEDIATE, so two processes never deadlock upgrading a read lock.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { EtapeError } from '../core/errors.js';
import type { Observation } from '../core/types.js';
import { ACTIVE_PHASES } from '../rollout/phases.js';
import { notificationStore, type NotificationStore } from './notifications.js';
import { sqliteMigrations, type Migration } from './migrations.js';
import { retentionStore, type RetentionStore } from './retention.js';
import { blockedMigration, pendingMigrations, type AppliedMigration } from './migration-plan.js';
import { etapeVersion } from '../core/version.js';
import {
  activeRolloutConflict,
  fencedError,
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

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's write lock before failing (ms). Default 10 s. */
  busyTimeoutMs?: number;
  migrations?: Migration[];
  /**
   * The store's clock, by which lease expiry and call deadlines are judged. SQLite has no clock of its own:
   * this host's (every process on one SQLite file runs on one host). Tests pass a virtual one.
   */
  clock?: { now(): number };
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
  target: string | null;
  token: number | null;
  deadline: number | null;
  place: string | null;
  pgid: number | null;
}

const ACTIVE_SQL = ACTIVE_PHASES.map((p) => `'${p}'`).join(', ');

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
    target: r.target ?? null,
    token: r.token ?? null,
    deadline: r.deadline ?? null,
    place: r.place ?? null,
    pgid: r.pgid ?? null,
  };
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private db: Database.Database;
  private migrations: Migration[];
  private insertEventStmt: Database.Statement | undefined;
  private statements = new Map<string, Database.Statement>();
  private clock: { now(): number };

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
    this.clock = opts.clock ?? { now: () => Date.now() };
    const runner = {
      all: async <R>(sql: string, args: unknown[] = []) => this.prepare(sql).all(...args) as R[],
      run: async (sql: string, args: unknown[] = []) => this.prepare(sql).run(...args).changes,
    };
    this.notifications = notificationStore(runner);
    this.retention = retentionStore(runner);
  }

  readonly notifications: NotificationStore;
  readonly retention: RetentionStore;

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
      const cols = (this.db.prepare('PRAGMA table_info(schema_migrations)').all() as { name: string }[]).map((c) => c.name);
      if (!cols.includes('etape_version')) this.db.exec('ALTER TABLE schema_migrations ADD COLUMN etape_version TEXT');
      const applied = this.db.prepare('SELECT id, name, etape_version FROM schema_migrations').all() as AppliedMigration[];
      for (const m of pendingMigrations(this.migrations, applied, this.path)) {
        if (m.blockers) {
          const problems = (this.db.prepare(m.blockers.sql).all() as { problem: string }[]).map((r) => r.problem);
          if (problems.length) throw blockedMigration(m, problems, this.path);
        }
        this.db.exec(m.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (id, name, applied_at, etape_version) VALUES (?, ?, ?, ?)')
          .run(m.id, m.name, Date.now(), etapeVersion());
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
      let res: Database.RunResult;
      try {
        res = this.db
          .prepare(
            `INSERT INTO rollouts (id, service, version, phase, state, revision, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING`,
          )
          .run(r.id, r.service, r.version, r.phase, toJson(r.state), r.createdAt, r.updatedAt);
      } catch (e) {
        // The one-active-rollout index (migration 5): another rollout of this service is active.
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && /rollouts\.service/.test((e as Error).message)) {
          const active = this.prepare(`SELECT * FROM rollouts WHERE service = ? AND phase IN (${ACTIVE_SQL}) LIMIT 1`).get(r.service) as
            RolloutRow | undefined;
          throw activeRolloutConflict(r.service, active && { id: active.id, phase: active.phase });
        }
        throw e;
      }
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
    fence?: Fence,
  ): Promise<number> {
    return this.write(() => {
      if (fence) this.checkFence(fence);
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

  async appendEvents(events: NewEvent[], fence?: Fence): Promise<void> {
    if (events.length === 0) return;
    this.write(() => {
      if (fence) this.checkFence(fence);
      this.appendEventsSync(events);
    });
  }

  /** Inside a write transaction: throws store.fenced unless `f` is the lease's current, unexpired holding. */
  private checkFence(f: Fence): number {
    const now = this.clock.now();
    const ok = this.prepare('SELECT 1 FROM leases WHERE name = ? AND holder = ? AND token = ? AND until > ?').get(
      f.lease,
      f.holder,
      f.token,
      now,
    );
    if (!ok) throw fencedError(f);
    return now;
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

  async beginAction(key: string, rolloutId: string, at: number, opts: BeginActionOptions = {}): Promise<BeginActionResult> {
    return this.write(() => {
      const f = opts.fence;
      if (!f) {
        const res = this.db
          .prepare(
            `INSERT INTO actions (key, rollout_id, status, started_at, target) VALUES (?, ?, 'started', ?, ?) ON CONFLICT (key) DO NOTHING`,
          )
          .run(key, rolloutId, at, opts.target ?? null);
        const row = this.prepare('SELECT * FROM actions WHERE key = ?').get(key) as ActionRow;
        return { record: actionFromRow(row), created: res.changes > 0 };
      }
      const now = this.checkFence(f);
      const deadline = now + Math.max(0, opts.holdMs ?? 0);
      const cur = this.prepare('SELECT * FROM actions WHERE key = ?').get(key) as ActionRow | undefined;
      if (cur && cur.status !== 'started') return { record: actionFromRow(cur), created: false };
      // Another holding's call on this target (this one or another key) whose attempt may still run.
      if (opts.target !== undefined) {
        const other = this.prepare(
          `SELECT * FROM actions WHERE rollout_id = ? AND target = ? AND status = 'started' AND token IS NOT ?
             AND deadline > ? ORDER BY deadline DESC LIMIT 1`,
        ).get(rolloutId, opts.target, f.token, now) as ActionRow | undefined;
        if (other) {
          const record = cur
            ? actionFromRow(cur)
            : { key, rolloutId, status: 'started' as const, startedAt: at, finishedAt: null, result: null };
          return { record, created: false, busyUntil: other.deadline!, blocking: actionFromRow(other) };
        }
      }
      if (!cur) {
        this.db
          .prepare(
            `INSERT INTO actions (key, rollout_id, status, started_at, target, token, deadline) VALUES (?, ?, 'started', ?, ?, ?, ?)`,
          )
          .run(key, rolloutId, at, opts.target ?? null, f.token, deadline);
      } else {
        // Ours already, or another holding's whose attempt is surely over: this holding owns it now.
        this.db.prepare('UPDATE actions SET token = ?, deadline = ?, place = NULL, pgid = NULL WHERE key = ?').run(f.token, deadline, key);
      }
      const row = this.prepare('SELECT * FROM actions WHERE key = ?').get(key) as ActionRow;
      return { record: actionFromRow(row), created: !cur };
    });
  }

  async armAttempt(key: string, fence: Fence, attemptMs: number): Promise<boolean> {
    return this.write(() => {
      let now: number;
      try {
        now = this.checkFence(fence);
      } catch {
        return false;
      }
      const until = now + Math.max(0, attemptMs);
      const res = this.db
        .prepare(
          `UPDATE actions SET deadline = MAX(COALESCE(deadline, 0), ?), place = NULL, pgid = NULL WHERE key = ? AND token = ? AND status = 'started'`,
        )
        .run(until, key, fence.token);
      if (res.changes === 0) return false;
      // The lease outlives the attempt it covers.
      this.db.prepare('UPDATE leases SET until = MAX(until, ?) WHERE name = ? AND token = ?').run(until, fence.lease, fence.token);
      return true;
    });
  }

  async noteAttempt(key: string, token: number, place: string, pgid: number): Promise<void> {
    this.prepare('UPDATE actions SET place = ?, pgid = ? WHERE key = ? AND token = ?').run(place, pgid, key, token);
  }

  async attemptOver(key: string, token: number): Promise<void> {
    this.prepare(`UPDATE actions SET deadline = 0 WHERE key = ? AND token = ? AND status = 'started'`).run(key, token);
  }

  async finishAction(key: string, status: 'succeeded' | 'failed', at: number, result: unknown, fence?: Fence): Promise<void> {
    const res = fence
      ? this.db
          .prepare(`UPDATE actions SET status = ?, finished_at = ?, result = ? WHERE key = ? AND token = ? AND status = 'started'`)
          .run(status, at, toJson(result), key, fence.token)
      : this.db.prepare('UPDATE actions SET status = ?, finished_at = ?, result = ? WHERE key = ?').run(status, at, toJson(result), key);
    if (res.changes === 0) {
      if (fence && this.prepare('SELECT 1 FROM actions WHERE key = ?').get(key)) throw fencedError(fence, `call ${key}`);
      throw new EtapeError('not_found', `no action with key ${key}: call beginAction first`);
    }
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

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    return this.write(() => {
      const now = this.clock.now();
      const until = now + Math.max(1, Math.floor(ttlMs));
      const cur = this.prepare('SELECT holder, until, token FROM leases WHERE name = ?').get(name) as
        { holder: string; until: number; token: number } | undefined;
      if (!cur) {
        this.db.prepare('INSERT INTO leases (name, holder, until, token) VALUES (?, ?, ?, 1)').run(name, holder, until);
        return { name, holder, token: 1, until };
      }
      const valid = cur.until > now;
      if (valid && cur.holder !== holder) return undefined;
      // A renewal keeps the token (and never shortens the lease); a new holding (free, expired, taken over) gets the next one.
      const token = valid ? cur.token : cur.token + 1;
      const next = valid ? Math.max(cur.until, until) : until;
      this.db.prepare('UPDATE leases SET holder = ?, until = ?, token = ? WHERE name = ?').run(holder, next, token, name);
      return { name, holder, token, until: next };
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.prepare('UPDATE leases SET until = 0 WHERE name = ? AND holder = ?').run(name, holder);
  }

  async getLease(name: string): Promise<LeaseGrant | undefined> {
    const row = this.prepare('SELECT name, holder, until, token FROM leases WHERE name = ?').get(name) as LeaseGrant | undefined;
    return row ? { ...row } : undefined;
  }

  async liveLeases(prefix: string): Promise<LeaseGrant[]> {
    const rows = this.prepare('SELECT name, holder, until, token FROM leases WHERE substr(name, 1, ?) = ? AND until > ? ORDER BY name').all(
      prefix.length,
      prefix,
      this.clock.now(),
    ) as LeaseGrant[];
    return rows.map((r) => ({ ...r }));
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  async saveIncident(i: IncidentRecord, fence?: Fence): Promise<void> {
    if (fence) {
      this.write(() => {
        this.checkFence(fence);
        this.saveIncidentSync(i);
      });
    } else this.saveIncidentSync(i);
  }

  private saveIncidentSync(i: IncidentRecord): void {
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

// Retention: raw observations are rolled up, a UTC day per component, into the per-minute availability series
// the status page and the SLA read (src/sla/rollup.ts computes them), then pruned after a window; the rollups
// are kept longer. One implementation over both stores, each method one statement (as notifications.ts).
import type { SqlRunner } from './notifications.js';

/** One component's minutes of one UTC day, as seriesFromObservations gives them. */
export interface AvailabilityDay {
  service: string;
  region: string;
  /** UTC midnight, ms. */
  day: number;
  /** One character per minute: 0 unknown, 1 up, 2 degraded, 3 down (MinuteState). */
  states: string;
  /** Requests and failures per minute, when observations carried them. */
  requests: number[] | null;
  failures: number[] | null;
  /** The rules it was computed with (src/sla/rollup.ts rollupKey): a day with other rules is recomputed while its raw evidence is kept. */
  rules: string;
  /** The first availability evidence of the component in the day, if any. */
  firstAt: number | null;
}

export interface RetentionStore {
  /** Inserts or replaces rolled-up days. */
  saveDays(days: AvailabilityDay[]): Promise<void>;
  /** Rolled-up days with `day` in [from, to), optionally of one component; oldest first. */
  days(q: { service?: string; region?: string; from: number; to: number }): Promise<AvailabilityDay[]>;
  /** The earliest first evidence of a component over its rolled-up days. */
  firstEvidence(service: string, region: string): Promise<number | undefined>;
  /** A retention mark: `rolled_to` (days before it are rolled up), `raw_from` (raw observations before it were pruned). */
  mark(name: 'rolled_to' | 'raw_from'): Promise<number | undefined>;
  setMark(name: 'rolled_to' | 'raw_from', value: number): Promise<void>;
  /** Deletes raw observations with `at` before `before`, at most `limit` at a time; returns how many. */
  pruneObservations(before: number, limit?: number): Promise<number>;
  /** Deletes rolled-up days before `before`; returns how many. */
  pruneDays(before: number): Promise<number>;
  /** The time of the oldest raw observation kept. */
  oldestObservation(): Promise<number | undefined>;
}

interface DayRow {
  service: string;
  region: string;
  day: number | string;
  states: string;
  requests: string | null;
  failures: string | null;
  rules: string;
  first_at: number | string | null;
}

const fromRow = (r: DayRow): AvailabilityDay => ({
  service: r.service,
  region: r.region,
  day: Number(r.day),
  states: r.states,
  requests: r.requests === null ? null : (JSON.parse(r.requests) as number[]),
  failures: r.failures === null ? null : (JSON.parse(r.failures) as number[]),
  rules: r.rules,
  firstAt: r.first_at === null ? null : Number(r.first_at),
});

export function retentionStore(db: SqlRunner): RetentionStore {
  return {
    async saveDays(days) {
      for (const d of days) {
        await db.run(
          `INSERT INTO availability_days (service, region, day, states, requests, failures, rules, first_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (service, region, day) DO UPDATE SET states = excluded.states, requests = excluded.requests,
             failures = excluded.failures, rules = excluded.rules, first_at = excluded.first_at`,
          [
            d.service,
            d.region,
            d.day,
            d.states,
            d.requests === null ? null : JSON.stringify(d.requests),
            d.failures === null ? null : JSON.stringify(d.failures),
            d.rules,
            d.firstAt,
          ],
        );
      }
    },
    async days(q) {
      const where = ['day >= ?', 'day < ?'];
      const args: unknown[] = [q.from, q.to];
      if (q.service !== undefined) {
        where.push('service = ?');
        args.push(q.service);
      }
      if (q.region !== undefined) {
        where.push('region = ?');
        args.push(q.region);
      }
      const rows = await db.all<DayRow>(`SELECT * FROM availability_days WHERE ${where.join(' AND ')} ORDER BY day, service, region`, args);
      return rows.map(fromRow);
    },
    async firstEvidence(service, region) {
      const r = await db.all<{ at: number | string | null }>(
        'SELECT MIN(first_at) AS at FROM availability_days WHERE service = ? AND region = ?',
        [service, region],
      );
      return r[0]?.at === null || r[0]?.at === undefined ? undefined : Number(r[0].at);
    },
    async mark(name) {
      const r = await db.all<{ value: number | string }>('SELECT value FROM retention_marks WHERE name = ?', [name]);
      return r.length ? Number(r[0].value) : undefined;
    },
    async setMark(name, value) {
      await db.run('INSERT INTO retention_marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [
        name,
        value,
      ]);
    },
    async pruneObservations(before, limit = 50_000) {
      // A bounded batch at a time, so one prune never holds the write lock for long.
      return db.run('DELETE FROM observations WHERE id IN (SELECT id FROM observations WHERE at < ? ORDER BY at LIMIT ?)', [before, limit]);
    },
    async pruneDays(before) {
      return db.run('DELETE FROM availability_days WHERE day < ?', [before]);
    },
    async oldestObservation() {
      const r = await db.all<{ at: number | string | null }>('SELECT MIN(at) AS at FROM observations');
      return r[0]?.at === null || r[0]?.at === undefined ? undefined : Number(r[0].at);
    },
  };
}

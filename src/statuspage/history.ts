// 90 days of uptime per component, computed by the SLA's own functions (src/sla/availability.ts) so the
// page's per-day percentages and the SLA report agree to the last shown digit (I8). Two sources:
// SeriesHistorySource over compact per-minute series held in memory (benchmarks, tests, replays), and
// StoreHistorySource that reads observations from the store, a day at a time, and keeps finished days.
import type { Observation } from '../core/types.js';
import type { IncidentRecord, Store } from '../store/store.js';
import {
  DAY_MS,
  MINUTE_MS,
  announcedMaintenance,
  dailyUptime,
  formatPercent,
  seriesFromObservations,
  spliceSeries,
  startOfUtcDay,
  sumUptime,
  type DayUptime,
  type MaintenanceWindow,
  type Measure,
  type MinuteSeries,
  type SeriesOptions,
  type Uptime,
} from '../sla/availability.js';
import type { ComponentDef } from '../status/status.js';
import { resolveSla, type SlaConfig } from '../config/sla.js';
import { rollupKey, seriesFromDay, usableDays } from '../sla/rollup-days.js';

export interface ComponentHistory {
  id: string;
  /** Oldest first; the last is today (so far). */
  days: DayUptime[];
  /** The whole window, summed exactly as the SLA sums days. */
  total: Uptime;
  /** Changes whenever any figure shown for this component changes. */
  key: string;
  /** Changes when a finished day's figure changes (not with today's, which moves every minute). */
  pastKey: string;
  /** When measurement began, when it did (HistoryOptions.measuredSince). */
  measuredSinceMs?: number;
}

export interface HistorySource {
  history(defs: ComponentDef[], now: number, days: number): Promise<Map<string, ComponentHistory>>;
}

export interface HistoryOptions {
  /** How a service's availability is measured (its SLA's measure); minutes when it has none. */
  measure?: (service: string) => Measure;
  /** Announced maintenance windows excluded from a component's figures. */
  maintenance?: (componentId: string) => MaintenanceWindow[];
  /**
   * When measurement of a component began (src/sla/measurement.ts): days before it are "not monitored",
   * neither up nor down (I8). Undefined from the function: not monitored yet. Without it: always measured.
   */
  measuredSince?: (componentId: string) => number | undefined;
}

/** sinceMs for a component under these options: Infinity when it has never been measured. */
function sinceOf(opts: HistoryOptions, id: string): number | undefined {
  if (!opts.measuredSince) return undefined;
  return opts.measuredSince(id) ?? Infinity;
}

/** The SLA measure of each service, resolved as the SLA report resolves it (presets included). */
export function measureFromSlaConfig(sla: SlaConfig[]): (service: string) => Measure {
  const m = new Map<string, Measure>();
  for (const s of sla) m.set(s.service, resolveSla(s).measure);
  return (service) => m.get(service) ?? 'minutes';
}

/**
 * Maintenance windows per component from incident records, by the SLA's rule (announced in advance, with the
 * service's SLA notice).
 */
export function maintenanceFromIncidents(
  incidents: readonly IncidentRecord[],
  sla: SlaConfig[] = [],
): (componentId: string) => MaintenanceWindow[] {
  const maint = incidents.filter((i) => i.kind === 'maintenance');
  const notice = new Map(sla.map((s) => [s.service, resolveSla(s).maintenanceNoticeMs]));
  return (id) => (maint.length === 0 ? [] : announcedMaintenance(maint, id, { minNoticeMs: notice.get(id.split('/')[0]) ?? 0 }));
}

function windowKey(ws: MaintenanceWindow[]): string {
  return ws.map((w) => `${w.fromMs}-${w.toMs}`).join(',');
}

/** What the page shows for a day (or a window): the key changes exactly when the shown figure does. */
export function displayKey(d: Uptime): string {
  return d.minutes === 0 ? (d.unmonitoredMinutes > 0 ? 'm' : 'n') : d.unknownMinutes === d.minutes ? 'u' : formatPercent(d.percent);
}

/**
 * History over series held in memory. `get` returns a component's series and a version that changes when
 * its evidence does; finished days are reused while the version, the window and the maintenance are the
 * same, and only today is recomputed.
 */
export class SeriesHistorySource implements HistorySource {
  private cache = new Map<string, { key: string; past: DayUptime[]; pastTotal: Uptime | undefined }>();
  /** Components whose finished days were recomputed by the last call (for benchmarks and tests). */
  recomputed = 0;

  constructor(
    private readonly get: (componentId: string) => { series: MinuteSeries; version: string } | undefined,
    private readonly opts: HistoryOptions = {},
  ) {}

  async history(defs: ComponentDef[], now: number, days: number): Promise<Map<string, ComponentHistory>> {
    return this.historySync(defs, now, days);
  }

  historySync(defs: ComponentDef[], now: number, days: number): Map<string, ComponentHistory> {
    const today = startOfUtcDay(now);
    const first = today - (days - 1) * DAY_MS;
    const out = new Map<string, ComponentHistory>();
    this.recomputed = 0;
    const empty: MinuteSeries = { startMs: first, states: new Uint8Array(0) };
    for (const d of defs) {
      const got = this.get(d.id);
      const series = got?.series ?? empty;
      const measure = this.opts.measure?.(d.service) ?? 'minutes';
      const maintenance = this.opts.maintenance?.(d.id) ?? [];
      const sinceMs = sinceOf(this.opts, d.id);
      const key = `${got?.version ?? 'none'}|${first}|${measure}|${windowKey(maintenance)}|${sinceMs ?? ''}`;
      let c = this.cache.get(d.id);
      if (!c || c.key !== key) {
        const past = dailyUptime(series, first, days - 1, { measure, maintenance, sinceMs });
        c = { key, past, pastTotal: past.length ? sumUptime(past) : undefined };
        this.cache.set(d.id, c);
        this.recomputed++;
      }
      const t = dailyUptime(series, today, 1, { measure, maintenance, nowMs: now, sinceMs })[0];
      const all = [...c.past, t];
      // Days are disjoint windows: the past's sum plus today is the sum of all days, exactly.
      const total = sumUptime(c.pastTotal ? [c.pastTotal, t] : [t]);
      const since = sinceOf(this.opts, d.id);
      out.set(d.id, {
        id: d.id,
        days: all,
        total,
        key: `${key}|${displayKey(t)}|${displayKey(total)}`,
        pastKey: key,
        ...(since !== undefined && Number.isFinite(since) ? { measuredSinceMs: since } : {}),
      });
    }
    return out;
  }
}

/**
 * History read from the store. Finished days are computed once (a day's observations at a time) and kept;
 * today's minutes are rebuilt from the tail of the evidence at each call. Observations recorded more than
 * `freshFor` after the time they describe do not change figures already computed.
 */
export class StoreHistorySource implements HistorySource {
  private past = new Map<string, Map<string, DayUptime>>(); // component -> day -> figures
  private pastKey = new Map<string, string>(); // component -> maintenance key the past was computed with
  /** Maintenance windows change between builds; figures computed with other windows are recomputed. */
  setMaintenance(fn: (componentId: string) => MaintenanceWindow[]): void {
    this.opts = { ...this.opts, maintenance: fn };
  }
  /** Measurement starts move (a component's first evidence arrives); days computed before are recomputed. */
  setMeasuredSince(fn: (componentId: string) => number | undefined): void {
    this.opts = { ...this.opts, measuredSince: fn };
  }

  private today: { day: number; series: Map<string, MinuteSeries>; cells: Map<string, Set<string>>; builtTo: number } | undefined;

  constructor(
    private readonly store: Store,
    private readonly seriesOptions: SeriesOptions,
    private opts: HistoryOptions = {},
  ) {}

  private optsFor(d: ComponentDef, cellsSeen?: Set<string>): SeriesOptions {
    const cells = new Set(d.cells);
    if (cellsSeen) for (const c of cellsSeen) cells.add(c);
    return { ...this.seriesOptions, cells: [...cells] };
  }

  private async observations(from: number, to: number): Promise<Map<string, Observation[]>> {
    const obs = await this.store.queryObservations({ from, to });
    const by = new Map<string, Observation[]>();
    for (const o of obs) {
      const k = `${o.service}/${o.region}`;
      let l = by.get(k);
      if (!l) by.set(k, (l = []));
      l.push(o);
    }
    return by;
  }

  async history(defs: ComponentDef[], now: number, days: number): Promise<Map<string, ComponentHistory>> {
    const fresh = this.seriesOptions.freshForMs;
    const today = startOfUtcDay(now);
    const first = today - (days - 1) * DAY_MS;
    const measureOf = (d: ComponentDef) => this.opts.measure?.(d.service) ?? 'minutes';

    // Finished days: compute the ones missing, one day of observations at a time.
    for (const d of defs) {
      const mk = windowKey(this.opts.maintenance?.(d.id) ?? []) + '|' + measureOf(d) + '|' + (sinceOf(this.opts, d.id) ?? '');
      if (this.pastKey.get(d.id) !== mk) {
        this.past.delete(d.id);
        this.pastKey.set(d.id, mk);
      }
    }
    for (let day = first; day < today; day += DAY_MS) {
      const name = new Date(day).toISOString().slice(0, 10);
      const missing = defs.filter((d) => !this.past.get(d.id)?.has(name));
      if (missing.length === 0) continue;
      // A day rolled up with these rules (or whose raw evidence is pruned) is read from its rollup.
      const keys = new Map(missing.map((d) => [d.id, rollupKey(this.seriesOptions, this.optsFor(d).cells ?? [])]));
      const rolled = await usableDays(this.store, { from: day, to: day + DAY_MS }, (s, r) => keys.get(`${s}/${r}`));
      const needRaw = missing.some((d) => !rolled.get(d.id)?.has(day));
      const by = needRaw ? await this.observations(day - fresh, day + DAY_MS) : new Map<string, Observation[]>();
      for (const d of missing) {
        const whole = rolled.get(d.id)?.get(day);
        const s = whole ? seriesFromDay(whole) : seriesFromObservations(by.get(d.id) ?? [], day, day + DAY_MS, this.optsFor(d));
        const u = dailyUptime(s, day, 1, {
          measure: measureOf(d),
          maintenance: this.opts.maintenance?.(d.id) ?? [],
          sinceMs: sinceOf(this.opts, d.id),
        })[0];
        let m = this.past.get(d.id);
        if (!m) this.past.set(d.id, (m = new Map()));
        m.set(name, u);
      }
    }
    // Forget days that left the window.
    const firstName = new Date(first).toISOString().slice(0, 10);
    for (const m of this.past.values()) for (const k of m.keys()) if (k < firstName) m.delete(k);

    // Today: rebuild only the minutes the new evidence can change.
    if (!this.today || this.today.day !== today) this.today = { day: today, series: new Map(), cells: new Map(), builtTo: today };
    const t = this.today;
    const end = Math.min(today + DAY_MS, Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    const tailFrom = Math.max(today, Math.floor((t.builtTo - fresh) / MINUTE_MS) * MINUTE_MS - MINUTE_MS);
    const by = await this.observations(tailFrom - fresh, end);
    for (const d of defs) {
      let series = t.series.get(d.id);
      if (!series) t.series.set(d.id, (series = { startMs: today, states: new Uint8Array(DAY_MS / MINUTE_MS) }));
      let cells = t.cells.get(d.id);
      if (!cells) t.cells.set(d.id, (cells = new Set()));
      const obs = by.get(d.id) ?? [];
      for (const o of obs) cells.add(o.cell ?? '');
      const tail = seriesFromObservations(obs, tailFrom, end, this.optsFor(d, cells));
      spliceSeries(series, tail);
    }
    t.builtTo = now;

    const out = new Map<string, ComponentHistory>();
    for (const d of defs) {
      const m = this.past.get(d.id) ?? new Map<string, DayUptime>();
      const pastDays: DayUptime[] = [];
      for (let day = first; day < today; day += DAY_MS) pastDays.push(m.get(new Date(day).toISOString().slice(0, 10))!);
      const td = dailyUptime(t.series.get(d.id)!, today, 1, {
        measure: measureOf(d),
        maintenance: this.opts.maintenance?.(d.id) ?? [],
        nowMs: now,
        sinceMs: sinceOf(this.opts, d.id),
      })[0];
      const all = [...pastDays, td];
      const total = sumUptime(all);
      const pastKey = `${first}|${pastDays.map(displayKey).join(';')}`;
      const since = sinceOf(this.opts, d.id);
      out.set(d.id, {
        id: d.id,
        days: all,
        total,
        key: `${pastKey}|${displayKey(td)}|${displayKey(total)}|${since ?? ''}`,
        pastKey: `${pastKey}|${since ?? ''}`,
        ...(since !== undefined && Number.isFinite(since) ? { measuredSinceMs: since } : {}),
      });
    }
    return out;
  }
}

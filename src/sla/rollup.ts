// Retention's arithmetic and its job. A finished UTC day of a component's raw observations is rolled up into
// the same per-minute series the status page and the SLA compute from raw (seriesFromObservations, the same
// rules and cells), so a figure read from rollups is the figure read from raw. Raw observations are then
// pruned after `server.retention.raw`, rollups after `server.retention.rollups`; events and rollout state
// are never pruned.
import type { Logger } from '../core/log.js';
import type { Observation } from '../core/types.js';
import { ms } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { AvailabilityDay } from '../store/retention.js';
import { DAY_MS, MINUTE_MS, seriesFromObservations, startOfUtcDay } from './availability.js';
import { seriesOptionsFromConfig } from './from-store.js';
import { dayFromSeries, regionCells, rollupKey } from './rollup-days.js';

export interface RetentionReport {
  /** Days rolled up by this run, and the components in them. */
  days: number;
  components: number;
  prunedObservations: number;
  prunedDays: number;
}

export interface RetentionOptions {
  store: Store;
  config: EtapeConfig;
  log?: Logger;
  /** Overrides server.retention (benchmarks, tests). */
  rawMs?: number;
  rollupsMs?: number;
}

/**
 * One retention pass at store-clock time `now`: rolls up every finished day not rolled up yet (a day is
 * finished once freshFor and a grace of 10 minutes have passed after it, so late evidence still counts),
 * then prunes raw observations older than the raw window (never those a day still to roll up needs) and
 * rollups older than theirs. Idempotent: several controllers may run it.
 */
export async function runRetention(o: RetentionOptions, now: number): Promise<RetentionReport> {
  const { store, config } = o;
  const base = seriesOptionsFromConfig(config);
  const fresh = base.freshForMs;
  const rawMs = o.rawMs ?? ms(config.server.retention.raw);
  const rollupsMs = o.rollupsMs ?? ms(config.server.retention.rollups);
  const report: RetentionReport = { days: 0, components: 0, prunedObservations: 0, prunedDays: 0 };
  const r = store.retention;
  let day = await r.mark('rolled_to');
  if (day === undefined) {
    const oldest = await r.oldestObservation();
    if (oldest === undefined) return report;
    day = startOfUtcDay(oldest);
  }
  const configured = new Set<string>();
  for (const s of config.services) {
    const regions = s.regions === 'all' ? config.fleet.regions.map((x) => x.id) : s.regions;
    for (const region of regions) configured.add(`${s.name}\u0000${region}`);
  }
  for (; day + DAY_MS + fresh + 10 * MINUTE_MS <= now; day += DAY_MS) {
    const obs = await store.queryObservations({ from: day - fresh, to: day + DAY_MS });
    const by = new Map<string, Observation[]>();
    for (const k of configured) by.set(k, []);
    for (const x of obs) {
      const k = `${x.service}\u0000${x.region}`;
      let l = by.get(k);
      if (!l) by.set(k, (l = []));
      l.push(x);
    }
    const rows: AvailabilityDay[] = [];
    for (const [k, list] of by) {
      const [service, region] = k.split('\u0000');
      const cells = regionCells(config, region);
      const opts = { ...base, cells };
      const s = seriesFromObservations(list, day, day + DAY_MS, opts);
      let firstAt: number | null = null;
      for (const x of list) if (x.at >= day && (base.counts?.(x) ?? true) && (firstAt === null || x.at < firstAt)) firstAt = x.at;
      rows.push(dayFromSeries(s, { service, region }, rollupKey(base, cells) ?? '', firstAt));
    }
    await r.saveDays(rows);
    await r.setMark('rolled_to', day + DAY_MS);
    report.days++;
    report.components = Math.max(report.components, rows.length);
  }
  // Raw evidence a day still to roll up needs (freshFor before it) stays, whatever the window.
  const cutoff = Math.min(startOfUtcDay(now - rawMs), day - fresh);
  for (;;) {
    const n = await r.pruneObservations(cutoff);
    report.prunedObservations += n;
    if (n === 0) break;
  }
  const prunedTo = await r.mark('raw_from');
  if (prunedTo === undefined || prunedTo < cutoff) await r.setMark('raw_from', cutoff);
  report.prunedDays = await r.pruneDays(startOfUtcDay(now - rollupsMs));
  if (report.days || report.prunedObservations || report.prunedDays) o.log?.info({ ...report }, 'retention: rolled up and pruned');
  return report;
}

/** Runs retention every `everyMs` (default an hour) until stopped; failures are logged and retried next time. */
export function startRetention(o: RetentionOptions & { now: () => Promise<number>; everyMs?: number }): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const pass = () => {
    running = (async () => runRetention(o, await o.now()))()
      .catch((e) => o.log?.warn({ err: e }, 'retention pass failed; trying again later'))
      .finally(() => {
        if (!stopped) timer = setTimeout(pass, o.everyMs ?? 3_600_000);
        timer?.unref();
      });
  };
  pass();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

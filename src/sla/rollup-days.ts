// Rolled-up days of availability (src/store/retention.ts): a day's per-minute series as stored, and which
// stored days a reader may use in place of raw evidence (those computed with its rules, or whose raw
// evidence is pruned). The job that writes them is rollup.ts.
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { AvailabilityDay } from '../store/retention.js';
import { DAY_MS, MINUTE_MS, type MinuteSeries, type SeriesOptions } from './availability.js';

const MINUTES = DAY_MS / MINUTE_MS;

/**
 * What a day's minutes depend on besides the evidence: the rules, the cells, and which observations count.
 * Undefined when `counts` is a function no key describes: then rollups are not used.
 */
export function rollupKey(opts: SeriesOptions, cells: readonly string[]): string | undefined {
  if (opts.counts !== undefined && opts.countsKey === undefined) return undefined;
  return JSON.stringify([
    opts.freshForMs,
    opts.downShare ?? null,
    opts.partialShare ?? null,
    opts.degradedLatencyMs ?? null,
    [...new Set(cells)].sort(),
    opts.countsKey ?? null,
  ]);
}

/** The cells of a region as the status page and the SLA count them (its configured cells). */
export function regionCells(config: Pick<EtapeConfig, 'fleet'>, region: string): string[] {
  return config.fleet.regions.find((r) => r.id === region)?.cells.map((c) => c.id) ?? [];
}

export function dayFromSeries(
  s: MinuteSeries,
  c: { service: string; region: string },
  rules: string,
  firstAt: number | null,
): AvailabilityDay {
  return {
    service: c.service,
    region: c.region,
    day: s.startMs,
    states: Array.from(s.states, (x) => String(x)).join(''),
    requests: s.requests ? Array.from(s.requests) : null,
    failures: s.failures ? Array.from(s.failures) : null,
    rules,
    firstAt,
  };
}

export function seriesFromDay(d: AvailabilityDay): MinuteSeries {
  const states = new Uint8Array(MINUTES);
  for (let i = 0; i < MINUTES && i < d.states.length; i++) states[i] = d.states.charCodeAt(i) - 48;
  const s: MinuteSeries = { startMs: d.day, states };
  if (d.requests && d.failures) {
    s.requests = Uint32Array.from(d.requests);
    s.failures = Uint32Array.from(d.failures);
  }
  return s;
}

/**
 * Rolled-up days a reader may use instead of raw, by `service/region` then day: those computed with the
 * reader's rules, and, where the raw evidence is already pruned, whatever was rolled up (the best there is).
 */
export async function usableDays(
  store: Store,
  q: { service?: string; region?: string; from: number; to: number },
  keyOf: (service: string, region: string) => string | undefined,
): Promise<Map<string, Map<number, AvailabilityDay>>> {
  const out = new Map<string, Map<number, AvailabilityDay>>();
  if (q.to <= q.from) return out;
  const [days, rawFrom] = await Promise.all([store.retention.days(q), store.retention.mark('raw_from')]);
  for (const d of days) {
    if (d.rules !== keyOf(d.service, d.region) && !(rawFrom !== undefined && d.day < rawFrom)) continue;
    const id = `${d.service}/${d.region}`;
    let m = out.get(id);
    if (!m) out.set(id, (m = new Map()));
    m.set(d.day, d);
  }
  return out;
}

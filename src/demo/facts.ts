// What one demo run did, read from its own store and nothing else: the processes the fleet started, ready
// and hung (the demo.process.* events the run recorded as they happened), the detection (the demo's own
// in the all-at-once run, the rollout's halt in the staged one), the customers' request counts, and the
// component status changes the status page's rules derived from the evidence. The status page and the SLA
// report read the same store, so the verdict cannot tell another story than they do about one run.
import type { Observation } from '../core/types.js';
import type { EventRecord, Store } from '../store/store.js';
import type { FleetSpec } from './fleet.js';
import { pairsOf } from './fleet.js';
import { CUSTOMER_SOURCE } from './reports.js';

/** Event types the demo records in a run's store. */
export const PROCESS_STARTED = 'demo.process.started';
export const PROCESS_READY = 'demo.process.ready';
export const PROCESS_HUNG = 'demo.process.hung';
/** The all-at-once run's own detection (it has no etape): k failed probes in a row on one bad-version cell. */
export const DEMO_DETECTED = 'demo.detected';

export interface ProcessEventData {
  target: string;
  version: string;
  pid: number;
  cause?: string;
}

export interface RunFacts {
  regionsAffected: string[];
  cellsAffected: string[];
  /** Share of fleet capacity (by weight) that ran the bad version at some point, 0–1. */
  badCapacityShare: number;
  firstBadAt?: number;
  firstHangAt?: number;
  detectedAt?: number;
  detection?: string;
  /** Cells brought back by a kill (a process started with cause `force`). */
  forcedCells: string[];
  hungCells: string[];
  requests: number;
  failedRequests: number;
  failedByRegion: Record<string, number>;
  /** Pairs whose two regions were both lost (≥ LOST_SHARE of customer requests failing) in the same second. */
  pairsLostBoth: string[];
  /** Regions whose component the status rules saw failing (degraded, partial or major outage) during the run. */
  regionsOut: string[];
}

const LOST_SHARE = 0.25;

export function runFacts(input: {
  events: readonly EventRecord[];
  /** The customers' request counts (observations of CUSTOMER_SOURCE). */
  customers: readonly Observation[];
  spec: FleetSpec;
  badVersion: string;
  mode: 'all-at-once' | 'staged';
}): RunFacts {
  const { events, spec, badVersion } = input;
  const started = events.filter((e) => e.type === PROCESS_STARTED);
  const data = (e: EventRecord) => e.data as ProcessEventData;
  const bad = started.filter((e) => data(e).version === badVersion);
  const readyAt = new Map<number, number>();
  for (const e of events) if (e.type === PROCESS_READY && !readyAt.has(data(e).pid)) readyAt.set(data(e).pid, e.at);
  const cellsAffected = [...new Set(bad.map((e) => data(e).target))];
  const regionsAffected = [...new Set(cellsAffected.map((t) => t.split('/')[0]))];
  const totalWeight = spec.regions.reduce((n, r) => n + r.weight, 0);
  const share = cellsAffected.reduce((n, id) => {
    const r = spec.regions.find((x) => x.id === id.split('/')[0]);
    return r ? n + r.weight / r.cells.length : n;
  }, 0);
  const hung = events.filter((e) => e.type === PROCESS_HUNG);
  const detected =
    input.mode === 'all-at-once' ? events.find((e) => e.type === DEMO_DETECTED) : events.find((e) => e.type === 'rollout.halted');
  const detection = detected
    ? String(
        (detected.data as { detection?: string; reason?: string }).detection ?? (detected.data as { reason?: string }).reason ?? 'halted',
      )
    : undefined;

  // The customers: per region, and per second for the pairs.
  let requests = 0;
  let failedRequests = 0;
  const failedByRegion: Record<string, number> = Object.fromEntries(spec.regions.map((r) => [r.id, 0]));
  const perSecond = new Map<number, Map<string, { n: number; failed: number }>>();
  for (const o of input.customers) {
    const n = o.requests ?? 0;
    const f = o.failures ?? 0;
    requests += n;
    failedRequests += f;
    failedByRegion[o.region] = (failedByRegion[o.region] ?? 0) + f;
    const s = Math.floor(o.at / 1000);
    let m = perSecond.get(s);
    if (!m) perSecond.set(s, (m = new Map()));
    const c = m.get(o.region) ?? { n: 0, failed: 0 };
    c.n += n;
    c.failed += f;
    m.set(o.region, c);
  }
  const lost = (c: { n: number; failed: number } | undefined) => !!c && c.n >= 2 && c.failed / c.n >= LOST_SHARE;
  const pairsLostBoth = pairsOf(spec)
    .filter(([a, b]) => [...perSecond.values()].some((m) => lost(m.get(a)) && lost(m.get(b))))
    .map(([a, b]) => `${a}+${b}`);

  const regionsOut = new Set<string>();
  for (const e of events) {
    if (e.type !== 'component.status_changed') continue;
    const d = e.data as { id?: string; health?: string };
    if (d.health === 'bad' && d.id) regionsOut.add(d.id.slice(d.id.indexOf('/') + 1));
  }

  return {
    regionsAffected,
    cellsAffected,
    badCapacityShare: totalWeight > 0 ? share / totalWeight : 0,
    firstBadAt: min(bad.map((e) => readyAt.get(data(e).pid) ?? e.at)),
    firstHangAt: min(hung.map((e) => e.at)),
    detectedAt: detected?.at,
    detection,
    forcedCells: [...new Set(started.filter((e) => data(e).cause === 'force').map((e) => data(e).target))],
    hungCells: [...new Set(hung.map((e) => data(e).target))],
    requests,
    failedRequests,
    failedByRegion,
    pairsLostBoth,
    regionsOut: [...regionsOut].sort(),
  };
}

/** The facts of a run from its store (each run has its own): every event it holds and the customers' counts. */
export async function runFactsFromStore(
  store: Store,
  o: { spec: FleetSpec; badVersion: string; mode: 'all-at-once' | 'staged'; service: string },
): Promise<RunFacts> {
  const events = await store.listEvents({});
  const customers = await store.queryObservations({ service: o.service, source: CUSTOMER_SOURCE });
  return runFacts({ events, customers, spec: o.spec, badVersion: o.badVersion, mode: o.mode });
}

function min(xs: number[]): number | undefined {
  return xs.length ? Math.min(...xs) : undefined;
}

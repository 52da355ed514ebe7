// Region health from signals that belong to no rollout (SLO probes per region or per service × region).
// Pure: observations + now → one health reading per region, with when the current fault began.
import type { Observation } from '../core/types.js';
import { judgeSeries, type GateSpec } from '../gates/gate.js';

/** A health signal as the line-stop reads it: which observations (source) over which targets. */
export interface HealthSignal {
  name: string;
  /** The observation `source` the signal's probe writes. */
  source: string;
  /** The service the signal watches, or undefined for a region-wide signal (stored under service `_region`). */
  service?: string;
  /** Targets the signal measures, `region/cell`. */
  targets: { id: string; region: string; cell: string }[];
  /** Limits of the signal (k consecutive failures, freshness, error limit), as a probe gate has them. */
  spec: GateSpec;
}

/** The store's service name for observations of region-wide signals. */
export const REGION_SERVICE = '_region';

export type RegionCondition = 'healthy' | 'failing' | 'unknown';

export interface RegionHealth {
  region: string;
  condition: RegionCondition;
  /** Targets (`region/cell`) whose signal fails now. */
  failingTargets: string[];
  /** Every target measured in the region. */
  measuredTargets: string[];
  /** Start of the current fault: the first non-passing observation of the earliest failing run (failing only). */
  since?: number;
  /** Signals that fail, with their reasons, for people. */
  reasons: string[];
  /**
   * How precisely `since` is known: a probe that started before a change may answer after it, so a fault
   * can look up to one interval plus one timeout older than it is.
   */
  resolutionMs?: number;
}

function observationService(s: HealthSignal): string {
  return s.service ?? REGION_SERVICE;
}

/** Health of every region any signal measures. A region fails when any signal fails on any of its targets. */
export function regionHealth(signals: readonly HealthSignal[], observations: readonly Observation[], now: number): RegionHealth[] {
  // series per (signal, target)
  const series = new Map<string, Observation[]>();
  const wanted = new Map<string, HealthSignal>();
  for (const s of signals) wanted.set(`${observationService(s)}\u0000${s.source}`, s);
  for (const o of observations) {
    if (o.cell === null) continue;
    const s = wanted.get(`${o.service}\u0000${o.source}`);
    if (!s) continue;
    const k = `${s.name}\u0000${o.region}/${o.cell}`;
    let list = series.get(k);
    if (!list) series.set(k, (list = []));
    list.push(o);
  }
  const byRegion = new Map<string, RegionHealth & { unknown: boolean }>();
  for (const s of signals) {
    for (const t of s.targets) {
      let r = byRegion.get(t.region);
      if (!r) {
        r = { region: t.region, condition: 'healthy', failingTargets: [], measuredTargets: [], reasons: [], unknown: false };
        byRegion.set(t.region, r);
      }
      if (!r.measuredTargets.includes(t.id)) r.measuredTargets.push(t.id);
      const obs = (series.get(`${s.name}\u0000${t.id}`) ?? []).sort((a, b) => a.at - b.at);
      const v = judgeSeries(s.spec, t.id, obs, now);
      if (v.verdict === 'fail' || v.halt) {
        if (!r.failingTargets.includes(t.id)) r.failingTargets.push(t.id);
        r.reasons.push(`${s.name} on ${t.id}: ${v.reason}`);
        const start = faultStart(obs);
        if (start !== undefined && (r.since === undefined || start < r.since)) r.since = start;
        const resolution = s.spec.intervalMs + Math.max(0, s.spec.freshForMs - 3 * s.spec.intervalMs);
        r.resolutionMs = Math.max(r.resolutionMs ?? 0, resolution);
      } else if (v.verdict !== 'pass') {
        r.unknown = true;
      }
    }
  }
  const out: RegionHealth[] = [];
  for (const r of byRegion.values()) {
    const { unknown, ...rest } = r;
    rest.condition = rest.failingTargets.length > 0 ? 'failing' : unknown ? 'unknown' : 'healthy';
    rest.failingTargets.sort();
    rest.measuredTargets.sort();
    out.push(rest);
  }
  return out.sort((a, b) => a.region.localeCompare(b.region));
}

/** When the trailing run of non-passing measurements began (the fault's start as the evidence shows it). */
function faultStart(sorted: readonly Observation[]): number | undefined {
  let start: number | undefined;
  for (let i = sorted.length - 1; i >= 0 && sorted[i].verdict !== 'pass'; i--) start = sorted[i].at;
  return start;
}

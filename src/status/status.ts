// Component status from evidence (I6): a component is service × region, and it is "operational" only
// when every unit it is made of (cell, or the region as a whole) has fresh passing evidence. No fresh
// evidence is "unknown", never "operational". Pure: the evidence and the time are handed in.
import type { Observation, Verdict } from '../core/types.js';
import { ms } from '../config/common.js';
import type { StatusRulesConfig } from '../config/statuspage.js';

/** Component statuses, worst last-but-one: the five Statuspage v2 values and etape's own `unknown`. */
export const COMPONENT_STATUSES = [
  'operational',
  'under_maintenance',
  'degraded_performance',
  'unknown',
  'partial_outage',
  'major_outage',
] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];

/**
 * Page indicator, as Statuspage v2 names it: none, minor, major or critical. Maintenance is not an indicator
 * value: it shows through `scheduled_maintenances` and components `under_maintenance`, as on Statuspage.
 */
export type Indicator = 'none' | 'minor' | 'major' | 'critical';

export interface ComponentDef {
  /** `service/region`. */
  id: string;
  service: string;
  region: string;
  regionName: string;
  geography: string;
  description?: string;
  /** Configured cells of the region; observed cells are added to these. */
  cells: string[];
}

export interface StatusRules {
  partialOutageShare: number;
  majorOutageShare: number;
  degradedLatencyMs: number;
  degradedShare: number;
  freshForMs: number;
}

export const DEFAULT_STATUS_RULES: StatusRules = {
  partialOutageShare: 0.01,
  majorOutageShare: 0.5,
  degradedLatencyMs: 1000,
  degradedShare: 0,
  freshForMs: 180_000,
};

export function statusRulesFromConfig(c: StatusRulesConfig): StatusRules {
  return {
    partialOutageShare: c.partialOutageShare,
    majorOutageShare: c.majorOutageShare,
    degradedLatencyMs: ms(c.degradedLatency),
    degradedShare: c.degradedShare ?? 0,
    freshForMs: ms(c.freshFor),
  };
}

export type EvidenceState = 'fresh' | 'stale' | 'none';

export interface UnitCounts {
  total: number;
  up: number;
  slow: number;
  down: number;
  unknown: number;
}

export interface ComponentState {
  id: string;
  service: string;
  region: string;
  regionName: string;
  geography: string;
  description?: string;
  status: ComponentStatus;
  /** Why, in a few words a reader understands: "2 of 4 cells failing: HTTP 503". */
  reason: string;
  /** fresh: every unit has fresh evidence; stale: some evidence exists but not all of it is fresh; none. */
  evidence: EvidenceState;
  lastEvidenceAt: number | null;
  units: UnitCounts;
}

/** Minimal config shape this module reads: the fleet and the services. */
export interface ComponentSource {
  fleet: { regions: { id: string; name?: string; geography: string; cells: { id: string }[] }[] };
  services: { name: string; description?: string; regions: 'all' | string[] }[];
}

/** service × region for every service and the regions it runs in, ordered by service then region. */
export function componentsFromConfig(cfg: ComponentSource): ComponentDef[] {
  const out: ComponentDef[] = [];
  for (const s of cfg.services) {
    const regions = s.regions === 'all' ? cfg.fleet.regions : cfg.fleet.regions.filter((r) => (s.regions as string[]).includes(r.id));
    for (const r of regions) {
      out.push({
        id: `${s.name}/${r.id}`,
        service: s.name,
        region: r.id,
        regionName: r.name ?? r.id,
        geography: r.geography,
        description: s.description,
        cells: r.cells.map((c) => c.id),
      });
    }
  }
  return out;
}

interface UnitEvidence {
  /** Latest observation per source. */
  latest: Map<string, Observation>;
}

const REGION_UNIT = '\u0000region';

/**
 * The status of every component at `now`. `observations` may hold anything (old, future, other services);
 * only the newest observation per (unit, source) at or before `now` counts. Components listed in
 * `inMaintenance` show under_maintenance whatever the evidence says.
 */
export function componentStatuses(
  defs: ComponentDef[],
  observations: Iterable<Observation>,
  now: number,
  rules: StatusRules = DEFAULT_STATUS_RULES,
  inMaintenance: ReadonlySet<string> = new Set(),
): ComponentState[] {
  const byComponent = new Map<string, Map<string, UnitEvidence>>();
  for (const o of observations) {
    if (o.at > now) continue;
    const id = `${o.service}/${o.region}`;
    let units = byComponent.get(id);
    if (!units) byComponent.set(id, (units = new Map()));
    const unitKey = o.cell ?? REGION_UNIT;
    let u = units.get(unitKey);
    if (!u) units.set(unitKey, (u = { latest: new Map() }));
    const prev = u.latest.get(o.source);
    if (!prev || o.at >= prev.at) u.latest.set(o.source, o);
  }
  return defs.map((d) => statusOf(d, byComponent.get(d.id), now, rules, inMaintenance.has(d.id)));
}

type UnitState = 'up' | 'slow' | 'down' | 'unknown';

function statusOf(
  d: ComponentDef,
  units: Map<string, UnitEvidence> | undefined,
  now: number,
  rules: StatusRules,
  maintenance: boolean,
): ComponentState {
  const keys = new Set<string>(d.cells);
  if (units) for (const k of units.keys()) keys.add(k);
  const counts: UnitCounts = { total: 0, up: 0, slow: 0, down: 0, unknown: 0 };
  let lastAt: number | null = null;
  let anyEvidence = false;
  let allFresh = true;
  const failDetails = new Map<string, number>();
  let unknownWhy: 'none' | 'stale' | 'error' = 'none';
  let inconclusive = false;
  for (const k of keys) {
    counts.total++;
    const u = units?.get(k);
    let state: UnitState;
    if (!u || u.latest.size === 0) {
      state = 'unknown';
      allFresh = false;
    } else {
      anyEvidence = true;
      let fail = false;
      let pass = 0;
      let stale = false;
      let errored = false;
      let slow = false;
      for (const o of u.latest.values()) {
        if (lastAt === null || o.at > lastAt) lastAt = o.at;
        if (o.at < now - rules.freshForMs) {
          stale = true;
          continue;
        }
        const v: Verdict = o.verdict;
        if (v === 'fail') {
          fail = true;
          const why = o.detail ?? 'check failed';
          failDetails.set(why, (failDetails.get(why) ?? 0) + 1);
        } else if (v === 'pass') {
          pass++;
          if (o.latencyMs !== undefined && o.latencyMs > rules.degradedLatencyMs) slow = true;
        } else if (v === 'inconclusive') {
          // Measured, but not clearly good: degraded, as the SLA module counts it.
          pass++;
          slow = true;
          inconclusive = true;
        } else errored = true; // could not measure: not evidence either way (I3)
      }
      if (stale) allFresh = false;
      if (fail) state = 'down';
      else if (stale || errored || pass === 0) {
        state = 'unknown';
        if (stale && unknownWhy === 'none') unknownWhy = 'stale';
        if (errored && !stale) unknownWhy = 'error';
      } else state = slow ? 'slow' : 'up';
    }
    counts[state]++;
  }
  if (counts.total === 0) {
    // A component with no cells and no evidence: nothing to judge it by.
    counts.total = 1;
    counts.unknown = 1;
    allFresh = false;
  }
  const evidence: EvidenceState = !anyEvidence ? 'none' : allFresh ? 'fresh' : 'stale';
  const unitWord = d.cells.length === 0 && keys.has(REGION_UNIT) ? 'checks' : 'cells';
  let status: ComponentStatus;
  let reason: string;
  const failShare = counts.down / counts.total;
  if (counts.down > 0) {
    status =
      failShare >= rules.majorOutageShare
        ? 'major_outage'
        : failShare >= rules.partialOutageShare
          ? 'partial_outage'
          : 'degraded_performance';
    const top = [...failDetails.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    reason = `${counts.down} of ${counts.total} ${unitWord} failing${top ? `: ${top}` : ''}`;
  } else if (counts.unknown > 0) {
    status = 'unknown';
    if (!anyEvidence) reason = 'no evidence';
    else if (unknownWhy === 'error') reason = `${counts.unknown} of ${counts.total} ${unitWord} could not be measured`;
    else reason = `no fresh evidence for ${counts.unknown} of ${counts.total} ${unitWord}`;
  } else if (counts.slow > 0 && counts.slow / counts.total >= rules.degradedShare) {
    status = 'degraded_performance';
    reason = `${counts.slow} of ${counts.total} ${unitWord} slower than ${rules.degradedLatencyMs} ms${inconclusive ? ' or inconclusive' : ''}`;
  } else {
    status = 'operational';
    reason = `${counts.total} of ${counts.total} ${unitWord} passing`;
  }
  if (maintenance) {
    reason = `scheduled maintenance (${reason})`;
    status = 'under_maintenance';
  }
  return {
    id: d.id,
    service: d.service,
    region: d.region,
    regionName: d.regionName,
    geography: d.geography,
    description: d.description,
    status,
    reason,
    evidence,
    lastEvidenceAt: lastAt,
    units: counts,
  };
}

/** Worse of two statuses. Maintenance ranks below any problem the evidence shows. */
export function worseStatus(a: ComponentStatus, b: ComponentStatus): ComponentStatus {
  return COMPONENT_STATUSES.indexOf(a) >= COMPONENT_STATUSES.indexOf(b) ? a : b;
}

export const STATUS_LABEL: Record<ComponentStatus, string> = {
  operational: 'Operational',
  degraded_performance: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  under_maintenance: 'Under maintenance',
  unknown: 'Unknown',
};

export interface Headline {
  indicator: Indicator;
  /** The worst status on the page, counting open incidents. Never `operational` while anything is wrong. */
  status: ComponentStatus;
  description: string;
  /** True when no component has any evidence at all. */
  noEvidence: boolean;
  counts: Record<ComponentStatus, number>;
}

export interface OpenIncidentLike {
  kind: 'incident' | 'maintenance';
  impact: string;
}

const IMPACT_RANK: Record<string, number> = { none: 0, maintenance: 0, minor: 1, major: 2, critical: 3 };

/**
 * The page's overall status. It says "All Systems Operational" only when every component has fresh
 * passing evidence and no incident of impact minor or above is open.
 */
export function headline(components: ComponentState[], openIncidents: OpenIncidentLike[] = []): Headline {
  const counts = Object.fromEntries(COMPONENT_STATUSES.map((s) => [s, 0])) as Record<ComponentStatus, number>;
  let worst: ComponentStatus = 'operational';
  let anyEvidence = false;
  const majorRegions = new Set<string>();
  for (const c of components) {
    counts[c.status]++;
    worst = worseStatus(worst, c.status);
    if (c.evidence !== 'none') anyEvidence = true;
    if (c.status === 'major_outage') majorRegions.add(c.region);
  }
  let impact = 0;
  let maintenanceOpen = false;
  for (const i of openIncidents) {
    if (i.kind === 'maintenance') maintenanceOpen = true;
    else impact = Math.max(impact, IMPACT_RANK[i.impact] ?? 1);
  }
  const noEvidence = !anyEvidence;
  if (components.length === 0 || noEvidence) {
    return {
      indicator: impact >= 3 ? 'critical' : impact === 2 ? 'major' : 'minor',
      status: impact >= 2 ? 'major_outage' : 'unknown',
      description:
        components.length === 0 ? 'Status unknown: no components are configured' : 'Status unknown: no evidence has been received',
      noEvidence: true,
      counts,
    };
  }
  let status = worst;
  if (impact >= 2) status = worseStatus(status, 'partial_outage');
  else if (impact === 1) status = worseStatus(status, 'degraded_performance');
  if (status === 'operational' && maintenanceOpen) status = 'under_maintenance';

  let indicator: Indicator;
  if (impact >= 3 || majorRegions.size >= 2) indicator = 'critical';
  else if (impact === 2 || status === 'major_outage') indicator = 'major';
  else if (status === 'operational' || status === 'under_maintenance') indicator = 'none';
  else indicator = 'minor';

  let description: string;
  if (status === 'major_outage') description = majorRegions.size >= 2 ? 'Major outage in several regions' : 'Major service outage';
  else if (status === 'partial_outage') description = 'Partial system outage';
  else if (status === 'unknown') description = 'Status unknown for some components: no fresh evidence';
  else if (status === 'degraded_performance')
    description = impact >= 1 && worst === 'operational' ? 'Incident in progress' : 'Degraded performance';
  else if (status === 'under_maintenance') description = 'Service under maintenance';
  else description = 'All Systems Operational';
  return { indicator, status, description, noEvidence: false, counts };
}

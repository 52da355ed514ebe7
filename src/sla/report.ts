// The SLA report: availability per service × region over a billing month, the tier each reached, the credit
// each customer is owed, and the incidents behind the downtime (I8). Pure: evidence and config in, figures out.
import { EtapeError } from '../core/errors.js';
import type { IncidentRecord } from '../store/store.js';
import {
  announcedMaintenance,
  badPeriods,
  combineEither,
  measuredFrom,
  componentId,
  emptySeries,
  formatPercent,
  MINUTE_MS,
  rejectedMaintenance,
  windowUptime,
  type BadPeriod,
  type MaintenanceWindow,
  type MinuteSeries,
  type Uptime,
} from './availability.js';
import { tierFor, usageUnits, type CreditTier, type CustomerConfig, type ResolvedSla } from '../config/sla.js';
import { parseInstant } from '../config/common.js';
import type { MeasurementStart } from './measurement.js';

export interface BillingPeriod {
  /** `2026-10` for a month, or any label for another window. */
  label: string;
  fromMs: number;
  toMs: number;
}

/** A calendar month in UTC: from the 1st at 00:00 UTC to the 1st of the next month. */
export function parseMonth(month: string): BillingPeriod {
  const m = /^(\d{4})-(\d{2})$/.exec(month.trim());
  const mm = m ? Number(m[2]) : 0;
  if (!m || mm < 1 || mm > 12)
    throw new EtapeError('usage', `--month ${JSON.stringify(month)} is not a month: write it as YYYY-MM, like 2026-10`);
  const y = Number(m[1]);
  return { label: `${m[1]}-${m[2]}`, fromMs: Date.UTC(y, mm - 1, 1), toMs: Date.UTC(y, mm, 1) };
}

/** The month (UTC) that contains `ms`, as `YYYY-MM`. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export interface SlaReportInput {
  period: BillingPeriod;
  /** Minutes at or after this are not counted (a period not over yet). */
  nowMs?: number;
  slas: readonly ResolvedSla[];
  customers: readonly CustomerConfig[];
  /** Fleet pair graph (config/sla.ts pairGraph). */
  pairs: Map<string, Set<string>>;
  /** Evidence of one component over the period; undefined means none at all (which counts as down). */
  series: (service: string, region: string) => MinuteSeries | undefined;
  /** Incidents and maintenance records that may touch the period. */
  incidents: readonly IncidentRecord[];
  /** More components to report on besides those customers use (e.g. every region a service runs in). */
  components?: ReadonlyArray<{ service: string; region: string }>;
  filter?: { service?: string; customer?: string };
  /**
   * When measurement of a component began (I8): minutes before it count for nobody. Undefined from the
   * function: never measured, nothing counted. Without the function, every minute is measured time.
   */
  measurement?: (service: string, region: string) => MeasurementStart | undefined;
}

/** One measured unit: a region, or a geo-redundant pair of regions, of one service. */
export interface UnitReport {
  service: string;
  /** One region, or two for a geo-redundant pair. */
  regions: string[];
  /** `service/region` or `service/a+b`. */
  id: string;
  measure: 'requests' | 'minutes';
  objective: number;
  uptime: Uptime;
  percent: number;
  /** formatPercent(percent): the digits every surface shows. */
  shown: string;
  met: boolean;
  tier: CreditTier | undefined;
  /** Maintenance windows excluded (announced in advance). */
  maintenance: MaintenanceWindow[];
  /** Maintenance not excluded, and why. */
  maintenanceNotExcluded: Array<{ id: string; reason: string }>;
  /** Runs of down or unknown (no evidence) minutes, outside excluded maintenance. */
  badPeriods: BadPeriod[];
  /** Incidents overlapping those runs. */
  incidents: string[];
  /**
   * When measurement began (for a pair: the earlier region's start); null: never measured; undefined: the
   * report was given no starts, and every minute of the period counts.
   */
  measuredSince: MeasurementStart | null | undefined;
  /** First minute counted: the later of the period's start and measuredSince (period end when never measured). */
  countedFromMs: number;
}

export interface CreditLine {
  service: string;
  regions: string[];
  unit: string;
  percent: number;
  shown: string;
  tier: CreditTier | undefined;
  /** Share of the use's bill this unit carries (bill ÷ units), when a bill is known. */
  billShare: number | null;
  creditPercent: number;
  credit: number | null;
  /** First minute counted for this customer: the later of the period's start, measurement and contract start. */
  countedFromMs: number;
  /** What set countedFromMs. */
  countedFrom: 'period' | 'measurement' | 'contract';
  /** The minutes behind this line (the unit's, or counted from the contract's start). */
  uptime: Uptime;
}

export interface CustomerCredit {
  id: string;
  name?: string;
  currency?: string;
  lines: CreditLine[];
  /** Sum of the lines' credits (null when no line has a bill). */
  total: number | null;
  owed: boolean;
}

export interface IncidentBehind {
  id: string;
  title: string;
  kind: 'incident' | 'maintenance';
  components: string[];
  fromMs: number;
  toMs: number | null;
  /** Down or unknown minutes of reported units that fall inside it. */
  badMinutes: number;
}

export interface SlaReport {
  period: BillingPeriod;
  /** False while the period is not over: later minutes are not counted yet. */
  complete: boolean;
  units: UnitReport[];
  customers: CustomerCredit[];
  /** Credits by currency ('' when customers name none). */
  totals: Record<string, number>;
  customersOwed: number;
  incidents: IncidentBehind[];
}

function intersectWindows(a: readonly MaintenanceWindow[], b: readonly MaintenanceWindow[]): MaintenanceWindow[] {
  const out: MaintenanceWindow[] = [];
  for (const x of a)
    for (const y of b) {
      const from = Math.max(x.fromMs, y.fromMs);
      const to = Math.min(x.toMs, y.toMs);
      if (to > from) out.push({ fromMs: from, toMs: to, id: x.id === y.id ? x.id : `${x.id}+${y.id}` });
    }
  return out;
}

/** Builds the report. Units are computed once and shared by every customer that uses them. */
export function buildSlaReport(input: SlaReportInput): SlaReport {
  const { period } = input;
  if (period.fromMs % MINUTE_MS !== 0 || period.toMs % MINUTE_MS !== 0 || period.toMs <= period.fromMs)
    throw new EtapeError('usage', `the period ${period.label} must start and end on whole minutes, end after it starts`);
  const nowMs = input.nowMs;
  const complete = nowMs === undefined || nowMs >= period.toMs;
  const slaBy = new Map(input.slas.map((s) => [s.service, s]));
  const f = input.filter ?? {};
  if (f.service !== undefined && !slaBy.has(f.service))
    throw new EtapeError(
      'usage',
      `no SLA for service "${f.service}": the services with one are ${[...slaBy.keys()].join(', ') || '(none)'}`,
    );
  const customers = input.customers.filter((c) => f.customer === undefined || c.id === f.customer);
  if (f.customer !== undefined && customers.length === 0)
    throw new EtapeError(
      'usage',
      `no customer "${f.customer}" in the config: the customers are ${input.customers.map((c) => c.id).join(', ') || '(none)'}`,
    );

  const seriesCache = new Map<string, MinuteSeries>();
  const seriesOf = (service: string, region: string): MinuteSeries => {
    const k = componentId(service, region);
    let s = seriesCache.get(k);
    if (!s) {
      s = input.series(service, region) ?? emptySeries(period.fromMs, period.fromMs);
      seriesCache.set(k, s);
    }
    return s;
  };
  // Index incidents and maintenance by the components (or whole services) they name.
  const byComponent = new Map<string, IncidentRecord[]>();
  for (const i of input.incidents)
    for (const c of new Set(i.components)) {
      let l = byComponent.get(c);
      if (!l) byComponent.set(c, (l = []));
      l.push(i);
    }
  const recordsFor = (service: string, region: string): IncidentRecord[] => [
    ...(byComponent.get(componentId(service, region)) ?? []),
    ...(byComponent.get(service) ?? []),
  ];
  const windowsCache = new Map<string, { ok: MaintenanceWindow[]; rejected: Array<{ id: string; reason: string }> }>();
  const windowsOf = (sla: ResolvedSla, region: string) => {
    const k = componentId(sla.service, region);
    let w = windowsCache.get(k);
    if (!w) {
      const opts = { minNoticeMs: sla.maintenanceNoticeMs };
      const records = recordsFor(sla.service, region).filter((i) => i.kind === 'maintenance');
      w = { ok: announcedMaintenance(records, k, opts), rejected: rejectedMaintenance(records, k, opts) };
      windowsCache.set(k, w);
    }
    return w;
  };

  const startOf = (service: string, regions: string[]): MeasurementStart | null | undefined => {
    if (!input.measurement) return undefined;
    let best: MeasurementStart | null = null;
    for (const r of regions) {
      const s = input.measurement(service, r);
      if (s && (best === null || s.atMs < best.atMs)) best = s;
    }
    return best;
  };
  const units = new Map<string, UnitReport>();
  // Units counted from a customer's contract start (not listed among the units).
  const contractUnits = new Map<string, UnitReport>();
  const unitFor = (sla: ResolvedSla, regions: string[], contractFromMs?: number): UnitReport => {
    const id = `${sla.service}/${regions.join('+')}`;
    const start = startOf(sla.service, regions);
    const measuredFromMs = start === null ? period.toMs : Math.max(period.fromMs, start?.atMs ?? period.fromMs);
    const sinceMs = contractFromMs !== undefined && contractFromMs > measuredFromMs ? contractFromMs : measuredFromMs;
    const cache = sinceMs === measuredFromMs ? units : contractUnits;
    const cacheKey = cache === units ? id : `${id}@${sinceMs}`;
    const known = cache.get(cacheKey);
    if (known) return known;
    let series: MinuteSeries;
    let maintenance: MaintenanceWindow[];
    let rejected: Array<{ id: string; reason: string }>;
    if (regions.length === 1) {
      series = seriesOf(sla.service, regions[0]);
      const w = windowsOf(sla, regions[0]);
      maintenance = w.ok;
      rejected = w.rejected;
    } else {
      // A pair is available when either region is; maintenance is excluded only where both were announced.
      const a = windowsOf(sla, regions[0]);
      const b = windowsOf(sla, regions[1]);
      maintenance = intersectWindows(a.ok, b.ok);
      series = combineEither(seriesOf(sla.service, regions[0]), seriesOf(sla.service, regions[1]), sla.measure, maintenance);
      rejected = [...a.rejected, ...b.rejected];
    }
    const uptime = windowUptime(series, period.fromMs, period.toMs, { measure: sla.measure, maintenance, nowMs, sinceMs });
    const tier = tierFor(uptime.percent, sla.tiers);
    const u: UnitReport = {
      service: sla.service,
      regions,
      id,
      measure: sla.measure,
      objective: sla.objective,
      uptime,
      percent: uptime.percent,
      shown: uptime.minutes === 0 && uptime.unmonitoredMinutes > 0 ? 'not monitored' : formatPercent(uptime.percent),
      met: uptime.percent >= sla.objective,
      tier,
      maintenance,
      maintenanceNotExcluded: rejected,
      badPeriods:
        uptime.downMinutes + uptime.unknownMinutes === 0
          ? []
          : badPeriods(series, period.fromMs, period.toMs, { maintenance, nowMs, sinceMs }),
      incidents: [],
      measuredSince: start,
      countedFromMs: measuredFrom(period.fromMs, period.toMs, sinceMs),
    };
    cache.set(cacheKey, u);
    return u;
  };

  // Components asked for explicitly, then every unit customers use.
  for (const c of input.components ?? []) {
    const sla = slaBy.get(c.service);
    if (!sla || (f.service !== undefined && c.service !== f.service) || f.customer !== undefined) continue;
    unitFor(sla, [c.region]);
  }
  const customerCredits: CustomerCredit[] = [];
  const totals: Record<string, number> = {};
  let owedCount = 0;
  for (const c of customers) {
    const lines: CreditLine[] = [];
    const contractFromMs = c.since === undefined ? undefined : parseInstant(c.since);
    for (const use of c.uses) {
      const sla = slaBy.get(use.service);
      if (!sla || (f.service !== undefined && use.service !== f.service)) continue;
      const geo = use.geoRedundant ?? sla.geoRedundant;
      const parts = usageUnits(use.regions, geo, input.pairs);
      for (const regions of parts) {
        // A geo-redundant customer is still shown each region alone, so the report lists every component.
        if (regions.length > 1) for (const r of regions) unitFor(sla, [r]);
        const shared = unitFor(sla, regions);
        const u = unitFor(sla, regions, contractFromMs);
        const countedFrom: CreditLine['countedFrom'] =
          u !== shared ? 'contract' : u.countedFromMs > period.fromMs ? 'measurement' : 'period';
        const billShare = use.monthlyBill === undefined ? null : use.monthlyBill / parts.length;
        const creditPercent = u.tier?.credit ?? 0;
        lines.push({
          service: use.service,
          regions,
          unit: u.id,
          percent: u.percent,
          shown: u !== shared && u.uptime.minutes === 0 ? 'before contract' : u.shown,
          tier: u.tier,
          billShare,
          creditPercent,
          credit: billShare === null ? null : roundMoney((billShare * creditPercent) / 100),
          countedFromMs: u.countedFromMs,
          countedFrom,
          uptime: u.uptime,
        });
      }
    }
    const billed = lines.filter((l) => l.credit !== null);
    const total = billed.length === 0 ? null : roundMoney(billed.reduce((s, l) => s + (l.credit ?? 0), 0));
    const owed = lines.some((l) => l.creditPercent > 0);
    if (owed) owedCount++;
    if (total !== null) totals[c.currency ?? ''] = roundMoney((totals[c.currency ?? ''] ?? 0) + total);
    customerCredits.push({ id: c.id, name: c.name, currency: c.currency, lines, total, owed });
  }

  // Incidents behind the downtime: those naming a reported unit's component (or its service) whose time
  // overlaps a down or unknown run of it.
  const behind = new Map<string, IncidentBehind>();
  const endOf = (i: IncidentRecord) => i.resolvedAt ?? (nowMs !== undefined ? Math.min(nowMs, period.toMs) : period.toMs);
  const relevant = (i: IncidentRecord) => i.kind === 'incident' && i.createdAt < period.toMs && endOf(i) > period.fromMs;
  for (const u of units.values()) {
    if (u.badPeriods.length === 0) continue;
    const candidates = new Set(u.regions.flatMap((r) => recordsFor(u.service, r)).filter(relevant));
    for (const inc of candidates) {
      const from = inc.createdAt;
      const to = endOf(inc);
      let minutes = 0;
      for (const p of u.badPeriods) {
        const o = Math.min(p.toMs, to) - Math.max(p.fromMs, from);
        if (o > 0) minutes += Math.ceil(o / MINUTE_MS);
      }
      // An incident is usually opened a few minutes after the trouble starts: count it when it overlaps.
      if (minutes === 0) continue;
      u.incidents.push(inc.id);
      let b = behind.get(inc.id);
      if (!b) {
        b = {
          id: inc.id,
          title: inc.title,
          kind: inc.kind,
          components: inc.components,
          fromMs: inc.createdAt,
          toMs: inc.resolvedAt,
          badMinutes: 0,
        };
        behind.set(inc.id, b);
      }
      if (u.regions.length === 1) b.badMinutes += minutes;
    }
  }

  const unitList = [...units.values()].sort((a, b) =>
    a.service === b.service ? a.id.localeCompare(b.id) : a.service.localeCompare(b.service),
  );
  return {
    period,
    complete,
    units: unitList,
    customers: customerCredits,
    totals,
    customersOwed: owedCount,
    incidents: [...behind.values()].sort((a, b) => a.fromMs - b.fromMs),
  };
}

function roundMoney(x: number): number {
  return Math.round(x * 100) / 100;
}

// What a resolved incident measured and what it means under the SLA: its duration and regions, the
// availability of each affected component over the incident, and which customers are owed which credit for
// which month. The credits are the SLA report's own lines (slaReportFromStore on the same store), so the
// incident page and `etape sla report` cannot disagree (I8).
import type { EtapeConfig } from '../config/schema.js';
import { slaFor } from '../config/sla.js';
import { formatDuration } from '../core/duration.js';
import type { IncidentRecord, Store } from '../store/store.js';
import { announcedMaintenance, componentId, formatPercent, MINUTE_MS, windowUptime, type Uptime } from './availability.js';
import { componentSeriesFromStore, seriesOptionsFromConfig, slaReportFromStore } from './from-store.js';
import { measurementStartsFromStore, type MeasurementStarts } from './measurement.js';
import { monthOf, parseMonth } from './report.js';

export interface ComponentMeasured {
  id: string;
  service: string;
  region: string;
  measure: 'minutes' | 'requests';
  uptime: Uptime;
  /** formatPercent of the availability over the incident, or "not monitored". */
  shown: string;
}

export interface OwedCredit {
  month: string;
  /** False while the month is not over: the credit may still grow. */
  complete: boolean;
  customer: string;
  customerName?: string;
  service: string;
  regions: string[];
  unit: string;
  /** The unit's availability over the month, as the report shows it. */
  shown: string;
  creditPercent: number;
  credit: number | null;
  currency?: string;
}

export interface IncidentImpact {
  incidentId: string;
  fromMs: number;
  toMs: number;
  durationMs: number;
  regions: string[];
  components: ComponentMeasured[];
  /** Months the incident touched, each with whether it is over. */
  months: Array<{ month: string; complete: boolean }>;
  /** Report lines of customers using an affected component that earn a credit in those months. */
  credits: OwedCredit[];
  computedAt: number;
}

/** The components an incident names, a bare service name meaning every region it runs in. */
function affected(config: EtapeConfig, i: IncidentRecord): Array<{ service: string; region: string }> {
  const out = new Map<string, { service: string; region: string }>();
  for (const c of i.components) {
    const k = c.indexOf('/');
    if (k > 0) out.set(c, { service: c.slice(0, k), region: c.slice(k + 1) });
    else {
      const s = config.services.find((x) => x.name === c);
      const regions = !s || s.regions === 'all' ? config.fleet.regions.map((r) => r.id) : s.regions;
      for (const r of regions) out.set(componentId(c, r), { service: c, region: r });
    }
  }
  return [...out.values()];
}

/** Measures a closed (or, with nowMs, an open) incident from the store, as the SLA report would. */
export async function incidentImpactFromStore(o: {
  config: EtapeConfig;
  store: Store;
  incident: IncidentRecord;
  nowMs: number;
  starts?: MeasurementStarts;
  /** Maintenance records to exclude (default: read from the store). */
  maintenance?: readonly IncidentRecord[];
}): Promise<IncidentImpact> {
  const { config, store, incident: i, nowMs } = o;
  const end = i.resolvedAt ?? nowMs;
  const fromMs = Math.floor(i.createdAt / MINUTE_MS) * MINUTE_MS;
  const toMs = Math.max(fromMs + MINUTE_MS, Math.ceil(end / MINUTE_MS) * MINUTE_MS);
  const comps = affected(config, i);
  const seriesOptions = seriesOptionsFromConfig(config);
  const starts = o.starts ?? (await measurementStartsFromStore(store, config, seriesOptions.counts ?? (() => true), comps));
  const maint = (o.maintenance ?? (await store.listIncidents({ kind: 'maintenance' }))).filter((m) => m.kind === 'maintenance');
  const components: ComponentMeasured[] = [];
  for (const c of comps) {
    const id = componentId(c.service, c.region);
    const sla = slaFor(config, c.service);
    const measure = sla?.measure ?? 'minutes';
    const series = await componentSeriesFromStore({ config, store, ...c, fromMs, toMs, nowMs, seriesOptions });
    const start = starts.get(id);
    const uptime = windowUptime(series, fromMs, toMs, {
      measure,
      nowMs,
      maintenance: announcedMaintenance(maint, id, { minNoticeMs: sla?.maintenanceNoticeMs ?? 0 }),
      sinceMs: start ? start.atMs : Infinity,
    });
    components.push({
      id,
      ...c,
      measure,
      uptime,
      shown: uptime.minutes === 0 && uptime.unmonitoredMinutes > 0 ? 'not monitored' : formatPercent(uptime.percent),
    });
  }

  // Every month the incident touched, with the SLA report's lines for the affected services.
  const months: IncidentImpact['months'] = [];
  for (let m = monthOf(fromMs); ;) {
    const p = parseMonth(m);
    months.push({ month: m, complete: nowMs >= p.toMs });
    if (p.toMs >= toMs) break;
    m = monthOf(p.toMs);
  }
  const credits: OwedCredit[] = [];
  const services = [...new Set(comps.map((c) => c.service))].filter((s) => slaFor(config, s));
  const hit = new Set(comps.map((c) => componentId(c.service, c.region)));
  for (const { month } of months)
    for (const service of services) {
      const r = await slaReportFromStore({ config, store, period: parseMonth(month), nowMs, filter: { service } });
      for (const c of r.customers)
        for (const l of c.lines) {
          if (l.creditPercent <= 0 || !l.regions.some((reg) => hit.has(componentId(l.service, reg)))) continue;
          credits.push({
            month,
            complete: r.complete,
            customer: c.id,
            ...(c.name ? { customerName: c.name } : {}),
            service: l.service,
            regions: l.regions,
            unit: l.unit,
            shown: l.shown,
            creditPercent: l.creditPercent,
            credit: l.credit,
            ...(c.currency ? { currency: c.currency } : {}),
          });
        }
    }
  return {
    incidentId: i.id,
    fromMs,
    toMs,
    durationMs: end - i.createdAt,
    regions: [...new Set(comps.map((c) => c.region))].sort(),
    components,
    months,
    credits,
    computedAt: nowMs,
  };
}

function list(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** What the public may read: per month, service and credit percentage, the regions whose customers are owed it. */
export interface PublicCredit {
  month: string;
  complete: boolean;
  service: string;
  regions: string[];
  creditPercent: number;
}

/** The credits grouped for a public page: no customer names, no amounts (those are in the SLA report). */
export function publicCredits(impact: IncidentImpact): PublicCredit[] {
  const groups = new Map<string, PublicCredit>();
  for (const l of impact.credits) {
    const k = `${l.month}\u0000${l.service}\u0000${l.creditPercent}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { month: l.month, complete: l.complete, service: l.service, regions: [], creditPercent: l.creditPercent }));
    for (const r of l.regions) if (!g.regions.includes(r)) g.regions.push(r);
  }
  for (const g of groups.values()) g.regions.sort();
  return [...groups.values()];
}

/** Sentences for the public: "Customers of blob in eu-north and eu-west are owed a 25% credit for 2026-11." */
export function creditSentences(impact: IncidentImpact): string[] {
  const out: string[] = [];
  const credits = publicCredits(impact);
  for (const { month, complete } of impact.months) {
    const so = complete ? '' : ' so far (the month is not over; the final figure comes with its SLA report)';
    const lines = credits.filter((c) => c.month === month);
    if (lines.length === 0) out.push(`No customer using the affected components is owed an SLA credit for ${month}${so}.`);
    for (const g of lines)
      out.push(`Customers of ${g.service} in ${list(g.regions)} are owed a ${g.creditPercent}% credit for ${month}${so}.`);
  }
  return out;
}

/** One paragraph of what was measured: duration, regions, availability per component. */
export function measuredSentence(impact: IncidentImpact): string {
  const comps = impact.components.map((c) => {
    const u = c.uptime;
    const bad = u.downMinutes + u.unknownMinutes;
    return `${c.id} ${c.shown}${bad > 0 ? ` (${u.downMinutes} min down, ${u.unknownMinutes} min without evidence)` : ''}`;
  });
  return (
    `Measured over the incident (${formatDuration(impact.durationMs)}, ${impact.regions.length} region${impact.regions.length === 1 ? '' : 's'}: ` +
    `${list(impact.regions)}): availability ${comps.join('; ')}.`
  );
}

// Reads what the SLA report needs from config and store: observations per component, incidents and
// maintenance. The one I/O edge of src/sla; the figures themselves come from the pure report.ts.
import { OBSERVE_SOURCE, type Observation } from '../core/types.js';
import { ms } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import { pairGraph, resolveSla, type CustomerConfig, type SlaConfig } from '../config/sla.js';
import type { Store } from '../store/store.js';
import {
  componentId,
  DAY_MS,
  emptySeries,
  seriesEndMs,
  seriesFromObservations,
  spliceSeries,
  seriesOptionsFromRules,
  startOfUtcDay,
  type MinuteSeries,
  type SeriesOptions,
} from './availability.js';
import { buildSlaReport, type BillingPeriod, type SlaReport } from './report.js';
import { formatSlaTable } from './report-format.js';
import { rollupKey, seriesFromDay, usableDays } from './rollup-days.js';
import { measurementStartsFromStore, type MeasurementStarts } from './measurement.js';

/**
 * Which observations speak of a component's availability. A judge gate compares a rollout's new version with
 * its old one and falls silent when the rollout ends: that is evidence about a release, not about whether the
 * service is up, and its silence afterwards must not turn a healthy component "unknown". Probes, metric gates
 * and request counts are availability evidence. The status page and the SLA report both use this, so they
 * keep agreeing (I8).
 */
export function availabilityEvidence(config: EtapeConfig): (o: Observation) => boolean {
  const judges = new Set<string>();
  for (const s of config.services) for (const g of s.gates) if (g.kind === 'judge') judges.add(`${s.name}\u0000${g.name}`);
  // A judgment carries its evidence fraction; that marks it even when the gate was added to a rollout's
  // config only (as the demo does) and is not in the config at hand.
  // The controller's version observations say what runs, not whether it is up.
  return (o) => o.evidenceFraction === undefined && o.source !== OBSERVE_SOURCE && !judges.has(`${o.service}\u0000${o.source}`);
}

/** What availabilityEvidence leaves out, as text: the judge gates of each service. */
function availabilityEvidenceKey(config: EtapeConfig): string {
  const judges: string[] = [];
  for (const s of config.services) for (const g of s.gates) if (g.kind === 'judge') judges.push(`${s.name}/${g.name}`);
  return `not-judged:${judges.sort().join(',')}`;
}

/** How evidence is read, from `statuspage.rules`: the same rules the status page applies. */
export function seriesOptionsFromConfig(config: EtapeConfig): SeriesOptions {
  const r = config.statuspage.rules;
  return {
    ...seriesOptionsFromRules({
      freshForMs: ms(r.freshFor),
      majorOutageShare: r.majorOutageShare,
      partialOutageShare: r.partialOutageShare,
      degradedLatencyMs: ms(r.degradedLatency),
    }),
    counts: availabilityEvidence(config),
    countsKey: availabilityEvidenceKey(config),
  };
}

/** Every region a service runs in, from `services[].regions` (`all`: every fleet region). */
function serviceRegions(config: EtapeConfig, service: string): string[] {
  const s = config.services.find((x) => x.name === service) as { regions?: string[] | 'all' } | undefined;
  const all = config.fleet.regions.map((r) => r.id);
  if (!s || s.regions === undefined || s.regions === 'all') return all;
  return s.regions;
}

/**
 * One component's minute series over [fromMs, toMs) from the store's observations, read as the status page
 * reads them (its rules, the region's configured cells). Evidence at or after `nowMs` is not read.
 */
export async function componentSeriesFromStore(o: {
  config: EtapeConfig;
  store: Store;
  service: string;
  region: string;
  fromMs: number;
  toMs: number;
  nowMs?: number;
  seriesOptions?: SeriesOptions;
}): Promise<MinuteSeries> {
  const opts = o.seriesOptions ?? seriesOptionsFromConfig(o.config);
  // The region's configured cells count even while silent, as on the status page.
  const cells = o.config.fleet.regions.find((r) => r.id === o.region)?.cells.map((x) => x.id) ?? [];
  const out = emptySeries(o.fromMs, o.toMs);
  const end = Math.min(seriesEndMs(out), o.nowMs ?? Infinity);
  // Whole days rolled up with these rules (or whose raw evidence is pruned) are read from their rollup.
  const key = rollupKey(opts, cells);
  const rolled =
    (await usableDays(o.store, { service: o.service, region: o.region, from: o.fromMs, to: end }, () => key)).get(
      componentId(o.service, o.region),
    ) ?? new Map();
  // A day of observations at a time (a month of probes every few seconds is millions of them), cut at UTC
  // midnight as seriesFromObservations counts cells per day, so the result is the month built at once.
  for (let day = o.fromMs; day < end;) {
    const next = Math.min(seriesEndMs(out), startOfUtcDay(day) + DAY_MS);
    const whole = rolled.get(day);
    if (whole && next === day + DAY_MS && end >= next) {
      spliceSeries(out, seriesFromDay(whole));
      day = next;
      continue;
    }
    const obs = await o.store.queryObservations({
      service: o.service,
      region: o.region,
      from: day - opts.freshForMs,
      to: Math.min(next, end),
    });
    const part = seriesFromObservations(obs, day, next, { ...opts, cells });
    spliceSeries(out, part);
    day = next;
  }
  return out;
}

/** Builds the SLA report for a period from the store. */
export async function slaReportFromStore(opts: {
  config: EtapeConfig;
  store: Store;
  period: BillingPeriod;
  nowMs?: number;
  filter?: { service?: string; customer?: string };
  /** When measurement of each component began; read from config and store when not given. */
  starts?: MeasurementStarts;
}): Promise<SlaReport> {
  const { config, store, period } = opts;
  const seriesOpts = seriesOptionsFromConfig(config);
  const slas = config.sla.map(resolveSla);
  const f = opts.filter ?? {};
  const customers = config.customers.filter((c) => f.customer === undefined || c.id === f.customer);

  // Which components to read: every region of every service with an SLA (or just those the customer uses).
  const wanted = new Set<string>();
  const components: Array<{ service: string; region: string }> = [];
  const want = (service: string, region: string) => {
    const k = componentId(service, region);
    if (wanted.has(k)) return;
    wanted.add(k);
    components.push({ service, region });
  };
  for (const s of slas) {
    if (f.service !== undefined && s.service !== f.service) continue;
    if (f.customer === undefined) for (const r of serviceRegions(config, s.service)) want(s.service, r);
  }
  for (const c of customers)
    for (const u of c.uses) if (f.service === undefined || u.service === f.service) for (const r of u.regions) want(u.service, r);

  const series = new Map<string, MinuteSeries>();
  for (const c of components)
    series.set(
      componentId(c.service, c.region),
      await componentSeriesFromStore({
        config,
        store,
        ...c,
        fromMs: period.fromMs,
        toMs: period.toMs,
        nowMs: opts.nowMs,
        seriesOptions: seriesOpts,
      }),
    );
  const incidents = await store.listIncidents({});
  const starts = opts.starts ?? (await measurementStartsFromStore(store, config, seriesOpts.counts ?? (() => true), components));
  return buildSlaReport({
    measurement: (service, region) => starts.get(componentId(service, region)),
    period,
    nowMs: opts.nowMs,
    slas,
    customers: config.customers,
    pairs: pairGraph(config.fleet),
    series: (service, region) => series.get(componentId(service, region)),
    incidents,
    components,
    filter: opts.filter,
  });
}

/**
 * For the demo: the credits a run would owe over its window (any window, not just a month), as a report and
 * a few lines to print. `label` names the window in the text.
 */
export async function slaReportForDemo(opts: {
  config: EtapeConfig;
  store: Store;
  fromMs: number;
  toMs: number;
  label?: string;
  nowMs?: number;
  /** SLA definitions and customers to use instead of the config's (a demo config may have none). */
  sla?: SlaConfig[];
  customers?: CustomerConfig[];
}): Promise<{ report: SlaReport; summary: string; text: string }> {
  const fromMs = Math.floor(opts.fromMs / 60_000) * 60_000;
  const toMs = Math.max(fromMs + 60_000, Math.ceil(opts.toMs / 60_000) * 60_000);
  const config = {
    ...opts.config,
    sla: opts.sla ?? opts.config.sla,
    customers: opts.customers ?? opts.config.customers,
  };
  const report = await slaReportFromStore({
    config,
    store: opts.store,
    period: { label: opts.label ?? 'demo run', fromMs, toMs },
    nowMs: opts.nowMs,
  });
  const totals = Object.entries(report.totals).map(([cur, v]) => `${v.toFixed(2)}${cur ? ' ' + cur : ''}`);
  const worst = [...report.units].sort((a, b) => a.percent - b.percent)[0];
  const summary =
    `${report.period.label}: credits owed ${totals.length ? totals.join(' + ') : '0.00'} to ` +
    `${report.customersOwed} of ${report.customers.length} customers` +
    (worst ? `; lowest availability ${worst.shown} (${worst.id})` : '');
  return { report, summary, text: formatSlaTable(report) };
}

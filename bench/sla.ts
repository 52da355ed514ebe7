// Benchmark of the SLA report (I8): one month of one-minute evidence for 60 regions × 100 services
// (6,000 components, 267.8 million samples) and 10,000 customers. Evidence is generated directly as minute
// series (typed arrays) from a seeded PRNG. Prints figures; asserts nothing about time.
//   npm run bench:sla              (or: node --expose-gc --max-old-space-size=8192 --import tsx bench/sla.ts)
//   SLA_BENCH_SEED=7 npm run bench:sla
import { performance } from 'node:perf_hooks';
import type { IncidentRecord } from '../src/store/store.js';
import { emptySeries, MINUTE_MS, MinuteState, type MinuteSeries } from '../src/sla/availability.js';
import { buildSlaReport, parseMonth } from '../src/sla/report.js';
import { pairGraph, resolveSla, type CustomerConfig, type SlaConfig } from '../src/config/sla.js';
import { seededRandom } from '../src/core/random.js';

const REGIONS = 60;
const SERVICES = 100;
/** The first STORAGE_SERVICES are request-based (storage preset, with request counts); the rest minute-based. */
const STORAGE_SERVICES = 20;
const CUSTOMERS = 10_000;
const MONTH = '2026-10';
const seed = Number(process.env.SLA_BENCH_SEED ?? 2014);

const rand = seededRandom(seed);
const int = (n: number) => Math.floor(rand() * n);

let peakRss = 0;
const sample = () => {
  const r = process.memoryUsage().rss;
  if (r > peakRss) peakRss = r;
};
const sampler = setInterval(sample, 20);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

const period = parseMonth(MONTH);
const minutes = (period.toMs - period.fromMs) / MINUTE_MS;
const regions = Array.from({ length: REGIONS }, (_, i) => `r${String(i).padStart(2, '0')}`);
const services = Array.from({ length: SERVICES }, (_, i) => `svc${String(i).padStart(3, '0')}`);
// Regions come in pairs: r00–r01, r02–r03, …
const fleet = { regions: regions.map((id, i) => (i % 2 === 0 ? { id, pair: regions[i + 1] } : { id })) };

// ---------- evidence ----------
const t0 = performance.now();
const series = new Map<string, MinuteSeries>();
const incidents: IncidentRecord[] = [];
let samples = 0;
let incidentSeq = 0;
function addIncident(components: string[], from: number, to: number, kind: 'incident' | 'maintenance', announcedAt?: number) {
  incidentSeq++;
  incidents.push({
    id: `${kind === 'incident' ? 'inc' : 'mnt'}-${incidentSeq}`,
    kind,
    title: kind === 'incident' ? 'elevated errors' : 'planned maintenance',
    status: kind === 'incident' ? 'resolved' : 'completed',
    impact: kind === 'incident' ? 'major' : 'maintenance',
    components,
    source: 'auto:component',
    createdAt: announcedAt ?? from + 5 * MINUTE_MS,
    updatedAt: to,
    resolvedAt: to,
    scheduledFor: kind === 'maintenance' ? from : null,
    scheduledUntil: kind === 'maintenance' ? to : null,
    updates: [],
    data: {},
  });
}
// Two wide outages (all regions of a few services at once, the 2014 shape).
const wide: Array<{ service: number; from: number; len: number }> = [];
for (let k = 0; k < 3; k++) wide.push({ service: int(SERVICES), from: int(minutes - 700), len: 60 + int(600) });
for (let si = 0; si < SERVICES; si++) {
  const storage = si < STORAGE_SERVICES;
  for (let ri = 0; ri < REGIONS; ri++) {
    const s = emptySeries(period.fromMs, period.toMs, { requests: storage });
    s.states.fill(MinuteState.UP);
    const base = 200 + int(2000);
    if (storage) s.requests!.fill(base);
    const comp = `${services[si]}/${regions[ri]}`;
    // A few local outages, some degraded stretches, some gaps in evidence.
    const outages = int(4);
    for (let k = 0; k < outages; k++) {
      const from = int(minutes - 240);
      const len = 1 + int(180);
      s.states.fill(MinuteState.DOWN, from, from + len);
      if (storage) s.failures!.fill(Math.floor(base * 0.8), from, from + len);
      if (len > 10) addIncident([comp], period.fromMs + from * MINUTE_MS, period.fromMs + (from + len) * MINUTE_MS, 'incident');
    }
    for (let k = int(3); k > 0; k--) {
      const from = int(minutes - 60);
      s.states.fill(MinuteState.UNKNOWN, from, from + 1 + int(45));
    }
    for (let k = int(5); k > 0; k--) {
      const from = int(minutes - 60);
      s.states.fill(MinuteState.DEGRADED, from, from + 1 + int(30));
    }
    if (rand() < 0.05) {
      // Maintenance: announced two days ahead, or (sometimes) after it started.
      const from = int(minutes - 120);
      const start = period.fromMs + from * MINUTE_MS;
      s.states.fill(MinuteState.DOWN, from, from + 60);
      addIncident([comp], start, start + 60 * MINUTE_MS, 'maintenance', rand() < 0.8 ? start - 2 * 86_400_000 : start + 10 * MINUTE_MS);
    }
    for (const w of wide)
      if (w.service === si) {
        s.states.fill(MinuteState.DOWN, w.from, w.from + w.len);
        if (storage) s.requests!.fill(0, w.from, w.from + w.len);
      }
    samples += s.states.length;
    series.set(comp, s);
  }
}
for (const w of wide)
  addIncident(
    regions.map((r) => `${services[w.service]}/${r}`),
    period.fromMs + w.from * MINUTE_MS,
    period.fromMs + (w.from + w.len) * MINUTE_MS,
    'incident',
  );

const slaDefs: SlaConfig[] = services.map((s, i) => ({
  service: s,
  preset: i < STORAGE_SERVICES ? 'storage' : 'compute',
  geoRedundant: i % 3 === 0,
}));
const customers: CustomerConfig[] = [];
for (let c = 0; c < CUSTOMERS; c++) {
  const uses: CustomerConfig['uses'] = [];
  const n = 1 + int(3);
  for (let k = 0; k < n; k++) {
    const geo = rand() < 0.3;
    const regs = new Set<string>();
    const m = 1 + int(3);
    for (let j = 0; j < m; j++) {
      const p = int(REGIONS / 2) * 2;
      regs.add(regions[p]);
      if (geo) regs.add(regions[p + 1]);
    }
    uses.push({
      service: services[int(SERVICES)],
      regions: [...regs],
      monthlyBill: rand() < 0.9 ? Math.round(rand() * 50_000) / 100 : undefined,
      geoRedundant: geo,
    });
  }
  customers.push({ id: `cust-${c}`, currency: 'EUR', uses });
}
const genMs = performance.now() - t0;
sample();

// ---------- report ----------
(globalThis as { gc?: () => void }).gc?.();
const heapBefore = process.memoryUsage();
const t1 = performance.now();
const cpu1 = process.cpuUsage();
const report = buildSlaReport({
  period,
  slas: slaDefs.map(resolveSla),
  customers,
  pairs: pairGraph(fleet),
  series: (s, r) => series.get(`${s}/${r}`),
  incidents,
  components: services.flatMap((s) => regions.map((region) => ({ service: s, region }))),
});
const reportMs = performance.now() - t1;
const cpu = process.cpuUsage(cpu1);
sample();
clearInterval(sampler);
const maxRss = process.resourceUsage().maxRSS * 1024;

const owedLines = report.customers.reduce((n, c) => n + c.lines.filter((l) => l.creditPercent > 0).length, 0);
console.log(`etape bench:sla — month ${MONTH}, seed ${seed}`);
console.log(
  `evidence: ${REGIONS} regions × ${SERVICES} services = ${series.size} components × ${minutes} minutes = ${(samples / 1e6).toFixed(1)} M samples (${STORAGE_SERVICES * REGIONS} with request counts)`,
);
console.log(`customers: ${CUSTOMERS}; incidents and maintenance records: ${incidents.length}`);
console.log(`generate evidence: ${(genMs / 1000).toFixed(2)} s`);
console.log(
  `report: ${(reportMs / 1000).toFixed(2)} s wall (${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU) for ${report.units.length} units (incl. geo-redundant pairs), ${report.customers.length} customers, ${owedLines} credit lines owed`,
);
console.log(
  `credits: ${Object.entries(report.totals)
    .map(([c, v]) => `${v.toFixed(2)} ${c}`)
    .join(', ')}; customers owed ${report.customersOwed}; incidents behind downtime ${report.incidents.length}`,
);
console.log(
  `memory: peak RSS ${mb(Math.max(peakRss, maxRss))} (evidence arrays ${mb(heapBefore.arrayBuffers)}), heap used after report ${mb(process.memoryUsage().heapUsed)}`,
);

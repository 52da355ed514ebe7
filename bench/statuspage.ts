// Status page build at scale: 60 regions × 100 services (6 000 components), 90 days of evidence per
// component at one-minute resolution (777 600 000 minute samples, held as one Uint8Array per component, as
// the SLA module stores them), two cells each for the current status. Prints the full build time, the
// incremental build time after a few components change, and the output size. Figures only; no assertions.
//   npm run bench:statuspage            (REGIONS=60 SERVICES=100 DAYS=90 to change the size; OUT=/dev/shm for the folder)
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { configSchema } from '../src/config/schema.js';
import type { Observation } from '../src/core/types.js';
import { DAY_MS, MINUTE_MS, MinuteState, startOfUtcDay, type MinuteSeries } from '../src/sla/availability.js';
import { componentsFromConfig } from '../src/status/status.js';
import { SeriesHistorySource } from '../src/statuspage/history.js';
import { createSiteModel, newBuildState, renderSite, writeSite } from '../src/statuspage/build.js';
import { addUpdate, openIncident } from '../src/incidents/lifecycle.js';
import type { IncidentRecord } from '../src/store/store.js';
import { seededRandom } from '../src/core/random.js';

const REGIONS = Number(process.env.REGIONS ?? 60);
const SERVICES = Number(process.env.SERVICES ?? 100);
const DAYS = Number(process.env.DAYS ?? 90);
const GEOS = ['europe', 'americas', 'asia', 'africa', 'oceania', 'middle-east'];

const config = configSchema.parse({
  fleet: {
    regions: Array.from({ length: REGIONS }, (_, i) => ({
      id: `region-${String(i).padStart(2, '0')}`,
      geography: GEOS[i % GEOS.length],
      canary: i === 0,
      cells: [{ id: 'cell-1' }, { id: 'cell-2' }],
    })),
  },
  services: Array.from({ length: SERVICES }, (_, i) => ({ name: `service-${String(i).padStart(3, '0')}` })),
  statuspage: { title: 'Bench status', historyDays: DAYS },
});
const defs = componentsFromConfig(config);
const now = Date.UTC(2026, 10, 25, 12, 0);
const first = startOfUtcDay(now) - (DAYS - 1) * DAY_MS;
const minutes = (DAYS * DAY_MS) / MINUTE_MS;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const t0 = performance.now();
const random = seededRandom(42);
const series = new Map<string, { series: MinuteSeries; version: string }>();
for (const d of defs) {
  const states = new Uint8Array(minutes).fill(MinuteState.UP);
  // A few outages, slow spells and probe gaps per component over the window.
  const events = Math.floor(random() * 6);
  for (let e = 0; e < events; e++) {
    const start = Math.floor(random() * minutes);
    const len = 1 + Math.floor(random() * 120);
    const kind = random();
    states.fill(
      kind < 0.5 ? MinuteState.DOWN : kind < 0.8 ? MinuteState.DEGRADED : MinuteState.UNKNOWN,
      start,
      Math.min(minutes, start + len),
    );
  }
  series.set(d.id, { series: { startMs: first, states }, version: '0' });
}
const latest: Observation[] = [];
for (const d of defs)
  for (const cell of d.cells)
    latest.push({ service: d.service, region: d.region, cell, source: 'http', at: now - 20_000, verdict: 'pass', latencyMs: 40 });
const genMs = performance.now() - t0;
console.log(
  `evidence: ${defs.length} components × ${minutes} minutes = ${((defs.length * minutes) / 1e6).toFixed(1)}M minute samples (${mb(defs.length * minutes)} of Uint8Array), generated in ${genMs.toFixed(0)} ms`,
);

const incidents: IncidentRecord[] = [
  addUpdate(
    openIncident(
      {
        id: 'inc-bench-1',
        title: 'Elevated errors in three regions',
        impact: 'major',
        components: ['service-000/region-00', 'service-000/region-01', 'service-000/region-02'],
        body: 'Investigating.',
        actor: 'bench',
        source: 'manual',
      },
      now - 45 * MINUTE_MS,
    ),
    { status: 'identified', body: 'Cause found.', actor: 'bench' },
    now - 20 * MINUTE_MS,
  ),
];

const history = new SeriesHistorySource((id) => series.get(id));
const state = newBuildState();
// OUT=/dev/shm to take the disk out of the figures (writing 6 000 small files is mostly file-system time).
const dir = await mkdtemp(join(process.env.OUT ?? tmpdir(), 'etape-bench-status-'));
console.log(`output: ${dir}`);

async function build(at: number, label: string) {
  (globalThis as { gc?: () => void }).gc?.();
  const t = performance.now();
  const h = history.historySync(defs, at, DAYS);
  const th = performance.now();
  const model = createSiteModel({ statuspage: config.statuspage, defs, observations: latest, incidents, history: h, now: at });
  const files = renderSite(model, state);
  const tr = performance.now();
  const w = await writeSite(dir, files, at, state, 150_000);
  const tw = performance.now();
  const index = files.find((f) => f.path === 'index.html')!.content.length;
  console.log(
    `${label}: ${(tw - t).toFixed(0)} ms (history ${(th - t).toFixed(0)} ms for ${history.recomputed} components recomputed, render ${(tr - th).toFixed(0)} ms, write ${(tw - tr).toFixed(0)} ms); ` +
      `${w.files} files, ${w.written} written (${mb(w.bytesWritten)}), site ${mb(w.bytes)}, index.html ${(index / 1024).toFixed(0)} KiB`,
  );
}

try {
  await build(now, 'full build');
  // A minute later, five components change: new failing evidence in today's minutes and in the latest probes.
  const later = now + MINUTE_MS;
  for (let k = 0; k < 5; k++) {
    const d = defs[(k * 997) % defs.length];
    const s = series.get(d.id)!;
    const i = (later - first) / MINUTE_MS - 1;
    s.series.states[i] = MinuteState.DOWN;
    series.set(d.id, { series: s.series, version: String(Number(s.version) + 1) });
    for (const o of latest)
      if (o.service === d.service && o.region === d.region) Object.assign(o, { verdict: 'fail', at: later - 10_000, detail: 'HTTP 503' });
  }
  await build(later, 'incremental build (5 components changed)');
  await build(later + 10_000, 'incremental build (nothing changed)');
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (timings scale with it)`,
  );
  console.log(`reproduce: npm run bench:statuspage   (REGIONS=${REGIONS} SERVICES=${SERVICES} DAYS=${DAYS})`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

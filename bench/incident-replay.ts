// What a status build costs when the publisher has fallen behind: a SQLite store with probes every 10 s for
// every cell, a publisher that built once and then stopped for HOURS, and an outage in the middle. Prints the
// time of the catch-up build (it replays the evidence it missed through the incident rules), of the next
// build (15 s of new evidence), and what the catch-up found. Figures only; no assertions.
//   npm run bench:incident-replay      (SERVICES=10 REGIONS=10 HOURS=1 to change the size)
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { VirtualClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import type { Observation } from '../src/core/types.js';
import { openStore } from '../src/store/open.js';
import { StatusBuilder } from '../src/statuspage/publisher.js';

const SERVICES = Number(process.env.SERVICES ?? 10);
const REGIONS = Number(process.env.REGIONS ?? 10);
const HOURS = Number(process.env.HOURS ?? 1);
const EVERY = 10_000;

const regions = Array.from({ length: REGIONS }, (_, i) => `region-${String(i).padStart(2, '0')}`);
const services = Array.from({ length: SERVICES }, (_, i) => `service-${String(i).padStart(2, '0')}`);
const config = configSchema.parse({
  fleet: { regions: regions.map((id) => ({ id, geography: 'europe', cells: [{ id: 'c1' }, { id: 'c2' }] })) },
  services: services.map((name) => ({ name })),
  statuspage: { title: 'Replay bench', historyDays: 1 },
});
const T0 = Date.UTC(2026, 10, 25, 6, 0);
const END = T0 + HOURS * 3_600_000;
// The outage: every cell of the first region of every service fails for the middle third.
const badFrom = T0 + (END - T0) / 3;
const badTo = T0 + (2 * (END - T0)) / 3;

function probes(from: number, to: number): Observation[] {
  const out: Observation[] = [];
  for (let at = from; at < to; at += EVERY)
    for (const service of services)
      for (const region of regions)
        for (const cell of ['c1', 'c2']) {
          const bad = region === regions[0] && at >= badFrom && at < badTo;
          out.push({ service, region, cell, source: 'http', at, verdict: bad ? 'fail' : 'pass', latencyMs: 20 });
        }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'etape-bench-replay-'));
const store = await openStore(join(dir, 'etape.db'));
try {
  const clock = new VirtualClock(T0);
  await store.recordObservations(probes(T0 - 5 * 60_000, T0 + 1));
  const first = new StatusBuilder({ store, config, clock, outDir: join(dir, 'site'), publish: false });
  await first.build();
  await first.close();
  let stored = 0;
  for (let t = T0 + EVERY; t <= END; t += 600_000) {
    const batch = probes(t, Math.min(END + 1, t + 600_000));
    stored += batch.length;
    await store.recordObservations(batch);
  }
  clock.set(END);
  const b = new StatusBuilder({ store, config, clock, outDir: join(dir, 'site'), publish: false });
  let t0 = performance.now();
  const caught = await b.build();
  const catchUpMs = performance.now() - t0;
  await store.recordObservations(probes(END + EVERY, END + 15_001));
  clock.set(END + 15_000);
  t0 = performance.now();
  const next = await b.build();
  const nextMs = performance.now() - t0;
  await b.close();
  // The same build without the rules, for what the rest of a build costs here.
  const plain = new StatusBuilder({ store, config, clock, outDir: join(dir, 'plain'), publish: false, applyRules: false });
  await plain.build();
  t0 = performance.now();
  await plain.build();
  const plainMs = performance.now() - t0;
  const incidents = (await store.listIncidents({})).filter((i) => i.source.startsWith('auto:'));
  const components = SERVICES * REGIONS;
  console.log(`incident replay: ${components} components × 2 cells, probes every ${EVERY / 1000} s, publisher stopped for ${HOURS} h`);
  console.log(`  observations it had not seen: ${stored.toLocaleString('en-US')}`);
  console.log(`  catch-up build (replays them through the rules): ${catchUpMs.toFixed(0)} ms; actions ${caught.actions.length}`);
  console.log(`  next build (15 s of new evidence): ${nextMs.toFixed(0)} ms; actions ${next.actions.length}`);
  console.log(`  a build without the rules, for comparison: ${plainMs.toFixed(0)} ms`);
  for (const i of incidents.slice(0, 3))
    console.log(
      `  ${i.id} ${i.status}: ${new Date(i.createdAt).toISOString()} → ${new Date(Number(i.data.endedAt)).toISOString()} (outage ${new Date(badFrom).toISOString()} → ${new Date(badTo).toISOString()})`,
    );
  console.log(`  automatic incidents: ${incidents.length}`);
  console.log(`  machine: ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}; node ${process.version}`);
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

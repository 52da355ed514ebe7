// Benchmark of the rollout engine. Prints figures; asserts nothing.
//   npm run bench:engine
//   npm run bench:engine -- --rollouts 200 --backends sqlite
// 1. Virtual time: N concurrent rollouts × 50 targets (10 regions × 5 cells), each with a probe gate fed
//    passing evidence every 5 virtual minutes and 15-minute bakes, driven by one Controller through the
//    Store (SQLite file, then PostgreSQL at 127.0.0.1:5432 db `test` in a schema of its own). Prints
//    rollouts/s, events/s, p99 reconcile time and peak RSS.
// 2. Real time: one rollout with short bakes and an instant driver; wall time ÷ sum of bakes is the
//    controller's overhead (aim ≤ 1.01).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { VirtualClock, systemClock, type Clock } from '../src/core/clock.js';
import { formatDuration } from '../src/core/duration.js';
import { configSchema, type EtapeConfig } from '../src/config/schema.js';
import type { Driver, DriverCall, DriverResult } from '../src/drivers/driver.js';
import { openStore } from '../src/store/open.js';
import type { Observation } from '../src/core/types.js';
import type { Store } from '../src/store/store.js';
import { planRollout } from '../src/config/plan.js';
import { startRollout } from '../src/rollout/operations.js';
import { isTerminal } from '../src/rollout/phases.js';
import type { RolloutState } from '../src/rollout/state.js';
import { Controller } from '../src/controller/controller.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const ROLLOUTS = Number(arg('rollouts', '1000'));
const BACKENDS = arg('backends', 'sqlite,postgres').split(',');
const PG = arg('pg', process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test');
const STEP = 5 * 60_000;

class InstantDriver implements Driver {
  calls = 0;
  private ok = (_c: DriverCall): Promise<DriverResult> => {
    this.calls++;
    return Promise.resolve({ ok: true, detail: 'ok', durationMs: 0, attempts: 1 });
  };
  deploy = this.ok;
  rollback = this.ok;
  force = this.ok;
  observe = async () => ({ detail: 'n/a' });
}

function benchConfig(services: number, opts: { bake: string; gates: boolean }): EtapeConfig {
  return configSchema.parse({
    fleet: {
      regions: Array.from({ length: 10 }, (_, i) => ({
        id: `r${i}`,
        geography: `g${i % 3}`,
        canary: i === 0,
        weight: i === 0 ? 1 : 2 + (i % 4),
        cells: Array.from({ length: 5 }, (_, j) => ({ id: `c${j}` })),
      })),
    },
    policy: { bake: { canary: opts.bake, first: opts.bake, later: opts.bake } },
    services: Array.from({ length: services }, (_, i) => ({
      name: `svc-${String(i).padStart(4, '0')}`,
      initialVersion: 'v1',
      driver: { kind: 'exec', deploy: 'true' },
      probes: opts.gates ? [{ name: 'http', url: 'http://127.0.0.1:9/{region}/{cell}', interval: '5m', timeout: '2s' }] : [],
      gates: opts.gates ? [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 1, consecutiveErrorLimit: 1 }] : [],
    })),
  });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function virtualRun(backend: string): Promise<void> {
  let dir: string | undefined;
  let url: string;
  let schema: string | undefined;
  if (backend === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'etape-bench-'));
    url = join(dir, 'etape.db');
  } else {
    schema = `bench_engine_${process.pid}`;
    url = `${PG}${PG.includes('?') ? '&' : '?'}schema=${schema}`;
  }
  let store: Store;
  try {
    store = await openStore(url);
  } catch (e) {
    console.log(`${backend}: skipped (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  const config = benchConfig(ROLLOUTS, { bake: '15m', gates: true });
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const driver = new InstantDriver();
  const reconcileMs: number[] = [];
  let events = 0;
  const states = new Map<string, RolloutState>();
  const controller = new Controller({
    store,
    config,
    clock,
    driverFor: () => driver,
    leaseMs: 365 * 86_400_000,
    reconcileEveryMs: STEP,
    concurrency: backend === 'sqlite' ? 1 : 16,
    evidenceWindowMs: 20 * 60_000,
    onReconcile: (id, ms, d) => {
      reconcileMs.push(ms);
      if (d) {
        events += d.events.length;
        states.set(id, d.nextState);
      }
    },
  });

  const template = planRollout(config, config.services[0].name);
  const t0 = performance.now();
  for (const svc of config.services) {
    await startRollout(
      { store, config, clock },
      { service: svc.name, version: 'v2', actor: 'bench', plan: { ...template, service: svc.name } },
    );
  }
  events += ROLLOUTS;
  const created = performance.now();
  let peakRss = process.memoryUsage().rss;
  let virtualSteps = 0;
  let observations = 0;
  for (;;) {
    // Settle this instant: decisions, driver calls, the decisions on their outcomes.
    for (let i = 0; i < 4; i++) {
      await controller.tick();
      await controller.idle();
    }
    const active = [...states.values()].filter((s) => !isTerminal(s.phase));
    if (active.length === 0 && states.size === ROLLOUTS) break;
    // The prober's work in virtual time: a passing measurement of every deployed target.
    const now = clock.now();
    const batch: Observation[] = [];
    for (const s of active) {
      for (const t of Object.values(s.targets)) {
        if (t.status === 'deployed')
          batch.push({
            service: s.service,
            region: t.region,
            cell: t.cell,
            source: 'http',
            at: now,
            verdict: 'pass',
            latencyMs: 3,
            detail: 'HTTP 200',
          });
      }
    }
    for (let i = 0; i < batch.length; i += 5000) await store.recordObservations(batch.slice(i, i + 5000));
    observations += batch.length;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    clock.advance(STEP);
    virtualSteps++;
    if (virtualSteps > 10_000) throw new Error('the rollouts did not finish');
  }
  const wall = (performance.now() - t0) / 1000;
  const driverEvents = driver.calls * 2;
  const completed = [...states.values()].filter((s) => s.phase === 'completed').length;
  const total = events + driverEvents;
  console.log(
    `${backend.padEnd(8)} ${ROLLOUTS} rollouts × 50 targets, ${template.waves.length} waves, ${formatDuration(virtualSteps * STEP)} of virtual time: ` +
      `${completed} completed in ${wall.toFixed(1)} s (create ${((created - t0) / 1000).toFixed(1)} s) | ` +
      `${(ROLLOUTS / wall).toFixed(1)} rollouts/s | ${Math.round(total / wall)} events/s (${total} events, ${driver.calls} driver calls, ${observations} observations) | ` +
      `reconcile p50 ${pct(reconcileMs, 50).toFixed(2)} ms p99 ${pct(reconcileMs, 99).toFixed(2)} ms (${reconcileMs.length}) | peak RSS ${Math.round(peakRss / 2 ** 20)} MiB`,
  );
  await controller.stop();
  await store.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (schema) {
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
}

async function realTimeOverhead(bakeMs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'etape-bench-rt-'));
  const store = await openStore(join(dir, 'etape.db'));
  const config = benchConfig(1, { bake: `${bakeMs}ms`, gates: false });
  const clock: Clock = systemClock;
  const controller = new Controller({ store, config, clock, driverFor: () => new InstantDriver() });
  const rec = await startRollout({ store, config, clock }, { service: config.services[0].name, version: 'v2', actor: 'bench' });
  const bakes = (rec.state as RolloutState).waves.reduce((a, w) => a + w.bakeMs, 0);
  const t0 = clock.now();
  controller.start();
  const done = await controller.waitFor(rec.id, undefined, 10 * bakes + 60_000);
  // From start to the moment the controller recorded completion (not when this loop noticed).
  const wall = (done.state as RolloutState).completedAt! - t0;
  await controller.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `real time: ${(rec.state as RolloutState).waves.length} waves × ${bakeMs} ms bake, SQLite: wall ${Math.round(wall)} ms ÷ bakes ${bakes} ms = ${(wall / bakes).toFixed(4)}`,
  );
}

console.log(
  `bench:engine — node ${process.version}; command: npm run bench:engine -- --rollouts ${ROLLOUTS} --backends ${BACKENDS.join(',')}`,
);
for (const b of BACKENDS) await virtualRun(b);
await realTimeOverhead(Number(arg('bake-ms', '2000')));

// Pair-safe rollback against all-at-once rollback, side by side in one run, on a loopback fleet of a canary
// region and two pairs (a–b, d–e) with the exec driver: a version that hangs only in region b, the third
// wave. Each run gets a fresh fleet and store; the rollout is halted by its probes in wave 3, then
//   pair-safe:   etape's own rollback (the controller, failing targets first, a partner after its region is
//                back and passing its probes);
//   all-at-once: what etape did before: every touched target at once, the hung ones forced, the rest rolled
//                back gracefully, through the same exec driver.
// A rollback or force restarts the target (down for --restart ms), as a real one does. Figures from the
// targets' own down log: wall time from the halt until every target answers on the old version, and the
// longest time any pair had both regions down (a region is down while any of its cells answers nothing).
// Prints figures; asserts nothing.
//
//   npm run bench:rollback
//   npm run bench:rollback -- --runs 5 --restart 1000 --cells 2
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type EtapeConfig } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { composeRuntime } from '../src/controller/runtime.js';
import { startRollout } from '../src/rollout/operations.js';
import { createDriver } from '../src/drivers/index.js';
import { idempotencyKey } from '../src/core/types.js';
import type { RolloutState } from '../src/rollout/state.js';
import { fleetConfig, TargetFleet, type DownSpan } from '../test/rollout-fixture.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const runs = Number(arg('runs', '3'));
const restartMs = Number(arg('restart', '1000'));
const cells = Number(arg('cells', '2'));

const PAIRS: [string, string][] = [
  ['a', 'b'],
  ['d', 'e'],
];
const REGIONS = ['c', 'a', 'd', 'b', 'e'];

type Mode = 'pair-safe' | 'all-at-once';
interface Figures {
  toHealthyMs: number;
  bothDownMs: number;
  /** The pair with the longest overlap, for people. */
  worstPair: string;
}

function setup(fleet: TargetFleet): EtapeConfig {
  const cellIds = Array.from({ length: cells }, (_, i) => `c${i + 1}`);
  return configSchema.parse({
    fleet: fleetConfig(fleet, [
      { id: 'c', cells: ['c1'], canary: true, weight: 1 },
      { id: 'a', cells: cellIds, weight: 1 },
      { id: 'b', cells: cellIds, pair: 'a', weight: 1 },
      { id: 'd', cells: cellIds, weight: 1 },
      { id: 'e', cells: cellIds, pair: 'd', weight: 1 },
    ]),
    policy: { bake: { canary: '1s', first: '1s', later: '1s' } },
    services: [
      {
        name: 'blob',
        initialVersion: 'v1',
        driver: fleet.execDriver({ timeout: `${Math.ceil(restartMs / 1000) + 5}s` }),
        plan: [{ regions: ['c'] }, { regions: ['a', 'd'] }, { regions: ['b', 'e'] }],
        version: { from: 'probe', timeout: '5s', every: '1s' },
        probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '250ms', timeout: '500ms' }],
        gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
      },
    ],
    server: { reconcileEvery: '250ms' },
  });
}

/** Spans in which some cell of `region` answered nothing, as [from, to] (open spans end at `end`). */
function regionDown(log: readonly DownSpan[], region: string, end: number): [number, number][] {
  const spans = log
    .filter((d) => d.target.startsWith(`${region}/`))
    .map((d): [number, number] => [d.from, d.to ?? end])
    .sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const s of spans) {
    const last = out.at(-1);
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push([...s]);
  }
  return out;
}

/** The longest stretch in which both regions of a pair were down, after `from`. */
function longestBothDown(log: readonly DownSpan[], from: number, end: number): { ms: number; pair: string } {
  let best = { ms: 0, pair: '-' };
  for (const [x, y] of PAIRS) {
    for (const [f1, t1] of regionDown(log, x, end))
      for (const [f2, t2] of regionDown(log, y, end)) {
        const len = Math.min(t1, t2) - Math.max(f1, f2, from);
        if (len > best.ms) best = { ms: len, pair: `${x}–${y}` };
      }
  }
  return best;
}

async function allOnOld(fleet: TargetFleet): Promise<boolean> {
  for (const v of (await fleet.versions()).values()) if (v !== 'v1') return false;
  return true;
}

async function run(mode: Mode): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'etape-bench-rollback-'));
  const ids = REGIONS.flatMap((r) => (r === 'c' ? ['c/c1'] : Array.from({ length: cells }, (_, i) => `${r}/c${i + 1}`)));
  const fleet = new TargetFleet(ids);
  fleet.restartMs = restartMs;
  fleet.hangsOn = (t) => t.startsWith('b/');
  await fleet.start();
  const store = await openStore(join(dir, 'etape.db'));
  const config = setup(fleet);
  const runtime = composeRuntime({ store, config });
  try {
    const rec = await startRollout(
      { store, config, clock: runtime.controller.clock },
      { service: 'blob', version: 'v2-hang', actor: 'bench', rollbackOnHalt: mode === 'pair-safe' },
    );
    runtime.start();
    if (mode === 'pair-safe') {
      await runtime.controller.waitFor(rec.id, undefined, 120_000);
    } else {
      // Halted and left alone: the bench rolls back every touched target at once, as etape did before.
      const halted = await runtime.controller.waitFor(rec.id, (r) => r.phase === 'halted', 120_000);
      await runtime.stop();
      const s = halted.state as RolloutState;
      const driver = createDriver(config.services[0], { fleet: config.fleet });
      await Promise.all(
        Object.values(s.targets)
          .filter((t) => t.status !== 'pending')
          .map((t) => {
            const step = t.region === 'b' ? 'force' : 'rollback';
            const call = {
              key: idempotencyKey(s.id, t, step, 1),
              rolloutId: s.id,
              target: { service: 'blob', region: t.region, cell: t.cell },
              version: 'v1',
              fromVersion: s.version,
            };
            return step === 'force' ? driver.force(call) : driver.rollback(call);
          }),
      );
    }
    const events = await store.listEvents({ rolloutId: rec.id });
    const haltAt = events.find((e) => e.type === 'rollout.halted')!.at;
    while (!(await allOnOld(fleet))) await new Promise((r) => setTimeout(r, 20));
    const now = Date.now();
    const lastUp = Math.max(...fleet.downLog.map((d) => d.to ?? now));
    const worst = longestBothDown(fleet.downLog, haltAt, now);
    return { toHealthyMs: lastUp - haltAt, bothDownMs: worst.ms, worstPair: worst.pair };
  } finally {
    await runtime.stop();
    await store.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(
  `bench:rollback — fleet c (canary, 1 cell), pairs a–b and d–e (${cells} cells each); waves [c] [a d] [b e]; v2 hangs in b only;`,
);
console.log(`a rollback or force restarts the target: down ${restartMs} ms; ${runs} run(s) of each, alternating; times from the halt`);
const results: Record<Mode, Figures[]> = { 'pair-safe': [], 'all-at-once': [] };
for (let i = 0; i < runs; i++) {
  for (const mode of ['pair-safe', 'all-at-once'] as Mode[]) {
    const f = await run(mode);
    results[mode].push(f);
    console.log(
      `  run ${i + 1} ${mode.padEnd(11)}  to all healthy ${(f.toHealthyMs / 1000).toFixed(2)} s   both regions of a pair down ${(f.bothDownMs / 1000).toFixed(2)} s${f.bothDownMs > 0 ? ` (${f.worstPair})` : ''}`,
    );
  }
}
console.log('\nmedian           to all healthy   longest both-down (any pair)');
for (const mode of ['pair-safe', 'all-at-once'] as Mode[]) {
  const r = results[mode];
  console.log(
    `${mode.padEnd(16)} ${(median(r.map((x) => x.toHealthyMs)) / 1000).toFixed(2).padStart(8)} s       ${(median(r.map((x) => x.bothDownMs)) / 1000).toFixed(2).padStart(6)} s   (max ${(Math.max(...r.map((x) => x.bothDownMs)) / 1000).toFixed(2)} s)`,
  );
}
console.log(`\nnpm run bench:rollback -- --runs ${runs} --restart ${restartMs} --cells ${cells}`);

// Crash test (I5): `etape serve` runs as a child process and is killed with SIGKILL at 20+ points of one
// rollout, chosen by how many events the store holds, then restarted each time. Afterwards the event log
// and the targets themselves must show: the rollout completed, nothing was deployed twice for one step,
// no wave was skipped, and I2 held throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { startRollout } from '../src/rollout/operations.js';
import { systemClock } from '../src/core/clock.js';
import type { EventRecord } from '../src/store/store.js';
import type { RolloutState } from '../src/rollout/state.js';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';

const ROOT = new URL('..', import.meta.url).pathname;
const KILLS = 22;

const REGIONS = [
  { id: 'r1', cells: ['c1'], canary: true, geography: 'g1' },
  { id: 'r2', cells: ['c1', 'c2'], pair: 'r3', geography: 'g1' },
  { id: 'r3', cells: ['c1', 'c2'], geography: 'g1' },
  { id: 'r4', cells: ['c1', 'c2'], pair: 'r5', geography: 'g2' },
  { id: 'r5', cells: ['c1', 'c2', 'c3'], geography: 'g2' },
  { id: 'r6', cells: ['c1', 'c2', 'c3'], geography: 'g3' },
];
const PAIRS: [string, string][] = [
  ['r2', 'r3'],
  ['r4', 'r5'],
];

function spawnServe(
  cfg: string,
  db: string,
): { child: ChildProcess; ready: Promise<void>; exited: Promise<number | null>; output: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfg, '--store', db, '--listen', '127.0.0.1:0', '--lease', '1s'],
    {
      cwd: ROOT,
      env: { ...process.env, ETAPE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) resolve();
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`etape serve exited (${code}) before listening:\n${out}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, ready, exited, output: () => out };
}

test('etape serve killed with SIGKILL at 20+ points finishes the rollout exactly once', { timeout: 420_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-crash-'));
  const ids = REGIONS.flatMap((r) => r.cells.map((c) => `${r.id}/${c}`));
  const fleet = new TargetFleet(ids);
  fleet.deployDelayMs = 150;
  await fleet.start();
  const db = join(dir, 'etape.db');
  const cfgFile = join(dir, 'etape.yaml');
  const raw = {
    fleet: fleetConfig(fleet, REGIONS),
    policy: { bake: { canary: '300ms', first: '300ms', later: '300ms' } },
    services: [
      {
        name: 'blob',
        initialVersion: 'v1',
        driver: fleet.execDriver({ timeout: '5s', retries: 0 }),
        probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '100ms', timeout: '2s' }],
        gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
      },
    ],
    server: { reconcileEvery: '100ms' },
    // The status publisher runs inside serve too, and is killed with it; keep its files in the test's folder.
    statuspage: { out: join(dir, 'status') },
  };
  writeFileSync(cfgFile, JSON.stringify(raw, null, 2)); // JSON is YAML
  const config = configSchema.parse(raw);
  const store = await openStore(db);
  let current: ReturnType<typeof spawnServe> | undefined;
  try {
    const rec = await startRollout({ store, config, clock: systemClock }, { service: 'blob', version: 'v2', actor: 'test' });
    const plan = rec.state as RolloutState;
    assert.ok(plan.waves.length >= 3, `a plan of several waves (${plan.waves.length})`);
    const count = async () => (await store.listEvents({ rolloutId: rec.id })).length;
    const phase = async () => (await store.getRollout(rec.id))!.phase;

    const killPoints: number[] = [];
    let seen = await count();
    for (let i = 0; i < KILLS; i++) {
      current = spawnServe(cfgFile, db);
      await current.ready;
      const want = seen + 1 + (i % 4);
      for (;;) {
        const n = await count();
        if (n >= want || ['completed', 'rolled_back', 'failed'].includes(await phase())) {
          seen = n;
          break;
        }
        if (current.child.exitCode !== null) throw new Error(`etape serve died on its own:\n${current.output()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      current.child.kill('SIGKILL');
      await current.exited;
      current = undefined;
      killPoints.push(seen);
      assert.notEqual(await phase(), 'completed', `the rollout ended after only ${i + 1} kills; the test needs more events per kill`);
    }
    assert.equal(new Set(killPoints).size, KILLS, `${KILLS} different kill points: ${killPoints.join(',')}`);

    // The last restart finishes it; SIGTERM then stops the server cleanly.
    current = spawnServe(cfgFile, db);
    await current.ready;
    for (let i = 0; i < 1200 && !['completed', 'rolled_back', 'failed'].includes(await phase()); i++)
      await new Promise((r) => setTimeout(r, 50));
    current.child.kill('SIGTERM');
    assert.equal(await current.exited, 0, `clean exit on SIGTERM:\n${current.output()}`);
    current = undefined;

    const final = (await store.getRollout(rec.id))!;
    const events: EventRecord[] = await store.listEvents({ rolloutId: rec.id });
    const repeated = events.filter((e) => e.type.startsWith('driver.') && (e.data as { repeated?: boolean }).repeated).length;
    process.stdout.write(
      `# ${KILLS} kills at event counts ${killPoints.join(', ')}; ${events.length} events in all; ` +
        `${repeated} driver call(s) repeated with their key after a crash, ${fleet.applied.filter((a) => a.repeat).length} answered by a target as already done\n`,
    );
    const why = events
      .filter((e) => ['rollout.halted', 'target.deploy_failed', 'target.failed'].includes(e.type))
      .map((e) => `${e.type} ${JSON.stringify(e.data)}`);
    assert.equal(final.phase, 'completed', `phase ${final.phase}; ${why.join('; ')}`);

    // No wave skipped: each wave deploying → baking → verified exactly once, in order, and wave n+1 starts after wave n is verified.
    const of = (type: string, wave: number) => events.filter((e) => e.type === type && (e.data as { wave: number }).wave === wave);
    let lastVerified = 0;
    for (const w of plan.waves) {
      const dep = of('wave.deploying', w.index);
      const bak = of('wave.baking', w.index);
      const ver = of('wave.verified', w.index);
      assert.deepEqual([dep.length, bak.length, ver.length], [1, 1, 1], `wave ${w.index} went through each status once`);
      assert.ok(dep[0].seq > lastVerified && bak[0].seq > dep[0].seq && ver[0].seq > bak[0].seq, `wave ${w.index} in order`);
      lastVerified = ver[0].seq;
    }

    // Nothing deployed twice for one step: one effective deploy per target (repeats of a key are answered as done),
    // one target.deployed event per target, at most one success per key.
    for (const id of ids) {
      const applied = fleet.applied.filter((a) => a.target === id && a.action === 'deploy' && !a.repeat);
      assert.equal(applied.length, 1, `${id} deployed ${applied.length} times`);
      assert.equal(events.filter((e) => e.type === 'target.deployed' && (e.data as { target: string }).target === id).length, 1);
    }
    const succeeded = events.filter((e) => e.type === 'driver.deploy.succeeded').map((e) => (e.data as { key: string }).key);
    assert.equal(new Set(succeeded).size, succeeded.length, 'no key succeeded twice');
    assert.ok(!fleet.applied.some((a) => a.action !== 'deploy'), 'no rollback or force happened');

    // I2 throughout, seen from the targets: a region's partner took its first deploy only after that region's wave was verified.
    const waveOf = (region: string) => plan.waves.find((w) => w.regions.includes(region))!.index;
    for (const [a, b] of PAIRS) {
      assert.notEqual(waveOf(a), waveOf(b), `${a} and ${b} in different waves`);
      const [first, second] = waveOf(a) < waveOf(b) ? [a, b] : [b, a];
      const verified = of('wave.verified', waveOf(first))[0];
      const firstTouch = Math.min(...fleet.applied.filter((x) => x.target.startsWith(`${second}/`)).map((x) => x.at));
      assert.ok(firstTouch >= verified.at, `${second} was deployed before ${first}'s wave was verified`);
    }

    // The targets themselves: all on v2.
    for (const [id, v] of await fleet.versions()) assert.equal(v, 'v2', `${id} runs ${v}`);
  } finally {
    if (current && current.child.exitCode === null) {
      current.child.kill('SIGKILL');
      await current.exited;
    }
    await store.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A version that makes its target hang is halted by probe timeouts, and every touched target is back on
// the old version afterwards — asked of the targets themselves. Real loopback servers, the exec driver,
// a SQLite file, the real clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { composeRuntime } from '../src/controller/runtime.js';
import { startRollout } from '../src/rollout/operations.js';
import type { RolloutState } from '../src/rollout/state.js';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';

const INTERVAL = 400;
const TIMEOUT = 250;
const K = 3;
const TICK = 250;

test('a version that hangs its target is halted by probe timeouts and rolled back by force', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-hang-'));
  const fleet = new TargetFleet(['r1/c1', 'r1/c2', 'r2/c1', 'r2/c2', 'r3/c1']);
  await fleet.start();
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const config = configSchema.parse({
      fleet: fleetConfig(fleet, [
        { id: 'r1', cells: ['c1', 'c2'], canary: true },
        { id: 'r2', cells: ['c1', 'c2'] },
        { id: 'r3', cells: ['c1'] },
      ]),
      policy: { bake: { canary: '3s', first: '3s', later: '3s' } },
      services: [
        {
          name: 'blob',
          initialVersion: 'v1',
          driver: fleet.execDriver(),
          probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: `${INTERVAL}ms`, timeout: `${TIMEOUT}ms` }],
          gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: K }],
        },
      ],
      server: { reconcileEvery: `${TICK}ms` },
    });
    // The parts `etape serve` runs, with its settings.
    const runtime = composeRuntime({ store, config });
    const controller = runtime.controller;
    const rec = await startRollout({ store, config, clock: controller.clock }, { service: 'blob', version: 'v2-hang', actor: 'test' });
    const plan = rec.state as RolloutState;
    controller.start();
    const end = await controller.waitFor(rec.id, undefined, 60_000);
    await controller.stop();

    assert.equal(end.phase, 'rolled_back');
    const events = await store.listEvents({ rolloutId: rec.id });
    const halted = events.find((e) => e.type === 'rollout.halted')!;
    assert.ok(halted, 'the rollout halted');
    assert.match((halted.data as { reason: string }).reason, /gate health failed in wave 1/);

    // The probes saw the hang as timeouts, k in a row for a target of the new version. How fast this is
    // (against the floor (k−1)·interval + timeout) is a figure: bench/detect.ts prints it; a test does not time it.
    const obs = await store.queryObservations({ service: 'blob', source: 'http' });
    const deployedAt = new Map(
      // A hung target never reports the new version (I9): its deploy call returned, and then it timed out.
      events
        .filter((e) => e.type === 'target.deployed' || e.type === 'target.deploy_returned')
        .map((e) => [(e.data as { target: string }).target, e.at]),
    );
    const firstTimeout = obs
      .filter((o) => o.timedOut && deployedAt.has(`${o.region}/${o.cell}`) && o.at >= deployedAt.get(`${o.region}/${o.cell}`)!)
      .sort((a, b) => a.at - b.at)[0];
    assert.ok(firstTimeout, 'probes saw the hang as timeouts');
    const series = obs
      .filter((o) => o.region === firstTimeout.region && o.cell === firstTimeout.cell && o.at >= firstTimeout.at && o.at < halted.at)
      .sort((a, b) => a.at - b.at);
    assert.ok(series.length >= K && series.slice(0, K).every((o) => o.timedOut === true && o.verdict === 'fail'), 'k consecutive timeouts');
    const forcing = events.filter((e) => e.type === 'target.forcing');
    assert.ok(
      forcing.length > 0 && forcing.every((e) => /target does not answer: gate health/.test((e.data as { reason: string }).reason)),
    );

    // Exactly the canary wave was touched; the hung targets were forced, since a graceful rollback would hang.
    const canary = plan.waves[0].targets;
    const touched = new Set(fleet.applied.filter((a) => !a.repeat).map((a) => a.target));
    assert.deepEqual([...touched].sort(), [...canary].sort());
    for (const id of canary) {
      const acts = fleet.applied.filter((a) => a.target === id && !a.repeat).map((a) => `${a.action}:${a.version}`);
      assert.deepEqual(acts, ['deploy:v2-hang', 'force:v1'], id);
    }
    // Every target answers again, on the old version.
    const versions = await fleet.versions();
    for (const [id, v] of versions) assert.equal(v, 'v1', `${id} runs ${v}`);
  } finally {
    await store.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

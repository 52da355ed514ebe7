// Pair-safe rollback (I2, I4) on real loopback targets with the exec driver: a version that hangs only in
// region b (wave 3 of a fleet with the pairs a–b and d–e) is halted and rolled back, and the targets' own
// log of when they answered nothing shows no moment in which both regions of a pair were down. A rollback
// restarts the process (the fixture's `restartMs`), as a real one does, so all-at-once would show overlaps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { composeRuntime } from '../src/controller/runtime.js';
import { startRollout } from '../src/rollout/operations.js';
import { fleetConfig, TargetFleet, type DownSpan } from './rollout-fixture.js';

const PAIRS: [string, string][] = [
  ['a', 'b'],
  ['d', 'e'],
];

/** The stretches in which some cell of `region` answered nothing (open spans end at `end`). */
function regionDown(log: readonly DownSpan[], region: string, end: number): [number, number][] {
  return log.filter((d) => d.target.startsWith(`${region}/`)).map((d) => [d.from, d.to ?? end]);
}

test('a version that hangs in wave 3 is rolled back without both regions of a pair down at once', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-pairs-'));
  const fleet = new TargetFleet(['c/c1', 'a/c1', 'a/c2', 'd/c1', 'b/c1', 'b/c2', 'e/c1']);
  fleet.restartMs = 300;
  fleet.hangsOn = (target) => target.startsWith('b/');
  await fleet.start();
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const config = configSchema.parse({
      fleet: fleetConfig(fleet, [
        { id: 'c', cells: ['c1'], canary: true, weight: 1 },
        { id: 'a', cells: ['c1', 'c2'], weight: 1 },
        { id: 'b', cells: ['c1', 'c2'], pair: 'a', weight: 1 },
        { id: 'd', cells: ['c1'], weight: 1 },
        { id: 'e', cells: ['c1'], pair: 'd', weight: 1 },
      ]),
      policy: { bake: { canary: '600ms', first: '600ms', later: '600ms' } },
      services: [
        {
          name: 'blob',
          initialVersion: 'v1',
          driver: fleet.execDriver(),
          plan: [{ regions: ['c'] }, { regions: ['a', 'd'] }, { regions: ['b', 'e'] }],
          version: { from: 'probe', timeout: '10s', every: '1s' },
          probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '200ms', timeout: '1500ms' }],
          gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
        },
      ],
      server: { reconcileEvery: '200ms' },
    });
    const runtime = composeRuntime({ store, config });
    const controller = runtime.controller;
    const rec = await startRollout({ store, config, clock: controller.clock }, { service: 'blob', version: 'v2-hang', actor: 'test' });
    controller.start();
    const end = await controller.waitFor(rec.id, undefined, 45_000);
    await controller.stop();
    const now = Date.now();

    assert.equal(end.phase, 'rolled_back');
    const events = await store.listEvents({ rolloutId: rec.id });
    const halted = events.find((e) => e.type === 'rollout.halted');
    assert.match((halted?.data as { reason: string }).reason, /in wave 3/, 'the fault showed in wave 3');

    // Every touched target was restarted by the rollback, so each region was down at some point.
    const restarted = new Set(fleet.downLog.filter((d) => d.why === 'restart').map((d) => d.target.split('/')[0]));
    assert.deepEqual([...restarted].sort(), ['a', 'b', 'c', 'd', 'e']);
    // From the targets' own log: a region and its partner were never down at the same moment.
    for (const [x, y] of PAIRS) {
      for (const [f1, t1] of regionDown(fleet.downLog, x, now))
        for (const [f2, t2] of regionDown(fleet.downLog, y, now))
          assert.ok(Math.min(t1, t2) <= Math.max(f1, f2), `${x} down ${f1}–${t1} overlaps ${y} down ${f2}–${t2}`);
    }
    const versions = await fleet.versions();
    for (const [id, v] of versions) assert.equal(v, 'v1', `${id} runs ${v}`);
  } finally {
    await store.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

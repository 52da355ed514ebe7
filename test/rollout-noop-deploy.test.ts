// A rollout proves what runs (I9): with a deploy command that changes nothing, every probe keeps answering
// with the old version, so the rollout never completes: the deploy is retried, then the rollout halts naming
// the target and the version it still runs, and nothing baked. Real loopback servers, the exec driver
// (observe through curl), a SQLite file, the real clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { composeRuntime } from '../src/controller/runtime.js';
import { startRollout } from '../src/rollout/operations.js';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';

test(
  'a deploy command that does nothing halts the rollout naming the target and the version it still runs',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etape-noop-'));
    const fleet = new TargetFleet(['r1/c1', 'r2/c1']);
    await fleet.start();
    const store = await openStore(join(dir, 'etape.db'));
    try {
      const config = configSchema.parse({
        fleet: fleetConfig(fleet, [
          { id: 'r1', cells: ['c1'], canary: true },
          { id: 'r2', cells: ['c1'] },
        ]),
        policy: { bake: { canary: '1s', first: '1s', later: '1s' } },
        services: [
          {
            name: 'blob',
            initialVersion: 'v1',
            // `true` changes nothing; observe asks the target itself which version answers.
            driver: {
              ...fleet.execDriver(),
              deploy: 'true',
              observe: `curl -sS -f -m 2 -o /dev/null -w '%header{x-etape-version}' http://127.0.0.1:{port}/health`,
            },
            version: { from: 'observe', timeout: '2s', every: '1s' },
            probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '200ms', timeout: '2s' }],
            gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
          },
        ],
        server: { reconcileEvery: '200ms' },
      });
      const runtime = composeRuntime({ store, config });
      const controller = runtime.controller;
      const rec = await startRollout({ store, config, clock: controller.clock }, { service: 'blob', version: 'v2', actor: 'test' });
      controller.start();
      const end = await controller.waitFor(rec.id, undefined, 40_000);
      await controller.stop();

      assert.notEqual(end.phase, 'completed');
      assert.equal(end.phase, 'rolled_back');
      const events = await store.listEvents({ rolloutId: rec.id });
      const halted = events.find((e) => e.type === 'rollout.halted');
      assert.ok(halted, 'the rollout halted');
      assert.match((halted.data as { reason: string }).reason, /could not deploy v2 to r1\/c1: it still runs v1/);
      const failed = events.filter((e) => e.type === 'target.deploy_failed');
      assert.deepEqual(
        failed.map((e) => (e.data as { retrying: boolean }).retrying),
        [true, false],
        'retried once, then given up',
      );
      assert.ok(
        !events.some((e) => e.type === 'target.deployed' || e.type === 'wave.baking'),
        'nothing counted as deployed, nothing baked',
      );
      // The observations that proved it say which version they saw.
      const seen = await store.queryObservations({ service: 'blob', region: 'r1', cell: 'c1' });
      assert.ok(seen.some((o) => o.source === 'etape:observe' && o.version === 'v1'));
      assert.ok(!events.some((e) => (e.data as { target?: string }).target === 'r2/c1'), 'the second region was never touched');
    } finally {
      await store.close();
      await fleet.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

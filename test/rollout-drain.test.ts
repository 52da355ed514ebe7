// Drain before rollback, with real parts: loopback targets, the exec driver (its drain and restore commands get
// the same ETAPE_* variables as deploy), a SQLite file and the runtime `etape serve` runs. A canary cell that
// hangs is taken out of rotation before it is forced, and put back once it passes on the old version; the
// healthy cell of the wave is rolled back in rotation.
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

test('a hung canary is drained before it is forced, and restored once it passes on the old version', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-drain-'));
  const fleet = new TargetFleet(['r1/c1', 'r1/c2', 'r2/c1']);
  fleet.hangsOn = (id) => id === 'r1/c1';
  await fleet.start();
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const config = configSchema.parse({
      fleet: fleetConfig(fleet, [
        { id: 'r1', cells: ['c1', 'c2'], canary: true },
        { id: 'r2', cells: ['c1'] },
      ]),
      policy: { bake: { canary: '30s', first: '3s', later: '3s' } },
      services: [
        {
          name: 'blob',
          initialVersion: 'v1',
          driver: fleet.execDriver({ drain: true }),
          probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '400ms', timeout: '250ms' }],
          gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
        },
      ],
      server: { reconcileEvery: '250ms' },
    });
    const runtime = composeRuntime({ store, config });
    const controller = runtime.controller;
    const rec = await startRollout({ store, config, clock: controller.clock }, { service: 'blob', version: 'v2-hang', actor: 'test' });
    runtime.start();
    const end = await controller.waitFor(rec.id, undefined, 60_000);
    await runtime.stop();
    assert.equal(end.phase, 'rolled_back');

    // As the targets' own control server saw the calls.
    const acts = (id: string) => fleet.applied.filter((a) => a.target === id && !a.repeat).map((a) => a.action);
    assert.deepEqual(acts('r1/c1'), ['deploy', 'drain', 'force', 'restore']);
    assert.deepEqual(acts('r1/c2'), ['deploy', 'rollback'], 'the healthy cell is not drained');
    assert.deepEqual(acts('r2/c1'), [], 'the next wave was never touched');
    assert.deepEqual([...fleet.drained], [], 'nothing is left out of rotation');

    // And as the event log tells it: drained before forced, restored after it passed on v1.
    const events = await store.listEvents({ rolloutId: rec.id });
    const index = (type: string) => events.findIndex((e) => e.type === type && (e.data as { target?: string }).target === 'r1/c1');
    assert.ok(index('target.drained') >= 0 && index('target.drained') < index('target.forcing'));
    assert.ok(index('target.proven_back') < index('target.restoring'));
    assert.ok(index('target.restored') > index('target.restoring'));
    assert.ok(events.some((e) => e.type === 'driver.drain.succeeded'));
    const versions = await fleet.versions();
    for (const [id, v] of versions) assert.equal(v, 'v1', `${id} runs ${v}`);
  } finally {
    await store.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

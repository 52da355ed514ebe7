// `etape target force` through the API (operator only): a target hung behind etape's back is killed and
// restarted on a version it ran before by the exec driver's force, with an idempotency key of its own, and
// counts only once it reports that version; who asked is in the event log. Bad input names what to fix.
// Real loopback targets, the exec driver, a SQLite file, the real clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { composeRuntime } from '../src/controller/runtime.js';
import { createApi } from '../src/api/app.js';
import { lastVerifiedVersion } from '../src/rollout/operations.js';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';

const OP = 'operator-token-8c1d2e3f4a';
const VIEW = 'viewer-token-5b6a7c8d9e';

test('target force: a hung target is forced to a known version by the driver, proven, and audited', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-force-'));
  const fleet = new TargetFleet(['r1/c1', 'r2/c1', 'r3/c1']);
  await fleet.start();
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const config = configSchema.parse({
      fleet: fleetConfig(fleet, [
        { id: 'r1', cells: ['c1'], canary: true },
        { id: 'r2', cells: ['c1'] },
        { id: 'r3', cells: ['c1'], pair: 'r2' },
      ]),
      services: [
        {
          name: 'blob',
          initialVersion: 'v1',
          driver: fleet.execDriver(),
          version: { from: 'probe', timeout: '5s', every: '1s' },
          probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '200ms', timeout: '2s' }],
          gates: [{ kind: 'probe', name: 'health', probe: 'http' }],
        },
      ],
      server: {
        reconcileEvery: '200ms',
        tokens: [
          { name: 'ops', role: 'operator', token: OP },
          { name: 'watcher', role: 'viewer', token: VIEW },
        ],
      },
    });
    const runtime = composeRuntime({ store, config });
    const app = createApi({ store, config, clock: runtime.controller.clock });
    const force = async (service: string, target: string, body: unknown, token = OP) => {
      const r = await app.request(`/api/services/${service}/targets/${encodeURIComponent(target)}/force`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.status, json: (await r.json()) as { id?: string; error?: { message: string } } };
    };

    // Someone put a version on r2/c1 behind etape's back, and it hangs.
    fleet.targets.get('r2/c1')!.setVersion('v7-hang');

    // Bad input is refused with what to fix; a viewer may not force.
    assert.equal((await force('blob', 'r2/c1', { version: 'v1' }, VIEW)).status, 403);
    const noService = await force('blub', 'r2/c1', { version: 'v1' });
    assert.equal(noService.status, 400);
    assert.match(noService.json.error!.message, /no service "blub".*did you mean "blob"/);
    const noRegion = await force('blob', 'r9/c1', { version: 'v1' });
    assert.equal(noRegion.status, 400);
    assert.match(noRegion.json.error!.message, /runs in no region "r9".*its regions: r1, r2, r3/);
    const noCell = await force('blob', 'r2/c7', { version: 'v1' });
    assert.match(noCell.json.error!.message, /region r2 has no cell "c7".*its cells: c1/);
    assert.match((await force('blob', 'r2', { version: 'v1' })).json.error!.message, /region\/cell/);
    const noVersion = await force('blob', 'r2/c1', { version: 'v7-hang' });
    assert.equal(noVersion.status, 400);
    assert.match(noVersion.json.error!.message, /knows no version "v7-hang" of service blob.*known: v1/);
    assert.equal(fleet.applied.length, 0, 'nothing was changed by refused requests');

    const started = await force('blob', 'r2/c1', { version: 'v1', reason: 'hung after a manual push' });
    assert.equal(started.status, 201);
    const id = started.json.id!;
    runtime.start();
    const end = await runtime.controller.waitFor(id, undefined, 40_000).finally(() => runtime.stop());

    assert.equal(end.phase, 'completed');
    assert.deepEqual(
      fleet.applied.filter((a) => !a.repeat).map((a) => `${a.action}:${a.target}:${a.version}`),
      ['force:r2/c1:v1'],
      'one force of the one target, nothing else',
    );
    assert.match(fleet.applied[0].key, new RegExp(`^${id}:r2/c1:force:1$`), 'an idempotency key of its own');
    assert.equal((await fleet.versions()).get('r2/c1'), 'v1');
    const events = await store.listEvents({ rolloutId: id });
    const asked = events.find((e) => e.type === 'target.force_requested')!;
    assert.equal(asked.actor, 'api:ops');
    assert.deepEqual(asked.data, { target: 'r2/c1', version: 'v1', reason: 'hung after a manual push' });
    // Proven by the target's own answer, like a deploy (I9).
    assert.match(JSON.stringify(events.find((e) => e.type === 'target.deployed')?.data), /"reportedBy":"http"/);
    // A force is no release: the service's last verified version is what it was.
    assert.equal(await lastVerifiedVersion(store, config.services[0]), 'v1');
  } finally {
    await store.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

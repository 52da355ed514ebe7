// Drift (I9): a target's version changed behind etape's back, on real loopback targets with the exec driver
// (observe through curl), a SQLite file and the real clock. With `alert` (the default) it is reported within
// two observation rounds — an event, an operator notification, a mark in the drift report — and cleared with
// an event when the target is back; with `revert` etape puts the verified version back along the pair-safe
// path (a region, then its partner).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { composeRuntime } from '../src/controller/runtime.js';
import { OperatorNotifier } from '../src/notify/operators.js';
import { driftReport } from '../src/drift/operations.js';
import { systemClock } from '../src/core/clock.js';
import type { Store } from '../src/store/store.js';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';
import { waitFor } from './helpers.js';
import { createApi } from '../src/api/app.js';
import { registerDriftRoutes } from '../src/api/drift.js';

const EVERY_MS = 1000;
const VIEWER = 'drift-test-viewer-token-0123456789';

function configFor(fleet: TargetFleet, drift: 'alert' | 'revert') {
  return configSchema.parse({
    fleet: fleetConfig(fleet, [
      { id: 'r1', cells: ['c1'], pair: 'r2' },
      { id: 'r2', cells: ['c1'] },
    ]),
    services: [
      {
        name: 'blob',
        initialVersion: 'v1',
        driver: {
          ...fleet.execDriver(),
          observe: `curl -sS -f -m 2 -o /dev/null -w '%header{x-etape-version}' http://127.0.0.1:{port}/health`,
        },
        version: { from: 'observe', timeout: '5s', every: `${EVERY_MS}ms` },
        probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '300ms', timeout: '1s' }],
        gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
        drift,
      },
    ],
    notifications: {
      channels: { ops: { kind: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'drift-test-secret' } },
      operators: [{ events: ['drift.*'], to: ['ops'] }],
    },
    server: { reconcileEvery: '200ms', tokens: [{ name: 'dash', token: VIEWER, role: 'viewer' }] },
  });
}

async function withFleet(name: string, fn: (fleet: TargetFleet, store: Store) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `etape-drift-${name}-`));
  const fleet = new TargetFleet(['r1/c1', 'r2/c1']);
  await fleet.start();
  const store = await openStore(join(dir, 'etape.db'));
  try {
    await fn(fleet, store);
  } finally {
    await store.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const observed = (store: Store, target: string, from: number, to: number) =>
  store
    .queryObservations({ service: 'blob', region: target.split('/')[0], cell: target.split('/')[1], source: 'etape:observe', from })
    .then((os) => os.filter((o) => o.at <= to));

test(
  'a version changed behind etape is reported within two observation rounds, notified, marked, and cleared',
  { timeout: 60_000 },
  async (t) => {
    await withFleet('alert', async (fleet, store) => {
      const config = configFor(fleet, 'alert');
      const runtime = composeRuntime({ store, config, drift: true });
      const notifier = new OperatorNotifier({ store, config, clock: systemClock });
      await notifier.runOnce(); // the cursor starts here
      runtime.start();
      try {
        // The watcher looks at every target: the first answers say v1, and that is no drift.
        await waitFor('the first observations', async () => (await observed(store, 'r2/c1', 0, Date.now())).length >= 2);
        assert.equal((await store.listEvents({ types: ['drift.detected'] })).length, 0);

        const changedAt = Date.now();
        fleet.targets.get('r2/c1')!.version = 'v9'; // someone else's tool
        const detected = await waitFor('drift.detected', async () => (await store.listEvents({ types: ['drift.detected'] }))[0]);
        const rounds = (await observed(store, 'r2/c1', changedAt, detected.at)).length;
        t.diagnostic(
          `drift reported ${detected.at - changedAt} ms after the change, after ${rounds} observation round(s) of every ${EVERY_MS} ms`,
        );
        assert.ok(rounds >= 1 && rounds <= 2, `reported after ${rounds} observation rounds`);
        const data = detected.data as { service: string; expected: string; targets: { target: string; version: string }[] };
        assert.equal(data.service, 'blob');
        assert.equal(data.expected, 'v1');
        assert.deepEqual(
          data.targets.map((t) => [t.target, t.version]),
          [['r2/c1', 'v9']],
        );

        // The operator hears of it through the signed webhook path: one message for the route's channel.
        assert.equal(await notifier.runOnce(), 1);
        const [msg] = await store.notifications.listMessages({ kind: 'drift.detected' });
        assert.equal(msg.channel, 'webhook');

        const report = await driftReport(store, config);
        assert.deepEqual(
          report[0].drift.map((m) => [m.target, m.version, m.expected]),
          [['r2/c1', 'v9', 'v1']],
        );
        assert.equal(report[0].mode, 'alert');
        // The API says the same, and describes the routes in its OpenAPI document.
        const app = createApi({ store, config, routes: [registerDriftRoutes] });
        const get = async (path: string) => {
          const res = await app.request(path, { headers: { authorization: `Bearer ${VIEWER}` } });
          return { status: res.status, json: (await res.json()) as any };
        };
        const svc = await get('/api/services/blob');
        assert.equal(svc.status, 200);
        assert.equal(svc.json.verified, 'v1');
        assert.deepEqual(
          svc.json.drift.map((m: { target: string; version: string }) => [m.target, m.version]),
          [['r2/c1', 'v9']],
        );
        assert.equal((await get('/api/drift')).json.services[0].drift.length, 1);
        assert.equal((await get('/api/services/nope')).status, 404);
        const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
        assert.ok(doc.paths['/api/drift'] && doc.paths['/api/services/{service}']);
        // Alert only: nothing reverts it, and it is reported once, not on every round.
        await waitFor('two more rounds', async () => (await observed(store, 'r2/c1', detected.at + 1, Date.now())).length >= 2);
        assert.equal((await store.listRollouts({ service: 'blob' })).length, 0);
        assert.equal((await store.listEvents({ types: ['drift.detected'] })).length, 1);

        fleet.targets.get('r2/c1')!.version = 'v1';
        const cleared = await waitFor('drift.cleared', async () => (await store.listEvents({ types: ['drift.cleared'] }))[0]);
        assert.deepEqual(
          (cleared.data as { targets: { target: string }[] }).targets.map((t) => t.target),
          ['r2/c1'],
        );
        assert.deepEqual((await driftReport(store, config))[0].drift, []);
      } finally {
        await runtime.stop();
      }
    });
  },
);

test('with drift: revert, drifted paired regions go back to the verified version one after the other', { timeout: 60_000 }, async () => {
  await withFleet('revert', async (fleet, store) => {
    const config = configFor(fleet, 'revert');
    // Both regions of the pair were changed by another tool before etape looks: etape verified v1 there.
    fleet.targets.get('r1/c1')!.version = 'v9';
    fleet.targets.get('r2/c1')!.version = 'v9';
    const runtime = composeRuntime({ store, config, drift: true });
    runtime.start();
    try {
      // Both are reported, and both go back (in one revert, unless an observe failed on the first look).
      await waitFor('drift.cleared on both', async () => {
        const cs = await store.listEvents({ types: ['drift.cleared'] });
        const done = new Set(cs.flatMap((e) => (e.data as { targets: { target: string }[] }).targets.map((t) => t.target)));
        return done.has('r1/c1') && done.has('r2/c1');
      });
      const reverts = await store.listRollouts({ service: 'blob' });
      assert.ok(reverts.length >= 1 && reverts.length <= 2, `${reverts.length} revert rollout(s)`);
      for (const r of reverts) {
        assert.equal(r.phase, 'rolled_back');
        assert.equal(r.version, 'v9');
      }
      assert.deepEqual(
        [...(await fleet.versions())],
        [
          ['r1/c1', 'v1'],
          ['r2/c1', 'v1'],
        ],
      );
      // Pair-safe: from each target's rollback start to its proof on v1, its partner was not being changed.
      const evs = (await store.listEvents({})).filter((e) => reverts.some((r) => r.id === e.rolloutId));
      const span = (target: string) => {
        const of = (type: string) => evs.find((e) => e.type === type && (e.data as { target?: string }).target === target)!.seq;
        return [of('target.rolling_back'), of('target.proven_back')];
      };
      const [a1, a2] = span('r1/c1');
      const [b1, b2] = span('r2/c1');
      assert.ok(a2 < b1 || b2 < a1, `r1/c1 went back over events ${a1}..${a2}, r2/c1 over ${b1}..${b2}: together`);
      assert.equal(evs.filter((e) => e.type === 'drift.revert_started').length, reverts.length);
      assert.deepEqual((await driftReport(store, config))[0].drift, []);
    } finally {
      await runtime.stop();
    }
  });
});

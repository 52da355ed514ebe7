import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../core/clock.js';
import { configSchema, type EtapeConfig } from '../config/schema.js';
import type { Driver, DriverCall, DriverResult } from '../drivers/driver.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { handPlan } from '../../test/sim.js';
import { abortRollout, startRollout } from '../rollout/operations.js';
import type { RolloutState } from '../rollout/state.js';
import { pino } from 'pino';
import { Controller } from './controller.js';

const HOUR = 600_000; // ten minutes of bake per wave: enough steps, little wall time

function config(): EtapeConfig {
  return configSchema.parse({
    fleet: {
      regions: [
        { id: 'r1', geography: 'g1', cells: [{ id: 'c1' }] },
        { id: 'r2', geography: 'g1', cells: [{ id: 'c1' }, { id: 'c2' }] },
        { id: 'r3', geography: 'g2', cells: [{ id: 'c1' }] },
      ],
    },
    services: [
      {
        name: 'blob',
        initialVersion: 'v1',
        driver: { kind: 'exec', deploy: 'true', observe: 'true' },
        probes: [{ name: 'http', url: 'http://127.0.0.1:9/{region}/{cell}', interval: '10s', timeout: '2s' }],
        gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
      },
    ],
  });
}

const plan = () =>
  handPlan('blob', [
    { targets: ['r1/c1'], bakeMs: HOUR, gates: ['health'] },
    { targets: ['r2/c1', 'r2/c2'], bakeMs: HOUR, gates: ['health'] },
    { targets: ['r3/c1'], bakeMs: HOUR, gates: ['health'] },
  ]);

class FakeDriver implements Driver {
  calls: DriverCall[] = [];
  versions = new Map<string, string>();
  hang = new Set<string>();
  private result(call: DriverCall): Promise<DriverResult> {
    this.calls.push(call);
    if (this.hang.has(call.key)) return new Promise(() => {});
    this.versions.set(`${call.target.region}/${call.target.cell}`, call.version);
    return Promise.resolve({ ok: true, detail: 'ok', durationMs: 1, attempts: 1 });
  }
  deploy = (c: DriverCall) => this.result(c);
  rollback = (c: DriverCall) => this.result(c);
  force = (c: DriverCall) => this.result(c);
  observe = async (t: { region: string; cell: string }) => ({ version: this.versions.get(`${t.region}/${t.cell}`) ?? 'v1', detail: 'ok' });
}

/** Drives the controller in virtual time, feeding passing (or chosen) evidence for every deployed target. */
async function drive(
  c: Controller,
  store: Store,
  clock: VirtualClock,
  id: string,
  opts: { until?: (phase: string, s: RolloutState) => boolean; verdict?: (target: string) => 'pass' | 'fail'; maxSteps?: number } = {},
) {
  for (let i = 0; i < (opts.maxSteps ?? 100_000); i++) {
    const next = await c.tick();
    await c.idle();
    const rec = (await store.getRollout(id))!;
    const s = rec.state as RolloutState;
    if (opts.until ? opts.until(rec.phase, s) : ['completed', 'rolled_back', 'failed'].includes(rec.phase)) return rec;
    const now = clock.now();
    await store.recordObservations(
      Object.values(s.targets)
        .filter((t) => t.status === 'deployed' || t.status === 'rolled_back')
        .map((t) => ({
          service: 'blob',
          region: t.region,
          cell: t.cell,
          source: 'http',
          at: now,
          // A target put back runs the old version, which passes.
          verdict: t.status === 'rolled_back' ? ('pass' as const) : (opts.verdict?.(t.id) ?? 'pass'),
          version: t.status === 'rolled_back' ? t.fromVersion : s.version,
          detail: 'HTTP 200',
        })),
    );
    clock.set(Math.max(now + 1, Math.min(next ?? now + 10_000, now + 10_000)));
  }
  throw new Error('did not settle');
}

test('the controller runs a rollout to completion from the store, in virtual time', async () => {
  const store = await openStore(':memory:');
  const clock = new VirtualClock();
  const driver = new FakeDriver();
  const cfg = config();
  const rec = await startRollout({ store, config: cfg, clock }, { service: 'blob', version: 'v2', actor: 'test', plan: plan() });
  const c = new Controller({ store, config: cfg, clock, driverFor: () => driver });
  const done = await drive(c, store, clock, rec.id);
  assert.equal(done.phase, 'completed');
  assert.equal(driver.calls.length, 4);
  const events = await store.listEvents({ rolloutId: rec.id });
  const types = events.map((e) => e.type);
  for (const t of [
    'rollout.created',
    'rollout.running',
    'wave.deploying',
    'driver.deploy.started',
    'driver.deploy.succeeded',
    'target.deployed',
    'wave.baking',
    'wave.verified',
    'rollout.completed',
  ]) {
    assert.ok(types.includes(t), `event ${t} appended`);
  }
  assert.equal(types.filter((t) => t === 'wave.verified').length, 3);
  for (const call of driver.calls) assert.equal((await store.getAction(call.key))?.status, 'succeeded');
  await c.stop();
  await store.close();
});

test('after a crash, a started action is repeated with the same key and a finished one is not', async () => {
  const clock = new VirtualClock();
  const store = await openStore(':memory:', { clock });
  const cfg = config();
  const rec = await startRollout({ store, config: cfg, clock }, { service: 'blob', version: 'v2', actor: 'test', plan: plan() });

  // Controller A starts the canary deploy and "dies" with the call in flight.
  const a = new FakeDriver();
  const key = `${rec.id}:r1/c1:deploy:1`;
  a.hang.add(key);
  const ca = new Controller({ store, config: cfg, clock, driverFor: () => a, holder: 'A', leaseMs: 30_000 });
  await ca.tick();
  // Wait for the call to be under way (recorded, then handed to the driver), not for a fixed time.
  while (!a.calls.some((c) => c.key === key)) await new Promise((r) => setTimeout(r, 5));
  assert.equal((await store.getAction(key))?.status, 'started');

  // Controller B cannot take the rollout while A's lease holds, then repeats the same key.
  const b = new FakeDriver();
  const cb = new Controller({ store, config: cfg, clock, driverFor: () => b, holder: 'B', leaseMs: 30_000 });
  await cb.tick();
  await cb.idle();
  assert.equal(b.calls.length, 0, 'the lease keeps a second controller off');
  clock.advance(31_000);
  await drive(cb, store, clock, rec.id, { until: (_p, s) => s.targets['r2/c1'].status === 'deploying' });
  assert.deepEqual(
    b.calls.filter((x) => x.target.region === 'r1').map((x) => x.key),
    [key],
  );
  const started = (await store.listEvents({ rolloutId: rec.id, types: ['driver.deploy.started'] })).filter(
    (e) => (e.data as { key: string }).key === key,
  );
  assert.deepEqual(
    started.map((e) => (e.data as { repeated: boolean }).repeated),
    [false, true],
  );

  // A driver call finished in the store but not yet in the state (crash between the two) is not repeated.
  const w2 = [`${rec.id}:r2/c1:deploy:1`, `${rec.id}:r2/c2:deploy:1`];
  const c = new FakeDriver();
  for (const k of w2) {
    await store.beginAction(k, rec.id, clock.now());
    await store.finishAction(k, 'succeeded', clock.now(), { ok: true, detail: 'ok' });
  }
  await cb.stop();
  clock.advance(31_000);
  const cc = new Controller({ store, config: cfg, clock, driverFor: () => c, holder: 'C' });
  const done = await drive(cc, store, clock, rec.id);
  assert.equal(done.phase, 'completed');
  assert.ok(!c.calls.some((x) => w2.includes(x.key)), 'finished calls are answered from the store');
  await cc.stop();
  await store.close();
});

test('a failing gate halts and the controller rolls back the touched targets; abort does the same', async () => {
  const store = await openStore(':memory:');
  const clock = new VirtualClock();
  const cfg = config();
  const driver = new FakeDriver();
  const rec = await startRollout({ store, config: cfg, clock }, { service: 'blob', version: 'v2', actor: 'test', plan: plan() });
  const c = new Controller({ store, config: cfg, clock, driverFor: () => driver });
  const done = await drive(c, store, clock, rec.id, { verdict: (t) => (t.startsWith('r2/') ? 'fail' : 'pass') });
  assert.equal(done.phase, 'rolled_back');
  assert.deepEqual(
    driver.calls
      .filter((x) => x.key.includes(':rollback:'))
      .map((x) => `${x.target.region}/${x.target.cell}`)
      .sort(),
    ['r1/c1', 'r2/c1', 'r2/c2'],
  );
  for (const v of driver.versions.values()) assert.equal(v, 'v1');

  const rec2 = await startRollout({ store, config: cfg, clock }, { service: 'blob', version: 'v3', actor: 'test', plan: plan() });
  await drive(c, store, clock, rec2.id, { until: (_p, s) => s.waves[0].status === 'baking' });
  await abortRollout({ store, clock }, rec2.id, 'cli:test');
  const aborted = await drive(c, store, clock, rec2.id);
  assert.equal(aborted.phase, 'rolled_back');
  assert.equal((aborted.state as RolloutState).stop?.kind, 'abort');
  await c.stop();
  await store.close();
});

test('a controller woken after its lease expired cannot write state or start a driver call; the new holder goes on', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'etape-fenced-'));
  // The store's clock is virtual too: "A sleeps" is the store's time passing while A does nothing.
  const clock = new VirtualClock();
  const storeA = await openStore(join(dir, 'etape.db'), { clock });
  const storeB = await openStore(join(dir, 'etape.db'), { clock });
  const cfg = config();
  const rec = await startRollout({ store: storeA, config: cfg, clock }, { service: 'blob', version: 'v2', actor: 'test', plan: plan() });
  const key = `${rec.id}:r1/c1:deploy:1`;

  // A's canary deploy is under way when A stops (a GC pause, SIGSTOP, a VM migration).
  let wake!: () => void;
  const aCalls: string[] = [];
  const a: Driver = {
    deploy: (c) => {
      aCalls.push(c.key);
      return new Promise((r) => (wake = () => r({ ok: true, detail: 'ok', durationMs: 1, attempts: 1 })));
    },
    rollback: async (c) => (aCalls.push(c.key), { ok: true, detail: 'ok', durationMs: 1, attempts: 1 }),
    force: async (c) => (aCalls.push(c.key), { ok: true, detail: 'ok', durationMs: 1, attempts: 1 }),
    observe: async () => ({ detail: 'n/a' }),
  };
  const ca = new Controller({ store: storeA, config: cfg, clock, driverFor: () => a, holder: 'A', leaseMs: 30_000 });
  await ca.tick();
  while (!aCalls.includes(key)) await new Promise((r) => setTimeout(r, 5));
  const fenceA = ca.fenceOf(rec.id)!;
  assert.ok(fenceA, 'A holds the lease');

  // A sleeps past its lease and past the call's deadline; B takes the rollout over and repeats the call.
  clock.advance(120_000);
  const b = new FakeDriver();
  const cb = new Controller({ store: storeB, config: cfg, clock, driverFor: () => b, holder: 'B', leaseMs: 30_000 });
  await cb.tick();
  await cb.idle();
  assert.deepEqual(
    b.calls.map((c) => c.key),
    [key],
    'B repeats the call once A can no longer be running it',
  );
  const tokenB = (await storeB.getLease(`rollout:${rec.id}`))!.token;
  assert.ok(tokenB > fenceA.token);
  await cb.tick();
  await cb.idle();
  const before = (await storeA.getRollout(rec.id))!;
  const eventsBefore = (await storeA.listEvents({ rolloutId: rec.id })).length;

  // A wakes: its call returns, it tries to record it, to save state, to go on.
  wake();
  await ca.idle();
  for (let i = 0; i < 3; i++) {
    await ca.tick();
    await ca.idle();
  }
  const after = (await storeA.getRollout(rec.id))!;
  assert.equal(after.revision, before.revision, 'A saved no state');
  assert.equal((await storeA.listEvents({ rolloutId: rec.id })).length, eventsBefore, 'A appended no event');
  assert.deepEqual(aCalls, [key], 'A started no driver call after it woke');
  assert.equal((await storeA.getAction(key))?.token, tokenB, 'the call stays B’s');
  assert.equal(ca.fenceOf(rec.id), undefined, 'A knows it lost the lease');
  // Each kind of write A could still attempt with its old token is refused by the store itself.
  await assert.rejects(
    storeA.saveRollout(rec.id, after.revision, { phase: after.phase, state: after.state, updatedAt: clock.now() }, [], fenceA),
    /no longer holds lease/,
  );
  assert.equal(await storeA.armAttempt(key, fenceA, 1000), false);

  // B finishes the rollout.
  const done = await drive(cb, storeB, clock, rec.id);
  assert.equal(done.phase, 'completed');
  await ca.stop();
  await cb.stop();
  await storeA.close();
  await storeB.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a rollout whose stored state does not fit is logged once, naming it and the field, and the others go on', async () => {
  const store = await openStore(':memory:');
  const clock = new VirtualClock();
  const driver = new FakeDriver();
  const cfg = config();
  const rec = await startRollout({ store, config: cfg, clock }, { service: 'blob', version: 'v2', actor: 'test', plan: plan() });
  // Another service's rollout, stored by something that wrote a wave status this etape does not know.
  const s = structuredClone(rec.state) as RolloutState;
  const state = { ...s, id: 'broken-1', service: 'table', waves: [{ ...s.waves[0], status: 'cooking' }, ...s.waves.slice(1)] };
  await store.createRollout({ id: 'broken-1', service: 'table', version: 'v2', phase: 'running', state, createdAt: 0, updatedAt: 0 }, []);
  const lines: { msg: string; rollout?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const c = new Controller({ store, config: cfg, clock, driverFor: () => driver, log });
  const done = await drive(c, store, clock, rec.id);
  assert.equal(done.phase, 'completed');
  const said = lines.filter((l) => l.rollout === 'broken-1');
  assert.equal(said.length, 1, JSON.stringify(said));
  assert.match(said[0].msg, /rollout broken-1 is not valid: waves\[0\]\.status/);
  assert.equal((await store.getRollout('broken-1'))?.revision, 1, 'left as stored');
  await c.stop();
  await store.close();
});

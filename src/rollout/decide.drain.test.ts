// Drain before rollback: a failing target is taken out of rotation before its way back, and put back once it
// passes on the old version; a failed drain does not hold the way back; the pair rule covers both calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handPlan, probeGateSpec, Sim } from '../../test/sim.js';
import type { DriverAction } from './decide.js';

const HOUR = 3_600_000;
const healthy = () => ({ verdict: 'pass' as const, detail: 'HTTP 200' });
const plan = () =>
  handPlan('blob', [
    { targets: ['r1/c1'], bakeMs: HOUR, gates: ['health'] },
    { targets: ['r2/c1', 'r2/c2'], bakeMs: HOUR, gates: ['health'] },
  ]);
const id = (a: DriverAction) => `${a.target.region}/${a.target.cell}`;
const kinds = (sim: Sim, target: string) => sim.calls.filter((c) => id(c) === target).map((c) => c.kind);

test('a hung canary is drained, then forced, then restored once it passes on the old version', () => {
  const sim = new Sim({
    plan: plan(),
    gates: [probeGateSpec()],
    drain: true,
    probe: (_id, v) => (v === 'v2' ? { verdict: 'fail', detail: 'timeout after 2s', timedOut: true } : healthy()),
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.deepEqual(kinds(sim, 'r1/c1'), ['deploy', 'drain', 'force', 'restore']);
  const types = sim.events.map((e) => e.type);
  const at = (t: string) => types.indexOf(t);
  assert.ok(at('rollout.halted') < at('target.draining'));
  assert.ok(at('target.drained') < at('target.forcing'), 'forced only after the drain returned');
  assert.ok(at('target.proven_back') < at('target.restoring'), 'restored only once it passes on the old version');
  assert.ok(at('target.restored') > 0);
  const t = sim.state.targets['r1/c1'];
  assert.equal(t.drained, false);
  assert.equal(t.status, 'rolled_back');
  // Each call has a key of its own (I5).
  assert.equal(new Set(sim.calls.map((c) => c.key)).size, sim.calls.length);
  assert.deepEqual(
    sim.calls.filter((c) => c.kind === 'drain' || c.kind === 'restore').map((c) => c.key),
    ['r1:r1/c1:drain:1', 'r1:r1/c1:restore:1'],
  );
});

test('without drain in the driver nothing is drained', () => {
  const sim = new Sim({
    plan: plan(),
    gates: [probeGateSpec()],
    probe: (_id, v) => (v === 'v2' ? { verdict: 'fail', detail: 'HTTP 500' } : healthy()),
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.deepEqual(kinds(sim, 'r1/c1'), ['deploy', 'rollback']);
});

test('only failing targets are drained; healthy ones the rollout touched roll back in rotation', () => {
  const sim = new Sim({
    plan: plan(),
    gates: [probeGateSpec()],
    drain: true,
    probe: (t, v) => (v === 'v2' && t === 'r2/c1' ? { verdict: 'fail', detail: 'HTTP 500' } : healthy()),
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.deepEqual(kinds(sim, 'r2/c1'), ['deploy', 'drain', 'rollback', 'restore']);
  assert.deepEqual(kinds(sim, 'r2/c2'), ['deploy', 'rollback']);
  assert.deepEqual(kinds(sim, 'r1/c1'), ['deploy', 'rollback']);
});

test('a drain that fails is recorded and the way back goes on at once; nothing is restored', () => {
  const sim = new Sim({
    plan: plan(),
    gates: [probeGateSpec()],
    drain: true,
    probe: (_id, v) => (v === 'v2' ? { verdict: 'fail', detail: 'timeout after 2s', timedOut: true } : healthy()),
    driver: (a) => (a.kind === 'drain' ? { ok: false, detail: 'timeout after 5s', timedOut: true } : { ok: true, detail: 'ok' }),
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.deepEqual(kinds(sim, 'r1/c1'), ['deploy', 'drain', 'force']);
  const failed = sim.eventsOf('target.drain_failed')[0];
  assert.ok(failed, 'the failed drain is an event');
  assert.deepEqual((failed.data as { then: string; timedOut: boolean }).then, 'force');
  const forcing = sim.eventsOf('target.forcing')[0];
  assert.equal(forcing.at, failed.at, 'forced in the same decision that saw the drain fail');
});

test('a restore that keeps failing leaves the target back on the old version, out of rotation, for a person', () => {
  const sim = new Sim({
    plan: plan(),
    gates: [probeGateSpec()],
    drain: true,
    probe: (_id, v) => (v === 'v2' ? { verdict: 'fail', detail: 'HTTP 500' } : healthy()),
    driver: (a) => (a.kind === 'restore' ? { ok: false, detail: 'exit 1' } : { ok: true, detail: 'ok' }),
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.deepEqual(kinds(sim, 'r1/c1'), ['deploy', 'drain', 'rollback', 'restore', 'restore']);
  const last = sim.eventsOf('target.restore_failed').at(-1)!;
  assert.equal((last.data as { retrying: boolean }).retrying, false);
  assert.match((last.data as { reason: string }).reason, /out of rotation: put it back by hand/);
  assert.equal(sim.state.targets['r1/c1'].drained, true);
  assert.equal(sim.versions.get('r1/c1'), 'v1');
});

test('I2: a partner region waits while its failing partner drains, goes back and is restored', () => {
  // r1 is paired with r2. Only r2/c1 fails: r1/c1 (healthy) may not go back while r2 is changed at all.
  const sim = new Sim({
    plan: plan(),
    gates: [probeGateSpec()],
    drain: true,
    pairs: [['r1', 'r2']],
    probe: (t, v) => (v === 'v2' && t === 'r2/c1' ? { verdict: 'fail', detail: 'HTTP 500' } : healthy()),
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  const r2done = sim.events.findIndex((e) => e.type === 'target.restored' && (e.data as { target: string }).target === 'r2/c1');
  const r1start = sim.events.findIndex((e) => e.type === 'target.rolling_back' && (e.data as { target: string }).target === 'r1/c1');
  assert.ok(r2done >= 0 && r1start > r2done, 'r1 starts back only after r2/c1 is restored');
});

test('a target that starts failing while it waits for its turn is drained and goes back with the failing ones', () => {
  const twoCells = handPlan('blob', [{ targets: ['r1/c1', 'r1/c2'], bakeMs: HOUR, gates: ['health'] }]);
  let rollingBack = false;
  const sim: Sim = new Sim({
    plan: twoCells,
    gates: [probeGateSpec()],
    drain: true,
    probe: (t, v) => {
      rollingBack ||= sim.state.phase === 'rolling_back';
      // r1/c1 fails at once; r1/c2 only once the rollback has begun.
      return v === 'v2' && (t === 'r1/c1' || rollingBack) ? { verdict: 'fail', detail: 'HTTP 500' } : healthy();
    },
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.deepEqual(kinds(sim, 'r1/c2'), ['deploy', 'drain', 'rollback', 'restore']);
  const rb = sim.eventsOf('rollout.rolling_back')[0];
  assert.deepEqual((rb.data as { failing: string[] }).failing, ['r1/c1'], 'r1/c2 was healthy when the rollback began');
  assert.equal((sim.eventsOf('target.failing')[0].data as { target: string }).target, 'r1/c2');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handPlan, probeGateSpec, Sim } from '../../test/sim.js';
import { decide } from './decide.js';
import type { NewEvent } from '../store/store.js';

const HOUR = 3_600_000;
const threeWaves = (bakeMs = HOUR, w2: { approval?: boolean; gates?: string[] } = {}) =>
  handPlan('blob', [
    { targets: ['r1/c1'], bakeMs, gates: ['health'] },
    { targets: ['r2/c1', 'r2/c2'], bakeMs, gates: w2.gates ?? ['health'], approval: w2.approval },
    { targets: ['r3/c1', 'r4/c1'], bakeMs, gates: ['health'] },
  ]);
const healthy = () => ({ verdict: 'pass' as const, detail: 'HTTP 200' });

/** I1 at runtime, from the event log: no wave starts deploying before every earlier wave was verified. */
function assertWaveOrder(events: NewEvent[]): void {
  const verified = new Set<number>();
  for (const e of events) {
    const d = e.data as { wave?: number };
    if (e.type === 'wave.verified') verified.add(d.wave!);
    if (e.type === 'wave.deploying')
      for (let i = 1; i < d.wave!; i++) assert.ok(verified.has(i), `wave ${d.wave} started before wave ${i} was verified`);
  }
}

test('a three-wave rollout with one-hour bakes completes in virtual time', () => {
  const sim = new Sim({ plan: threeWaves(), gates: [probeGateSpec()], probe: healthy });
  const t0 = sim.clock.now();
  const wall = performance.now();
  sim.run();
  const wallMs = performance.now() - wall;
  assert.equal(sim.state.phase, 'completed');
  assert.ok(sim.clock.now() - t0 >= 3 * HOUR, 'three hours of bake passed');
  assert.ok(sim.clock.now() - t0 < 3 * HOUR + 5 * 60_000, 'and not much more');
  for (const w of sim.state.waves) assert.equal(w.bakeAccruedMs, HOUR);
  assert.deepEqual(
    sim.eventsOf('wave.verified').map((e) => (e.data as { wave: number }).wave),
    [1, 2, 3],
  );
  assertWaveOrder(sim.events);
  // Every target deployed exactly once, all on the new version.
  assert.equal(sim.calls.length, 5);
  assert.ok(sim.calls.every((c) => c.kind === 'deploy'));
  assert.equal(new Set(sim.calls.map((c) => c.key)).size, 5);
  for (const v of sim.versions.values()) assert.equal(v, 'v2');
  process.stdout.write(`# three one-hour waves took ${wallMs.toFixed(1)} ms of wall time\n`);
});

test('a gate failure in wave 2 halts and rolls back exactly the targets the rollout touched', () => {
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: (id, version) => (id.startsWith('r2/') && version === 'v2' ? { verdict: 'fail', detail: 'HTTP 500' } : healthy()),
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.equal(sim.state.stop?.kind, 'halt');
  assert.match(sim.state.stop!.reason, /gate health failed in wave 2/);
  const rolledBack = sim.calls
    .filter((c) => c.kind === 'rollback')
    .map((c) => `${c.target.region}/${c.target.cell}`)
    .sort();
  assert.deepEqual(rolledBack, ['r1/c1', 'r2/c1', 'r2/c2']);
  assert.ok(!sim.calls.some((c) => c.target.region === 'r3' || c.target.region === 'r4'), 'wave 3 never touched');
  for (const [id, v] of sim.versions) assert.equal(v, 'v1', id);
  assert.equal(sim.eventsOf('wave.deploying').length, 2);
  // k = 3 consecutive failures, not the first one.
  const halted = sim.eventsOf('rollout.halted')[0];
  const deployedW2 = sim.events.filter((e) => e.type === 'target.deployed' && (e.data as { wave: number }).wave === 2).at(-1)!;
  assert.ok(halted.at - deployedW2.at >= 2 * 10_000, 'halt waits for k failures');
  assert.ok(halted.at - deployedW2.at <= 3 * 10_000, 'but no longer');
});

test('erroring evidence accrues no bake and halts after its limit', () => {
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: () => ({ verdict: 'error', detail: 'connection refused by the metrics proxy' }),
  });
  sim.run();
  assert.equal(sim.state.waves[0].bakeAccruedMs, 0);
  // The probe errors on the old version too: the driver put the canary back, but nothing proves it runs (I3).
  assert.equal(sim.state.phase, 'failed');
  assert.match(sim.state.targets['r1/c1'].lastError ?? '', /back on v1 by the driver, but no probe passed on it/);
  const halted = sim.eventsOf('rollout.halted')[0];
  assert.match((halted.data as { reason: string }).reason, /kept erroring/);
  assert.equal((halted.data as { verdict: string }).verdict, 'error');
  // consecutiveErrorLimit 4: the fifth consecutive error of the new version halts, not an earlier one (the
  // measurement taken at the instant of the deploy answered from v1 and is no evidence about v2, I9).
  const errorsBefore = sim.observations.filter((o) => o.at <= halted.at && o.region === 'r1' && o.version === 'v2').length;
  assert.equal(errorsBefore, 5);
  assert.ok(!sim.events.some((e) => e.type === 'wave.verified'));
});

test('stale evidence accrues no bake', () => {
  // The prober goes silent for two hours in the middle of the canary bake.
  let t0 = 0;
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: (_id, _v, now) => {
      t0 ||= now;
      return now - t0 > 20 * 60_000 && now - t0 < 140 * 60_000 ? undefined : healthy();
    },
  });
  sim.run({ until: (s) => s.waves[0].status === 'verified' });
  const verifiedAt = sim.state.waves[0].verifiedAt!;
  // One hour of bake needs at least one hour of fresh passing evidence: the silent two hours do not count.
  assert.ok(verifiedAt - t0 >= 2 * HOUR + 55 * 60_000, `verified too early: ${(verifiedAt - t0) / 60_000} min`);
  assert.ok(sim.eventsOf('wave.bake_held').length >= 1);
  assert.ok(sim.events.some((e) => e.type === 'gate.verdict' && (e.data as { verdict: string }).verdict === 'inconclusive'));
});

test('an approval gate waits for approval', () => {
  const sim = new Sim({ plan: threeWaves(HOUR, { approval: true }), gates: [probeGateSpec()], probe: healthy });
  sim.run({ until: (s) => s.waves[1].status === 'awaiting_approval' });
  sim.run({ maxMs: 10 * HOUR });
  assert.equal(sim.state.phase, 'running');
  assert.equal(sim.state.waves[1].status, 'awaiting_approval');
  assert.ok(!sim.calls.some((c) => c.target.region === 'r2'));
  sim.command({ kind: 'approve', wave: 2 });
  sim.run();
  assert.equal(sim.state.phase, 'completed');
  assert.equal(sim.eventsOf('wave.approved')[0].actor, 'cli:test');
  assertWaveOrder(sim.events);
});

test('an approval gate in the bake holds verification until approved', () => {
  const plan = threeWaves(HOUR, { gates: ['health', 'sign-off'] });
  const approval = { ...probeGateSpec('sign-off'), kind: 'approval', sources: [] };
  const sim = new Sim({ plan, gates: [probeGateSpec(), approval], probe: healthy });
  sim.run({ until: (s) => s.waves[1].bakeAccruedMs >= HOUR });
  sim.run({ maxMs: 5 * HOUR });
  assert.equal(sim.state.waves[1].status, 'baking');
  sim.command({ kind: 'approve' });
  sim.run();
  assert.equal(sim.state.phase, 'completed');
});

test('pause holds: no bake accrues and no wave starts until resume', () => {
  const sim = new Sim({ plan: threeWaves(), gates: [probeGateSpec()], probe: healthy });
  sim.run({ until: (s) => s.waves[0].bakeAccruedMs >= 20 * 60_000 });
  sim.command({ kind: 'pause' });
  const accrued = sim.state.waves[0].bakeAccruedMs;
  sim.run({ maxMs: 5 * HOUR });
  assert.equal(sim.state.phase, 'paused');
  assert.equal(sim.state.waves[0].bakeAccruedMs, accrued);
  assert.equal(sim.state.waves[1].status, 'waiting');
  sim.command({ kind: 'resume' });
  sim.run();
  assert.equal(sim.state.phase, 'completed');
  assertWaveOrder(sim.events);
});

test('pause between waves: the next wave does not start', () => {
  const sim = new Sim({ plan: threeWaves(), gates: [probeGateSpec()], probe: healthy });
  sim.run({ until: (s) => s.waves[0].bakeAccruedMs >= HOUR - 10_000 });
  sim.command({ kind: 'pause' });
  sim.run({ maxMs: 5 * HOUR });
  assert.ok(!sim.calls.some((c) => c.target.region === 'r2'));
});

test('abort rolls back every touched target and ends rolled_back with the reason', () => {
  const sim = new Sim({ plan: threeWaves(), gates: [probeGateSpec()], probe: healthy });
  sim.run({ until: (s) => s.waves[1].status === 'baking' });
  sim.command({ kind: 'abort', reason: 'wrong build' }, 'api:ops');
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.deepEqual(sim.state.stop && { kind: sim.state.stop.kind, by: sim.state.stop.by }, { kind: 'abort', by: 'api:ops' });
  const rolledBack = sim.calls
    .filter((c) => c.kind === 'rollback')
    .map((c) => `${c.target.region}/${c.target.cell}`)
    .sort();
  assert.deepEqual(rolledBack, ['r1/c1', 'r2/c1', 'r2/c2']);
  for (const v of sim.versions.values()) assert.equal(v, 'v1');
});

test('a driver that keeps failing is retried up to the limit, then the rollout halts and never goes past it', () => {
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: healthy,
    limits: { deployAttempts: 3 },
    driver: (a) =>
      a.kind === 'deploy' && a.target.cell === 'c2'
        ? { ok: false, detail: 'timeout after 60s', timedOut: true }
        : { ok: true, detail: 'exit 0' },
  });
  sim.run();
  const tries = sim.calls.filter((c) => c.kind === 'deploy' && c.target.cell === 'c2');
  assert.deepEqual(
    tries.map((c) => c.key.split(':').slice(-2).join(':')),
    ['deploy:1', 'deploy:2', 'deploy:3'],
  );
  assert.match(sim.state.stop!.reason, /could not deploy r2\/c2 after 3/);
  assert.ok(!sim.calls.some((c) => c.target.region === 'r3'));
  assert.equal(sim.state.phase, 'rolled_back');
});

test('a rollback that fails is forced; a force that keeps failing leaves the rollout failed for a person', () => {
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: (id, v) => (v === 'v2' && id === 'r1/c1' ? { verdict: 'fail', detail: 'HTTP 503' } : healthy()),
    driver: (a) =>
      a.kind === 'rollback'
        ? { ok: false, detail: 'exit 1' }
        : a.kind === 'force'
          ? { ok: false, detail: 'exit 2' }
          : { ok: true, detail: 'ok' },
  });
  sim.run();
  assert.deepEqual(
    sim.calls.map((c) => c.kind),
    ['deploy', 'rollback', 'force', 'force', 'force'],
  );
  assert.equal(sim.state.phase, 'failed');
  assert.equal(sim.state.targets['r1/c1'].status, 'failed');
});

test('a hung target is forced straight away: rollback does not depend on the bad process', () => {
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: (_id, v) => (v === 'v2' ? { verdict: 'fail', detail: 'timeout after 2s', timedOut: true } : healthy()),
  });
  sim.run();
  assert.deepEqual(
    sim.calls.map((c) => c.kind),
    ['deploy', 'force'],
  );
  assert.equal(sim.state.phase, 'rolled_back');
  assert.equal(sim.versions.get('r1/c1'), 'v1');
  const forcing = sim.eventsOf('target.forcing')[0];
  assert.match(
    (forcing.data as { reason: string }).reason,
    /target does not answer: gate health: 3 consecutive failures \(timeout after 2s\)/,
  );
});

test('an errors-only fault is rolled back gracefully, whatever the words of its evidence', () => {
  // The answers come back (HTTP 500) and their text even mentions timeouts, but nothing timed out: the
  // process listens, so the graceful rollback is the one to use.
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: (_id, v) => (v === 'v2' ? { verdict: 'fail', detail: 'HTTP 500: upstream timeouts 0, timed-out 0' } : healthy()),
  });
  sim.run();
  assert.deepEqual(
    sim.calls.map((c) => c.kind),
    ['deploy', 'rollback'],
  );
  assert.equal(sim.state.phase, 'rolled_back');
  assert.equal(sim.versions.get('r1/c1'), 'v1');
});

test('only the targets their own gate verdict calls hung are forced; the others roll back gracefully', () => {
  const sim = new Sim({
    plan: handPlan('blob', [
      { targets: ['r1/c1', 'r1/c2'], bakeMs: HOUR, gates: ['health'] },
      { targets: ['r2/c1'], bakeMs: HOUR, gates: ['health'] },
    ]),
    gates: [probeGateSpec()],
    probe: (id, v) =>
      v !== 'v2'
        ? healthy()
        : id === 'r1/c1'
          ? { verdict: 'fail', detail: 'timeout after 2s', timedOut: true }
          : { verdict: 'fail', detail: 'HTTP 503' },
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  const back = (id: string) =>
    sim.calls.filter((c) => c.target.region + '/' + c.target.cell === id && c.kind !== 'deploy').map((c) => c.kind);
  assert.deepEqual(back('r1/c1'), ['force']);
  assert.deepEqual(back('r1/c2'), ['rollback']);
  assert.deepEqual(back('r2/c1'), [], 'wave 2 was never touched');
});

test('a driver call without an outcome is asked again with the same key (resume after a crash)', () => {
  const sim = new Sim({ plan: threeWaves(), gates: [probeGateSpec()], probe: healthy });
  const d1 = decide(sim.state, { observations: [], outcomes: {} }, sim.clock.now());
  const d2 = decide(d1.nextState, { observations: [], outcomes: {} }, sim.clock.now() + 5000);
  const keys = (d: typeof d1) => d.actions.filter((a) => a.kind === 'deploy').map((a) => (a as { key: string }).key);
  assert.deepEqual(keys(d1), ['r1:r1/c1:deploy:1']);
  assert.deepEqual(keys(d2), keys(d1));
  assert.equal(d2.events.length, 0, 'nothing new happened');
});

test('decide never mutates its input', () => {
  const sim = new Sim({ plan: threeWaves(), gates: [probeGateSpec()], probe: healthy });
  const frozen = JSON.stringify(sim.state);
  decide(sim.state, { observations: [], outcomes: {} }, sim.clock.now());
  assert.equal(JSON.stringify(sim.state), frozen);
});

test('no wave starts inside a freeze window; the next one starts when it ends', () => {
  const sim = new Sim({ plan: threeWaves(), gates: [probeGateSpec()], probe: healthy });
  const t0 = sim.clock.now();
  sim.state = { ...sim.state, freeze: [{ start: t0 + 30 * 60_000, end: t0 + 5 * HOUR, reason: 'holiday' }] };
  sim.run();
  assert.equal(sim.state.phase, 'completed');
  const w2 = sim.events.find((e) => e.type === 'wave.deploying' && (e.data as { wave: number }).wave === 2)!;
  assert.equal(w2.at, t0 + 5 * HOUR, 'wave 2 waited for the end of the freeze');
});

test('a deploy that changes nothing never completes: retried, then halted naming the target and the version it still runs (I9)', () => {
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: healthy,
    versionCheck: { timeoutMs: 60_000, everyMs: 10_000, observe: true, sources: null },
    takesEffect: (a) => a.kind !== 'deploy',
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.match(sim.state.stop!.reason, /could not deploy v2 to r1\/c1: it still runs v1/);
  assert.equal(sim.calls.filter((c) => c.kind === 'deploy').length, 2, 'two attempts');
  assert.ok(!sim.events.some((e) => e.type === 'wave.baking'), 'no bake on evidence from the old version');
  assert.ok(!sim.events.some((e) => e.type === 'target.deployed'));
});

test('bake starts only once the target reports the new version; evidence from the old one does not count (I9)', () => {
  // The deploy takes effect 45 s after the driver returns (a slow restart).
  const applied = new Map<string, number>();
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: healthy,
    versionCheck: { timeoutMs: 120_000, everyMs: 5_000, observe: true, sources: null },
    takesEffect: (a) => {
      if (a.kind !== 'deploy') return true;
      applied.set(`${a.target.region}/${a.target.cell}`, sim.clock.now());
      return false;
    },
  });
  const tick = sim.tick.bind(sim);
  sim.tick = () => {
    for (const [id, at] of applied) if (sim.clock.now() - at >= 45_000) sim.versions.set(id, 'v2');
    return tick();
  };
  sim.run();
  assert.equal(sim.state.phase, 'completed');
  for (const e of sim.eventsOf('target.deployed')) {
    const returned = sim.events.find(
      (x) => x.type === 'target.deploy_returned' && (x.data as { target: string }).target === (e.data as { target: string }).target,
    )!;
    assert.ok(e.at - returned.at >= 45_000, 'deployed only once it reports v2');
  }
});

test('rollout retry: a failed rollback goes again for what is not back, with keys of its own, and ends rolled_back', () => {
  let forceWorks = false;
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: (id, version) => (id.startsWith('r2/') && version === 'v2' ? { verdict: 'fail', detail: 'HTTP 500' } : healthy()),
    driver: (a) =>
      a.kind === 'deploy' || (a.kind === 'force' && forceWorks) ? { ok: true, detail: 'ok' } : { ok: false, detail: 'exit 1' },
  });
  sim.run();
  assert.equal(sim.state.phase, 'failed');
  forceWorks = true;
  sim.command({ kind: 'retry' }, 'cli:alice');
  assert.equal(sim.state.phase, 'rolling_back');
  assert.equal(sim.events.at(-1)!.actor, 'cli:alice');
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  assert.equal(sim.state.rollback?.round, 2);
  const keys = sim.calls.map((c) => c.key);
  assert.equal(new Set(keys).size, keys.length, 'no key repeats across rounds');
  for (const id of ['r1/c1', 'r2/c1', 'r2/c2']) assert.equal(sim.versions.get(id), 'v1');
  assert.throws(() => sim.command({ kind: 'retry' }), /cannot retry/);
});

test('force a target inside a failed rollback: only that target is forced, by who asked, and the rollout ends rolled_back', () => {
  let forceWorks = false;
  const sim = new Sim({
    plan: threeWaves(),
    gates: [probeGateSpec()],
    probe: (id, version) => (id === 'r2/c1' && version === 'v2' ? { verdict: 'fail', detail: 'HTTP 500' } : healthy()),
    // Only r2/c1's way back fails, until the person forces it.
    driver: (a) =>
      a.kind === 'deploy' || a.target.region !== 'r2' || a.target.cell !== 'c1' || (a.kind === 'force' && forceWorks)
        ? { ok: true, detail: 'ok' }
        : { ok: false, detail: 'exit 1' },
  });
  sim.run();
  assert.equal(sim.state.phase, 'failed');
  assert.equal(sim.state.targets['r2/c1'].status, 'failed');
  assert.throws(() => sim.command({ kind: 'force', target: 'r2/c2' }), /only a target whose rollback failed/);
  assert.throws(() => sim.command({ kind: 'force', target: 'r9/c1' }), /has no target r9\/c1/);
  forceWorks = true;
  const before = sim.calls.length;
  sim.command({ kind: 'force', target: 'r2/c1' }, 'api:ops');
  assert.equal(sim.state.phase, 'rolling_back');
  const asked = sim.events.find((e) => e.type === 'target.force_requested')!;
  assert.equal(asked.actor, 'api:ops');
  assert.deepEqual(asked.data, { target: 'r2/c1', version: 'v1' });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  const calls = sim.calls.slice(before);
  assert.deepEqual(
    calls.map((c) => `${c.kind}:${c.target.region}/${c.target.cell}:${c.version}`),
    ['force:r2/c1:v1'],
  );
  assert.equal(sim.versions.get('r2/c1'), 'v1');
  assert.equal(new Set(sim.calls.map((c) => c.key)).size, sim.calls.length, 'the force has a key of its own');
});

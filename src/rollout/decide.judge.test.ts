// Bake accrues with data volume as well as time: a gate that reports evidenceFraction (the canary judge)
// must reach 1 before its wave is verified, however long the wave has baked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GateSpec } from '../gates/gate.js';
import { handPlan, Sim } from '../../test/sim.js';

const MIN = 60_000;

function judgeSpec(name = 'canary-judge'): GateSpec {
  return {
    name,
    kind: 'judge',
    sources: [name],
    intervalMs: 10_000,
    freshForMs: 40_000,
    failureLimit: 0,
    consecutiveErrorLimit: 4,
    inconclusiveLimit: 10,
    config: { kind: 'judge', name } as unknown as GateSpec['config'],
  };
}

const twoWaves = () =>
  handPlan('blob', [
    { targets: ['r1/c1'], bakeMs: 10 * MIN, gates: ['canary-judge'] },
    { targets: ['r2/c1'], bakeMs: 10 * MIN, gates: ['canary-judge'] },
  ]);

test('a passing judge gate with evidenceFraction 0.5 holds the wave after its bake time; it verifies once the fraction reaches 1', () => {
  let fraction = 0.5;
  const sim = new Sim({
    plan: twoWaves(),
    gates: [judgeSpec()],
    probe: (_id, version) =>
      version === 'v2'
        ? { source: 'canary-judge', verdict: 'pass', value: 100, evidenceFraction: fraction, detail: 'no regression' }
        : undefined,
  });
  const t0 = sim.clock.now();
  // Twice the bake time: the time has accrued, the data has not.
  sim.run({ maxMs: 20 * MIN });
  const w1 = sim.state.waves[0];
  assert.equal(sim.state.phase, 'running');
  assert.equal(w1.status, 'baking', 'not verified while the evidence is half complete');
  assert.equal(w1.bakeAccruedMs, w1.bakeMs, 'the bake time itself has accrued');
  assert.ok(sim.clock.now() - t0 >= 20 * MIN - 10_000);
  assert.equal(sim.eventsOf('wave.verified').length, 0);
  assert.equal(sim.eventsOf('wave.bake_waiting_for_data').length, 1, 'said once, not at every look');
  assert.equal(w1.verdicts[0].evidenceFraction, 0.5);
  assert.equal(sim.calls.filter((c) => c.kind === 'deploy').length, 1, 'wave 2 did not start');

  fraction = 1;
  const at = sim.clock.now();
  sim.run({ until: (s) => s.waves[0].status === 'verified', maxMs: 5 * MIN });
  assert.equal(sim.state.waves[0].status, 'verified');
  assert.ok(sim.clock.now() - at <= 20_000, 'verified at the first looks after the fraction reached 1');
  sim.run();
  assert.equal(sim.state.phase, 'completed');
});

test('a judge gate with complete evidence from the start verifies after the bake time, as before', () => {
  const sim = new Sim({
    plan: twoWaves(),
    gates: [judgeSpec()],
    probe: (_id, version) => (version === 'v2' ? { source: 'canary-judge', verdict: 'pass', value: 100, evidenceFraction: 1 } : undefined),
  });
  const t0 = sim.clock.now();
  sim.run();
  assert.equal(sim.state.phase, 'completed');
  assert.ok(sim.clock.now() - t0 < 20 * MIN + 2 * MIN);
  assert.equal(sim.eventsOf('wave.bake_waiting_for_data').length, 0);
});

test('a failing judge gate halts the rollout, and the halt names the gate and its kind', () => {
  const sim = new Sim({
    plan: twoWaves(),
    gates: [judgeSpec()],
    probe: (_id, version) =>
      version === 'v2'
        ? { source: 'canary-judge', verdict: 'fail', value: 0, evidenceFraction: 0.4, detail: 'errors rate +900%' }
        : undefined,
  });
  sim.run();
  assert.equal(sim.state.phase, 'rolled_back');
  const halted = sim.eventsOf('rollout.halted')[0];
  assert.equal((halted.data as { gate: string }).gate, 'canary-judge');
  assert.equal((halted.data as { kind: string }).kind, 'judge');
  assert.match(sim.state.stop!.reason, /gate canary-judge failed in wave 1: .*errors rate/);
});

test('in the last wave, with no target left on the old version, the judge gate is skipped (said once) and the other gates decide', () => {
  const sim: Sim = new Sim({
    plan: handPlan('blob', [
      { targets: ['r1/c1'], bakeMs: 10 * MIN, gates: ['canary-judge'] },
      { targets: ['r2/c1'], bakeMs: 10 * MIN, gates: ['canary-judge'] },
    ]),
    gates: [judgeSpec()],
    // The runner writes nothing without a baseline: only wave 1's looks exist.
    probe: (id: string, version: string): { source: string; verdict: 'pass'; evidenceFraction: number } | undefined =>
      version === 'v2' && id === 'r1/c1' && sim.state.waves[1].status === 'waiting'
        ? { source: 'canary-judge', verdict: 'pass', evidenceFraction: 1 }
        : undefined,
  });
  sim.run({ maxMs: 2 * 3_600_000 });
  assert.equal(sim.state.phase, 'completed');
  const skipped = sim.eventsOf('gate.skipped');
  assert.equal(skipped.length, 1);
  assert.equal((skipped[0].data as { wave: number }).wave, 2);
});

const judgeWith = (inconclusive: 'pause' | 'fail'): GateSpec => ({
  ...judgeSpec(),
  config: { kind: 'judge', name: 'canary-judge', inconclusive } as unknown as GateSpec['config'],
});

/** A rollout whose judge gate (inconclusive: pause) has too few data until `data.fraction` reaches 1. */
const pausingJudge = (data: { fraction: number }) =>
  new Sim({
    plan: twoWaves(),
    gates: [judgeWith('pause')],
    probe: (_id, version) =>
      version === 'v2'
        ? data.fraction < 1
          ? { source: 'canary-judge', verdict: 'inconclusive', evidenceFraction: data.fraction, detail: 'too few data' }
          : { source: 'canary-judge', verdict: 'pass', value: 100, evidenceFraction: 1 }
        : undefined,
  });

test('a judge still inconclusive (too few data) at the end of the bake pauses the rollout for a person; resume accepts the wave', () => {
  const data = { fraction: 0.3 };
  const sim = pausingJudge(data);
  sim.run({ until: (s) => s.phase === 'paused', maxMs: 30 * MIN });
  assert.equal(sim.state.phase, 'paused', 'paused, not holding the wave in silence');
  assert.equal(sim.state.pausedBy, 'gate canary-judge');
  const w1 = sim.state.waves[0];
  assert.equal(w1.status, 'baking');
  assert.deepEqual(w1.waitingForPerson, ['canary-judge']);
  const paused = sim.eventsOf('rollout.paused');
  assert.equal(paused.length, 1);
  assert.match((paused[0].data as { reason: string }).reason, /still inconclusive at the end of wave 1's bake .*resume to accept/);

  // It stays paused: more inconclusive looks do not resume it, and wave 2 does not start.
  sim.run({ maxMs: 20 * MIN });
  assert.equal(sim.state.phase, 'paused');
  assert.equal(sim.calls.filter((c) => c.kind === 'deploy').length, 1, 'wave 2 did not start');

  sim.command({ kind: 'resume' }, 'cli:operator');
  assert.equal(sim.state.waves[0].inconclusiveAcceptedBy, 'cli:operator');
  // The judge no longer holds the wave; its bake time still accrues only on the other gates' passing evidence (I3).
  sim.run({ until: (s) => s.waves[0].status === 'verified', maxMs: 15 * MIN });
  assert.equal(sim.state.waves[0].status, 'verified', 'the person accepted wave 1 without the verdict');
  // Wave 2's judge gets enough data and decides on its own.
  data.fraction = 1;
  sim.run();
  assert.equal(sim.state.phase, 'completed');
  assert.equal(sim.eventsOf('rollout.paused').length, 1, 'wave 2 did not pause');
});

test('with inconclusive: fail, or before the bake time is over, an inconclusive judge does not pause', () => {
  const tooFew = (action: 'pause' | 'fail') =>
    new Sim({
      plan: twoWaves(),
      gates: [judgeWith(action)],
      probe: (_id, version) =>
        version === 'v2' ? { source: 'canary-judge', verdict: 'inconclusive', evidenceFraction: 0.3, detail: 'too few data' } : undefined,
    });
  const sim = tooFew('fail');
  sim.run({ maxMs: 30 * MIN });
  assert.equal(sim.eventsOf('rollout.paused').length, 0);
  assert.equal(sim.state.phase, 'running', 'the evidence side records `fail` for this action; decide does not invent it');

  const early = tooFew('pause');
  early.run({ maxMs: 8 * MIN });
  assert.equal(early.state.phase, 'running', 'not paused before the bake time is over');
});

test('a rollout paused for an inconclusive judge resumes by itself when the judge then decides pass', () => {
  const data = { fraction: 0.3 };
  const sim = pausingJudge(data);
  sim.run({ until: (s) => s.phase === 'paused', maxMs: 30 * MIN });
  assert.equal(sim.state.phase, 'paused');
  data.fraction = 1;
  sim.run();
  assert.equal(sim.state.phase, 'completed', 'nobody had to resume it');
  const resumed = sim.eventsOf('rollout.running').filter((e) => (e.data as { from?: string }).from === 'paused');
  assert.equal(resumed.length, 1);
  assert.match((resumed[0].data as { reason: string }).reason, /decided pass after the bake/);
  assert.equal(sim.state.waves[0].inconclusiveAcceptedBy, undefined);
});

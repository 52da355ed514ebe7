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

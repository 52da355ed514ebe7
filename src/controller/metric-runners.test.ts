import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handPlan } from '../rollout/sim.js';
import { newRolloutState, type RolloutState } from '../rollout/state.js';
import { judgeTargetsFromState, versionInState } from './metric-runners.js';

function state(): RolloutState {
  const s = newRolloutState({
    id: 'r1',
    plan: handPlan('blob', [
      { targets: ['r1/c1'], bakeMs: 60_000, gates: ['judge'] },
      { targets: ['r2/c1', 'r2/c2'], bakeMs: 60_000, gates: ['judge'] },
      { targets: ['r1/c2', 'r3/c1'], bakeMs: 60_000, gates: ['judge'] },
    ]),
    version: 'v2',
    fromVersion: 'v1',
    gates: [],
    createdAt: 0,
    createdBy: 'test',
  });
  s.phase = 'running';
  return s;
}

test('judge targets: the deployed targets on the new version against untouched ones on the old, since the wave finished deploying', () => {
  const s = state();
  assert.equal(judgeTargetsFromState(s, 'judge'), undefined, 'nothing deployed yet');
  s.waves[0].status = 'baking';
  s.waves[0].bakeStartedAt = 1000;
  s.targets['r1/c1'].status = 'deployed';
  s.targets['r1/c1'].deployedAt = 900;
  const jt = judgeTargetsFromState(s, 'judge', {
    regions: [{ id: 'r1', cells: [{ id: 'c1', weight: 1, vars: { port: 8001 } }, { id: 'c2', weight: 1, vars: {} }] }],
  } as never)!;
  assert.deepEqual(jt.canary.map((t) => [t.region, t.cell, t.version]), [['r1', 'c1', 'v2']]);
  assert.equal(jt.canary[0].vars?.port, '8001');
  // Same region first, then the rest; all on the old version.
  assert.deepEqual(jt.baseline.map((t) => `${t.region}/${t.cell}@${t.version}`), ['r1/c2@v1', 'r2/c1@v1', 'r2/c2@v1', 'r3/c1@v1']);
  assert.equal(jt.since, 1000);
  assert.equal(judgeTargetsFromState(s, 'other'), undefined, 'a gate the wave does not have');

  // Wave 2 deploying: the canary grows, the baseline shrinks, since = its newest deployed target.
  s.waves[0].status = 'verified';
  s.waves[1].status = 'deploying';
  s.targets['r2/c1'].status = 'deployed';
  s.targets['r2/c1'].deployedAt = 5000;
  s.targets['r2/c2'].status = 'deploying';
  const jt2 = judgeTargetsFromState(s, 'judge')!;
  assert.deepEqual(jt2.canary.map((t) => `${t.region}/${t.cell}`), ['r1/c1', 'r2/c1']);
  assert.deepEqual(jt2.baseline.map((t) => `${t.region}/${t.cell}`), ['r1/c2', 'r3/c1']);
  assert.equal(jt2.since, 5000);
  assert.equal(versionInState(s, 'r2/c1'), 'v2');
  assert.equal(versionInState(s, 'r3/c1'), 'v1');
  assert.equal(versionInState(s, 'r2/c2'), undefined);

  s.phase = 'halted';
  assert.equal(judgeTargetsFromState(s, 'judge'), undefined, 'a halted rollout is not judged');
});

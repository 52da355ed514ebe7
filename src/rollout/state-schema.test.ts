import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtapeError } from '../core/errors.js';
import { handPlan } from '../../test/sim.js';
import { decide } from './decide.js';
import { newRolloutState } from './state.js';
import { loadRolloutState, STATE_SCHEMA } from './state-schema.js';

const plan = handPlan('blob', [
  { targets: ['r1/c1'], bakeMs: 60_000, gates: [] },
  { targets: ['r2/c1'], bakeMs: 60_000, gates: [] },
]);

/** A state as etape wrote it before state schema 2: `schema: 1`, and no freeze, pairs, verdicts, bake counters or attempts. */
function schema1State(): Record<string, unknown> {
  const s = JSON.parse(
    JSON.stringify(
      newRolloutState({ id: 'old-1', plan, version: 'v2', fromVersion: 'v1', gates: [], createdAt: 0, createdBy: 'cli:test' }),
    ),
  );
  s.schema = 1;
  delete s.freeze;
  delete s.pairs;
  delete s.rollbackOnHalt;
  s.oldOnlyNote = 'kept';
  for (const w of s.waves) {
    delete w.verdicts;
    delete w.bakeAccruedMs;
    delete w.lastAccrualAt;
  }
  for (const t of Object.values(s.targets) as Record<string, unknown>[]) {
    delete t.attempt;
    delete t.id;
  }
  return s;
}

test('a schema-1 state is upgraded step by step to the current schema, keeps what it had, and the core drives it', () => {
  const s = loadRolloutState(schema1State(), 'old-1');
  assert.equal(s.schema, STATE_SCHEMA);
  assert.deepEqual(s.freeze, []);
  assert.deepEqual(s.pairs, []);
  assert.equal(s.rollbackOnHalt, true);
  assert.equal(s.waves[0].bakeAccruedMs, 0);
  assert.equal(s.waves[0].lastAccrualAt, null);
  assert.deepEqual(s.waves[1].verdicts, []);
  assert.equal(s.targets['r1/c1'].attempt, 0);
  assert.equal(s.targets['r1/c1'].id, 'r1/c1');
  assert.equal((s as unknown as Record<string, unknown>).oldOnlyNote, 'kept', 'fields this etape does not know are kept');
  const d = decide(s, { observations: [], outcomes: new Map() }, 1000);
  assert.equal(d.nextState.phase, 'running');
  assert.equal(d.nextState.schema, STATE_SCHEMA);
  // A state with no schema at all is schema 1.
  const none = schema1State();
  delete none.schema;
  assert.equal(loadRolloutState(none, 'old-1').schema, STATE_SCHEMA);
});

test('a state that does not fit names the rollout and the field; a newer schema is refused', () => {
  const bad = schema1State();
  (bad.waves as Record<string, unknown>[])[1].status = 'cooking';
  (bad.targets as Record<string, Record<string, unknown>>)['r1/c1'].wave = 'one';
  assert.throws(
    () => loadRolloutState(bad, 'old-1'),
    (e: unknown) =>
      e instanceof EtapeError &&
      e.code === 'store.invalid_state' &&
      /rollout old-1/.test(e.message) &&
      e.problems.some((p) => p.path === 'waves[1].status') &&
      e.problems.some((p) => p.path === 'targets["r1/c1"].wave'),
  );
  assert.throws(
    () => loadRolloutState({ ...schema1State(), schema: STATE_SCHEMA + 1 }, 'old-1'),
    (e: unknown) => e instanceof EtapeError && e.code === 'store.invalid_state' && /newer etape/.test(e.message),
  );
  assert.throws(() => loadRolloutState(null, 'x'), /rollout x/);
  assert.throws(() => loadRolloutState({ ...schema1State(), schema: 'one' }, 'x'), /schema: expected a whole number/);
});

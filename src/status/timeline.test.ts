import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Observation } from '../core/types.js';
import { DEFAULT_STATUS_RULES, type ComponentDef } from './status.js';
import { StatusTimeline } from './timeline.js';

const T0 = Date.UTC(2026, 10, 25, 0, 0);
const def: ComponentDef = { id: 'blob/weu', service: 'blob', region: 'weu', regionName: 'weu', geography: 'europe', cells: ['c1'] };
const rules = { ...DEFAULT_STATUS_RULES, freshForMs: 60_000 };
const obs = (at: number, verdict: Observation['verdict']): Observation => ({
  service: 'blob',
  region: 'weu',
  cell: 'c1',
  source: 'http',
  at,
  verdict,
});

test('status changes at the times of the evidence: a failure, a recovery, the last observation going stale', () => {
  const tl = new StatusTimeline([def], [obs(T0, 'pass')], T0, rules);
  assert.equal(tl.states()[0].status, 'operational');
  const changes = tl.advance([obs(T0 + 10_000, 'fail'), obs(T0 + 20_000, 'pass')], T0 + 200_000);
  assert.deepEqual(
    changes.map((c) => [c.at - T0, c.state.status]),
    [
      [10_000, 'major_outage'],
      [20_000, 'operational'],
      [80_001, 'unknown'],
    ],
  );
  assert.equal(tl.at, T0 + 200_000);
  // Fed again (an overlapping read), it changes nothing.
  assert.deepEqual(tl.advance([obs(T0 + 10_000, 'fail'), obs(T0 + 20_000, 'pass')], T0 + 300_000), []);
});

test('an observation stored late takes effect when the timeline next moves, never before what it has said', () => {
  const tl = new StatusTimeline([def], [obs(T0, 'pass')], T0, rules);
  assert.deepEqual(tl.advance([], T0 + 30_000), []);
  const changes = tl.advance([obs(T0 + 20_000, 'fail')], T0 + 40_000);
  assert.deepEqual(
    changes.map((c) => [c.at - T0, c.state.status]),
    [[30_000, 'major_outage']],
  );
});

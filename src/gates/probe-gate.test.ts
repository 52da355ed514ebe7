import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Observation, Verdict } from '../core/types.js';
import { probeGate } from './probe-gate.js';
import { evaluateGate } from './index.js';
import { probeGateSpec } from '../../test/sim.js';

const spec = probeGateSpec('health', { failAfter: 3, consecutiveErrorLimit: 2, freshForMs: 30_000 });
const target = { id: 'r1/c1', region: 'r1', cell: 'c1', since: 0 };
const obs = (verdicts: Verdict[], step = 10_000, detail?: string): Observation[] =>
  verdicts.map((verdict, i) => ({ service: 's', region: 'r1', cell: 'c1', source: 'http', at: 1000 + i * step, verdict, detail }));
const judge = (o: Observation[], now = o.length ? o[o.length - 1].at : 0) =>
  probeGate.evaluate({ spec, targets: [target], observations: o, now });

test('k consecutive failures fail the gate; fewer do not pass it', () => {
  assert.equal(judge(obs(['pass', 'fail', 'fail', 'fail'])).verdict, 'fail');
  assert.equal(judge(obs(['pass', 'fail', 'fail', 'fail'])).halt, true);
  const two = judge(obs(['pass', 'fail', 'fail']));
  assert.equal(two.verdict, 'inconclusive');
  assert.equal(two.halt, false);
  assert.equal(judge(obs(['fail', 'fail', 'pass'])).verdict, 'pass');
});

test('missing or stale evidence is never a pass', () => {
  assert.equal(judge([], 5000).verdict, 'inconclusive');
  const o = obs(['pass']);
  assert.equal(judge(o, o[0].at + 29_000).verdict, 'pass');
  const stale = judge(o, o[0].at + 31_000);
  assert.equal(stale.verdict, 'inconclusive');
  assert.match(stale.reason, /stale/);
  // Evidence from before the target's deploy describes the old version.
  assert.equal(probeGate.evaluate({ spec, targets: [{ ...target, since: 2000 }], observations: o, now: 2000 }).verdict, 'inconclusive');
});

test('errors are kept apart: within the limit they hold, over it they halt', () => {
  const within = judge(obs(['pass', 'error', 'error']));
  assert.equal(within.verdict, 'error');
  assert.equal(within.halt, false);
  const over = judge(obs(['pass', 'error', 'error', 'error']));
  assert.equal(over.verdict, 'error');
  assert.equal(over.halt, true);
});

test('a timed-out measurement marks the target as hung; the words of a detail do not', () => {
  const timedOut = obs(['fail', 'fail', 'fail'], 10_000, 'timeout after 2s').map((o) => ({ ...o, timedOut: true }));
  assert.equal(judge(timedOut).targets[0].hung, true);
  assert.equal(judge(obs(['fail', 'fail', 'fail'], 10_000, 'HTTP 500: upstream timeout')).targets[0].hung, false);
  // hung describes the newest measurement: a refusal after timeouts is not a hang
  const refused = [...timedOut, { ...timedOut[0], at: 50_000, timedOut: undefined, detail: 'connection refused' }];
  assert.equal(judge(refused).targets[0].hung, false);
});

test('one failing target fails the gate for all', () => {
  const o = [...obs(['pass', 'pass']), ...obs(['fail', 'fail', 'fail']).map((x) => ({ ...x, cell: 'c2' }))];
  const r = probeGate.evaluate({ spec, targets: [target, { ...target, id: 'r1/c2', cell: 'c2' }], observations: o, now: 21_000 });
  assert.equal(r.verdict, 'fail');
  assert.match(r.reason, /r1\/c2/);
});

test('an unknown gate kind is an error that halts, never a pass', () => {
  const r = evaluateGate({ spec: { ...spec, kind: 'mystery' }, targets: [target], observations: [], now: 0 });
  assert.equal(r.verdict, 'error');
  assert.equal(r.halt, true);
});

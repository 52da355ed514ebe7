import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtapeError } from '../core/errors.js';
import { compileConditions, evalCondition, metricGate, metricMeasurement, parseCondition } from './metric-gate.js';
import { judgeGate } from './judge-gate.js';
import type { Observation } from '../core/types.js';
import type { GateConfig, ServiceConfig } from '../config/service.js';
import { gateSchema } from '../config/service.js';

test('conditions: comparisons, and/or/not, arithmetic, precedence', () => {
  const ev = (s: string, r: number) => evalCondition(parseCondition(s), r);
  assert.equal(ev('result < 0.01', 0.005), true);
  assert.equal(ev('result < 0.01', 0.02), false);
  assert.equal(ev('result >= 0.99 and result <= 1', 0.995), true);
  assert.equal(ev('result >= 0.99 && result <= 1', 1.5), false);
  assert.equal(ev('result < 1 or result > 5', 6), true);
  assert.equal(ev('not (result > 5 || result < 0)', 3), true);
  assert.equal(ev('result * 100 > 2 + 3 * 1', 0.06), true); // 6 > 5
  assert.equal(ev('-result < -1e-3', 0.01), true);
  assert.equal(ev('result != 0', 0), false);
  assert.equal(ev('true', 0), true);
});

test('conditions: bad input is a config error that says where', () => {
  for (const bad of [
    '',
    'result <',
    'result < 0.01 and',
    'process.exit(1)',
    'result < (1',
    'result',
    'result + 1',
    'result ; 1',
    'result === 1',
  ]) {
    assert.throws(
      () => parseCondition(bad),
      (e: unknown) => e instanceof EtapeError && e.code === 'config.invalid',
      bad,
    );
  }
  assert.throws(() => parseCondition('resutl < 1'), /unknown name "resutl".*column 1/);
});

test('measurements: errors are errors, empty is inconclusive, conditions decide the rest', () => {
  const both = compileConditions({ name: 'g', successCondition: 'result < 0.01', failureCondition: 'result > 0.05' });
  assert.equal(metricMeasurement({ ok: false, error: 'timed out' }, both).verdict, 'error');
  assert.equal(metricMeasurement({ ok: true, values: [] }, both).verdict, 'inconclusive');
  assert.equal(metricMeasurement({ ok: true, values: [NaN] }, both).verdict, 'inconclusive');
  assert.equal(metricMeasurement({ ok: true, values: [0.001] }, both).verdict, 'pass');
  assert.equal(metricMeasurement({ ok: true, values: [0.1] }, both).verdict, 'fail');
  assert.equal(metricMeasurement({ ok: true, values: [0.02] }, both).verdict, 'inconclusive');
  assert.equal(metricMeasurement({ ok: true, values: [0.001, 0.2] }, both).verdict, 'fail', 'every series must pass');
  const successOnly = compileConditions({ name: 'g', successCondition: 'result < 0.01' });
  assert.equal(metricMeasurement({ ok: true, values: [0.02] }, successOnly).verdict, 'fail');
  const failureOnly = compileConditions({ name: 'g', failureCondition: 'result > 0.05' });
  assert.equal(metricMeasurement({ ok: true, values: [0.02] }, failureOnly).verdict, 'pass');
  assert.throws(() => compileConditions({ name: 'g' }), /needs a successCondition or a failureCondition/);
});

const service = { name: 'blob', regions: 'all', probes: [], gates: [] } as unknown as ServiceConfig;
const at0 = Date.UTC(2026, 0, 1);
function obs(i: number, verdict: Observation['verdict'], extra: Partial<Observation> = {}): Observation {
  return { service: 'blob', region: 'westeurope', cell: 'cell-1', source: 'g', at: at0 + i * 30_000, verdict, ...extra };
}

test('metric gate: failure limit, consecutive-error limit (halts), inconclusive limit, staleness', () => {
  const cfg = gateSchema.parse({
    kind: 'metric',
    name: 'g',
    prometheus: 'http://127.0.0.1:9090',
    query: 'up',
    successCondition: 'result == 1',
    failureLimit: 1,
    consecutiveErrorLimit: 2,
    inconclusiveLimit: 2,
  }) as GateConfig;
  const spec = metricGate.compile(cfg, service);
  const targets = [{ id: 'westeurope/cell-1', region: 'westeurope', cell: 'cell-1', since: at0 }];
  const run = (o: Observation[], now = o[o.length - 1].at + 1000) => metricGate.evaluate({ spec, targets, observations: o, now });
  assert.equal(run([obs(0, 'pass'), obs(1, 'pass')]).verdict, 'pass');
  assert.equal(run([obs(0, 'fail'), obs(1, 'pass')]).verdict, 'pass', 'one failure is within the limit');
  assert.equal(run([obs(0, 'fail'), obs(1, 'pass'), obs(2, 'fail')]).verdict, 'fail');
  const errs = run([obs(0, 'pass'), obs(1, 'error'), obs(2, 'error'), obs(3, 'error')]);
  assert.equal(errs.verdict, 'error');
  assert.equal(errs.halt, true);
  assert.equal(run([obs(0, 'pass'), obs(1, 'error')]).verdict, 'error', 'an error is never a pass');
  assert.equal(run([obs(0, 'inconclusive'), obs(1, 'inconclusive'), obs(2, 'inconclusive')]).verdict, 'fail');
  assert.equal(run([obs(0, 'pass')], at0 + 10 * 60_000).verdict, 'inconclusive', 'stale evidence is not a pass');
  assert.equal(run([], at0).verdict, 'inconclusive');
  assert.throws(() => metricGate.compile({ ...(cfg as object), successCondition: 'result <' } as GateConfig, service), /condition/);
});

test('judge gate: early inconclusive looks do not count; a fail fails; evidence fraction is exposed', () => {
  const cfg = gateSchema.parse({
    kind: 'judge',
    name: 'g',
    prometheus: 'http://127.0.0.1:9090',
    inconclusiveLimit: 1,
    metrics: [{ name: 'errors', kind: 'count', query: 'e', totalQuery: 't' }],
  }) as GateConfig;
  const spec = judgeGate.compile(cfg, service);
  const targets = [{ id: 'westeurope/cell-1', region: 'westeurope', cell: 'cell-1', since: at0 }];
  const run = (o: Observation[]) => judgeGate.evaluate({ spec, targets, observations: o, now: o[o.length - 1].at + 1000 });
  const early = Array.from({ length: 5 }, (_, i) => obs(i, 'inconclusive', { evidenceFraction: i / 10 }));
  const r1 = run(early) as ReturnType<typeof judgeGate.evaluate> & { evidenceFraction: number };
  assert.equal(r1.verdict, 'inconclusive');
  assert.equal(r1.evidenceFraction, 0.4);
  assert.equal(run([...early, obs(5, 'pass', { evidenceFraction: 1, value: 100 })]).verdict, 'pass');
  assert.equal(run([...early, obs(5, 'fail', { evidenceFraction: 1, value: 0 })]).verdict, 'fail');
  const stuck = [obs(0, 'inconclusive', { evidenceFraction: 1 }), obs(1, 'inconclusive', { evidenceFraction: 1 })];
  assert.equal(run(stuck).verdict, 'fail');
});

test('config: a count metric needs totalQuery', () => {
  const r = gateSchema.safeParse({
    kind: 'judge',
    name: 'g',
    prometheus: 'http://127.0.0.1:9090',
    metrics: [{ name: 'errors', kind: 'count', query: 'e' }],
  });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /totalQuery/);
});

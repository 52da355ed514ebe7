import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endOfBakeAction, judge, type CountPoint, type JudgeMetricInput, type TargetSeries, type ValuePoint } from './judge.js';
import { seededRandom } from '../core/random.js';

const r = seededRandom(42);
const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
function binomial(n: number, p: number): number {
  if (n * p < 30) {
    let k = 0;
    for (let i = 0; i < n; i++) if (r() < p) k++;
    return k;
  }
  return Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal()));
}
function counts(target: string, buckets: number, perBucket: number, rate: number): TargetSeries<CountPoint> {
  return { target, points: Array.from({ length: buckets }, (_, t) => ({ t, total: perBucket, errors: binomial(perBucket, rate) })) };
}
function latencies(target: string, n: number, medianMs: number): TargetSeries<ValuePoint> {
  return { target, points: Array.from({ length: n }, (_, i) => ({ t: i, value: medianMs * Math.exp(0.3 * normal()) })) };
}
const countMetric = (canary: TargetSeries<CountPoint>[], baseline: TargetSeries<CountPoint>[], critical = false): JudgeMetricInput => ({
  name: 'errors',
  kind: 'count',
  direction: 'increase',
  critical,
  weight: 1,
  canary,
  baseline,
});
const latencyMetric = (
  canary: TargetSeries<ValuePoint>[],
  baseline: TargetSeries<ValuePoint>[],
  direction: 'increase' | 'decrease' | 'either' = 'increase',
): JudgeMetricInput => ({
  name: 'p99 latency',
  kind: 'latency',
  direction,
  critical: false,
  weight: 1,
  canary,
  baseline,
});

test('the same version passes', () => {
  const res = judge([
    countMetric([counts('westeurope/cell-1', 30, 500, 0.01)], [counts('westeurope/cell-2', 30, 500, 0.01)]),
    latencyMetric([latencies('westeurope/cell-1', 400, 80)], [latencies('westeurope/cell-2', 400, 80)]),
  ]);
  assert.equal(res.verdict, 'pass', res.reason);
  assert.equal(res.score, 100);
  assert.equal(res.evidenceFraction, 1);
});

test('one more percentage point of errors fails, explained with rates, interval and volumes', () => {
  const res = judge([countMetric([counts('westeurope/cell-1', 30, 500, 0.02)], [counts('westeurope/cell-2', 30, 500, 0.01)])]);
  assert.equal(res.verdict, 'fail', res.reason);
  assert.match(
    res.reason,
    /errors rate \+\d+% \(98% CI \+\d+%…\+\d+%\) across all canary targets against baseline: 2\.\d% vs [\d.]+% baseline, 1\d,\d{3} vs 1\d,\d{3} requests/,
  );
});

test('a slower canary fails with the Hodges–Lehmann shift and its interval', () => {
  const res = judge([latencyMetric([latencies('westeurope/cell-2', 300, 110)], [latencies('westeurope/cell-1', 300, 80)])]);
  assert.equal(res.verdict, 'fail', res.reason);
  const m = res.metrics[0].scopes[0];
  assert.ok(m.change > 0.25 && m.change < 0.5, `${m.change}`);
  assert.ok(m.lower > 0.1 && m.upper > m.change);
  assert.match(res.reason, /p99 latency \+\d+% \(98% CI \+\d+%…\+\d+%\) across all canary targets against baseline, 300 vs 300 samples/);
});

test('a faster canary is fine when only increases are bad, and fails when either direction is', () => {
  const c = [latencies('a/1', 300, 50)];
  const b = [latencies('a/2', 300, 80)];
  assert.equal(judge([latencyMetric(c, b, 'increase')]).verdict, 'pass');
  assert.equal(judge([latencyMetric(c, b, 'either')]).verdict, 'fail');
});

test('too little traffic never passes', () => {
  const res = judge([
    countMetric([counts('a/1', 5, 20, 0.01)], [counts('a/2', 5, 20, 0.01)]),
    latencyMetric([latencies('a/1', 10, 80)], [latencies('a/2', 10, 80)]),
  ]);
  assert.equal(res.verdict, 'inconclusive', res.reason);
  assert.ok(res.evidenceFraction < 0.25, `${res.evidenceFraction}`);
  assert.match(res.reason, /too little traffic|too few samples/);
});

test('an error-free service passes once its error rate is negligibly bounded', () => {
  const res = judge([countMetric([counts('a/1', 30, 1000, 0)], [counts('a/2', 30, 1000, 0)])]);
  assert.equal(res.verdict, 'pass', res.reason);
  assert.match(res.reason, /negligible/);
});

test('a single bad cell among good ones is caught and named', () => {
  const canary = [
    counts('westeurope/cell-1', 30, 400, 0.01),
    counts('westeurope/cell-2', 30, 400, 0.04),
    counts('northeurope/cell-1', 30, 400, 0.01),
    counts('northeurope/cell-2', 30, 400, 0.01),
  ];
  const baseline = [counts('westeurope/cell-3', 30, 1600, 0.01)];
  const res = judge([countMetric(canary, baseline)]);
  assert.equal(res.verdict, 'fail', res.reason);
  assert.match(res.reason, /in westeurope\/cell-2/);
});

test('a failed critical metric fails the judgment with score 0, even when the others pass', () => {
  const ok = latencyMetric([latencies('a/1', 300, 80)], [latencies('a/2', 300, 80)]);
  const bad = countMetric([counts('a/1', 30, 500, 0.03)], [counts('a/2', 30, 500, 0.01)], true);
  const res = judge([ok, { ...ok, name: 'p50 latency' }, { ...ok, name: 'p90 latency' }, bad]);
  assert.equal(res.verdict, 'fail');
  assert.equal(res.score, 0);
  assert.match(res.reason, /critical metric failed/);
});

test('no metrics, or an empty side, is never a pass', () => {
  assert.equal(judge([]).verdict, 'error');
  assert.equal(judge([countMetric([counts('a/1', 30, 500, 0.01)], [])]).verdict, 'inconclusive');
});

test('alignInTime: a strong cycle common to both sides no longer hides a no-change canary', () => {
  const cyc = (t: number) => 80 * (1 + 0.8 * Math.sin((2 * Math.PI * t) / 60));
  const series = (target: string, n: number, f: number): TargetSeries<ValuePoint> => ({
    target,
    points: Array.from({ length: 60 }, (_, t) =>
      Array.from({ length: n }, () => ({ t, value: cyc(t) * f * Math.exp(0.05 * normal()) })),
    ).flat(),
  });
  const metric = (alignInTime: boolean, f = 1): JudgeMetricInput => ({
    ...latencyMetric([series('a/1', 2, f)], [series('a/2', 2, 1)]),
    alignInTime,
  });
  assert.equal(judge([metric(false)]).verdict, 'inconclusive', 'all against all, the cycle swamps the comparison');
  assert.equal(judge([metric(true)]).verdict, 'pass');
  const slow = judge([metric(true, 1.3)]);
  assert.equal(slow.verdict, 'fail');
  assert.match(slow.reason, /\+3\d% .* compared within the same time buckets/);
});

test('end of bake: what the sequential test left open is decided by one fixed-sample test at the same confidence', () => {
  // Latency +4% (below the 10% floor) and +40% (beyond it) with 60 samples a side: too few for the
  // sequential test to rule out +20% or show +10%, enough for one look at 98%.
  const small = latencyMetric([latencies('a/1', 60, 104)], [latencies('a/2', 60, 100)]);
  const big = latencyMetric([latencies('a/1', 60, 140)], [latencies('a/2', 60, 100)]);
  assert.equal(judge([small]).verdict, 'inconclusive');
  const smallEnd = judge([small], { endOfBake: true });
  assert.equal(smallEnd.verdict, 'pass', smallEnd.reason);
  assert.equal(smallEnd.endOfBake, true);
  assert.match(smallEnd.reason, /one look.*at the end of the bake: no change beyond 10% shown/);
  const bigEnd = judge([big], { endOfBake: true });
  assert.equal(bigEnd.verdict, 'fail', bigEnd.reason);
  assert.equal(bigEnd.metrics[0].scopes[0].fixedHorizon || bigEnd.metrics[0].scopes[0].verdict === 'fail', true);
  // Counts: +60% errors over 8 buckets of 400 requests a side is not shown by the sequential test yet.
  const errs = countMetric([counts('a/1', 8, 400, 0.032)], [counts('a/2', 8, 400, 0.02)]);
  const seq = judge([errs]);
  const end = judge([errs], { endOfBake: true });
  assert.notEqual(end.verdict, 'inconclusive', end.reason);
  if (seq.verdict === 'inconclusive') assert.match(end.reason, /end of the bake/);
});

test('end of bake with data missing or below the minimums stays inconclusive and says so', () => {
  const few = latencyMetric([latencies('a/1', 20, 100)], [latencies('a/2', 20, 100)]);
  const res = judge([few], { endOfBake: true });
  assert.equal(res.verdict, 'inconclusive');
  assert.equal(res.tooFewData, true);
  assert.match(res.reason, /too few samples to pass \(20 vs 20 samples, need 50 each\)/);
  const none = judge([countMetric([counts('a/1', 30, 500, 0.01)], [])], { endOfBake: true });
  assert.equal(none.verdict, 'inconclusive');
  assert.equal(none.tooFewData, true);
  // and a marginal score at the end of the bake is a fail, not a wait
  const ok = latencyMetric([latencies('a/1', 400, 80)], [latencies('a/2', 400, 80)]);
  const bad = latencyMetric([latencies('a/1', 400, 200)], [latencies('a/2', 400, 80)]);
  const five = [ok, { ...ok, name: 'b' }, { ...ok, name: 'c' }, { ...ok, name: 'd' }, { ...bad, name: 'e' }];
  assert.equal(judge(five).verdict, 'inconclusive');
  assert.equal(judge(five, { endOfBake: true }).verdict, 'fail');
});

test("the gate's inconclusive action applies only to an end-of-bake judgment with too few data", () => {
  const few = latencyMetric([latencies('a/1', 20, 100)], [latencies('a/2', 20, 100)]);
  const early = judge([few]);
  assert.deepEqual(endOfBakeAction(early, 'fail'), { verdict: 'inconclusive', reason: early.reason });
  const end = judge([few], { endOfBake: true });
  const failed = endOfBakeAction(end, 'fail');
  assert.equal(failed.verdict, 'fail');
  assert.match(failed.reason, /^too few data by the end of the bake \(inconclusive action: fail\): not enough evidence/);
  const paused = endOfBakeAction(end, 'pause');
  assert.equal(paused.verdict, 'inconclusive');
  assert.match(paused.reason, /inconclusive action: pause, waiting for a person/);
  const decided = judge([latencyMetric([latencies('a/1', 60, 100)], [latencies('a/2', 60, 100)])], { endOfBake: true });
  assert.equal(endOfBakeAction(decided, 'fail').verdict, decided.verdict);
  assert.notEqual(decided.verdict, 'inconclusive');
});

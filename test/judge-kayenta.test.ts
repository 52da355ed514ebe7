// The benchmark's Kayenta re-implementation (bench/kayenta.ts) behaves as Kayenta's sources say it should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyMetric,
  commonsPercentile,
  kayentaJudge,
  KAYENTA_DEFAULTS,
  mannWhitneyInterval,
  removeOutliers,
} from '../bench/kayenta.js';
import { hodgesLehmann } from '../src/judge/stats.js';

const opts = { ...KAYENTA_DEFAULTS, noise: () => 0.5 };

test('percentiles as Apache Commons Math computes them; outliers outside the wider fences go', () => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(commonsPercentile(v, 25), 2.75); // position 0.25·11 = 2.75
  assert.equal(commonsPercentile(v, 75), 8.25);
  assert.equal(commonsPercentile(v, 1), 1); // position below 1: the minimum
  // With few points the 1st/99th percentiles are the extremes, so nothing goes (reduceSensitivity).
  assert.equal(removeOutliers([...v, 1000]).length, 11);
  const many = Array.from({ length: 199 }, (_, i) => i + 1);
  assert.deepEqual(removeOutliers([...many, 10_000]), many);
  assert.deepEqual(removeOutliers(v), v);
});

test('the rank-sum interval brackets the Hodges–Lehmann estimate and matches the exact one closely', () => {
  const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
  const y = [1.15, 0.88, 0.9, 0.74, 1.21];
  const k = mannWhitneyInterval(x, y, 0.95);
  const hl = hodgesLehmann(x, y, 1.959963984540054);
  assert.ok(k.lower < k.estimate && k.estimate < k.upper);
  assert.ok(Math.abs(k.estimate - hl.estimate) < 0.06, `${k.estimate} vs ${hl.estimate}`);
  assert.ok(Math.abs(k.lower - hl.lower) < 0.1 && Math.abs(k.upper - hl.upper) < 0.1, `${k.lower}…${k.upper} vs ${hl.lower}…${hl.upper}`);
});

test('classification: High beyond tolerance and mean ratio, Pass for identical data, Nodata when empty', () => {
  const base = Array.from({ length: 40 }, (_, i) => 100 + ((i * 37) % 20));
  const high = base.map((v) => v * 1.5);
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: high, direction: 'increase' }, opts).classification, 'High');
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: high, direction: 'decrease' }, opts).classification, 'Pass');
  assert.equal(classifyMetric({ name: 'm', control: high, experiment: base, direction: 'either' }, opts).classification, 'Low');
  assert.equal(
    classifyMetric({ name: 'm', control: base, experiment: [...base].reverse(), direction: 'either' }, opts).classification,
    'Pass',
  );
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: [NaN], direction: 'either' }, opts).classification, 'Nodata');
});

test('scoring: pass ratio, critical failures and too much missing data score 0, thresholds', () => {
  const base = Array.from({ length: 40 }, (_, i) => 100 + ((i * 37) % 20));
  const high = base.map((v) => v * 1.5);
  const ok = { name: 'a', control: base, experiment: base.map((v) => v + 0.001), direction: 'increase' as const };
  const bad = { name: 'b', control: base, experiment: high, direction: 'increase' as const };
  const j = kayentaJudge([ok, bad], { pass: 95, marginal: 75 }, opts);
  assert.equal(j.score, 50);
  assert.equal(j.classification, 'Fail');
  assert.equal(kayentaJudge([ok, ok, ok, bad], { pass: 95, marginal: 70 }, opts).classification, 'Marginal');
  assert.equal(kayentaJudge([ok, ok, ok, { ...bad, critical: true }], { pass: 95, marginal: 75 }, opts).score, 0);
  const none = { name: 'n', control: [], experiment: [], direction: 'increase' as const };
  assert.equal(kayentaJudge([ok, none], { pass: 95, marginal: 75 }, opts).score, 0);
  assert.equal(kayentaJudge([ok, ok, none], { pass: 95, marginal: 75 }, opts).score, 100);
});

// The judge's statistics against values computed by hand or published in tables (see the comments).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exactRuleApplies,
  exactUpperTail,
  fixedShiftInterval,
  hodgesLehmann,
  kthPairwiseDifference,
  mannWhitney,
  mannWhitneyExactCounts,
  normalCdf,
  normalQuantile,
  shiftIntervalRank,
} from './stats.js';
import { blockedShiftSequence, mixtureCriticalZ, rateRatioSequence, shiftSequence } from './sequential.js';
import { judge } from './judge.js';
import { seededRandom } from '../core/random.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (±${tol})`);

test('normal CDF matches tabulated values', () => {
  close(normalCdf(0), 0.5, 1e-15);
  close(normalCdf(1), 0.8413447460685429, 1e-14);
  close(normalCdf(1.96), 0.9750021048517795, 1e-14);
  close(normalCdf(-3), 0.0013498980316301035, 1e-16);
  close(normalCdf(-8) / 6.22096057427178e-16, 1, 1e-7, 'far tail, relative');
});

test('normal quantile inverts the CDF', () => {
  close(normalQuantile(0.975), 1.959963984540054, 1e-12);
  close(normalQuantile(0.99), 2.3263478740408408, 1e-12);
  close(normalQuantile(0.01), -2.3263478740408408, 1e-12);
  close(normalQuantile(1e-10), -6.361340902404056, 1e-9);
  for (const p of [1e-6, 0.02, 0.3, 0.5, 0.77, 0.999]) close(normalCdf(normalQuantile(p)), p, 1e-14 + p * 1e-12);
});

test('exact Mann–Whitney distribution is the Gaussian binomial', () => {
  assert.deepEqual(mannWhitneyExactCounts(2, 2), [1, 1, 2, 1, 1]);
  const c = mannWhitneyExactCounts(5, 4);
  assert.equal(
    c.reduce((a, b) => a + b, 0),
    126,
  ); // C(9,4)
  assert.deepEqual(c.slice(0, 4), [1, 1, 2, 3]); // partitions of u into ≤4 parts of size ≤5
});

test('Mann–Whitney U and exact p for small samples (hand-computed, as scipy exact)', () => {
  // ranks of x: 5,7,3,9,8 = 32 → U = 32 − 15 = 17; P(U ≥ 17) = 7/126; two-sided 14/126
  const r = mannWhitney([19, 22, 16, 29, 24], [20, 11, 17, 12]);
  assert.equal(r.u, 17);
  assert.ok(r.exact);
  close(r.pValue, 14 / 126, 1e-12);
  close(mannWhitney([1, 2, 3], [4, 5, 6]).pValue, 0.1, 1e-12);
  // Hollander & Wolfe's example (R's ?wilcox.test): W = 35, exact one-sided p = 0.1272, large-sample
  // one-sided p without continuity correction = 0.1103.
  const hw = mannWhitney([0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46], [1.15, 0.88, 0.9, 0.74, 1.21]);
  assert.equal(hw.u, 35);
  close(hw.pValue / 2, 0.1272, 5e-5);
  close(1 - normalCdf(hw.z), 0.1103, 5e-5);
  close(mannWhitney([1, 2, 3, 4], [5, 6, 7, 8]).pValue, 2 / 70, 1e-12);
  close(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4]).pValue, 2 / 70, 1e-12);
});

test('Mann–Whitney with ties: tie-corrected normal approximation with continuity correction', () => {
  // x ranks 1, 3, 3, 5.5 → U = 2.5; σ² = (20/12)(10 − 36/72) = 15.8333; z_c = (7.5 − 0.5)/σ
  const r = mannWhitney([1, 2, 2, 3], [2, 3, 4, 4, 5]);
  assert.equal(r.u, 2.5);
  assert.equal(r.exact, false);
  close(r.sigma, Math.sqrt((20 / 12) * 9.5), 1e-12);
  close(r.pValue, 2 * (1 - normalCdf(7 / Math.sqrt((20 / 12) * 9.5))), 1e-12);
  close(r.pValue, 0.07855, 2e-4);
});

test('Hodges–Lehmann estimate and interval on tiny sets', () => {
  // differences 1,0,2,1,3,2 → sorted 0,1,1,2,2,3 → median 1.5
  const h = hodgesLehmann([1, 2, 3], [0, 1], 1);
  close(h.estimate, 1.5, 1e-9);
  // σ = √(6·6/12) = √3, k = floor(3 − √3) = 1 → [D(1), D(6)] = [0, 3]
  close(h.lower, 0, 1e-9);
  close(h.upper, 3, 1e-9);
  // differences -1,1,1,3,3,5,9,11 → median 3
  close(hodgesLehmann([10, 12, 14, 20], [9, 11], 1.96).estimate, 3, 1e-9);
  // order statistics of pairwise differences without building them
  const xs = [1, 4, 9];
  const ys = [0, 2, 7];
  const all = xs.flatMap((x) => ys.map((y) => x - y)).sort((a, b) => a - b);
  for (let k = 1; k <= all.length; k++) close(kthPairwiseDifference(xs, ys, k), all[k - 1], 1e-9, `k=${k}`);
});

test('mixture boundary critical value (hand-computed)', () => {
  // I = 100, τ = 0.1 → ρ = 1; z² = 2·(2·ln 50 + ln 2) = 17.0344
  close(mixtureCriticalZ(100, 0.02, 0.1), 4.12722, 1e-4);
  // grows slowly with information: stricter than the fixed-sample 2.33 but finite
  assert.ok(mixtureCriticalZ(1e6, 0.02, 0.1) < 6);
});

test('rate ratio sequence: equal rates contain 1, doubled rates are caught', () => {
  const same = rateRatioSequence([{ canaryTotal: 20000, canaryErrors: 200, baselineTotal: 20000, baselineErrors: 205 }], 1.25, 0.02);
  assert.ok(same.lower < 1 && same.upper > 1, `${same.lower}…${same.upper}`);
  assert.equal(same.above, false);
  const worse = rateRatioSequence([{ canaryTotal: 20000, canaryErrors: 400, baselineTotal: 20000, baselineErrors: 200 }], 1.25, 0.02);
  assert.ok(worse.above);
  close(worse.ratio, 2, 1e-6);
  assert.ok(worse.lower > 1.25 && worse.upper > 2);
});

// Seeded PRNG so the simulations below are reproducible.

test('repeated looks do not inflate false alarms (20 looks per bake, 150 null bakes)', () => {
  const r = seededRandom(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  let fails = 0;
  for (let b = 0; b < 150; b++) {
    const x: number[] = [];
    const y: number[] = [];
    let failed = false;
    for (let look = 0; look < 20 && !failed; look++) {
      for (let i = 0; i < 15; i++) {
        x.push(normal());
        y.push(normal());
      }
      const s = shiftSequence(x, y, 0, 0.02);
      if (Math.abs(s.z) >= s.zCritical) failed = true;
    }
    if (failed) fails++;
  }
  // ≤ 2% in theory; allow sampling noise (binomial sd ≈ 1.1%).
  assert.ok(fails / 150 <= 0.05, `false alarm rate ${fails / 150}`);
});

test('the error-count judgment keeps its level under repeated looks, also with bursty (overdispersed) errors', () => {
  const r = seededRandom(11);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const binom = (n: number, p: number) => Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal()));
  for (const bursty of [false, true]) {
    let fails = 0;
    const bakes = 100;
    for (let b = 0; b < bakes; b++) {
      const cells = ['c/1', 'c/2', 'b/1', 'b/2'].map((target) => ({
        target,
        points: [] as { t: number; total: number; errors: number }[],
      }));
      let failed = false;
      for (let t = 0; t < 25 && !failed; t++) {
        for (const c of cells) c.points.push({ t, total: 500, errors: binom(500, 0.01 * (bursty && r() < 0.05 ? 10 : 1)) });
        // floor 0: the null is "same error rate", the hardest place to keep the level
        const res = judge([
          {
            name: 'errors',
            kind: 'count',
            direction: 'increase',
            critical: false,
            weight: 1,
            effectFloor: 0,
            canary: cells.slice(0, 2),
            baseline: cells.slice(2),
          },
        ]);
        if (res.verdict === 'fail') failed = true;
      }
      if (failed) fails++;
    }
    assert.ok(fails / bakes <= 0.06, `${bursty ? 'bursty' : 'binomial'} false alarm rate ${fails / bakes}`);
  }
});

test('stratified rank test: one bucket is plain Mann–Whitney; a common daily cycle cancels out; its level holds under repeated looks', () => {
  const r = seededRandom(5);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  // a single bucket gives the unstratified statistic
  const x = Array.from({ length: 40 }, () => normal() + 0.3);
  const y = Array.from({ length: 60 }, () => normal());
  const one = blockedShiftSequence([{ canary: x, baseline: y }], 0, 0.02);
  const plain = shiftSequence(x, y, 0, 0.02);
  close(one.z, plain.z, 0.02);
  close(one.zCritical, plain.zCritical, 1e-9);
  close(one.estimate, plain.estimate, 1e-3); // both in the gap between the middle pairwise differences
  // a strong cycle common to both sides: stratified by time the interval is far narrower
  const blocks = Array.from({ length: 60 }, (_, t) => {
    const cyc = Math.sin((2 * Math.PI * t) / 60) * 1.5;
    return { canary: [cyc + 0.1 * normal()], baseline: [cyc + 0.1 * normal(), cyc + 0.1 * normal()] };
  });
  const strat = blockedShiftSequence(blocks, 0, 0.02);
  const flat = shiftSequence(
    blocks.flatMap((b) => b.canary),
    blocks.flatMap((b) => b.baseline),
    0,
    0.02,
  );
  assert.ok(strat.upper - strat.lower < (flat.upper - flat.lower) / 3, `${strat.lower}…${strat.upper} vs ${flat.lower}…${flat.upper}`);
  assert.ok(strat.lower < 0 && strat.upper > 0);
  // level under repeated looks
  let fails = 0;
  for (let b = 0; b < 100; b++) {
    const bl: { canary: number[]; baseline: number[] }[] = [];
    let failed = false;
    for (let t = 0; t < 40 && !failed; t++) {
      const cyc = Math.sin(t / 5);
      bl.push({ canary: [cyc + normal()], baseline: [cyc + normal(), cyc + normal()] });
      const s = blockedShiftSequence(bl, 0, 0.02);
      if (t >= 4 && Math.abs(s.z) >= s.zCritical) failed = true;
    }
    if (failed) fails++;
  }
  assert.ok(fails / 100 <= 0.05, `false alarm rate ${fails / 100}`);
});

test('the exact Mann–Whitney distribution where the usual rule applies: no ties, one sample of at most 8 or both under 50', () => {
  assert.equal(exactRuleApplies(8, 10_000, false), true);
  assert.equal(exactRuleApplies(49, 49, false), true);
  assert.equal(exactRuleApplies(9, 60, false), false);
  assert.equal(exactRuleApplies(5, 5, true), false);
  // m = n = 5: P(U ≤ 2) = 4/252 ≤ 0.025 < P(U ≤ 3) = 7/252, so the 95% interval is [D(3), D(23)] (R: qwilcox(0.025, 5, 5) = 3)
  assert.equal(shiftIntervalRank(5, 5, 0.025, false), 3);
  close(exactUpperTail(5, 5, 23), 4 / 252, 1e-12);
  close(exactUpperTail(3, 3, 9), 1 / 20, 1e-12);
  const fx = fixedShiftInterval([11, 12, 13, 14, 15], [1, 2, 3, 4, 5], 0.025);
  assert.equal(fx.exact, true);
  assert.equal(fx.estimate, 10);
  assert.equal(fx.lower, 7); // D(3) of the 25 differences 6..14
  assert.equal(fx.upper, 13); // D(23)
  // large samples: the normal approximation, close to the exact rank
  assert.equal(
    fixedShiftInterval(
      Array.from({ length: 60 }, (_, i) => i),
      Array.from({ length: 60 }, (_, i) => i + 0.5),
      0.01,
    ).exact,
    false,
  );
  const kNormal = shiftIntervalRank(60, 60, 0.025, true);
  const kExact = shiftIntervalRank(40, 40, 0.025, false);
  assert.ok(kNormal > 1300 && kNormal < 1500 && kExact > 550 && kExact < 650, `${kNormal} ${kExact}`);
});

// The benchmark's Kayenta baseline (bench/kayenta.ts) against Kayenta's own unit tests: the same inputs
// (test/fixtures/kayenta/cases.json, extracted from Kayenta's Scala test sources by extract.mjs there) and
// the expected values and classifications those tests assert, with the same tolerances.
//
// Covered (Kayenta suite: test name):
//   MannWhitneySuite: Wilcoxon Diff Function; Test zQuant; Mann-Whitney Confidence Interval & Estimate;
//     … Problem Case (850 vs 850, 98%: [−1.4808e-5, 1.8083e-5]); … Tie out with R Version; … Tie out with
//     R Version (Large); Mann-Whitney Intermediate Values / Variables (every intermediate value).
//   ClassifierSuite: every Mann-Whitney classifier test (Pass / High / Low metric; the four directional
//     tests; High Metric (Large Input); Mean Ratio Effect Size High / Low / Pass / Pass (Large Input); CLES
//     Effect Size Pass / High / Low; Critical Effect Size Critical High / Critical Low / High / Pass /
//     Critical High (Default Thresholds); Tied Observations; Identical Populations; Leading Zero Identical
//     Population; Missing Experiment Data, … Critical Metric, … with NaN Replacement; Missing Data: Reason
//     String; Majority Tied Observations; Tied Ranks; Tied Ranks With Zeros; Zero Mean High / Low /
//     Critical / Pass). Not covered: the three MeanInequalityClassifier tests (another classifier).
//   StatisticSuite: Basic Percentile; Percentile Estimate (Linear Interpolation) ×2; Percentile (NIST
//     Data); Percentile Metric Object; Mean Ratio (No Effect / High / Low / Zero Mean); Cohen's D; CLES
//     Identical / Different (No Overlap) / High Metric / Low Metric. Not covered: Summary Statistics (the
//     report's metadata, which no decision reads).
//   DetectorSuite: KSigma Detection; KSigma Two Sided; IQR Detection; IQR Detect Two Sided; IQR Empty Data;
//     IQR NIST Test. TransformSuite: Remove Single NaN; Remove Multiple NaN; Replace NANs; IQR Outlier Removal
//     (not covered: KSigma Outlier Removal, Add Gaussian Noise: the judge uses neither).
//   ScorerSuite: all fourteen WeightedSumScorer tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  brentSolve,
  CLASSIFIER_DEFAULTS,
  classify,
  classifyMetric,
  cles,
  cohenD,
  iqrOutliers,
  kSigmaOutliers,
  kayentaJudge,
  mannWhitneyInterval,
  meanRatio,
  percentileR7,
  score,
  transformValues,
  wilcoxonDiff,
  type ClassifierOptions,
  type KClass,
  type KMetricResult,
} from '../bench/kayenta.js';
import { normalQuantile } from '../src/judge/stats.js';

const cases = JSON.parse(readFileSync(new URL('./fixtures/kayenta/cases.json', import.meta.url), 'utf8')) as Record<
  string,
  Record<string, number[]>
>;
const input = (name: string) => {
  const c = cases[name];
  assert.ok(c, `no Kayenta test input named "${name}"`);
  return c;
};
const E = 1e-6;
const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);

test('MannWhitneySuite: wilcoxonDiff, zQuant, and the interval and estimate of each case', () => {
  const wd = input('MannWhitneySuite: Wilcoxon Diff Function');
  near(wilcoxonDiff(0, 0, wd.x, wd.y), -1.229416, E, 'wilcoxonDiff(0)');
  near(wilcoxonDiff(5, 0, wd.x, wd.y), -35.80606, E, 'wilcoxonDiff(5)');
  near(normalQuantile(0.02 / 2), -2.326348, E, 'zQuant');

  const simple = input('MannWhitneySuite: Mann-Whitney Confidence Interval & Estimate');
  const s = mannWhitneyInterval(simple.experimentData, simple.controlData);
  near(s.lower, 6.0, E, 'lower');
  near(s.upper, 39.0, E, 'upper');
  near(s.estimate, 22.5, E, 'estimate');

  const problem = input('MannWhitneySuite: Mann-Whitney Confidence Interval & Estimate: Problem Case');
  const p = mannWhitneyInterval(problem.experiment, problem.control, 0.98);
  near(p.lower, -1.4808028936386108e-5, E, 'problem case lower');
  near(p.upper, 1.808255910873413e-5, E, 'problem case upper');
  near(p.estimate, 1.808255910873413e-5, E, 'problem case estimate');

  const r = input('MannWhitneySuite: Mann-Whitney Confidence Interval & Estimate: Tie out with R Version');
  const rr = mannWhitneyInterval(r.experiment, r.control);
  near(rr.lower, -0.500002521696696, E, 'R lower');
  near(rr.upper, -3.486287505871302e-5, E, 'R upper');
  near(rr.estimate, -0.4999393907180323, 1e-4, 'R estimate');

  const big = input('MannWhitneySuite: Mann-Whitney Confidence Interval & Estimate: Tie out with R Version (Large)');
  const rb = mannWhitneyInterval(big.experiment, big.control, 0.98);
  near(rb.lower, -0.4999173250549087, E, 'R large lower');
  near(rb.upper, -6.912685789769486e-6, E, 'R large upper');
  near(rb.estimate, -3.45044082729315e-5, 1e-4, 'R large estimate');
});

test('MannWhitneySuite: intermediate values of the interval', () => {
  const { x, y } = input('MannWhitneySuite: Mann-Whitney Intermediate Values / Variables');
  const alpha = 1 - 0.95;
  const muMin = Math.min(...x) - Math.max(...y);
  const muMax = Math.max(...x) - Math.min(...y);
  const zqLower = -normalQuantile(alpha / 2);
  const zqUpper = normalQuantile(alpha / 2);
  near(muMin, -3.124999999999986, E, 'muMin');
  near(muMax, 5.555555555555557, E, 'muMax');
  near(zqLower, 1.9599639845400536, E, 'zqLower');
  near(zqUpper, -1.9599639845400536, E, 'zqUpper');
  const f = (mu: number, q: number) => wilcoxonDiff(mu, q, x, y);
  near(f(muMin, zqLower), 17.090968923762254, E, 'fLower1');
  near(f(muMax, zqLower), -20.997687930433106, E, 'fUpper1');
  near(f(muMin, zqUpper), 21.01089689284236, E, 'fLower2');
  near(f(muMax, zqUpper), -17.077759961353, E, 'fUpper2');
  const solve = (q: number) => brentSolve(muMin, muMax, f(muMin, q), f(muMax, q), (m) => f(m, q));
  near(solve(zqLower), 3.521755377702165e-5, E, 'ciLower');
  near(solve(zqUpper), 2.02456461662334e-5, E, 'ciUpper');
  near(solve(0), 2.6279243045155653e-5, E, 'estimate');
});

const gaussian = (() => {
  let s = 12345;
  return () => {
    // a fixed sequence of standard normal draws (Box–Muller on a small LCG): reproducible noise
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const u = (s + 1) / 4294967297;
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const v = (s + 1) / 4294967297;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
})();

const opts = (o: Partial<ClassifierOptions> = {}): ClassifierOptions => ({ ...CLASSIFIER_DEFAULTS, gaussian, ...o });
const t10 = { tolerance: 0.1, confLevel: 0.95 };

interface ClassifierCase {
  name: string;
  direction: 'increase' | 'decrease' | 'either';
  o?: Partial<ClassifierOptions>;
  nan?: 'remove' | 'replace';
  critical?: boolean;
  expect: KClass;
  expectCritical?: boolean;
  deviationNaN?: boolean;
  deviation?: number;
  experiment?: number[];
}

const classifierCases: ClassifierCase[] = [
  { name: 'Mann-Whitney Classifier Test: Pass Metric', direction: 'either', o: t10, expect: 'Pass' },
  { name: 'Mann-Whitney Classifier Test: High Metric', direction: 'either', o: t10, expect: 'High' },
  { name: 'Mann-Whitney Classifier Test: Low Metric', direction: 'either', o: t10, expect: 'Low' },
  { name: 'Mann-Whitney Classifier Directional Test: Increase', direction: 'increase', o: t10, expect: 'Pass' },
  { name: 'Mann-Whitney Classifier Directional Test: Decrease', direction: 'decrease', o: t10, expect: 'Pass' },
  { name: 'Mann-Whitney Classifier Directional Test: High Metric', direction: 'increase', o: t10, expect: 'High', expectCritical: false },
  { name: 'Mann-Whitney Classifier Directional Test: Low Metric', direction: 'decrease', o: t10, expect: 'Low' },
  { name: 'Mann-Whitney Classifier Test: High Metric (Large Input)', direction: 'either', o: t10, expect: 'High', expectCritical: false },
  {
    name: 'Mann-Whitney Classifier Test - Mean Ratio Effect Size: High',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [0.8, 1.2] },
    expect: 'High',
  },
  {
    name: 'Mann-Whitney Classifier Test - Mean Ratio Effect Size: Low',
    direction: 'decrease',
    o: { ...t10, effectSizeThresholds: [0.8, 1.2] },
    expect: 'Low',
  },
  {
    name: 'Mann-Whitney Classifier Test - Mean Ratio Effect Size: Pass',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [0.5, 1.0] },
    nan: 'remove',
    expect: 'Pass',
  },
  {
    name: 'Mann-Whitney Classifier Test - Mean Ratio Effect Size: Pass (Large Input)',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [1.0, 5.0] },
    expect: 'Pass',
  },
  {
    name: 'Mann-Whitney Classifier Test - CLES Effect Size: Pass',
    direction: 'either',
    o: { tolerance: 0.2, confLevel: 0.98, effectSizeThresholds: [0.5, 0.8], effectSizeMeasure: 'cles' },
    expect: 'Pass',
  },
  {
    name: 'Mann-Whitney Classifier Test - CLES Effect Size: High',
    direction: 'either',
    o: { tolerance: 0.2, confLevel: 0.98, effectSizeThresholds: [0.2, 0.8], effectSizeMeasure: 'cles' },
    expect: 'High',
  },
  {
    name: 'Mann-Whitney Classifier Test - CLES Effect Size: Low',
    direction: 'either',
    o: { tolerance: 0.2, confLevel: 0.98, effectSizeThresholds: [0.2, 0.8], effectSizeMeasure: 'cles' },
    expect: 'Low',
  },
  {
    name: 'Mann-Whitney Classifier Test - Critical Effect Size: Critical High',
    direction: 'either',
    o: { ...t10, criticalThresholds: [1.0, 1.2] },
    critical: true,
    expect: 'High',
    expectCritical: true,
  },
  {
    name: 'Mann-Whitney Classifier Test - Critical Effect Size: Critical Low',
    direction: 'either',
    o: { ...t10, criticalThresholds: [1.2, 1.0] },
    critical: true,
    expect: 'Low',
    expectCritical: true,
  },
  {
    name: 'Mann-Whitney Classifier Test - Critical Effect Size: High',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [1.0, 5.0], criticalThresholds: [1.0, 13.0] },
    critical: true,
    expect: 'High',
    expectCritical: false,
  },
  {
    name: 'Mann-Whitney Classifier Test - Critical Effect Size: Pass',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [1.0, 13.0], criticalThresholds: [1.0, 15.0] },
    critical: true,
    expect: 'Pass',
    expectCritical: false,
  },
  {
    name: 'Mann-Whitney Classifier Test - Critical Effect Size: Critical High (Default Thresholds)',
    direction: 'either',
    o: t10,
    critical: true,
    expect: 'High',
    expectCritical: true,
  },
  { name: 'Mann-Whitney Tied Observations', direction: 'decrease', o: t10, expect: 'Pass' },
  { name: 'Mann-Whitney Identical Populations', direction: 'decrease', o: t10, expect: 'Pass' },
  { name: 'Mann-Whitney Leading Zero Identical Population', direction: 'decrease', o: t10, expect: 'Pass' },
  { name: 'Mann-Whitney Missing Experiment Data', direction: 'decrease', o: t10, expect: 'Nodata', experiment: [] },
  {
    name: 'Mann-Whitney Missing Experiment Data: Critical Metric',
    direction: 'decrease',
    o: t10,
    critical: true,
    expect: 'Nodata',
    expectCritical: true,
    experiment: [],
  },
  {
    name: 'Mann-Whitney Missing Experiment Data with NaN Replacement',
    direction: 'decrease',
    o: t10,
    nan: 'replace',
    expect: 'Pass',
    experiment: [],
  },
  { name: 'Mann-Whitney Majority Tied Observations', direction: 'either', o: t10, expect: 'Pass' },
  { name: 'Mann-Whitney Tied Ranks', direction: 'either', o: t10, expect: 'High' },
  { name: 'Mann-Whitney Tied Ranks With Zeros', direction: 'either', o: t10, expect: 'High' },
  {
    name: 'Mann-Whitney Zero Mean: High Metric with Effect Size',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [0.8, 1.2] },
    expect: 'High',
    deviationNaN: true,
  },
  {
    name: 'Mann-Whitney Zero Mean: Low Metric with Effect Size',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [0.8, 1.2] },
    expect: 'Low',
    deviationNaN: true,
  },
  {
    name: 'Mann-Whitney Zero Mean: Critical Metric',
    direction: 'either',
    o: { ...t10, criticalThresholds: [0.8, 1.2] },
    nan: 'replace',
    critical: true,
    expect: 'High',
    expectCritical: true,
  },
  {
    name: 'Mann-Whitney Zero Mean: Pass Metric',
    direction: 'either',
    o: { ...t10, effectSizeThresholds: [0.8, 1.2] },
    expect: 'Pass',
    deviation: 1.0,
  },
];

test('ClassifierSuite: every Mann-Whitney classifier case classifies as Kayenta asserts', () => {
  for (const c of classifierCases) {
    const data = input(`ClassifierSuite: ${c.name}`);
    const zeros = [0, 0, 0, 0, 0];
    const experiment = c.experiment ?? data.experimentData ?? zeros;
    const control = data.controlData ?? zeros;
    const r = classify(control, experiment, c.direction, opts(c.o), c.nan ?? 'remove', c.critical ?? false);
    assert.equal(r.classification, c.expect, c.name);
    if (c.expectCritical !== undefined) assert.equal(r.critical, c.expectCritical, `${c.name}: critical`);
    if (c.deviationNaN) assert.ok(Number.isNaN(r.deviation), `${c.name}: deviation ${r.deviation} is not NaN`);
    if (c.deviation !== undefined) assert.equal(r.deviation, c.deviation, `${c.name}: deviation`);
  }
  // Missing Data: Reason String
  const none = classify([], [], 'decrease', opts(t10), 'remove', true);
  assert.ok(none.reason && none.reason.length > 0);
});

test('StatisticSuite: R-7 percentiles, mean ratio, Cohen d and CLES', () => {
  const basic = input('StatisticSuite: Summary Statistics: Basic Percentile').testData;
  near(percentileR7(basic, 5), 0.175, 1e-4, 'p5');
  assert.equal(percentileR7(basic, 50), 1.75);
  assert.equal(percentileR7(basic, 100), 3.5);
  assert.equal(
    percentileR7(input('StatisticSuite: Summary Statistics: Basic Percentile Estimate (Linear Interpolation)').testData, 50),
    4.5,
  );
  near(percentileR7(input('StatisticSuite: Summary Statistics: Percentile (NIST Data)').testData, 90), 95.19568, 1e-9, 'NIST p90');
  assert.equal(percentileR7([1.0], 100), 1.0);
  const lin = input('StatisticSuite: Summary Statistics: Percentile Estimate (Linear Interpolation)').testData;
  assert.equal(percentileR7(lin, 25), 0.0);
  near(percentileR7(lin, 75), 0.0416, 1e-4, 'p75');

  const ratio = (n: string) => {
    const d = input(`StatisticSuite: ${n}`);
    return meanRatio(d.controlData, d.experimentData);
  };
  assert.equal(ratio('Effect Size: Mean Ratio (No Effect)'), 1.0);
  assert.equal(ratio('Effect Size: Mean Ratio (High)'), 10.0);
  assert.equal(ratio('Effect Size: Mean Ratio (Low)'), 0.1);
  assert.ok(Number.isNaN(ratio('Effect Size: Mean Ratio (Zero Mean)')));
  const d = input("StatisticSuite: Effect Size: Cohen's D");
  near(cohenD(d.controlData, d.experimentData), 3.03821, 1e-5, "Cohen's d");

  const c = (n: string) => {
    const x = input(`StatisticSuite: ${n}`);
    return cles(x.controlData, x.experimentData);
  };
  assert.equal(c('CLES Effect Size: Identical'), 0.5);
  assert.equal(c('CLES Effect Size: Different (No Overlap)'), 0.0);
  near(c('CLES Effect Size: High Metric'), 0.771, 0.001, 'CLES high');
  assert.equal(c('CLES Effect Size: Low Metric'), 0.12);
});

test('DetectorSuite and TransformSuite: IQR and k-sigma detectors, NaN strategies and outlier removal', () => {
  const flags = (n: string) => input(`DetectorSuite: ${n}`).testData;
  assert.deepEqual(kSigmaOutliers(flags('KSigma Detection'), 3.0), [
    false,
    false,
    false,
    false,
    false,
    true,
    false,
    false,
    false,
    false,
    false,
  ]);
  assert.deepEqual(kSigmaOutliers(flags('KSigma Two Sided'), 1.0), [false, false, false, true, false, false, false, true]);
  assert.deepEqual(iqrOutliers(flags('IQR Detection'), 1.5), [false, false, false, false, true, false, false, false]);
  assert.deepEqual(iqrOutliers(flags('IQR Detect Two Sided'), 1.5), [false, false, false, true, false, false, false, true]);
  assert.deepEqual(iqrOutliers([], 1.5), []);
  const nist = flags('IQR NIST Test');
  assert.deepEqual(iqrOutliers(nist, 1.5), [...Array<boolean>(nist.length - 1).fill(false), true]);

  // Through the judge's metric transform: NaNs removed by default, replaced by 0 on request; outliers kept
  // by default (since Kayenta 2019), removed with the wider fences on request.
  const base = Array.from({ length: 40 }, (_, i) => 100 + ((i * 37) % 20));
  const withNaN = [...base.slice(0, 10), ...Array<number>(30).fill(NaN)];
  const r1 = classifyMetric({ name: 'm', control: base, experiment: withNaN, groups: ['g'] }, gaussian);
  assert.equal(r1.classification, 'Pass');
  const r2 = classifyMetric({ name: 'm', control: base, experiment: withNaN, groups: ['g'], config: { nanStrategy: 'replace' } }, gaussian);
  assert.equal(r2.classification, 'Low'); // thirty zeros pull the canary down (direction defaults to either)
  // TransformSuite: Remove Single NaN, Remove Multiple NaN, Replace NaNs, IQR Outlier Removal
  assert.deepEqual(transformValues([0.0, 1.0, NaN, 1.0, 0.0]), [0.0, 1.0, 1.0, 0.0]);
  assert.deepEqual(transformValues([NaN, NaN, NaN]), []);
  assert.deepEqual(transformValues([NaN, 10.1, 20.2, 30.3, NaN, 40.4], { nanStrategy: 'replace' }), [0.0, 10.1, 20.2, 30.3, 0.0, 40.4]);
  const iqr = [21.0, 23.0, 24.0, 25.0, 50.0, 29.0, 23.0, 21.0];
  assert.deepEqual(transformValues(iqr), iqr); // outliers are kept by default
  // TransformSuite's IQR Outlier Removal (factor 1.5); the judge's removal also keeps all within the 1st/99th percentiles.
  assert.deepEqual(
    iqr.filter((_, i) => !iqrOutliers(iqr, 1.5)[i]),
    [21.0, 23.0, 24.0, 25.0, 29.0, 23.0, 21.0],
  );
  assert.deepEqual(
    transformValues(iqr, { outliers: { strategy: 'remove', outlierFactor: 1.5 } }),
    [21.0, 23.0, 24.0, 25.0, 29.0, 23.0, 21.0],
  );
  const normal = Array.from({ length: 199 }, (_, i) => 100 + (i % 20));
  assert.deepEqual(transformValues([...normal, 10_000], { outliers: { strategy: 'remove' } }), normal);
  // two such values of a hundred are within the 99th percentile, so they stay
  const two = [...normal.slice(0, 98), 10_000, 10_000];
  assert.deepEqual(transformValues(two, { outliers: { strategy: 'remove' } }), two);
});

const m = (name: string, classification: KClass, groups: string[], critical = false): KMetricResult => ({
  name,
  classification,
  groups,
  critical,
  muted: false,
  deviation: 1,
});
const th = { pass: 95, marginal: 75 };

test('ScorerSuite: the weighted group scores, critical metrics and missing data', () => {
  assert.equal(score([m('p', 'Pass', ['test-group'])], th).score, 100);
  assert.equal(score([m('h', 'High', ['test-group'])], th).score, 0);
  const nodata = score([m('n', 'Nodata', ['test-group-nodata'])], th);
  assert.equal(nodata.groupScores.length, 1);
  assert.equal(nodata.groupScores[0].score, 0);
  assert.equal(nodata.score, 0);
  const twoGroups = score(
    [m('a', 'Pass', ['test-group-pass']), m('b', 'Pass', ['test-group-pass']), m('n', 'Nodata', ['test-group-nodata'])],
    th,
  );
  assert.deepEqual(
    twoGroups.groupScores.map((g) => g.score).sort((a, b) => a - b),
    [0, 100],
  );
  assert.equal(twoGroups.score, 100);
  assert.equal(score([m('p', 'Pass', ['g']), m('h', 'High', ['g'])], th).score, 50);
  assert.equal(score([m('p', 'Pass', ['g']), m('h', 'High', ['g']), m('l', 'Low', ['g'])], th).score, 33.33);
  assert.equal(
    score([m('p1', 'Pass', ['group-1']), m('p2', 'Pass', ['group-1']), m('f', 'High', ['group-2'])], th, { 'group-1': 75, 'group-2': 25 })
      .score,
    75,
  );
  assert.equal(
    score([m('p', 'Pass', ['group-1']), m('f1', 'High', ['group-1']), m('f2', 'High', ['group-2'])], th, { 'group-1': 50, 'group-2': 50 })
      .score,
    25,
  );
  assert.equal(
    score([m('p', 'Pass', ['group-1']), m('n', 'Nodata', ['group-1']), m('f', 'High', ['group-2'])], th, { 'group-1': 50, 'group-2': 50 })
      .score,
    50,
  );
  assert.equal(score([m('p', 'Pass', ['g']), m('h', 'High', ['g'], true)], th).score, 0);
  assert.equal(score([m('l', 'Low', ['g']), m('p', 'Pass', ['g'], true)], th).score, 50);
  assert.equal(score([m('p', 'Pass', ['g']), m('n', 'Nodata', ['g'], true)], th).score, 0);
  assert.equal(
    score([m('h', 'High', ['group1']), m('l', 'Low', ['group1']), m('p', 'Pass', ['group1']), m('f', 'High', ['group2'])], th, {
      group1: 15,
      group2: 85,
    }).score,
    5,
  );
});

test('the judge: muted metrics are left out, ungrouped metrics score in no group, thresholds classify', () => {
  const base = Array.from({ length: 40 }, (_, i) => 100 + ((i * 37) % 20));
  const high = base.map((v) => v * 1.5);
  const ok = { name: 'ok', control: base, experiment: base.map((v) => v + 0.001), groups: ['a'] };
  const bad = { name: 'bad', control: base, experiment: high, groups: ['b'] };
  assert.equal(kayentaJudge([ok, bad], th, gaussian).classification, 'Fail');
  assert.equal(kayentaJudge([ok, { ...bad, config: { muted: true } }], th, gaussian).score, 100);
  assert.equal(kayentaJudge([ok, { ...bad, groups: [] }], th, gaussian).score, 100);
  assert.equal(kayentaJudge([ok, ok, ok, { ...bad, groups: ['a'] }], { pass: 95, marginal: 70 }, gaussian).classification, 'Marginal');
  // A canary of ten zeros against a control near 55 is Low (the zero mean makes the effect size NaN, which skips its check).
  const zeros = {
    name: 'z',
    control: [54.9, 54.5, 55.1, 55.6, 57.4, 54.9, 54.5, 55.1, 55.6, 57.4],
    experiment: Array<number>(10).fill(0),
    groups: ['z'],
  };
  assert.equal(kayentaJudge([zeros], th, gaussian).metrics[0].classification, 'Low');
});

// A re-implementation, for comparison only, of the canary judge of Kayenta (Spinnaker's automated canary
// analysis, "NetflixACAJudge-v1.0"), written from a reading of its Scala sources:
//   - preprocessing: drop NaNs, then drop outliers outside the wider of Tukey's fences (factor 3) and the
//     1st/99th percentiles (IQRDetector with reduceSensitivity), percentiles as Apache Commons Math computes them;
//   - MannWhitneyClassifier(tolerance = 0.25, confLevel = 0.98): a confidence interval and estimate for the
//     shift experiment − control found by inverting the rank-sum test with its normal approximation (tie and
//     continuity corrected, as R's wilcox.test(conf.int = TRUE, exact = FALSE)); High when the whole interval
//     lies above +tolerance·|estimate| and the effect size (ratio of means) reaches allowedIncrease (1.0),
//     Low mirrors it; identical data or a single distinct value passes; no data is Nodata;
//   - WeightedSumScorer: per group, pass / (pass + high + low + nodataFail) × 100, groups weighted (equal
//     when no weights are set), 0 on a failed critical metric or when half or more of the metrics have no data;
//   - ThresholdScoreClassifier: Pass at or above `pass`, Marginal at or above `marginal`, else Fail.
// Root finding uses bisection where Kayenta uses Brent's method; both find the same jump of a step function.
import { normalQuantile } from '../src/judge/stats.js';

export type KDirection = 'increase' | 'decrease' | 'either';
export type KClass = 'Pass' | 'High' | 'Low' | 'Nodata' | 'NodataFailMetric' | 'Error';

export interface KMetric {
  name: string;
  control: number[];
  experiment: number[];
  direction: KDirection;
  critical?: boolean;
  mustHaveData?: boolean;
  groups?: string[];
}

export interface KMetricResult {
  name: string;
  classification: KClass;
  critical: boolean;
  deviation: number;
  lower?: number;
  upper?: number;
  estimate?: number;
}

export interface KJudgment {
  score: number;
  classification: 'Pass' | 'Marginal' | 'Fail';
  metrics: KMetricResult[];
}

/** Apache Commons Math `StatUtils.percentile` (default estimation): position p(n+1)/100, linear between. */
export function commonsPercentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  if (n === 1) return s[0];
  const pos = (p * (n + 1)) / 100;
  const fpos = Math.floor(pos);
  const d = pos - fpos;
  if (pos < 1) return s[0];
  if (pos >= n) return s[n - 1];
  const lower = s[fpos - 1];
  const upper = s[fpos];
  return lower + d * (upper - lower);
}

/** IQRDetector(factor = 3.0, reduceSensitivity = true): keeps values inside the wider fences. */
export function removeOutliers(values: readonly number[], factor = 3.0): number[] {
  if (values.length === 0) return [];
  const p75 = commonsPercentile(values, 75);
  const p25 = commonsPercentile(values, 25);
  const iqr = p75 - p25;
  const lowerFence = Math.min(commonsPercentile(values, 1), p25 - factor * iqr);
  const upperFence = Math.max(commonsPercentile(values, 99), p75 + factor * iqr);
  return values.filter((x) => !(x > upperFence || x < lowerFence));
}

function averageRanks(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const idx = values.map((v, i) => [v, i] as [number, number]).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k][1]] = r;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks, tieTerm };
}

/** Standardized rank-sum statistic of (x − mu) against y, continuity corrected, minus the quantile. */
function wilcoxonDiff(mu: number, quantile: number, x: readonly number[], y: readonly number[]): number {
  const nx = x.length;
  const ny = y.length;
  const { ranks, tieTerm } = averageRanks([...x.map((v) => v - mu), ...y]);
  let sx = 0;
  for (let i = 0; i < nx; i++) sx += ranks[i];
  const dz = sx - (nx * (nx + 1)) / 2 - (nx * ny) / 2;
  const correction = Math.sign(dz) * 0.5;
  const sigma = Math.sqrt(((nx * ny) / 12) * (nx + ny + 1 - tieTerm / ((nx + ny) * (nx + ny - 1))));
  if (sigma === 0) throw new Error('cannot compute confidence interval when all observations are tied');
  return (dz - correction) / sigma - quantile;
}

function solve(lo: number, hi: number, f: (m: number) => number): number {
  let flo = f(lo);
  for (let i = 0; i < 100 && hi - lo > 1e-10 * Math.max(1, Math.abs(lo), Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    const fm = f(mid);
    if (fm === 0) return mid;
    if (Math.sign(fm) === Math.sign(flo)) {
      lo = mid;
      flo = fm;
    } else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Confidence interval and estimate of the shift experiment − control (Kayenta's MannWhitney). */
export function mannWhitneyInterval(
  x: readonly number[],
  y: readonly number[],
  confidenceLevel: number,
): { lower: number; upper: number; estimate: number } {
  const alpha = 1 - confidenceLevel;
  const muMin = Math.min(...x) - Math.max(...y);
  const muMax = Math.max(...x) - Math.min(...y);
  const findRoot = (zq: number) => {
    const fLower = wilcoxonDiff(muMin, zq, x, y);
    const fUpper = wilcoxonDiff(muMax, zq, x, y);
    if (fLower <= 0) return muMin;
    if (fUpper >= 0) return muMax;
    return solve(muMin, muMax, (m) => wilcoxonDiff(m, zq, x, y));
  };
  const zQuant = normalQuantile(alpha / 2);
  const lower = findRoot(-zQuant);
  const upper = findRoot(zQuant);
  const estimate = solve(muMin, muMax, (m) => wilcoxonDiff(m, 0, x, y));
  return { lower, upper, estimate };
}

function meanOf(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** EffectSizes.meanRatio, with the classifier's rule that a zero control mean gives 1.0. */
function deviation(experiment: readonly number[], control: readonly number[]): number {
  const c = meanOf(control);
  const e = meanOf(experiment);
  if (c === 0) return 1.0;
  if (e === 0) return NaN;
  return e / c;
}

export interface KOptions {
  tolerance: number;
  confLevel: number;
  /** effectSize thresholds (allowedDecrease, allowedIncrease). */
  effectSize: [number, number];
  /** Deterministic noise for the degenerate single-value case. */
  noise: () => number;
}

export const KAYENTA_DEFAULTS: Omit<KOptions, 'noise'> = { tolerance: 0.25, confLevel: 0.98, effectSize: [1.0, 1.0] };

export function classifyMetric(m: KMetric, opts: KOptions): KMetricResult {
  const critical = m.critical ?? false;
  const clean = (v: number[]) => removeOutliers(v.filter((x) => !Number.isNaN(x)));
  const experiment = clean(m.experiment);
  const control = clean(m.control);
  if (experiment.length === 0 || control.length === 0) {
    if (m.mustHaveData && !critical) return { name: m.name, classification: 'NodataFailMetric', critical: false, deviation: 1 };
    return { name: m.name, classification: 'Nodata', critical, deviation: 1 };
  }
  const se = [...experiment].sort((a, b) => a - b);
  const sc = [...control].sort((a, b) => a - b);
  if (se.length === sc.length && se.every((v, i) => v === sc[i]))
    return { name: m.name, classification: 'Pass', critical: false, deviation: 1 };
  if (new Set([...experiment, ...control]).size === 1) return { name: m.name, classification: 'Pass', critical: false, deviation: 1 };
  let x = experiment;
  let y = control;
  if (new Set(x).size === 1 && new Set(y).size === 1) {
    const jitter = (v: number[]) => v.map((a) => a + a * 1e-5 * opts.noise());
    x = jitter(x);
    y = jitter(y);
  }
  let mw: { lower: number; upper: number; estimate: number };
  try {
    mw = mannWhitneyInterval(x, y, opts.confLevel);
  } catch {
    return { name: m.name, classification: 'Error', critical, deviation: NaN };
  }
  const dev = deviation(x, y);
  const crit = opts.tolerance * Math.abs(mw.estimate);
  const isHigh = (m.direction === 'increase' || m.direction === 'either') && mw.lower > crit && dev >= opts.effectSize[1];
  const isLow = (m.direction === 'decrease' || m.direction === 'either') && mw.upper < -crit && dev <= opts.effectSize[0];
  const classification: KClass = isHigh ? 'High' : isLow ? 'Low' : 'Pass';
  return { name: m.name, classification, critical: critical && classification !== 'Pass', deviation: dev, ...mw };
}

/** The whole judgment: classify each metric, score (WeightedSumScorer), classify the score. */
export function kayentaJudge(
  metrics: KMetric[],
  thresholds: { pass: number; marginal: number },
  opts: KOptions,
  groupWeights: Record<string, number> = {},
): KJudgment {
  const results = metrics.map((m) => classifyMetric(m, opts));
  const groupsOf = (m: KMetric) => (m.groups && m.groups.length ? m.groups : ['default']);
  const labels = new Map<string, KClass[]>();
  metrics.forEach((m, i) => {
    for (const g of groupsOf(m)) labels.set(g, [...(labels.get(g) ?? []), results[i].classification]);
  });
  const critical = results.some((r) => r.critical && r.classification !== 'Pass');
  const nodata = results.filter((r) => r.classification === 'Nodata').length;
  let score: number;
  if (critical || (results.length > 0 && (nodata / results.length) * 100 >= 50)) score = 0;
  else {
    const weightSum = Object.values(groupWeights).reduce((a, b) => a + b, 0);
    const unweighted = [...labels.keys()].filter((g) => !(g in groupWeights));
    const calculated = unweighted.length > 0 ? (100 - weightSum) / unweighted.length : 0;
    score = 0;
    for (const [g, ls] of labels) {
      const pass = ls.filter((l) => l === 'Pass').length;
      const total = ls.filter((l) => l === 'Pass' || l === 'High' || l === 'Low' || l === 'NodataFailMetric').length;
      const groupScore = total === 0 ? 100 : (pass / total) * 100;
      score += groupScore * ((groupWeights[g] ?? calculated) / 100);
    }
    score = Math.round(score * 100) / 100;
  }
  const classification = score >= thresholds.pass ? 'Pass' : score >= thresholds.marginal ? 'Marginal' : 'Fail';
  return { score, classification, metrics: results };
}

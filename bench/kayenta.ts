// A faithful re-implementation, for comparison only (bench code, not product code), of Kayenta's canary
// judge "NetflixACAJudge-v1.0" with its MannWhitneyClassifier, written from a reading of Kayenta's Scala and
// Java sources (spinnaker/kayenta: kayenta-judge, kayenta-mannwhitney). Nothing here is copied; the
// behaviour is matched and test/judge-kayenta.test.ts runs Kayenta's own unit-test inputs against it.
//
// What it does, as Kayenta does:
//   - per metric, from its analysis configuration: direction (default either), nanStrategy (default remove;
//     replace puts 0 in place of NaN), outliers (default keep; remove drops values outside the wider of
//     Tukey's fences with outlierFactor, default 3, and the 1st/99th percentiles), critical, mustHaveData,
//     muted, effect size measure (meanRatio, default, or cles), allowed and critical increase/decrease
//     (default 1.0 for meanRatio, 0.5 for cles); percentiles are R-7 (Apache Commons Math EstimationType.R_7);
//   - MannWhitneyClassifier(tolerance 0.25, confidence 0.98): empty side → Nodata (NodataFailMetric when
//     mustHaveData and not critical; Pass under nanStrategy replace); identical sorted data → Pass; a single
//     distinct value over both sides → Pass; when each side has a single distinct value, Gaussian noise of
//     sd 1e-5 × value is added; then the Mann–Whitney interval and Hodges–Lehmann estimate of experiment −
//     control by inverting the continuity- and tie-corrected normal rank-sum statistic, each root found by
//     Brent's method with absolute tolerance 1e-4 (as R's uniroot) and at most 1000 iterations; High when
//     the lower bound exceeds 0.25 × |estimate| and the effect size reaches allowedIncrease (a NaN effect
//     size — a zero mean on either side — skips that check), Low mirrors it; critical only when the
//     classification also meets the critical effect size; an exception (all observations tied) → Error;
//   - scoring (ScoringHelper, WeightedSumScorer): muted metrics are left out; a metric counts in each of its
//     groups (an ungrouped metric counts in none); group score = Pass / (Pass + High + Low +
//     NodataFailMetric) × 100, a group with none of those scores 100 in the sum; group weights as configured,
//     the rest shared equally by the unweighted groups; rounded half-up to 2 decimals; 0 on any critical
//     non-Pass metric or when 50% or more of the metrics are Nodata;
//   - ThresholdScoreClassifier: Pass at or above `pass`, Marginal at or above `marginal`, else Fail.
import { normalQuantile } from '../src/judge/stats.js';

export type KDirection = 'increase' | 'decrease' | 'either';
export type KClass = 'Pass' | 'High' | 'Low' | 'Nodata' | 'NodataFailMetric' | 'Error';

/** A metric's `analysisConfigurations.canary` in a Kayenta canary config; every field has Kayenta's default. */
export interface KMetricConfig {
  direction?: KDirection;
  nanStrategy?: 'remove' | 'replace';
  outliers?: { strategy?: 'keep' | 'remove'; outlierFactor?: number };
  critical?: boolean;
  mustHaveData?: boolean;
  muted?: boolean;
  effectSize?: {
    measure?: 'meanRatio' | 'cles';
    allowedIncrease?: number;
    allowedDecrease?: number;
    criticalIncrease?: number;
    criticalDecrease?: number;
  };
}

export interface KMetric {
  name: string;
  control: number[];
  experiment: number[];
  /** The metric's groups in the canary config; an ungrouped metric scores in no group (as in Kayenta). */
  groups: string[];
  config?: KMetricConfig;
}

export interface KMetricResult {
  name: string;
  classification: KClass;
  critical: boolean;
  muted: boolean;
  groups: string[];
  /** Mean ratio experiment / control (NaN when either mean is 0; 1 where the classifier says so). */
  deviation: number;
  reason?: string;
  lower?: number;
  upper?: number;
  estimate?: number;
}

export interface KJudgment {
  score: number;
  classification: 'Pass' | 'Marginal' | 'Fail';
  reason?: string;
  groupScores: { name: string; score: number; noData: boolean }[];
  metrics: KMetricResult[];
}

// ----- descriptive statistics ------------------------------------------------------------------------------

/** Percentile p (0..100) with the R-7 estimate (Commons Math `Percentile().withEstimationType(R_7)`). */
export function percentileR7(values: readonly number[], p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  if (n === 1) return s[0];
  const h = ((n - 1) * p) / 100; // 0-based position
  const lo = Math.floor(h);
  if (lo >= n - 1) return s[n - 1];
  return s[lo] + (h - lo) * (s[lo + 1] - s[lo]);
}

/** IQRDetector: true for each value outside the fences (the wider of them and the 1st/99th percentiles when reduced). */
export function iqrOutliers(data: readonly number[], factor = 1.5, reduceSensitivity = false): boolean[] {
  if (!(factor > 0)) throw new Error('factor must be greater than zero');
  if (data.length === 0) return [];
  const p25 = percentileR7(data, 25);
  const p75 = percentileR7(data, 75);
  const iqr = p75 - p25;
  let lower = p25 - factor * iqr;
  let upper = p75 + factor * iqr;
  if (reduceSensitivity) {
    lower = Math.min(percentileR7(data, 1), lower);
    upper = Math.max(percentileR7(data, 99), upper);
  }
  return data.map((x) => x > upper || x < lower);
}

/** KSigmaDetector: true for each value more than k population standard deviations from the mean. */
export function kSigmaOutliers(data: readonly number[], k = 3.0): boolean[] {
  const n = data.length;
  const mean = data.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return data.map((x) => Math.abs(x - mean) > k * sd);
}

const meanOf = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** EffectSizes.meanRatio: experiment mean / control mean, NaN when either mean is 0. */
export function meanRatio(control: readonly number[], experiment: readonly number[]): number {
  const c = meanOf(control);
  const e = meanOf(experiment);
  return c === 0 || e === 0 ? NaN : e / c;
}

/** Average ranks (1-based; ties share their mean rank), as Commons Math NaturalRanking with TiesStrategy.AVERAGE. */
function averageRanks(values: readonly number[]): number[] {
  const idx = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && values[idx[j + 1]] === values[idx[i]]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** EffectSizes.cles: the share of (experiment, control) pairs where experiment is higher, ties one half. */
export function cles(control: readonly number[], experiment: readonly number[]): number {
  const m = experiment.length;
  const n = control.length;
  const ranks = averageRanks([...experiment, ...control]);
  let r1 = 0;
  for (let i = 0; i < m; i++) r1 += ranks[i];
  return (2 * r1 - m * (m + 1)) / (2 * n * m);
}

/** EffectSizes.cohenD: |mean difference| / pooled sample standard deviation. */
export function cohenD(control: readonly number[], experiment: readonly number[]): number {
  const v = (x: readonly number[]) => {
    const m = meanOf(x);
    return x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1);
  };
  const pooled = Math.sqrt(
    ((experiment.length - 1) * v(experiment) + (control.length - 1) * v(control)) / (control.length + experiment.length - 2),
  );
  return Math.abs(meanOf(experiment) - meanOf(control)) / pooled;
}

// ----- Mann–Whitney interval (kayenta-mannwhitney) ---------------------------------------------------------

/**
 * The standardized, continuity- and tie-corrected rank-sum statistic of (x − mu) against y, minus
 * `quantile`: its roots in mu are the interval's ends (quantile ±z) and the estimate (quantile 0).
 */
export function wilcoxonDiff(mu: number, quantile: number, x: readonly number[], y: readonly number[]): number {
  const nx = x.length;
  const ny = y.length;
  const all = [...x.map((v) => v - mu), ...y];
  const ranks = averageRanks(all);
  let sx = 0;
  for (let i = 0; i < nx; i++) sx += ranks[i];
  const counts = new Map<number, number>();
  for (const r of ranks) counts.set(r, (counts.get(r) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t ** 3 - t;
  const dz = sx - (nx * (nx + 1)) / 2 - (nx * ny) / 2;
  const correction = Math.sign(dz) * 0.5;
  const sigma = Math.sqrt(((nx * ny) / 12) * (nx + ny + 1 - ties / ((nx + ny) * (nx + ny - 1))));
  if (sigma === 0) throw new Error('cannot compute confidence interval when all observations are tied');
  return (dz - correction) / sigma - quantile;
}

const BRENT_TOLERANCE = 1e-4;
const BRENT_EPSILON = 2.220446049250313e-16;
const BRENT_MAX_ITERATIONS = 1000;

/**
 * Brent's root finder (Brent 1973; the zeroin of Forsythe, Malcolm and Moler, as R's uniroot runs it):
 * bisection guarded by secant and inverse quadratic interpolation steps, stopping when the bracket's half
 * width is within 2ε|b| + tolerance/2 (absolute tolerance 1e-4) or f(b) is 0. `fa`, `fb` are f at a, b.
 */
export function brentSolve(ax: number, bx: number, fax: number, fbx: number, f: (x: number) => number): number {
  let a = ax;
  let b = bx;
  let fa = fax;
  let fb = fbx;
  if (fa === 0) return a;
  if (fb === 0) return b;
  let c = a;
  let fc = fa;
  for (let iter = 0; iter <= BRENT_MAX_ITERATIONS; iter++) {
    const prevStep = b - a;
    // keep b the best guess: |f(b)| ≤ |f(c)|
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol = 2 * BRENT_EPSILON * Math.abs(b) + BRENT_TOLERANCE / 2;
    let step = (c - b) / 2;
    if (Math.abs(step) <= tol || fb === 0) return b;
    if (Math.abs(prevStep) >= tol && Math.abs(fa) > Math.abs(fb)) {
      // try interpolation: secant when only two points are known, else inverse quadratic
      const cb = c - b;
      let p: number;
      let q: number;
      if (a === c) {
        const s = fb / fa;
        p = cb * s;
        q = 1 - s;
      } else {
        const qa = fa / fc;
        const r = fb / fc;
        const s = fb / fa;
        p = s * (cb * qa * (qa - r) - (b - a) * (r - 1));
        q = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      // accept the interpolated step only if it stays well inside the bracket and shrinks fast enough
      if (p < 0.75 * cb * q - Math.abs(tol * q) / 2 && p < Math.abs((prevStep * q) / 2)) step = p / q;
    }
    if (Math.abs(step) < tol) step = step > 0 ? tol : -tol;
    a = b;
    fa = fb;
    b += step;
    fb = f(b);
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
      c = a;
      fc = fa;
    }
  }
  return b;
}

/** MannWhitney.mannWhitneyUTest: the interval and estimate of the shift x − y at `confidenceLevel`. */
export function mannWhitneyInterval(
  x: readonly number[],
  y: readonly number[],
  confidenceLevel = 0.95,
): { lower: number; upper: number; estimate: number; muMin: number; muMax: number } {
  const alpha = 1 - confidenceLevel;
  const muMin = Math.min(...x) - Math.max(...y);
  const muMax = Math.max(...x) - Math.min(...y);
  const root = (zq: number) => {
    const fLower = wilcoxonDiff(muMin, zq, x, y);
    const fUpper = wilcoxonDiff(muMax, zq, x, y);
    if (fLower <= 0) return muMin;
    if (fUpper >= 0) return muMax;
    return brentSolve(muMin, muMax, fLower, fUpper, (m) => wilcoxonDiff(m, zq, x, y));
  };
  const zQuant = normalQuantile(alpha / 2);
  const lower = root(-zQuant);
  const upper = root(zQuant);
  const estimate = brentSolve(muMin, muMax, wilcoxonDiff(muMin, 0, x, y), wilcoxonDiff(muMax, 0, x, y), (m) => wilcoxonDiff(m, 0, x, y));
  return { lower, upper, estimate, muMin, muMax };
}

// ----- the classifier ---------------------------------------------------------------------------------------

export interface ClassifierOptions {
  tolerance: number;
  confLevel: number;
  /** (allowedDecrease, allowedIncrease) */
  effectSizeThresholds: [number, number];
  /** (criticalDecrease, criticalIncrease) */
  criticalThresholds: [number, number];
  effectSizeMeasure: 'meanRatio' | 'cles';
  /** A standard normal draw, for the noise Kayenta adds to two single-valued samples (seed it for reproducibility). */
  gaussian: () => number;
}

/** The classifier's own defaults (the judge passes tolerance 0.25 and confidence 0.98). */
export const CLASSIFIER_DEFAULTS: Omit<ClassifierOptions, 'gaussian'> = {
  tolerance: 0.25,
  confLevel: 0.95,
  effectSizeThresholds: [1.0, 1.0],
  criticalThresholds: [1.0, 1.0],
  effectSizeMeasure: 'meanRatio',
};

export interface Classification {
  classification: KClass;
  reason?: string;
  deviation: number;
  critical: boolean;
  lower?: number;
  upper?: number;
  estimate?: number;
}

function sameSorted(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  return x.every((v, i) => Object.is(v, y[i]) || v === y[i]);
}

/** MannWhitneyClassifier.classify(control, experiment, direction, nanStrategy, isCritical, isDataRequired). */
export function classify(
  control: readonly number[],
  experiment: readonly number[],
  direction: KDirection,
  opts: ClassifierOptions,
  nanStrategy: 'remove' | 'replace' = 'remove',
  isCritical = false,
  isDataRequired = false,
): Classification {
  if (experiment.length === 0 || control.length === 0) {
    if (nanStrategy === 'remove') {
      const reason = 'Missing data';
      if (isDataRequired && !isCritical) return { classification: 'NodataFailMetric', reason, deviation: 1, critical: false };
      return { classification: 'Nodata', reason, deviation: 1, critical: isCritical };
    }
    return { classification: 'Pass', deviation: 1, critical: false };
  }
  if (sameSorted(experiment, control)) {
    return { classification: 'Pass', reason: 'The Canary and Baseline data are identical', deviation: 1, critical: false };
  }
  if (new Set([...experiment, ...control]).size === 1) return { classification: 'Pass', deviation: 1, critical: false };

  // compare: the test, the bounds from the estimate, the effect size
  let x = experiment;
  let y = control;
  if (new Set(x).size === 1 && new Set(y).size === 1) {
    const noisy = (v: readonly number[]) => {
      const sd = v[0] * 1e-5;
      return v.map((a) => a + opts.gaussian() * sd);
    };
    x = noisy(x);
    y = noisy(y);
  }
  const mw = mannWhitneyInterval(x, y, opts.confLevel);
  const deviation = meanRatio(y, x);
  const effect = opts.effectSizeMeasure === 'cles' ? cles(y, x) : meanRatio(y, x);
  const bound = opts.tolerance * Math.abs(mw.estimate);
  const up = direction === 'increase' || direction === 'either';
  const down = direction === 'decrease' || direction === 'either';
  const isHigh = up && mw.lower > bound && (Number.isNaN(effect) || effect >= opts.effectSizeThresholds[1]);
  const isLow = down && mw.upper < -bound && (Number.isNaN(effect) || effect <= opts.effectSizeThresholds[0]);
  const label: KClass = isHigh ? 'High' : isLow ? 'Low' : 'Pass';
  const stats = { lower: mw.lower, upper: mw.upper, estimate: mw.estimate, deviation };
  const criticalHigh = isCritical && label === 'High' && (Number.isNaN(effect) || effect >= opts.criticalThresholds[1]);
  const criticalLow = isCritical && label === 'Low' && (Number.isNaN(effect) || effect <= opts.criticalThresholds[0]);
  if (criticalHigh || criticalLow) return { classification: label, reason: `classified as ${label} (Critical)`, critical: true, ...stats };
  return { classification: label, ...(label === 'Pass' ? {} : { reason: `classified as ${label}` }), critical: false, ...stats };
}

// ----- the judge --------------------------------------------------------------------------------------------

/** NetflixACAJudge.transformMetric: NaNs removed (or replaced by 0), then outliers kept (or removed with the reduced-sensitivity IQR fences). */
export function transformValues(v: readonly number[], cfg: KMetricConfig = {}): number[] {
  const clean = (cfg.nanStrategy ?? 'remove') === 'remove' ? v.filter((a) => !Number.isNaN(a)) : v.map((a) => (Number.isNaN(a) ? 0 : a));
  if ((cfg.outliers?.strategy ?? 'keep') !== 'remove') return clean;
  const out = iqrOutliers(clean, cfg.outliers?.outlierFactor ?? 3.0, true);
  return clean.filter((_, i) => !out[i]);
}

/** NetflixACAJudge.classifyMetric: transforms by the metric's config, then the classifier at tolerance 0.25, 98%. */
export function classifyMetric(m: KMetric, gaussian: () => number): KMetricResult {
  const cfg = m.config ?? {};
  const direction = cfg.direction ?? 'either';
  const nanStrategy = cfg.nanStrategy ?? 'remove';
  const measure = cfg.effectSize?.measure ?? 'meanRatio';
  const dflt = measure === 'cles' ? 0.5 : 1.0;
  const es = cfg.effectSize ?? {};
  const transform = (v: readonly number[]) => transformValues(v, cfg);
  const base = { name: m.name, muted: cfg.muted ?? false, groups: m.groups };
  try {
    const c = classify(
      transform(m.control),
      transform(m.experiment),
      direction,
      {
        tolerance: 0.25,
        confLevel: 0.98,
        effectSizeThresholds: [es.allowedDecrease ?? dflt, es.allowedIncrease ?? dflt],
        criticalThresholds: [es.criticalDecrease ?? dflt, es.criticalIncrease ?? dflt],
        effectSizeMeasure: measure,
        gaussian,
      },
      nanStrategy,
      cfg.critical ?? false,
      cfg.mustHaveData ?? false,
    );
    return { ...base, ...c };
  } catch {
    return { ...base, classification: 'Error', critical: false, deviation: NaN, reason: 'Metric Classification Failed' };
  }
}

/** Commons Math Precision.round(x, 2): half-up at two decimals. */
const round2 = (x: number) => (Math.sign(x) * Math.round(Math.abs(x) * 100 + 1e-9)) / 100;

/** WeightedSumScorer + ThresholdScoreClassifier over already classified metrics (ScoringHelper.score). */
export function score(
  all: readonly KMetricResult[],
  thresholds: { pass: number; marginal: number },
  groupWeights: Record<string, number> = {},
): Omit<KJudgment, 'metrics'> {
  const results = all.filter((r) => !r.muted);
  const byGroup = new Map<string, KClass[]>();
  for (const r of results) for (const g of r.groups) byGroup.set(g, [...(byGroup.get(g) ?? []), r.classification]);
  const groupScores = [...byGroup.entries()].map(([name, labels]) => {
    const n = (l: KClass) => labels.filter((x) => x === l).length;
    const total = n('Pass') + n('High') + n('Low') + n('NodataFailMetric');
    return { name, score: total === 0 ? 0 : (n('Pass') / total) * 100, noData: total === 0 };
  });
  const critical = results.find((r) => r.critical && r.classification !== 'Pass');
  const nodataShare = (results.filter((r) => r.classification === 'Nodata').length / results.length) * 100;
  let summary: number;
  let reason: string | undefined;
  if (critical) {
    summary = 0;
    reason = `Canary Failed: ${critical.reason ?? critical.name}`;
  } else if (nodataShare >= 50) {
    summary = 0;
    reason = 'Canary Failed: 50% or more metrics returned NODATA';
  } else {
    const weightSum = Object.values(groupWeights).reduce((a, b) => a + b, 0);
    const unweighted = groupScores.filter((g) => !(g.name in groupWeights));
    const calculated = unweighted.length > 0 ? (100 - weightSum) / unweighted.length : 0;
    let s = 0;
    for (const g of groupScores) s += (g.noData ? 100 : g.score) * ((groupWeights[g.name] ?? calculated) / 100);
    summary = round2(s);
  }
  const classification = summary >= thresholds.pass ? 'Pass' : summary >= thresholds.marginal ? 'Marginal' : 'Fail';
  return { score: summary, classification, reason, groupScores };
}

/** NetflixACAJudge.judge: classify each metric, then score. */
export function kayentaJudge(
  metrics: readonly KMetric[],
  thresholds: { pass: number; marginal: number },
  gaussian: () => number,
  groupWeights: Record<string, number> = {},
): KJudgment {
  const results = metrics.map((m) => classifyMetric(m, gaussian));
  return { ...score(results, thresholds, groupWeights), metrics: results };
}

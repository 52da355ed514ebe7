// The canary judge: new version (canary targets) against old version (baseline targets) over the same
// window, metric by metric and cell by cell, with tests that stay valid under repeated looks.
// Pure: series in, judgment out. The Prometheus source and the CLI feed it; the judge gate reads it.
import type { Verdict } from '../core/types.js';
import {
  blockedShiftSequence,
  burstWeights,
  rateRatioFixed,
  rateRatioSequence,
  rateUpperBound,
  shiftSequence,
  type CountStratum,
  type ValueBlock,
} from './sequential.js';
import { fixedShiftInterval } from './stats.js';

export type MetricKind = 'count' | 'latency';
export type Direction = 'increase' | 'decrease' | 'either';

/** One time bucket of a count metric: requests served and how many of them failed. */
export interface CountPoint {
  t: number;
  total: number;
  errors: number;
}

/** One sample of a value metric (a latency, or a per-interval quantile). */
export interface ValuePoint {
  t: number;
  value: number;
}

export interface TargetSeries<P> {
  /** `region/cell`, or any name for the offline judge. */
  target: string;
  points: P[];
}

export interface JudgeMetricSpec {
  name: string;
  kind: MetricKind;
  /** Which change is bad. */
  direction: Direction;
  /** A failed critical metric fails the whole judgment. */
  critical: boolean;
  /** Smallest relative change that matters (0.1 = 10%); defaults by kind (latency 0.1, count 0.25). */
  effectFloor?: number;
  /**
   * To pass, the interval must rule out a regression of this size (default: twice the floor). Between
   * floor and margin the metric stays inconclusive, so a pass is never just "too little data to tell".
   */
  passMargin?: number;
  weight: number;
  /** Samples (latency) or requests (count) each side needs before the metric can pass. */
  minSamples?: number;
  /**
   * Latency: compare canary and baseline values only within the same time bucket (stratified rank test).
   * Cancels a strong common cycle; costs some power when there is none (between-bucket pairs are unused).
   */
  alignInTime?: boolean;
}

export type JudgeMetricInput =
  | (JudgeMetricSpec & { kind: 'count'; canary: TargetSeries<CountPoint>[]; baseline: TargetSeries<CountPoint>[] })
  | (JudgeMetricSpec & { kind: 'latency'; canary: TargetSeries<ValuePoint>[]; baseline: TargetSeries<ValuePoint>[] });

export interface JudgeConfig {
  /** Confidence of the decisions and intervals, e.g. 0.98. */
  confidence: number;
  passScore: number;
  marginalScore: number;
  /** Latency samples each side needs before a latency metric can pass. */
  minSamples: number;
  /** Requests each side needs before a count metric can pass. */
  minRequests: number;
  /**
   * A count metric also passes when the canary's error rate is, with confidence, at most this much above
   * the baseline's (absolute: 0.002 = 0.2 percentage points). Lets quiet, low-error services pass without
   * the hundreds of errors a ratio test needs; the failure test is unchanged.
   */
  negligibleIncrease: number;
  /** Time buckets with traffic on both sides a count metric needs before it can fail (one burst is not a trend). */
  minBuckets: number;
  /** Judge every canary cell on its own as well as all together (catches one bad cell among good ones). */
  perCell: boolean;
  /**
   * This look ends the bake: what the sequential test has not decided yet is decided now by a fixed-sample
   * test at the same confidence (fail when the change is shown beyond the floor, else pass), so the answer
   * is pass or fail unless data are missing or below the minimums (then `inconclusive`, `tooFewData`).
   */
  endOfBake: boolean;
}

export const DEFAULT_JUDGE_CONFIG: JudgeConfig = {
  confidence: 0.98,
  passScore: 95,
  marginalScore: 75,
  minSamples: 50,
  minRequests: 1000,
  negligibleIncrease: 0.002,
  minBuckets: 5,
  perCell: true,
  endOfBake: false,
};

export type MetricVerdict = 'pass' | 'fail' | 'inconclusive';

/** One comparison: all canary targets together (`scope: 'all'`) or one canary target, against the baseline. */
export interface ScopeResult {
  scope: string;
  verdict: MetricVerdict;
  canarySamples: number;
  baselineSamples: number;
  /** Relative change canary vs baseline (0.38 = +38%): HL shift for latency, rate ratio − 1 for counts. */
  change: number;
  lower: number;
  upper: number;
  /** Count metrics: error rates of each side. */
  canaryRate?: number;
  baselineRate?: number;
  /** 0..1: progress toward a decision (data volume, and interval narrow enough to pass); 1 once decided. */
  evidence: number;
  /** Decided at the end of the bake by the fixed-sample test (the sequential one had not stopped). */
  fixedHorizon?: boolean;
  /** Inconclusive because data are missing or below the minimums. */
  tooFew?: boolean;
  /** Words a person can act on. */
  detail: string;
}

export interface MetricResult {
  name: string;
  kind: MetricKind;
  critical: boolean;
  weight: number;
  verdict: MetricVerdict;
  /** 0..1: how much of the minimum data volume the pooled comparison has. */
  evidenceFraction: number;
  scopes: ScopeResult[];
  detail: string;
}

export interface JudgeResult {
  verdict: Verdict;
  /** 0..100: weighted share of decided metrics that pass (0 on a critical failure). */
  score: number;
  /** 0..1: the least-fed metric's share of its minimum data volume; bake should accrue with it. */
  evidenceFraction: number;
  reason: string;
  metrics: MetricResult[];
  /** This judgment ended the bake (`endOfBake`). */
  endOfBake?: boolean;
  /** Inconclusive because data are missing or too few (at the end of the bake: the gate's `inconclusive` action applies). */
  tooFewData?: boolean;
}

/**
 * The verdict to record for a judgment: itself, except when the bake is over and data are missing or too
 * few, where the gate's `inconclusive` action applies: `fail` fails, `pause` stays inconclusive and says
 * that the wave waits for a person.
 */
export function endOfBakeAction(result: JudgeResult, action: 'pause' | 'fail'): { verdict: Verdict; reason: string } {
  if (!(result.endOfBake && result.tooFewData)) return { verdict: result.verdict, reason: result.reason };
  const fail = action === 'fail';
  return {
    verdict: fail ? 'fail' : 'inconclusive',
    reason: `too few data by the end of the bake (inconclusive action: ${fail ? 'fail' : 'pause, waiting for a person'}): ${result.reason}`,
  };
}

const DEFAULT_FLOOR: Record<MetricKind, number> = { latency: 0.1, count: 0.25 };

/** Judges canary against baseline. Never throws on data; bad shapes give `error` verdicts. */
export function judge(metrics: readonly JudgeMetricInput[], config: Partial<JudgeConfig> = {}): JudgeResult {
  const cfg: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG, ...config };
  if (metrics.length === 0) {
    return { verdict: 'error', score: 0, evidenceFraction: 0, reason: 'no metrics to judge', metrics: [] };
  }
  const alpha = 1 - cfg.confidence;
  const results = metrics.map((m) => judgeMetric(m, cfg, alpha));
  const folded = fold(results, cfg);
  const tooFewData = folded.verdict === 'inconclusive' && results.some((r) => r.scopes.some((x) => x.tooFew));
  return { ...folded, ...(cfg.endOfBake ? { endOfBake: true } : {}), ...(tooFewData ? { tooFewData } : {}) };
}

function fold(results: MetricResult[], cfg: JudgeConfig): JudgeResult {
  const evidenceFraction = Math.min(...results.map((r) => r.evidenceFraction));
  const criticalFail = results.find((r) => r.critical && r.verdict === 'fail');
  const decided = results.filter((r) => r.verdict !== 'inconclusive');
  const wSum = decided.reduce((a, r) => a + r.weight, 0);
  const score = criticalFail
    ? 0
    : wSum === 0
      ? 0
      : (100 * decided.filter((r) => r.verdict === 'pass').reduce((a, r) => a + r.weight, 0)) / wSum;
  const failing = results.filter((r) => r.verdict === 'fail');
  const rounded = Math.round(score * 10) / 10;
  if (criticalFail) {
    return { verdict: 'fail', score: 0, evidenceFraction, reason: `critical metric failed: ${criticalFail.detail}`, metrics: results };
  }
  if (decided.length > 0 && score < cfg.marginalScore) {
    return {
      verdict: 'fail',
      score: rounded,
      evidenceFraction,
      reason: `score ${rounded} below marginal ${cfg.marginalScore}: ${failing.map((r) => r.detail).join('; ')}`,
      metrics: results,
    };
  }
  if (evidenceFraction < 1 || decided.length < results.length) {
    const waiting = results.filter((r) => r.verdict === 'inconclusive').map((r) => r.detail);
    return {
      verdict: 'inconclusive',
      score: rounded,
      evidenceFraction,
      reason: `${evidenceFraction < 1 ? `not enough evidence yet (${Math.round(evidenceFraction * 100)}%)` : 'undecided'}: ${waiting.join('; ')}`,
      metrics: results,
    };
  }
  if (score >= cfg.passScore) {
    return {
      verdict: 'pass',
      score: rounded,
      evidenceFraction,
      reason: `score ${rounded}: ${results.map((r) => r.detail).join('; ')}`,
      metrics: results,
    };
  }
  // Marginal: keep baking, or at the end of the bake, fail (as a final canary score below pass does).
  const words = `marginal score ${rounded} (pass at ${cfg.passScore}): ${failing.map((r) => r.detail).join('; ')}`;
  return cfg.endOfBake
    ? { verdict: 'fail', score: rounded, evidenceFraction, reason: `end of bake with a ${words}`, metrics: results }
    : { verdict: 'inconclusive', score: rounded, evidenceFraction, reason: words, metrics: results };
}

function judgeMetric(m: JudgeMetricInput, cfg: JudgeConfig, alpha: number): MetricResult {
  const floor = m.effectFloor ?? DEFAULT_FLOOR[m.kind];
  const margin = Math.max(floor, m.passMargin ?? 2 * floor);
  const minSamples = m.minSamples ?? (m.kind === 'count' ? cfg.minRequests : cfg.minSamples);
  const cells = cfg.perCell && m.canary.length > 1 ? m.canary.map((s) => s.target) : [];
  // Failing: Bonferroni across the pooled comparison and each cell, so the whole judgment keeps its level.
  // Passing: the pooled comparison at the full level, and every cell cleared of a regression twice as
  // large (on the log scale) with its share of the data, so one bad cell cannot ride on good ones.
  const a = alpha / (1 + cells.length);
  const cellMargin = (1 + margin) ** 2 - 1;
  const cellMin = Math.ceil(minSamples / Math.max(1, cells.length));
  const cellCfg = { ...cfg, negligibleIncrease: 2 * cfg.negligibleIncrease };
  const scopes: ScopeResult[] = [];
  if (m.kind === 'count') {
    const { canary, baseline } = setBurstsAside(m.canary, m.baseline);
    scopes.push(judgeCount(m, 'all', canary, baseline, floor, margin, minSamples, a, alpha, cfg));
    for (const c of cells)
      scopes.push(
        judgeCount(
          m,
          c,
          canary.filter((s) => s.target === c),
          baseline,
          floor,
          cellMargin,
          cellMin,
          a,
          a,
          cellCfg,
        ),
      );
  } else {
    scopes.push(judgeLatency(m, 'all', m.canary, m.baseline, floor, margin, minSamples, a, alpha, cfg));
    for (const c of cells)
      scopes.push(
        judgeLatency(
          m,
          c,
          m.canary.filter((s) => s.target === c),
          m.baseline,
          floor,
          cellMargin,
          cellMin,
          a,
          a,
          cfg,
        ),
      );
  }
  const pooled = scopes[0];
  const evidenceFraction = Math.min(...scopes.map((x) => x.evidence));
  const failed = scopes.filter((s) => s.verdict === 'fail');
  if (failed.length > 0) {
    // A failing cell explains the failure best (the pooled figure dilutes it); else the pooled one.
    const cellFails = failed.filter((s) => s.scope !== 'all');
    const shown = cellFails.length > 0 ? cellFails.reduce((x, y) => (y.lower > x.lower ? y : x)) : failed[0];
    return {
      name: m.name,
      kind: m.kind,
      critical: m.critical,
      weight: m.weight,
      verdict: 'fail',
      evidenceFraction,
      scopes,
      detail: shown.detail,
    };
  }
  const uncleared = scopes.slice(1).filter((x) => x.verdict !== 'pass');
  if (pooled.verdict === 'pass' && uncleared.length > 0) {
    return {
      name: m.name,
      kind: m.kind,
      critical: m.critical,
      weight: m.weight,
      verdict: 'inconclusive',
      evidenceFraction,
      scopes,
      detail: `${pooled.detail}; but not yet cleared: ${uncleared.map((x) => x.detail).join('; ')}`,
    };
  }
  return {
    name: m.name,
    kind: m.kind,
    critical: m.critical,
    weight: m.weight,
    verdict: pooled.verdict,
    evidenceFraction,
    scopes,
    detail: pooled.detail,
  };
}

/** Weights every cell's buckets against bursts (see `burstWeights`); series keep their targets. */
function setBurstsAside(canary: TargetSeries<CountPoint>[], baseline: TargetSeries<CountPoint>[]) {
  const all = [...canary, ...baseline];
  const cells = all.map((s) => {
    const points = new Map<number, [number, number]>();
    for (const p of s.points) {
      if (!(p.total >= 0) || !(p.errors >= 0)) continue;
      const q = points.get(p.t) ?? [0, 0];
      points.set(p.t, [q[0] + p.total, q[1] + p.errors]);
    }
    return { target: s.target, points };
  });
  const w = burstWeights(cells);
  const weighted = cells.map((c, i) => ({
    target: c.target,
    points: [...c.points.entries()].map(([t, [n, e]]) => ({ t, total: n * w[i].get(t)!, errors: e * w[i].get(t)! })),
  }));
  return { canary: weighted.slice(0, canary.length), baseline: weighted.slice(canary.length) };
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

function pct(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+∞' : '−∞';
  const v = x * 100;
  const s = Math.abs(v) >= 10 ? Math.round(v).toString() : v.toFixed(1);
  return (v >= 0 ? '+' : '') + s + '%';
}

/**
 * The interval as a person reads it. With very few samples an always-valid interval can reach −100% or
 * infinity on one side; printing "−100%…+∞" next to a verdict would read as nonsense, so say what it means.
 */
function ciText(alpha: number, lower: number, upper: number): string {
  const openBelow = !Number.isFinite(lower) || lower <= -0.9995;
  const openAbove = !Number.isFinite(upper);
  if (openBelow && openAbove) return `(${conf(alpha)} CI unbounded: too few samples to size the change)`;
  if (openAbove) return `(${conf(alpha)} CI at least ${pct(lower)})`;
  if (openBelow) return `(${conf(alpha)} CI at most ${pct(upper)})`;
  return `(${conf(alpha)} CI ${pct(lower)}…${pct(upper)})`;
}

function where(scope: string): string {
  return scope === 'all' ? 'across all canary targets' : `in ${scope}`;
}

function conf(alphaShown: number): string {
  const c = (1 - alphaShown) * 100;
  return `${Number.isInteger(c) ? c : c.toFixed(1)}%`;
}

function judgeCount(
  m: JudgeMetricSpec,
  scope: string,
  canary: TargetSeries<CountPoint>[],
  baseline: TargetSeries<CountPoint>[],
  floor: number,
  margin: number,
  minSamples: number,
  alpha: number,
  alphaPass: number,
  cfg: JudgeConfig,
): ScopeResult {
  // Strata: time buckets present on both sides; sums over everything for the totals.
  const byT = new Map<number, CountStratum>();
  const add = (t: number) => {
    let s = byT.get(t);
    if (!s) byT.set(t, (s = { canaryTotal: 0, canaryErrors: 0, baselineTotal: 0, baselineErrors: 0 }));
    return s;
  };
  let cn = 0,
    ce = 0,
    bn = 0,
    be = 0;
  for (const s of canary)
    for (const p of s.points) {
      if (!(p.total >= 0) || !(p.errors >= 0)) continue;
      const st = add(p.t);
      st.canaryTotal += p.total;
      st.canaryErrors += p.errors;
      cn += p.total;
      ce += p.errors;
    }
  for (const s of baseline)
    for (const p of s.points) {
      if (!(p.total >= 0) || !(p.errors >= 0)) continue;
      const st = add(p.t);
      st.baselineTotal += p.total;
      st.baselineErrors += p.errors;
      bn += p.total;
      be += p.errors;
    }
  const strata = [...byT.values()];
  const aligned = strata.some((s) => s.canaryTotal > 0 && s.baselineTotal > 0);
  const usable = aligned ? strata : [{ canaryTotal: cn, canaryErrors: ce, baselineTotal: bn, baselineErrors: be }];
  const canaryRate = cn > 0 ? ce / cn : NaN;
  const baselineRate = bn > 0 ? be / bn : NaN;
  const label = m.name;
  const volumes = `${fmtInt(cn)} vs ${fmtInt(bn)} requests`;
  const rates = `${fmtRate(canaryRate)} vs ${fmtRate(baselineRate)} baseline`;
  const base = { scope, canarySamples: cn, baselineSamples: bn, canaryRate, baselineRate };
  if (cn === 0 || bn === 0) {
    return {
      ...base,
      verdict: 'inconclusive',
      change: NaN,
      lower: NaN,
      upper: NaN,
      evidence: 0,
      tooFew: true,
      detail: `${label}: no traffic ${cn === 0 ? 'on the canary' : 'on the baseline'} ${where(scope)} yet`,
    };
  }
  const badUp = m.direction !== 'decrease';
  const badDown = m.direction !== 'increase';
  const up = rateRatioSequence(usable, 1 + floor, alpha);
  const down = badDown ? rateRatioSequence(usable, 1 / (1 + floor), alpha) : up;
  const change = up.ratio - 1;
  const lower = up.lower - 1;
  const upper = up.upper - 1;
  const ci = ciText(alpha, lower, upper);
  const volume = Math.min(1, cn / minSamples, bn / minSamples);
  const buckets = usable.filter((s) => s.canaryTotal > 0 && s.baselineTotal > 0).length;
  const enoughBuckets = !aligned || buckets >= cfg.minBuckets;
  if (enoughBuckets && ((badUp && up.above) || (badDown && down.below))) {
    return {
      ...base,
      verdict: 'fail',
      change,
      lower,
      upper,
      evidence: 1,
      detail: `${label} rate ${pct(change)} ${ci} ${where(scope)} against baseline: ${rates}, ${volumes}`,
    };
  }
  // Not failing: report and pass on the interval at the pass level.
  const upP = alphaPass === alpha ? up : rateRatioSequence(usable, 1 + floor, alphaPass);
  const downP = !badDown || alphaPass === alpha ? down : rateRatioSequence(usable, 1 / (1 + floor), alphaPass);
  const lowerP = upP.lower - 1;
  const upperP = upP.upper - 1;
  const shown = `${label} rate ${Number.isFinite(change) ? pct(change) : 'n/a'} (${conf(alphaPass)} CI ${pct(lowerP)}…${pct(upperP)}) ${where(scope)}`;
  if (volume < 1) {
    return {
      ...base,
      verdict: 'inconclusive',
      change,
      lower: lowerP,
      upper: upperP,
      evidence: volume,
      tooFew: true,
      detail: `${shown}: too little traffic to pass (${volumes}, need ${fmtInt(minSamples)} each)`,
    };
  }
  if (!enoughBuckets) {
    return {
      ...base,
      verdict: 'inconclusive',
      change,
      lower: lowerP,
      upper: upperP,
      evidence: Math.min(volume, buckets / cfg.minBuckets),
      tooFew: true,
      detail: `${shown}: ${buckets} of ${cfg.minBuckets} time buckets so far; ${rates}, ${volumes}`,
    };
  }
  // Negligible: the canary's own error rate is, or the increase the ratio's upper bound implies over the
  // baseline's rate is, at most `negligibleIncrease` (the ratio is robust to bursts; raw rates are not).
  const canaryUpper = rateUpperBound(ce, cn, alphaPass);
  const impliedIncrease = Math.min(canaryUpper, Number.isFinite(upP.upper) ? baselineRate * (upP.upper - 1) : Infinity);
  const negligible = !badDown && impliedIncrease <= cfg.negligibleIncrease;
  const within = (!badUp || upP.upper < 1 + margin) && (!badDown || downP.lower > 1 / (1 + margin));
  if (within || negligible) {
    const words = within
      ? `no regression of ${Math.round(margin * 100)}% or more`
      : `at most ${fmtPoints(impliedIncrease)} above baseline with ${conf(alphaPass)} confidence (negligible below ${fmtPoints(cfg.negligibleIncrease)})`;
    return {
      ...base,
      verdict: 'pass',
      change,
      lower: lowerP,
      upper: upperP,
      evidence: 1,
      detail: `${shown}: ${words}; ${rates}, ${volumes}`,
    };
  }
  if (cfg.endOfBake) {
    // The bake is over and the sequential test has not stopped: one fixed-sample test at the fail level.
    const fx = rateRatioFixed(usable, alpha);
    const bad = (badUp && fx.lower > 1 + floor) || (badDown && fx.upper < 1 / (1 + floor));
    const fci = `(${conf(alpha)} CI ${pct(fx.lower - 1)}…${pct(fx.upper - 1)}, one look)`;
    return {
      ...base,
      verdict: bad ? 'fail' : 'pass',
      change,
      lower: fx.lower - 1,
      upper: fx.upper - 1,
      evidence: 1,
      fixedHorizon: true,
      detail: bad
        ? `${label} rate ${pct(change)} ${fci} ${where(scope)} against baseline at the end of the bake: ${rates}, ${volumes}`
        : `${label} rate ${pct(change)} ${fci} ${where(scope)} at the end of the bake: no change beyond ${Math.round(floor * 100)}% shown; ${rates}, ${volumes}`,
    };
  }
  const precision = widthProgress(upP.lower, upP.upper, margin);
  return {
    ...base,
    verdict: 'inconclusive',
    change,
    lower: lowerP,
    upper: upperP,
    evidence: Math.min(volume, precision),
    detail: `${shown}: a regression of ${Math.round(margin * 100)}% is not ruled out yet; ${rates}, ${volumes}`,
  };
}

/** How close an interval [lo, hi] of a ratio is to the width that can pass at `margin` (1 = narrow enough). */
function widthProgress(lo: number, hi: number, margin: number): number {
  if (!(hi < Infinity) || !(lo > 0)) return 0;
  const w = Math.log(hi) - Math.log(lo);
  return w <= 0 ? 1 : Math.min(1, (2 * Math.log(1 + margin)) / w);
}

function fmtPoints(d: number): string {
  const v = Math.max(0, d) * 100;
  return `${v >= 1 ? v.toFixed(1) : v.toFixed(2)} points`;
}

function fmtRate(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  const v = r * 100;
  return `${v >= 1 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toFixed(3)}%`;
}

function judgeLatency(
  m: JudgeMetricSpec,
  scope: string,
  canary: TargetSeries<ValuePoint>[],
  baseline: TargetSeries<ValuePoint>[],
  floor: number,
  margin: number,
  minSamples: number,
  alpha: number,
  alphaPass: number,
  _cfg: JudgeConfig,
): ScopeResult {
  // Ranks are unchanged by the log, and on the log scale a shift is a ratio: "+38%".
  const logs = (ss: TargetSeries<ValuePoint>[]) => {
    const out: number[] = [];
    for (const s of ss) for (const p of s.points) if (Number.isFinite(p.value) && p.value > 0) out.push(Math.log(p.value));
    return out;
  };
  const x = logs(canary);
  const y = logs(baseline);
  // With `alignInTime`, values measured in the same time buckets are compared with each other only
  // (stratified rank test), so a daily cycle that moves both sides cancels out; otherwise all against all.
  const byT = new Map<number, ValueBlock>();
  const put = (ss: TargetSeries<ValuePoint>[], side: 'canary' | 'baseline') => {
    for (const s of ss)
      for (const p of s.points) {
        if (!(Number.isFinite(p.value) && p.value > 0)) continue;
        let b = byT.get(p.t);
        if (!b) byT.set(p.t, (b = { canary: [], baseline: [] }));
        b[side].push(Math.log(p.value));
      }
  };
  put(canary, 'canary');
  put(baseline, 'baseline');
  const blocks = [...byT.values()].filter((b) => b.canary.length > 0 && b.baseline.length > 0);
  const inBlocks = (side: 'canary' | 'baseline') => blocks.reduce((a, b) => a + b[side].length, 0);
  const blocked =
    m.alignInTime === true && blocks.length >= 5 && inBlocks('canary') >= 0.5 * x.length && inBlocks('baseline') >= 0.5 * y.length;
  const test = (a: number) =>
    blocked ? blockedShiftSequence(blocks, Math.log(1 + floor), a) : shiftSequence(x, y, Math.log(1 + floor), a);
  const label = m.name;
  const volumes = `${fmtInt(x.length)} vs ${fmtInt(y.length)} samples${blocked ? ', compared within the same time buckets' : ''}`;
  const base = { scope, canarySamples: x.length, baselineSamples: y.length };
  if (x.length < 2 || y.length < 2) {
    return {
      ...base,
      verdict: 'inconclusive',
      change: NaN,
      lower: NaN,
      upper: NaN,
      evidence: 0,
      tooFew: true,
      detail: `${label}: no samples ${x.length < 2 ? 'from the canary' : 'from the baseline'} ${where(scope)} yet`,
    };
  }
  const lf = Math.log(1 + floor);
  const lm = Math.log(1 + margin);
  const r = test(alpha);
  const change = Math.exp(r.estimate) - 1;
  const lower = Math.exp(r.lower) - 1;
  const upper = Math.exp(r.upper) - 1;
  const ci = ciText(alpha, lower, upper);
  const badUp = m.direction !== 'decrease' && r.zAboveFloor >= r.zCritical;
  const badDown = m.direction !== 'increase' && r.zBelowFloor <= -r.zCritical;
  if (badUp || badDown) {
    return {
      ...base,
      verdict: 'fail',
      change,
      lower,
      upper,
      evidence: 1,
      detail: `${label} ${pct(change)} ${ci} ${where(scope)} against baseline, ${volumes}`,
    };
  }
  // Not failing: report and pass on the interval at the pass level.
  const rp = alphaPass === alpha ? r : test(alphaPass);
  const lowerP = Math.exp(rp.lower) - 1;
  const upperP = Math.exp(rp.upper) - 1;
  const shown = `${label} ${pct(change)} (${conf(alphaPass)} CI ${pct(lowerP)}…${pct(upperP)}) ${where(scope)}`;
  const volume = Math.min(1, x.length / minSamples, y.length / minSamples);
  if (volume < 1) {
    return {
      ...base,
      verdict: 'inconclusive',
      change,
      lower: lowerP,
      upper: upperP,
      evidence: volume,
      tooFew: true,
      detail: `${shown}: too few samples to pass (${volumes}, need ${fmtInt(minSamples)} each)`,
    };
  }
  const within = (m.direction === 'decrease' || rp.upper < lm) && (m.direction === 'increase' || rp.lower > -lm);
  if (within) {
    return {
      ...base,
      verdict: 'pass',
      change,
      lower: lowerP,
      upper: upperP,
      evidence: 1,
      detail: `${shown}: no regression of ${Math.round(margin * 100)}% or more, ${volumes}`,
    };
  }
  if (_cfg.endOfBake) {
    // The bake is over and the sequential test has not stopped: one fixed-sample interval at the fail
    // level (exact order statistics for small samples without ties).
    const fx = fixedShiftInterval(x, y, alpha);
    const bad = (m.direction !== 'decrease' && fx.lower > lf) || (m.direction !== 'increase' && fx.upper < -lf);
    const fl = Math.exp(fx.lower) - 1;
    const fu = Math.exp(fx.upper) - 1;
    const fci = `(${conf(alpha)} CI ${pct(fl)}…${pct(fu)}, one look${fx.exact ? ', exact' : ''})`;
    return {
      ...base,
      verdict: bad ? 'fail' : 'pass',
      change: Math.exp(fx.estimate) - 1,
      lower: fl,
      upper: fu,
      evidence: 1,
      fixedHorizon: true,
      detail: bad
        ? `${label} ${pct(Math.exp(fx.estimate) - 1)} ${fci} ${where(scope)} against baseline at the end of the bake, ${volumes}`
        : `${label} ${pct(Math.exp(fx.estimate) - 1)} ${fci} ${where(scope)} at the end of the bake: no change beyond ${Math.round(floor * 100)}% shown, ${volumes}`,
    };
  }
  return {
    ...base,
    verdict: 'inconclusive',
    change,
    lower: lowerP,
    upper: upperP,
    evidence: Math.min(volume, widthProgress(Math.exp(rp.lower), Math.exp(rp.upper), margin)),
    detail: `${shown}: a regression of ${Math.round(margin * 100)}% is not ruled out yet, ${volumes}`,
  };
}

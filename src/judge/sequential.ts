// Tests that stay valid when the same bake is checked again and again (see docs/judge.md).
//
// Both tests are mixture sequential probability ratio tests (mSPRT): the likelihood ratio of the data
// against a null, averaged over a prior on the effect, is a non-negative martingale under the null, so by
// Ville's inequality P(it ever reaches 1/α) ≤ α, however often and whenever it is looked at. Inverting the
// test gives a confidence sequence: an interval that covers the true effect at every look at once.
import { hodgesLehmann, logSumExp, mannWhitney } from './stats.js';

/** Requests and errors of canary and baseline over one time bucket (a stratum). */
export interface CountStratum {
  canaryTotal: number;
  canaryErrors: number;
  baselineTotal: number;
  baselineErrors: number;
}

export interface RatioSequenceResult {
  /** Maximum-likelihood canary/baseline error-rate ratio (0 or Infinity at the edges). */
  ratio: number;
  /** Confidence-sequence bounds of the ratio at level 1 − α. */
  lower: number;
  upper: number;
  /** log of the mixture likelihood ratio against "ratio = null". */
  logLR: number;
  /** true when the data rule out `ratio ≤ null` (increase) at level α. */
  above: boolean;
  /** true when the data rule out `ratio ≥ null` at level α. */
  below: boolean;
  /** Overdispersion factor applied (1 = counts vary as binomial counts do). */
  dispersion: number;
}

const RHO_MIN = -12;
const RHO_MAX = 12;

/**
 * Conditional binomial test of canary vs baseline error rates. Given where each error could have
 * happened, an error lands on the canary with probability θ_k = n_c·r / (n_c·r + n_b) in bucket k, where
 * r is the rate ratio; conditioning on buckets makes it immune to load swings (daily cycles) that hit both
 * sides alike. The mixture is a normal prior N(0, τ²) on log r around the null.
 */
export function rateRatioSequence(strata: readonly CountStratum[], nullRatio: number, alpha: number, tau = 0.7): RatioSequenceResult {
  const used = strata.filter((s) => s.canaryTotal > 0 && s.baselineTotal > 0 && s.canaryErrors + s.baselineErrors > 0);
  const ce = used.map((s) => s.canaryErrors);
  const te = used.map((s) => s.canaryErrors + s.baselineErrors);
  const lcn = used.map((s) => Math.log(s.canaryTotal));
  const lbn = used.map((s) => Math.log(s.baselineTotal));
  // Bucket weights: near 1, except for buckets far out of line with the rest (a burst of errors on one side
  // in one minute), which an M-estimator down-weights, so a burst is not read as a trend.
  const w = ce.map(() => 1);
  const ll = (rho: number): number => {
    let v = 0;
    for (let k = 0; k < ce.length; k++) {
      const a = lcn[k] + rho;
      const b = lbn[k];
      const m = Math.max(a, b);
      v += w[k] * (ce[k] * rho - te[k] * (m + Math.log(Math.exp(a - m) + Math.exp(b - m))));
    }
    return v;
  };
  const dll = (rho: number): number => {
    let v = 0;
    for (let k = 0; k < ce.length; k++) v += w[k] * (ce[k] - te[k] / (1 + Math.exp(lbn[k] - lcn[k] - rho)));
    return v;
  };
  const mle = (): number => {
    if (ce.length === 0) return 0;
    if (dll(RHO_MIN) <= 0) return RHO_MIN;
    if (dll(RHO_MAX) >= 0) return RHO_MAX;
    let lo = RHO_MIN;
    let hi = RHO_MAX;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (dll(mid) > 0) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  const residuals = (rho: number) =>
    ce.map((c, k) => {
      const th = 1 / (1 + Math.exp(lbn[k] - lcn[k] - rho));
      const v = te[k] * th * (1 - th);
      return v > 0 ? (c - te[k] * th) / Math.sqrt(v) : 0;
    });
  let rhoHat = mle();
  // Overdispersion: Pearson's statistic across buckets says how much more the counts vary than binomial
  // counts do; the log-likelihood is tempered by it (quasi-likelihood), never sharpened.
  let phi = 1;
  if (ce.length >= 5) {
    // Tukey's biweight (c = 4.685 robust standard deviations): a bucket far out of line stops counting.
    const C = 4.685;
    for (let iter = 0; iter < 3; iter++) {
      const r = residuals(rhoHat);
      const sq = r.map((x) => x * x).sort((x, y) => x - y);
      const scale = Math.max(1, sq[sq.length >> 1] / 0.4549); // median of chi-square(1)
      for (let k = 0; k < ce.length; k++) {
        const u2 = (r[k] * r[k]) / (C * C * scale);
        w[k] = u2 >= 1 ? 0 : (1 - u2) ** 2;
      }
      rhoHat = mle();
    }
    const r = residuals(rhoHat);
    let chi = 0;
    let ws = 0;
    for (let k = 0; k < ce.length; k++) {
      chi += w[k] * r[k] * r[k];
      ws += w[k];
    }
    phi = Math.max(1, chi / Math.max(1, ws - 1));
  }
  const llRaw = ll;
  const llT = (rho: number) => llRaw(rho) / phi;
  // Normal mixture by quadrature on a grid of step h; the same grid serves the confidence sequence.
  const h = tau / 8;
  const half = 40; // ±5τ
  const weights: number[] = [];
  for (let i = -half; i <= half; i++) weights.push(-0.5 * ((i * h) / tau) ** 2);
  const lw = logSumExp(weights);
  const logW = weights.map((w) => w - lw);
  const mixture = (llAt: (i: number) => number, ll0: number): number => {
    const terms = new Array<number>(logW.length);
    for (let i = 0; i < logW.length; i++) terms[i] = logW[i] + llAt(i - half) - ll0;
    return logSumExp(terms);
  };
  const rho0 = Math.log(nullRatio);
  const logLR = ce.length === 0 ? 0 : mixture((i) => llT(rho0 + i * h), llT(rho0));
  const thr = Math.log(1 / alpha);
  const rejected = logLR >= thr;
  // Confidence sequence: walk grid points outward from the MLE until the test rejects.
  const cache = new Map<number, number>();
  const llGrid = (j: number): number => {
    let v = cache.get(j);
    if (v === undefined) {
      v = llT(rhoHat + j * h);
      cache.set(j, v);
    }
    return v;
  };
  const lrAtGrid = (j: number) => mixture((i) => llGrid(j + i), llGrid(j));
  const bound = (dir: 1 | -1): number => {
    if (ce.length === 0) return dir > 0 ? Infinity : 0;
    let prev = lrAtGrid(0);
    for (let j = 1; j * h <= RHO_MAX - RHO_MIN; j++) {
      const cur = lrAtGrid(dir * j);
      if (cur >= thr) {
        const f = cur === prev ? 1 : (thr - prev) / (cur - prev);
        return Math.exp(rhoHat + dir * (j - 1 + Math.min(1, Math.max(0, f))) * h);
      }
      prev = cur;
      if (rhoHat + dir * j * h <= RHO_MIN) return 0;
      if (rhoHat + dir * j * h >= RHO_MAX) return Infinity;
    }
    return dir > 0 ? Infinity : 0;
  };
  const ratio = rhoHat <= RHO_MIN ? 0 : rhoHat >= RHO_MAX ? Infinity : Math.exp(rhoHat);
  return {
    ratio,
    lower: bound(-1),
    upper: bound(1),
    logLR,
    above: rejected && rhoHat > rho0,
    below: rejected && rhoHat < rho0,
    dispersion: phi,
  };
}

/**
 * Upper confidence-sequence bound of one error rate (errors out of total), with a normal mixture on the
 * log rate of a Poisson process. Used to pass error-free services: when even the upper bound is negligible,
 * no ratio test is needed.
 */
export function rateUpperBound(errors: number, total: number, alpha: number, tau = 1): number {
  if (total <= 0) return Infinity;
  const ll = (lr: number) => errors * lr - total * Math.exp(lr);
  const hat = errors > 0 ? Math.log(errors / total) : Math.log(0.5 / total);
  const h = tau / 8;
  const weights: number[] = [];
  for (let i = -40; i <= 40; i++) weights.push(-0.5 * ((i * h) / tau) ** 2);
  const lw = logSumExp(weights);
  const thr = Math.log(1 / alpha);
  const lrAt = (l0: number) => logSumExp(weights.map((w, i) => w - lw + ll(l0 + (i - 40) * h) - ll(l0)));
  let lo = hat;
  let hi = hat + 1;
  while (lrAt(hi) < thr && hi < hat + 30) hi += 1;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (lrAt(mid) >= thr) hi = mid;
    else lo = mid;
  }
  return Math.exp(hi);
}

/**
 * Critical |z| of the normal-mixture SPRT for a statistic with information I (z ≈ θ·√I under a shift θ),
 * prior θ ~ N(0, τ²): reject when Λ = (1+ρ)^-½·exp(z²ρ / 2(1+ρ)) ≥ 1/α, ρ = Iτ².
 */
export function mixtureCriticalZ(information: number, alpha: number, tau: number): number {
  const rho = information * tau * tau;
  if (!(rho > 0)) return Infinity;
  return Math.sqrt(((1 + rho) / rho) * (2 * Math.log(1 / alpha) + Math.log(1 + rho)));
}

/**
 * The same with an equal-weight mixture over several prior scales τ (an average of martingales is one),
 * so one boundary suits both large effects seen early and small effects seen late. Solved by bisection:
 * Λ grows with |z|.
 */
export function multiScaleCriticalZ(information: number, alpha: number, taus: readonly number[]): number {
  if (!(information > 0)) return Infinity;
  const rhos = taus.map((t) => information * t * t);
  const logLambda = (z: number) => {
    const terms = rhos.map((r) => -0.5 * Math.log(1 + r) + (z * z * r) / (2 * (1 + r)));
    return logSumExp(terms) - Math.log(rhos.length);
  };
  const target = Math.log(1 / alpha);
  let lo = 0;
  let hi = Math.min(...taus.map((t) => mixtureCriticalZ(information, alpha, t)));
  hi = Math.max(hi, 1);
  while (logLambda(hi) < target) hi *= 1.5;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (logLambda(mid) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Prior scales of the rank test, on the AUC-shift scale (P(C > B) − ½). */
export const SHIFT_TAUS = [0.05, 0.1, 0.2, 0.4] as const;

export interface ShiftSequenceResult {
  n1: number;
  n2: number;
  /** Hodges–Lehmann shift canary − baseline (on the scale given: log for latencies). */
  estimate: number;
  lower: number;
  upper: number;
  /** Sequentially valid critical z used for the interval and the decisions. */
  zCritical: number;
  /** z of the rank test of (canary − floor) against baseline; > zCritical means "above the floor". */
  zAboveFloor: number;
  /** z of (canary + floor) against baseline; < −zCritical means "below minus the floor". */
  zBelowFloor: number;
  /** z of canary against baseline with no shift. */
  z: number;
  auc: number;
}

/**
 * Mann–Whitney rank test of canary against baseline with a Hodges–Lehmann shift estimate, made valid
 * under repeated looks: the standardized rank statistic behaves like a Gaussian random walk in the
 * information I = 12·n1·n2/(n1+n2+1) (the AUC shift θ = P(C > B) − ½ gives z ≈ θ·√I), so the normal
 * mixture boundary applies, and the interval is the HL interval at that boundary's critical value.
 * `floor` is the smallest shift that matters, on the same scale as the data.
 */
export function shiftSequence(canary: readonly number[], baseline: readonly number[], floor: number, alpha: number, taus: readonly number[] = SHIFT_TAUS): ShiftSequenceResult {
  const n1 = canary.length;
  const n2 = baseline.length;
  const info = (12 * n1 * n2) / (n1 + n2 + 1);
  const zCritical = multiScaleCriticalZ(info, alpha, taus);
  const hl = hodgesLehmann(canary, baseline, Number.isFinite(zCritical) ? zCritical : 1e9);
  const base = mannWhitney(canary, baseline);
  const up = floor === 0 ? base : mannWhitney(canary.map((v) => v - floor), baseline);
  const down = floor === 0 ? base : mannWhitney(canary.map((v) => v + floor), baseline);
  return {
    n1,
    n2,
    estimate: hl.estimate,
    lower: hl.lower,
    upper: hl.upper,
    zCritical,
    zAboveFloor: up.z,
    zBelowFloor: down.z,
    z: base.z,
    auc: base.auc,
  };
}

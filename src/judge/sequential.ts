// Tests that stay valid when the same bake is checked again and again (see docs/judge.md).
//
// Both tests are mixture sequential probability ratio tests (mSPRT): the likelihood ratio of the data
// against a null, averaged over a prior on the effect, is a non-negative martingale under the null, so by
// Ville's inequality P(it ever reaches 1/α) ≤ α, however often and whenever it is looked at. Inverting the
// test gives a confidence sequence: an interval that covers the true effect at every look at once.
import { hodgesLehmann, logSumExp, mannWhitney, normalQuantile } from './stats.js';

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
interface RatioModel {
  /** buckets with errors */
  k: number;
  /** log-likelihood of ρ = log ratio, tempered by the dispersion */
  llT: (rho: number) => number;
  rhoHat: number;
  phi: number;
}

/** The conditional binomial likelihood of the log rate ratio over the buckets, its MLE and overdispersion. */
function ratioModel(strata: readonly CountStratum[]): RatioModel {
  const used = strata.filter((s) => s.canaryTotal > 0 && s.baselineTotal > 0 && s.canaryErrors + s.baselineErrors > 0);
  const ce = used.map((s) => s.canaryErrors);
  const te = used.map((s) => s.canaryErrors + s.baselineErrors);
  const lcn = used.map((s) => Math.log(s.canaryTotal));
  const lbn = used.map((s) => Math.log(s.baselineTotal));
  const ll = (rho: number): number => {
    let v = 0;
    for (let k = 0; k < ce.length; k++) {
      const a = lcn[k] + rho;
      const b = lbn[k];
      const m = Math.max(a, b);
      v += ce[k] * rho - te[k] * (m + Math.log(Math.exp(a - m) + Math.exp(b - m)));
    }
    return v;
  };
  const dll = (rho: number): number => {
    let v = 0;
    for (let k = 0; k < ce.length; k++) v += ce[k] - te[k] / (1 + Math.exp(lbn[k] - lcn[k] - rho));
    return v;
  };
  // MLE by bisection on the (decreasing) score.
  let rhoHat: number;
  if (ce.length === 0) rhoHat = 0;
  else if (dll(RHO_MIN) <= 0) rhoHat = RHO_MIN;
  else if (dll(RHO_MAX) >= 0) rhoHat = RHO_MAX;
  else {
    let lo = RHO_MIN;
    let hi = RHO_MAX;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (dll(mid) > 0) lo = mid;
      else hi = mid;
    }
    rhoHat = (lo + hi) / 2;
  }
  // Overdispersion: Pearson's statistic across buckets says how much more the counts vary than binomial
  // counts do; the log-likelihood is tempered by it (quasi-likelihood), never sharpened.
  let phi = 1;
  if (ce.length >= 5) {
    let chi = 0;
    for (let k = 0; k < ce.length; k++) {
      const th = 1 / (1 + Math.exp(lbn[k] - lcn[k] - rhoHat));
      const v = te[k] * th * (1 - th);
      if (v > 0) chi += (ce[k] - te[k] * th) ** 2 / v;
    }
    phi = Math.max(1, chi / (ce.length - 1));
  }
  return { k: ce.length, llT: (rho: number) => ll(rho) / phi, rhoHat, phi };
}

/**
 * Fixed-sample (one look) profile-likelihood interval of the error-rate ratio, with at most `alpha` outside
 * on each side (signed root of the tempered likelihood ratio against z_{1−α}). Used once the bake is over.
 */
export function rateRatioFixed(
  strata: readonly CountStratum[],
  alpha: number,
): { ratio: number; lower: number; upper: number; dispersion: number } {
  const { k, llT, rhoHat, phi } = ratioModel(strata);
  if (k === 0) return { ratio: NaN, lower: 0, upper: Infinity, dispersion: phi };
  const z = normalQuantile(1 - alpha);
  const top = llT(rhoHat);
  const root = (rho: number) => Math.sign(rhoHat - rho) * Math.sqrt(Math.max(0, 2 * (top - llT(rho))));
  const solve = (dir: 1 | -1): number => {
    const edge = dir > 0 ? RHO_MAX : RHO_MIN;
    if (Math.abs(root(edge)) < z) return dir > 0 ? Infinity : 0;
    let a = rhoHat;
    let b = edge;
    for (let i = 0; i < 80; i++) {
      const mid = (a + b) / 2;
      if (Math.abs(root(mid)) < z) a = mid;
      else b = mid;
    }
    return Math.exp((a + b) / 2);
  };
  const ratio = rhoHat <= RHO_MIN ? 0 : rhoHat >= RHO_MAX ? Infinity : Math.exp(rhoHat);
  return { ratio, lower: rhoHat <= RHO_MIN ? 0 : solve(-1), upper: rhoHat >= RHO_MAX ? Infinity : solve(1), dispersion: phi };
}

export function rateRatioSequence(strata: readonly CountStratum[], nullRatio: number, alpha: number, tau = 0.7): RatioSequenceResult {
  const { k, llT, rhoHat, phi } = ratioModel(strata);
  const ce = { length: k };
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
export function shiftSequence(
  canary: readonly number[],
  baseline: readonly number[],
  floor: number,
  alpha: number,
  taus: readonly number[] = SHIFT_TAUS,
): ShiftSequenceResult {
  const n1 = canary.length;
  const n2 = baseline.length;
  const info = (12 * n1 * n2) / (n1 + n2 + 1);
  const zCritical = multiScaleCriticalZ(info, alpha, taus);
  const hl = hodgesLehmann(canary, baseline, Number.isFinite(zCritical) ? zCritical : 1e9);
  const base = mannWhitney(canary, baseline);
  const up =
    floor === 0
      ? base
      : mannWhitney(
          canary.map((v) => v - floor),
          baseline,
        );
  const down =
    floor === 0
      ? base
      : mannWhitney(
          canary.map((v) => v + floor),
          baseline,
        );
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

/** One cell's counts over time buckets, for `burstWeights`. */
export interface CellCounts {
  /** bucket time → [requests, errors] */
  points: Map<number, [number, number]>;
}

/**
 * Weights (0..1) per cell and bucket that set bursts aside. Error rates are fitted on the log scale by a
 * two-way model (cell effect + time effect) with Tukey's median polish, which a few wild values cannot
 * move, so a cell that is worse all along (a bad canary) and a time that is worse everywhere (load) are part
 * of the model, and only a cell-bucket far out of line with both — an isolated burst — loses weight: full
 * weight within 3.5 robust standard deviations of the Pearson residuals, none beyond 6. Canary and baseline
 * cells are treated alike.
 */
export function burstWeights(cells: readonly CellCounts[]): Map<number, number>[] {
  const times = [...new Set(cells.flatMap((c) => [...c.points.keys()]))];
  const out = cells.map((c) => new Map<number, number>([...c.points.keys()].map((t) => [t, 1])));
  const total = cells.reduce((x, c) => x + [...c.points.values()].reduce((s2, p) => s2 + p[1], 0), 0);
  if (times.length < 5 || cells.length < 2 || total === 0) return out;
  // residual matrix on the log-rate scale (0.5 added so empty buckets have a rate)
  const resid = cells.map(
    (c) => new Map<number, number>([...c.points.entries()].filter(([, [n]]) => n > 0).map(([t, [n, e]]) => [t, Math.log((e + 0.5) / n)])),
  );
  const med = (v: number[]) => {
    const x = [...v].sort((p, q) => p - q);
    const m = x.length >> 1;
    return x.length === 0 ? 0 : x.length % 2 ? x[m] : (x[m - 1] + x[m]) / 2;
  };
  for (let iter = 0; iter < 6; iter++) {
    for (const row of resid) {
      const m = med([...row.values()]);
      for (const [t, v] of row) row.set(t, v - m);
    }
    for (const t of times) {
      const col = resid.map((row) => row.get(t)).filter((v): v is number => v !== undefined);
      const m = med(col);
      for (const row of resid) if (row.has(t)) row.set(t, row.get(t)! - m);
    }
  }
  const res: { i: number; t: number; r: number }[] = [];
  cells.forEach((c, i) => {
    for (const [t, [, e]] of c.points) {
      const rv = resid[i].get(t);
      if (rv === undefined) continue;
      const mu = Math.max(0.5, (e + 0.5) * Math.exp(-rv) - 0.5); // the fitted count
      res.push({ i, t, r: (e - mu) / Math.sqrt(mu) });
    }
  });
  if (res.length === 0) return out;
  const sq = res.map((x) => x.r * x.r).sort((x, y) => x - y);
  const sd = Math.sqrt(Math.max(1, sq[sq.length >> 1] / 0.4549)); // median of chi-square(1)
  for (const { i, t, r } of res) {
    const u = (Math.abs(r) / sd - 3.5) / 2.5;
    out[i].set(t, u <= 0 ? 1 : u >= 1 ? 0 : (1 - u * u) ** 2);
  }
  return out;
}

/** Canary and baseline values (same scale, e.g. log latency) measured in the same time bucket. */
export interface ValueBlock {
  canary: number[];
  baseline: number[];
}

/**
 * The rank test stratified by time (van Elteren's form of Mann–Whitney): U is counted only between canary
 * and baseline values of the same time bucket and summed over buckets, so anything that moves both sides
 * together — a daily cycle, a load spike — cancels out. The shift estimate is the δ that centres the
 * statistic (a Hodges–Lehmann estimate for strata), the interval the δs it does not reject at the
 * sequential critical value; the information is (Σ k·m)² / Var(U) for k canary and m baseline values per
 * bucket, which is 12·n₁n₂/(n₁+n₂+1) when there is a single bucket.
 */
export function blockedShiftSequence(
  blocks: readonly ValueBlock[],
  floor: number,
  alpha: number,
  taus: readonly number[] = SHIFT_TAUS,
): ShiftSequenceResult {
  const bs = blocks
    .filter((b) => b.canary.length > 0 && b.baseline.length > 0)
    .map((b) => ({ x: b.canary, y: [...b.baseline].sort((p, q) => p - q) }));
  let pairs = 0;
  let variance = 0;
  let n1 = 0;
  let n2 = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of bs) {
    const k = b.x.length;
    const m = b.y.length;
    pairs += k * m;
    variance += (k * m * (k + m + 1)) / 12;
    n1 += k;
    n2 += m;
    for (const v of b.x) {
      lo = Math.min(lo, v - b.y[m - 1]);
      hi = Math.max(hi, v - b.y[0]);
    }
  }
  const empty = { n1, n2, estimate: NaN, lower: NaN, upper: NaN, zCritical: Infinity, zAboveFloor: 0, zBelowFloor: 0, z: 0, auc: NaN };
  if (pairs === 0 || variance === 0) return empty;
  const sd = Math.sqrt(variance);
  // U(δ): pairs with x − δ > y, ties one half; binary search in each sorted baseline block.
  const below = (ys: number[], v: number, strict: boolean) => {
    let a = 0;
    let b = ys.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (strict ? ys[mid] < v : ys[mid] <= v) a = mid + 1;
      else b = mid;
    }
    return a;
  };
  const u = (delta: number) => {
    let s = 0;
    for (const b of bs) {
      for (const v of b.x) {
        const w = v - delta;
        const less = below(b.y, w, true);
        const lessEq = below(b.y, w, false);
        s += less + 0.5 * (lessEq - less);
      }
    }
    return s;
  };
  const z = (delta: number) => (u(delta) - pairs / 2) / sd;
  const info = (pairs * pairs) / variance;
  const zCritical = multiScaleCriticalZ(info, alpha, taus);
  // z(δ) falls as δ grows: the δ where it crosses a level, by bisection.
  const cross = (level: number): number => {
    if (z(lo - 1e-9) < level) return -Infinity;
    if (z(hi + 1e-9) > level) return Infinity;
    let a = lo - 1e-9;
    let b = hi + 1e-9;
    for (let i = 0; i < 60 && b - a > 1e-9; i++) {
      const mid = (a + b) / 2;
      if (z(mid) > level) a = mid;
      else b = mid;
    }
    return (a + b) / 2;
  };
  const z0 = z(0);
  return {
    n1,
    n2,
    estimate: cross(0),
    lower: Number.isFinite(zCritical) ? cross(zCritical) : -Infinity,
    upper: Number.isFinite(zCritical) ? cross(-zCritical) : Infinity,
    zCritical,
    zAboveFloor: z(floor),
    zBelowFloor: z(-floor),
    z: z0,
    auc: u(0) / pairs,
  };
}

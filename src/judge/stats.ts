// Statistics for the canary judge: the normal distribution, the Mann–Whitney rank test, Hodges–Lehmann
// shift estimates, and order statistics of pairwise differences without building the n1×n2 array.
// Pure and dependency-free; checked against hand-computed and published values in stats.test.ts.

/** Standard normal CDF Φ(x), double precision (Hart's rational approximation, as refined by West). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let c: number;
  if (a > 37) c = 0;
  else {
    const e = Math.exp((-a * a) / 2);
    if (a < 7.07106781186547) {
      let b = 3.52624965998911e-2 * a + 0.700383064443688;
      b = b * a + 6.37396220353165;
      b = b * a + 33.912866078383;
      b = b * a + 112.079291497871;
      b = b * a + 221.213596169931;
      b = b * a + 220.206867912376;
      c = e * b;
      b = 8.83883476483184e-2 * a + 1.75566716318264;
      b = b * a + 16.064177579207;
      b = b * a + 86.7807322029461;
      b = b * a + 296.564248779674;
      b = b * a + 637.333633378831;
      b = b * a + 793.826512519948;
      b = b * a + 440.413735824752;
      c = c / b;
    } else {
      let b = a + 0.65;
      b = a + 4 / b;
      b = a + 3 / b;
      b = a + 2 / b;
      b = a + 1 / b;
      c = e / b / 2.506628274631;
    }
  }
  return x > 0 ? 1 - c : c;
}

/** Upper tail 1 − Φ(x), accurate far into the tail. */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Inverse of Φ: the z with Φ(z) = p (Acklam's approximation plus one Halley step: ~1e-15). */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const lo = 0.02425;
  let x: number;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else if (p <= 1 - lo) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  // One Halley refinement against the accurate CDF.
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

export interface MannWhitneyResult {
  n1: number;
  n2: number;
  /** U of the first sample: pairs (x, y) with x > y, ties counting one half. */
  u: number;
  /** Standard deviation of U under the null, tie-corrected. */
  sigma: number;
  /** (U − n1·n2/2) / sigma, without continuity correction. */
  z: number;
  /** Two-sided p-value: exact for small samples without ties, else normal with continuity correction. */
  pValue: number;
  exact: boolean;
  /** P(X > Y) + ½P(X = Y), the common-language effect size (U / n1n2). */
  auc: number;
}

/**
 * When the exact null distribution of U is used: no ties, and either sample has at most 8 values (scipy's
 * rule) or both have fewer than 50 (R's). Otherwise the tie-corrected normal approximation.
 */
export function exactRuleApplies(n1: number, n2: number, tied: boolean): boolean {
  return !tied && n1 > 0 && n2 > 0 && (Math.min(n1, n2) <= 8 || Math.max(n1, n2) < 50);
}

/**
 * Mann–Whitney U test of x against y. Two-sided p-value: exact where `exactRuleApplies`, otherwise the
 * normal approximation with tie and continuity corrections.
 */
export function mannWhitney(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { n1, n2, u: NaN, sigma: NaN, z: NaN, pValue: NaN, exact: false, auc: NaN };
  const all = new Array<{ v: number; g: 0 | 1 }>(n1 + n2);
  for (let i = 0; i < n1; i++) all[i] = { v: x[i], g: 0 };
  for (let j = 0; j < n2; j++) all[n1 + j] = { v: y[j], g: 1 };
  all.sort((a, b) => a.v - b.v);
  const n = n1 + n2;
  let rankSumX = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && all[j + 1].v === all[i].v) j++;
    const t = j - i + 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k].g === 0) rankSumX += rank;
    if (t > 1) tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = sigma > 0 ? (u - mu) / sigma : 0;
  let pValue: number;
  let exact = false;
  if (exactRuleApplies(n1, n2, tieTerm > 0)) {
    exact = true;
    const uHigh = Math.max(u, n1 * n2 - u);
    pValue = Math.min(1, 2 * exactUpperTail(n1, n2, uHigh));
  } else if (sigma === 0) {
    pValue = 1;
  } else {
    const zc = (Math.abs(u - mu) - 0.5) / sigma;
    pValue = Math.min(1, 2 * normalSf(Math.max(0, zc)));
  }
  return { n1, n2, u, sigma, z, pValue, exact, auc: u / (n1 * n2) };
}

/**
 * Number of arrangements giving each value of U for samples of sizes m and n without ties: the
 * coefficients of the Gaussian binomial [m+n choose m]_q, built one factor at a time.
 */
export function mannWhitneyExactCounts(m: number, n: number): number[] {
  let poly = [1];
  for (let i = 1; i <= m; i++) {
    // multiply by (1 − q^(n+i))
    const shift = n + i;
    const next = new Array<number>(poly.length + shift).fill(0);
    for (let k = 0; k < poly.length; k++) {
      next[k] += poly[k];
      next[k + shift] -= poly[k];
    }
    // divide by (1 − q^i): running sums with stride i
    for (let k = i; k < next.length; k++) next[k] += next[k - i];
    poly = next.slice(0, i * n + 1);
  }
  return poly;
}

const exactCache = new Map<string, number[]>();

/** The exact null distribution of U for sizes m and n without ties, as cumulative probabilities P(U ≤ k). */
function exactCdf(m: number, n: number): number[] {
  const key = `${Math.min(m, n)}x${Math.max(m, n)}`;
  let cdf = exactCache.get(key);
  if (!cdf) {
    const counts = mannWhitneyExactCounts(Math.min(m, n), Math.max(m, n));
    const total = counts.reduce((a, b) => a + b, 0);
    cdf = [];
    let acc = 0;
    for (const c of counts) cdf.push((acc += c) / total);
    if (exactCache.size > 64) exactCache.clear();
    exactCache.set(key, cdf);
  }
  return cdf;
}

/** P(U ≥ u) under the null, exactly (sizes m, n; no ties). */
export function exactUpperTail(m: number, n: number, u: number): number {
  const cdf = exactCdf(m, n);
  const k = Math.ceil(u - 1e-9);
  if (k <= 0) return 1;
  if (k > m * n) return 0;
  return Math.max(0, 1 - cdf[k - 1]);
}

/**
 * The order statistic k (1-based) of the m·n pairwise differences whose [D(k), D(mn − k + 1)] is the
 * distribution-free interval with at most `alpha` outside on each side: exact where `exactRuleApplies`
 * (the largest k with P(U ≤ k − 1) ≤ α), else from the normal approximation at the quantile z_{1−α}.
 * 0 when no such k exists (too few samples for that confidence).
 */
export function shiftIntervalRank(m: number, n: number, alpha: number, tied: boolean): number {
  if (exactRuleApplies(m, n, tied)) {
    const cdf = exactCdf(m, n);
    let k = 0;
    while (k < cdf.length && cdf[k] <= alpha) k++;
    return k; // P(U ≤ k − 1) ≤ α < P(U ≤ k)
  }
  const sigma = Math.sqrt((m * n * (m + n + 1)) / 12);
  return Math.max(0, Math.floor((m * n) / 2 - normalQuantile(1 - alpha) * sigma));
}

/** How many pairwise differences x[i] − y[j] are ≤ d; both arrays sorted ascending. O(n1 + n2). */
function countDiffsAtMost(xs: readonly number[], ys: readonly number[], d: number): number {
  // for each x, count y >= x - d
  let count = 0;
  let j: number; // ys[j..] >= x - d ; moves right as x grows
  let lo = 0;
  for (let i = 0; i < xs.length; i++) {
    const bound = xs[i] - d;
    while (lo < ys.length && ys[lo] < bound) lo++;
    j = lo;
    count += ys.length - j;
  }
  return count;
}

/**
 * The k-th smallest (1-based) of the n1·n2 differences x[i] − y[j], found by bisection on the value with
 * an O(n1 + n2) count per step, so large samples never build the full set of pairs.
 */
export function kthPairwiseDifference(xs: readonly number[], ys: readonly number[], k: number): number {
  const total = xs.length * ys.length;
  const kk = Math.min(Math.max(1, Math.round(k)), total);
  let lo = xs[0] - ys[ys.length - 1];
  let hi = xs[xs.length - 1] - ys[0];
  if (kk === 1) return lo;
  if (kk === total) return hi;
  for (let iter = 0; iter < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(lo), Math.abs(hi)); iter++) {
    const mid = lo + (hi - lo) / 2;
    if (mid === lo || mid === hi) break;
    if (countDiffsAtMost(xs, ys, mid) >= kk) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface ShiftEstimate {
  /** Hodges–Lehmann estimate: the median of all differences x − y. */
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * Hodges–Lehmann shift of x over y with the distribution-free interval from the order statistics of the
 * pairwise differences: [D(k), D(n1n2 − k + 1)] with k = floor(n1n2/2 − z·σ_U). `z` is the critical value
 * (1.96 for a fixed-sample 95% interval; the judge passes a larger, sequentially valid one).
 */
export function hodgesLehmann(x: readonly number[], y: readonly number[], z: number): ShiftEstimate {
  const xs = [...x].sort((a, b) => a - b);
  const ys = [...y].sort((a, b) => a - b);
  const n1 = xs.length;
  const n2 = ys.length;
  if (n1 === 0 || n2 === 0) return { estimate: NaN, lower: NaN, upper: NaN };
  const total = n1 * n2;
  const estimate =
    total % 2 === 1
      ? kthPairwiseDifference(xs, ys, (total + 1) / 2)
      : (kthPairwiseDifference(xs, ys, total / 2) + kthPairwiseDifference(xs, ys, total / 2 + 1)) / 2;
  const sigma = Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
  const k = Math.floor(total / 2 - z * sigma);
  if (k < 1) return { estimate, lower: -Infinity, upper: Infinity };
  return { estimate, lower: kthPairwiseDifference(xs, ys, k), upper: kthPairwiseDifference(xs, ys, total - k + 1) };
}

/**
 * Fixed-sample (one look) Hodges–Lehmann interval of the shift x − y with at most `alpha` outside on each
 * side (exact order statistics where `exactRuleApplies`). Used once the bake is over; the looks before use
 * the sequential interval.
 */
export function fixedShiftInterval(x: readonly number[], y: readonly number[], alpha: number): ShiftEstimate & { exact: boolean } {
  const xs = [...x].sort((a, b) => a - b);
  const ys = [...y].sort((a, b) => a - b);
  const m = xs.length;
  const n = ys.length;
  if (m === 0 || n === 0) return { estimate: NaN, lower: NaN, upper: NaN, exact: false };
  const all = [...xs, ...ys].sort((a, b) => a - b);
  let tied = false;
  for (let i = 1; i < all.length && !tied; i++) tied = all[i] === all[i - 1];
  const total = m * n;
  const estimate =
    total % 2 === 1
      ? kthPairwiseDifference(xs, ys, (total + 1) / 2)
      : (kthPairwiseDifference(xs, ys, total / 2) + kthPairwiseDifference(xs, ys, total / 2 + 1)) / 2;
  const exact = exactRuleApplies(m, n, tied);
  const k = shiftIntervalRank(m, n, alpha, tied);
  if (k < 1) return { estimate, lower: -Infinity, upper: Infinity, exact };
  return { estimate, lower: kthPairwiseDifference(xs, ys, k), upper: kthPairwiseDifference(xs, ys, total - k + 1), exact };
}

/** log(Σ exp(a_i)) without overflow. */
export function logSumExp(a: readonly number[]): number {
  let m = -Infinity;
  for (const v of a) if (v > m) m = v;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const v of a) s += Math.exp(v - m);
  return m + Math.log(s);
}

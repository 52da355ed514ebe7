// Geo-redundant pairs: a pair of regions is available when either region is. Pure.
import { maintenanceMask, type MaintenanceWindow } from './maintenance.js';
import { emptySeries, INTERVAL_MINUTES, MINUTE_MS, seriesEndMs, type MinuteSeries } from './series.js';
import { newTally, tallyMinutes, type Measure } from './uptime.js';

// For ties: up before degraded before down before unknown.
const RANK = [3, 0, 1, 2];
/** BETTER[(a << 2) | b]: the better of two states by RANK (a on ties). */
const BETTER = new Uint8Array(16);
for (let x = 0; x < 4; x++) for (let y = 0; y < 4; y++) BETTER[(x << 2) | y] = RANK[x] <= RANK[y] ? x : y;
/**
 * A geo-redundant pair: available when either region is. Covers the union of both series' minutes (a minute
 * outside one series is unknown there). What "the better region" means follows the measure, so the pair is
 * never worse than either region on the measure that is used:
 * - `minutes` (default): each minute takes the better state (up, then degraded, down, unknown) with that
 *   region's request counts.
 * - `requests`: each 5-minute UTC interval takes, wholesale, the region whose interval error rate (the
 *   request-measure formula, over the minutes `maintenance` does not exclude) is lower; ties go to the
 *   better states. Pass the pair's excluded windows so the choice is made on the minutes that count.
 */
export function combineEither(
  a: MinuteSeries,
  b: MinuteSeries,
  measure: Measure = 'minutes',
  maintenance?: readonly MaintenanceWindow[],
): MinuteSeries {
  const start = Math.min(a.startMs, b.startMs);
  const end = Math.max(seriesEndMs(a), seriesEndMs(b));
  const withRequests = !!(a.requests || b.requests);
  const out = emptySeries(start, end, { requests: withRequests });
  // Whole minutes, kept as small integers so the loops below index typed arrays at full speed.
  const offA = ((a.startMs - start) / MINUTE_MS) | 0;
  const offB = ((b.startMs - start) / MINUTE_MS) | 0;
  const n = out.states.length;
  // Each side on the common timeline (unknown where it has no minutes).
  const A = onTimeline(a, offA, n);
  const B = onTimeline(b, offB, n);
  const o = out.states;
  const sa = A.states;
  const sb = B.states;
  const or = out.requests;
  const of = out.failures;
  const ra = A.requests;
  const fa = A.failures;
  const rb = B.requests;
  const fb = B.failures;
  if (measure === 'minutes') {
    for (let i = 0; i < n; i++) {
      const xa = sa[i];
      if (BETTER[(xa << 2) | sb[i]] === xa) {
        o[i] = xa;
        if (or !== undefined && ra !== undefined) {
          or[i] = ra[i];
          of![i] = fa![i];
        }
      } else {
        o[i] = sb[i];
        if (or !== undefined && rb !== undefined) {
          or[i] = rb[i];
          of![i] = fb![i];
        }
      }
    }
    return out;
  }
  const phase = ((((start / MINUTE_MS) % INTERVAL_MINUTES) + INTERVAL_MINUTES) % INTERVAL_MINUTES) | 0;
  const mask = maintenanceMask(start, n, maintenance);
  for (let lo = 0; lo < n;) {
    const hi = Math.min(n, lo + INTERVAL_MINUTES - (lo === 0 ? phase : 0));
    const rateA = intervalRate(sa, ra, fa, lo, hi, mask);
    const rateB = intervalRate(sb, rb, fb, lo, hi, mask);
    let pickA = rateA < rateB;
    if (rateA === rateB) {
      let rankA = 0;
      let rankB = 0;
      for (let i = lo; i < hi; i++) {
        rankA += RANK[sa[i]];
        rankB += RANK[sb[i]];
      }
      pickA = rankA <= rankB;
    }
    const ss = pickA ? sa : sb;
    const rs = pickA ? ra : rb;
    const fs = pickA ? fa : fb;
    for (let i = lo; i < hi; i++) {
      o[i] = ss[i];
      if (or !== undefined && rs !== undefined) {
        or[i] = rs[i];
        of![i] = fs![i];
      }
    }
    lo = hi;
  }
  return out;
}

function onTimeline(s: MinuteSeries, off: number, n: number): MinuteSeries {
  return {
    startMs: s.startMs - off * MINUTE_MS,
    states: off === 0 && s.states.length === n ? s.states : placed(s.states, off, n),
    requests: s.requests ? placed32(s.requests, off, n) : undefined,
    failures: s.failures ? placed32(s.failures, off, n) : undefined,
  };
}

function placed(src: Uint8Array, off: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(src.subarray(0, Math.min(src.length, n - off)), off);
  return out;
}

function placed32(src: Uint32Array, off: number, n: number): Uint32Array {
  if (off === 0 && src.length === n) return src;
  const out = new Uint32Array(n);
  out.set(src.subarray(0, Math.min(src.length, n - off)), off);
  return out;
}

/** The request-measure error rate of minutes [lo, hi) of a timeline not masked (the formula of `scan`; 0 if none). */
function intervalRate(
  states: Uint8Array,
  requests: Uint32Array | undefined,
  failures: Uint32Array | undefined,
  lo: number,
  hi: number,
  mask: Uint8Array | undefined,
): number {
  return Math.max(0, tallyMinutes(newTally(), states, requests, failures, 0, lo, hi, mask));
}

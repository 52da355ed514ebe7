// Availability figures of a window of a minute series: minutes, requests, days, bad periods, and the one way a
// percentage is shown. Pure.
import { maintenanceMask, type MaintenanceWindow } from './maintenance.js';
import { assertMinuteAligned, DAY_MS, INTERVAL_MINUTES, MINUTE_MS, utcDay, type MinuteSeries, type MinuteStateCode } from './series.js';

export type Measure = 'minutes' | 'requests';

export interface UptimeOptions {
  measure: Measure;
  /** Windows announced in advance; minutes entirely inside one are not counted. */
  maintenance?: readonly MaintenanceWindow[];
  /** Minutes starting at or after this are in the future and not counted (a month or day not over yet). */
  nowMs?: number;
  /**
   * Minutes that end at or before this are not counted: measurement (or the customer's contract) had not
   * begun (I8). The minute it falls in counts. Unset: every minute of the window is measured time.
   */
  sinceMs?: number;
}

export interface Uptime {
  fromMs: number;
  toMs: number;
  measure: Measure;
  /** Exact availability in percent (compare tiers against this, show it with formatPercent). */
  percent: number;
  /** Minutes counted (not maintenance, not future). */
  minutes: number;
  upMinutes: number;
  degradedMinutes: number;
  downMinutes: number;
  unknownMinutes: number;
  maintenanceMinutes: number;
  futureMinutes: number;
  /** Minutes before measurement began (UptimeOptions.sinceMs): neither up nor down, not counted. */
  unmonitoredMinutes: number;
  /** Request measure: 5-minute intervals counted and the sum of their error rates (0 for minutes). */
  intervals: number;
  errorRateSum: number;
  /** Requests and failures counted in counted minutes. */
  requests: number;
  failures: number;
}

function checkWindow(fromMs: number, toMs: number): void {
  assertMinuteAligned(fromMs, 'fromMs');
  assertMinuteAligned(toMs, 'toMs');
  if (toMs < fromMs) throw new Error(`window ends before it starts: ${fromMs}..${toMs}`);
}

function newUptime(fromMs: number, toMs: number, measure: Measure): Uptime {
  return {
    fromMs,
    toMs,
    measure,
    percent: 100,
    minutes: 0,
    upMinutes: 0,
    degradedMinutes: 0,
    downMinutes: 0,
    unknownMinutes: 0,
    maintenanceMinutes: 0,
    futureMinutes: 0,
    unmonitoredMinutes: 0,
    intervals: 0,
    errorRateSum: 0,
    requests: 0,
    failures: 0,
  };
}

/** Counts of the minutes of a window: states, maintenance, and requests and failures (failures capped at requests). */
export interface Tally {
  unknown: number;
  up: number;
  degraded: number;
  down: number;
  maintenance: number;
  requests: number;
  failures: number;
}

export function newTally(): Tally {
  return { unknown: 0, up: 0, degraded: 0, down: 0, maintenance: 0, requests: 0, failures: 0 };
}

/**
 * Adds window minutes [lo, hi) to `t` and returns their request-measure error rate: the mean over the
 * counted minutes of the pooled failures / requests of minutes with request counts, a minute without
 * request counts being 1 if down or unknown and 0 otherwise; −1 when no minute is counted. Window minute i
 * is series index i + off (outside the series it is unknown); `mask[i] === 1` marks a minute in maintenance.
 * The one loop every figure is counted by: hot (a month × thousands of components), so plain locals and
 * integer indices, no per-minute objects.
 */
export function tallyMinutes(
  t: Tally,
  states: Uint8Array,
  reqs: Uint32Array | undefined,
  fails: Uint32Array | undefined,
  off: number,
  lo: number,
  hi: number,
  mask: Uint8Array | undefined,
): number {
  const len = states.length | 0;
  let c0 = 0; // unknown
  let c1 = 0; // up
  let c2 = 0; // degraded
  let c3 = 0; // down
  let maint = 0;
  let badNoReq = 0; // counted minutes without request counts that are down or unknown
  let withReq = 0; // counted minutes with request counts
  let req = 0;
  let fail = 0;
  if (mask === undefined && reqs === undefined) {
    // The common case (states only, nothing excluded): count what is not UP; minutes outside the series are unknown.
    const a = Math.max(lo, -off) | 0;
    const b = Math.max(a, Math.min(hi, len - off)) | 0;
    for (let si = a + off, end = b + off; si < end; si++) {
      const x = states[si];
      if (x !== 1) {
        if (x === 3) c3++;
        else if (x === 2) c2++;
        else c0++;
      }
    }
    c1 = b - a - c0 - c2 - c3;
    badNoReq = c0 + c3;
    c0 += hi - lo - (b - a);
    badNoReq += hi - lo - (b - a);
  } else {
    for (let i = lo; i < hi; i++) {
      if (mask !== undefined && mask[i] === 1) {
        maint++;
        continue;
      }
      const si = i + off;
      if (si < 0 || si >= len) {
        c0++;
        badNoReq++;
        continue;
      }
      const x = states[si];
      // Most minutes are UP: test that first.
      if (x === 1) c1++;
      else if (x === 3) c3++;
      else if (x === 2) c2++;
      else c0++;
      const r = reqs !== undefined ? reqs[si] : 0;
      if (r > 0) {
        withReq++;
        req += r;
        const f = fails![si];
        fail += f < r ? f : r;
      } else if (x === 0 || x === 3) badNoReq++;
    }
  }
  t.unknown += c0;
  t.up += c1;
  t.degraded += c2;
  t.down += c3;
  t.maintenance += maint;
  t.requests += req;
  t.failures += fail;
  const k = c0 + c1 + c2 + c3;
  return k === 0 ? -1 : (badNoReq + (withReq > 0 ? (withReq * fail) / req : 0)) / k;
}

/** Counts states over a window and, for the request measure, the 5-minute error rates. */
function scan(series: MinuteSeries, fromMs: number, toMs: number, opts: UptimeOptions, requestMeasure: boolean): Uptime {
  checkWindow(fromMs, toMs);
  const u = newUptime(fromMs, toMs, opts.measure);
  // Whole minutes, kept as small integers so the loops index typed arrays at full speed.
  const n = ((toMs - fromMs) / MINUTE_MS) | 0;
  // Minutes [0, nPast) of the window are not in the future.
  const nPast = opts.nowMs === undefined ? n : Math.max(0, Math.min(n, Math.ceil((opts.nowMs - fromMs) / MINUTE_MS))) | 0;
  const mask = maintenanceMask(fromMs, nPast, opts.maintenance);
  const off = ((fromMs - series.startMs) / MINUTE_MS) | 0; // series index of window minute 0
  const t = newTally();
  if (!requestMeasure) {
    tallyMinutes(t, series.states, series.requests, series.failures, off, 0, nPast, mask);
  } else {
    // 5-minute intervals aligned to UTC: the first may be cut by fromMs, the last by toMs or now.
    const phase = ((((fromMs / MINUTE_MS) % INTERVAL_MINUTES) + INTERVAL_MINUTES) % INTERVAL_MINUTES) | 0;
    let intervals = 0;
    let rateSum = 0;
    for (let i = 0; i < nPast;) {
      const stop = Math.min(nPast, i + INTERVAL_MINUTES - (i === 0 ? phase : 0));
      const rate = tallyMinutes(t, series.states, series.requests, series.failures, off, i, stop, mask);
      if (rate >= 0) {
        intervals++;
        rateSum += rate;
      }
      i = stop;
    }
    u.intervals = intervals;
    u.errorRateSum = rateSum;
  }
  u.requests = t.requests;
  u.failures = t.failures;
  u.upMinutes = t.up;
  u.degradedMinutes = t.degraded;
  u.downMinutes = t.down;
  u.unknownMinutes = t.unknown;
  u.maintenanceMinutes = t.maintenance;
  u.futureMinutes = n - nPast;
  u.minutes = t.unknown + t.up + t.degraded + t.down;
  u.percent = percentOf(u);
  return u;
}

function percentOf(u: Uptime): number {
  if (u.measure === 'requests') return u.intervals === 0 ? 100 : 100 - (100 * u.errorRateSum) / u.intervals;
  return u.minutes === 0 ? 100 : (100 * (u.upMinutes + u.degradedMinutes)) / u.minutes;
}

/** The first minute of [fromMs, toMs) that is measured time under `sinceMs` (the minute sinceMs falls in). */
export function measuredFrom(fromMs: number, toMs: number, sinceMs: number | undefined): number {
  if (sinceMs === undefined || sinceMs <= fromMs) return fromMs;
  return Math.min(toMs, Math.floor(sinceMs / MINUTE_MS) * MINUTE_MS);
}

/** scan() over the measured part of the window; the minutes before it are reported as unmonitored. */
function measuredScan(series: MinuteSeries, fromMs: number, toMs: number, opts: UptimeOptions, requestMeasure: boolean): Uptime {
  checkWindow(fromMs, toMs);
  const from = measuredFrom(fromMs, toMs, opts.sinceMs);
  if (from === fromMs) return scan(series, fromMs, toMs, opts, requestMeasure);
  const u = scan(series, from, toMs, opts, requestMeasure);
  u.fromMs = fromMs;
  u.unmonitoredMinutes = (from - fromMs) / MINUTE_MS;
  return u;
}

/** Compute-style availability over [fromMs, toMs): 100 × (up + degraded minutes) / counted minutes. */
export function minuteAvailability(series: MinuteSeries, fromMs: number, toMs: number, opts: Omit<UptimeOptions, 'measure'> = {}): Uptime {
  return measuredScan(series, fromMs, toMs, { ...opts, measure: 'minutes' }, false);
}

/** Storage-style availability over [fromMs, toMs): 100 % − the mean of the 5-minute error rates. */
export function requestAvailability(series: MinuteSeries, fromMs: number, toMs: number, opts: Omit<UptimeOptions, 'measure'> = {}): Uptime {
  return measuredScan(series, fromMs, toMs, { ...opts, measure: 'requests' }, true);
}

export function windowUptime(series: MinuteSeries, fromMs: number, toMs: number, opts: UptimeOptions): Uptime {
  return measuredScan(series, fromMs, toMs, opts, opts.measure === 'requests');
}

export interface DayUptime extends Uptime {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
}

/** Per UTC day from `fromDayMs` (a UTC midnight), `days` days: the same formula as the month. */
export function dailyUptime(series: MinuteSeries, fromDayMs: number, days: number, opts: UptimeOptions): DayUptime[] {
  if (fromDayMs % DAY_MS !== 0) throw new Error(`fromDayMs must be a UTC midnight, got ${fromDayMs}`);
  const out: DayUptime[] = [];
  for (let d = 0; d < days; d++) {
    const from = fromDayMs + d * DAY_MS;
    const u = windowUptime(series, from, from + DAY_MS, opts);
    out.push({ ...u, day: utcDay(from) });
  }
  return out;
}

/** Adds up disjoint windows of one measure (e.g. the days of a month): equal to windowUptime over their union. */
export function sumUptime(parts: readonly Uptime[]): Uptime {
  if (parts.length === 0) throw new Error('sumUptime needs at least one part');
  const u = newUptime(Math.min(...parts.map((p) => p.fromMs)), Math.max(...parts.map((p) => p.toMs)), parts[0].measure);
  for (const p of parts) {
    if (p.measure !== u.measure) throw new Error('sumUptime: parts of different measures');
    u.minutes += p.minutes;
    u.upMinutes += p.upMinutes;
    u.degradedMinutes += p.degradedMinutes;
    u.downMinutes += p.downMinutes;
    u.unknownMinutes += p.unknownMinutes;
    u.maintenanceMinutes += p.maintenanceMinutes;
    u.futureMinutes += p.futureMinutes;
    u.unmonitoredMinutes += p.unmonitoredMinutes;
    u.intervals += p.intervals;
    u.errorRateSum += p.errorRateSum;
    u.requests += p.requests;
    u.failures += p.failures;
  }
  u.percent = percentOf(u);
  return u;
}

export interface BadPeriod {
  fromMs: number;
  toMs: number;
  /** DOWN or UNKNOWN for the whole period. */
  state: MinuteStateCode;
}

/** Runs of DOWN or UNKNOWN minutes over [fromMs, toMs), outside maintenance, before `nowMs` and from `sinceMs`. */
export function badPeriods(
  series: MinuteSeries,
  fromMs: number,
  toMs: number,
  opts: { maintenance?: readonly MaintenanceWindow[]; nowMs?: number; sinceMs?: number } = {},
): BadPeriod[] {
  checkWindow(fromMs, toMs);
  const measured = measuredFrom(fromMs, toMs, opts.sinceMs);
  if (measured !== fromMs) return badPeriods(series, measured, toMs, { ...opts, sinceMs: undefined });
  const n = ((toMs - fromMs) / MINUTE_MS) | 0;
  const nPast = opts.nowMs === undefined ? n : Math.max(0, Math.min(n, Math.ceil((opts.nowMs - fromMs) / MINUTE_MS))) | 0;
  const mask = maintenanceMask(fromMs, nPast, opts.maintenance);
  const states = series.states;
  const off = ((fromMs - series.startMs) / MINUTE_MS) | 0;
  const len = states.length | 0;
  // State of window minute i as a bad-run code: 0 unknown, 3 down, -1 neither (or excluded).
  const badAt = (i: number): number => {
    if (mask !== undefined && mask[i] === 1) return -1;
    const si = i + off;
    const x = si >= 0 && si < len ? states[si] : 0;
    return x === 0 || x === 3 ? x : -1;
  };
  const out: BadPeriod[] = [];
  let i = 0;
  while (i < nPast) {
    // Skip good minutes quickly (the common case) when nothing is masked and the series covers them.
    if (mask === undefined) {
      const si0 = i + off;
      if (si0 >= 0) {
        const end = Math.min(nPast + off, len);
        let si = si0;
        while (si < end) {
          const x = states[si];
          if (x === 0 || x === 3) break;
          si++;
        }
        i = si - off;
        if (i >= nPast) break;
      }
    }
    const st = badAt(i);
    if (st === -1) {
      i++;
      continue;
    }
    const start = i;
    while (i < nPast && badAt(i) === st) i++;
    out.push({ fromMs: fromMs + start * MINUTE_MS, toMs: fromMs + i * MINUTE_MS, state: st as MinuteStateCode });
  }
  return out;
}

/**
 * The one way availability is shown: rounded DOWN to `digits` decimals, so a window with any downtime never
 * shows 100%, and a figure shown below a tier threshold with that many decimals really is below it.
 */
export function formatPercent(p: number, digits = 2): string {
  if (!Number.isFinite(p)) return '—';
  const f = 10 ** digits;
  // The tiny epsilon absorbs float noise (99.9 computed as 99.89999999999999); real data cannot get that close.
  const v = Math.floor(Math.min(100, Math.max(0, p)) * f + 1e-7) / f;
  return `${v.toFixed(digits)}%`;
}

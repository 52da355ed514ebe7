// The one place where evidence becomes availability. The SLA report and the status page's uptime bars both
// call these functions, so they agree to the last shown digit (I8). Pure: no clock, no I/O.
//
// Exported API
// ------------
// Series (one per component = service × region, one sample per UTC minute):
//   MINUTE_MS, DAY_MS, INTERVAL_MINUTES (= 5)
//   MinuteState { UNKNOWN: 0, UP: 1, DEGRADED: 2, DOWN: 3 }, type MinuteStateCode
//   interface MinuteSeries { startMs; states: Uint8Array; requests?: Uint32Array; failures?: Uint32Array }
//   emptySeries(fromMs, toMs, { requests? })           all-unknown series over [fromMs, toMs), minute-aligned
//   seriesEndMs(series)                                 first ms after the last minute of the series
//   componentId(service, region) -> "service/region"   the id incidents and the status page use
//   interface SeriesOptions { freshForMs; downShare?; partialShare?; degradedLatencyMs?; cells? }
//   seriesOptionsFromRules(rules)                        SeriesOptions from the status page rules in etape.yaml
//   seriesFromObservations(observations, fromMs, toMs, opts) -> MinuteSeries   (one component)
//   seriesByComponent(observations, fromMs, toMs, opts) -> Map<componentId, MinuteSeries>
//   combineEither(a, b, measure = 'minutes', maintenance?) -> MinuteSeries   geo-redundant pair: available when
//                                                                 either region is
// Exclusions:
//   interface MaintenanceWindow { fromMs; toMs; id? }
//   announcedMaintenance(incidents, component, { minNoticeMs? }) -> MaintenanceWindow[]
//   rejectedMaintenance(incidents, component)          maintenance that is NOT excluded, and why
// Figures:
//   type Measure = 'minutes' | 'requests'
//   interface UptimeOptions { measure; maintenance?; nowMs? }
//   interface Uptime { percent, minutes, upMinutes, degradedMinutes, downMinutes, unknownMinutes,
//                      maintenanceMinutes, futureMinutes, intervals, errorRateSum, requests, failures, … }
//   minuteAvailability(series, fromMs, toMs, opts?) -> Uptime     compute-style: share of good minutes
//   requestAvailability(series, fromMs, toMs, opts?) -> Uptime    storage-style: 100% − mean 5-minute error rate
//   windowUptime(series, fromMs, toMs, opts) -> Uptime            dispatches on opts.measure
//   dailyUptime(series, fromDayMs, days, opts) -> DayUptime[]     per UTC day, same formula (DayUptime = Uptime + day)
//   sumUptime(parts) -> Uptime                                    adds days (or any disjoint windows) exactly
//   badPeriods(series, fromMs, toMs, { maintenance?, nowMs? }) -> BadPeriod[] { fromMs, toMs, state }
//                                                                 runs of DOWN / UNKNOWN minutes
//   formatPercent(p, digits = 2) -> "99.95%"                      rounds DOWN: never shows 100% after downtime
//   utcDay(ms) -> "YYYY-MM-DD", startOfUtcDay(ms)
//
// Rules (docs/sla.md says the same in prose):
// - A minute [t, t+60s) of one evidence stream (one cell × one source) takes the worst real verdict measured in
//   it (fail > inconclusive or slow > pass); with none measured in it, the latest earlier observation if it is
//   still fresh at the minute's end (at + freshFor >= t + 60s). An `error` verdict is not a measurement: alone it
//   leaves the stream unknown. A cell's state is the worst of its known streams; unknown if none is known.
// - A component minute is DOWN when some cell is down and (down + unknown cells) / cells >= downShare; UNKNOWN
//   when no cell is known, or unknown cells alone reach downShare; DEGRADED (counts as up) short of that when
//   some cell is down or degraded, or unknown cells reach partialShare; UP otherwise. Cells are counted per UTC
//   day: `opts.cells` plus those with evidence that day (so a month built at once equals it built day by day).
// - A geo-redundant pair (combineEither) takes the better region wholesale: per minute by state for the minute
//   measure, per 5-minute interval by error rate for the request measure; never worse than either region.
// - Minute measure: percent = 100 × good / counted, good = UP or DEGRADED; DOWN and UNKNOWN count against the
//   provider. Minutes inside an announced maintenance window (entirely inside) are not counted; minutes at or
//   after `nowMs` are not counted (future). Nothing counted -> 100.
// - Request measure: the window is cut into 5-minute UTC intervals. In each, minutes that have request counts
//   contribute their pooled error rate (failures / requests over those minutes); a minute without request
//   counts contributes 1 if DOWN or UNKNOWN (no evidence counts against the provider) and 0 if UP/DEGRADED
//   (evidence says it served, nobody asked: like a 0 % error rate). The interval's error rate is the mean over
//   its counted minutes; percent = 100 − 100 × mean of the interval error rates. Intervals fully in
//   maintenance or the future are not counted.
import type { Observation } from '../core/types.js';
import type { IncidentRecord } from '../store/store.js';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
/** Minutes in one request-measure interval. */
export const INTERVAL_MINUTES = 5;

export const MinuteState = { UNKNOWN: 0, UP: 1, DEGRADED: 2, DOWN: 3 } as const;
export type MinuteStateCode = (typeof MinuteState)[keyof typeof MinuteState];

/**
 * One component's evidence, one sample per UTC minute from `startMs` (minute-aligned).
 * `states[i]` is the state of minute [startMs + i·60s, +60s). `requests`/`failures`, when present, hold the
 * request counts attributed to that minute (observations carry them; the minute of `at` gets them).
 */
export interface MinuteSeries {
  startMs: number;
  states: Uint8Array;
  requests?: Uint32Array;
  failures?: Uint32Array;
}

export function componentId(service: string, region: string): string {
  return `${service}/${region}`;
}

function assertMinuteAligned(ms: number, what: string): void {
  if (!Number.isFinite(ms) || ms % MINUTE_MS !== 0) throw new Error(`${what} must be a whole UTC minute, got ${ms}`);
}

export function emptySeries(fromMs: number, toMs: number, opts: { requests?: boolean } = {}): MinuteSeries {
  assertMinuteAligned(fromMs, 'fromMs');
  const n = Math.max(0, Math.ceil((toMs - fromMs) / MINUTE_MS));
  const s: MinuteSeries = { startMs: fromMs, states: new Uint8Array(n) };
  if (opts.requests) {
    s.requests = new Uint32Array(n);
    s.failures = new Uint32Array(n);
  }
  return s;
}

export function seriesEndMs(s: MinuteSeries): number {
  return s.startMs + s.states.length * MINUTE_MS;
}

export interface SeriesOptions {
  /** Evidence older than this is not evidence (statuspage.rules.freshFor). */
  freshForMs: number;
  /** Share of bad (down or unknown) cells at which the component is down; default 0.5 (majorOutageShare). */
  downShare?: number;
  /** Share of bad cells at which the component is degraded; default 0.01 (partialOutageShare). */
  partialShare?: number;
  /** A passing probe slower than this makes its minute degraded (statuspage.rules.degradedLatency). */
  degradedLatencyMs?: number;
  /** Cells the component is known to have, in addition to those seen in the evidence ("" for region-wide). */
  cells?: string[];
  /** Which observations speak of availability (default: all). See `availabilityEvidence` in from-store.ts. */
  counts?: (o: Observation) => boolean;
}

/** SeriesOptions from `statuspage.rules` (durations already in ms), so both surfaces read evidence alike. */
export function seriesOptionsFromRules(rules: {
  freshForMs: number;
  majorOutageShare?: number;
  partialOutageShare?: number;
  degradedLatencyMs?: number;
}): SeriesOptions {
  return {
    freshForMs: rules.freshForMs,
    downShare: rules.majorOutageShare,
    partialShare: rules.partialOutageShare,
    degradedLatencyMs: rules.degradedLatencyMs,
  };
}

// Stream-minute codes while building: 0 nothing measured, 1 pass, 2 slow/inconclusive, 3 fail, 4 error only.
const S_NONE = 0;
const S_PASS = 1;
const S_DEGR = 2;
const S_FAIL = 3;
const S_ERR = 4;

function streamCode(o: Observation, degradedLatencyMs: number | undefined): number {
  switch (o.verdict) {
    case 'pass':
      return degradedLatencyMs !== undefined && o.latencyMs !== undefined && o.latencyMs > degradedLatencyMs ? S_DEGR : S_PASS;
    case 'inconclusive':
      return S_DEGR;
    case 'fail':
      return S_FAIL;
    default:
      return S_ERR;
  }
}

/** Merges a new code into a minute: real measurements beat `error`; among them the worst wins. */
function worseOf(a: number, b: number): number {
  if (a === S_NONE || a === S_ERR) return b === S_NONE ? a : b;
  if (b === S_NONE || b === S_ERR) return a;
  return a > b ? a : b;
}

/**
 * Builds one component's series over [fromMs, toMs) (fromMs minute-aligned) from its observations (all of
 * one service and region; pass those from fromMs − freshForMs on, so the first minutes can use earlier
 * evidence). Observations need not be sorted. The cells of the component are counted per UTC day: those in
 * `opts.cells` plus those with evidence that day (or within freshFor before it), so a month built at once
 * and the same month built a day at a time (as the status page does) give the same minutes.
 */
export function seriesFromObservations(
  observations: readonly Observation[],
  fromMs: number,
  toMs: number,
  opts: SeriesOptions,
): MinuteSeries {
  const hasRequests = observations.some((o) => o.requests !== undefined || o.failures !== undefined);
  const series = emptySeries(fromMs, toMs, { requests: hasRequests });
  const end = seriesEndMs(series);
  if (end === fromMs) return series;
  const fresh = opts.freshForMs;
  const counts = opts.counts;
  const sorted = observations
    .filter((o) => o.at >= fromMs - fresh && o.at < toMs && (counts === undefined || counts(o)))
    .sort((x, y) => x.at - y.at);
  const firstAtOrAfter = (t: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid].at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (let start = fromMs; start < end;) {
    const next = Math.min(end, startOfUtcDay(start) + DAY_MS);
    const chunk = sorted.slice(firstAtOrAfter(start - fresh), firstAtOrAfter(Math.min(next, toMs)));
    fillWindow(series, chunk, start, next, Math.min(next, toMs), opts);
    start = next;
  }
  return series;
}

/** Fills minutes [fromMs, toMs) of `series` from sorted observations in [fromMs − freshFor, obsTo). */
function fillWindow(
  series: MinuteSeries,
  observations: readonly Observation[],
  fromMs: number,
  toMs: number,
  obsTo: number,
  opts: SeriesOptions,
): void {
  const n = ((toMs - fromMs) / MINUTE_MS) | 0;
  const base = ((fromMs - series.startMs) / MINUTE_MS) | 0;
  const fresh = opts.freshForMs;
  const downShare = opts.downShare ?? 0.5;
  const partialShare = opts.partialShare ?? 0.01;

  // Group by cell, then by source (stream).
  const cells = new Map<string, Map<string, Observation[]>>();
  for (const c of opts.cells ?? []) cells.set(c, new Map());
  for (const o of observations) {
    if (o.at >= obsTo || o.at < fromMs - fresh) continue;
    const cell = o.cell ?? '';
    let streams = cells.get(cell);
    if (!streams) cells.set(cell, (streams = new Map()));
    let list = streams.get(o.source);
    if (!list) streams.set(o.source, (list = []));
    list.push(o);
    if (o.at >= fromMs && series.requests) {
      const i = base + Math.floor((o.at - fromMs) / MINUTE_MS);
      series.requests[i] += Math.max(0, Math.round(o.requests ?? 0));
      series.failures![i] += Math.max(0, Math.round(o.failures ?? 0));
    }
  }
  const nCells = cells.size;
  if (nCells === 0) return;

  // Per cell: worst known stream state per minute (0 unknown, 1 up, 2 degraded, 3 down).
  const bad = new Uint16Array(n); // cells down or unknown
  const down = new Uint16Array(n);
  const unknown = new Uint16Array(n);
  const degraded = new Uint16Array(n);
  const cellState = new Uint8Array(n);
  const streamMin = new Uint8Array(n);
  for (const streams of cells.values()) {
    cellState.fill(0);
    for (const list of streams.values()) {
      list.sort((a, b) => a.at - b.at);
      streamMin.fill(S_NONE);
      let j = 0;
      let last: number = S_NONE; // code of the latest observation before the current minute
      let lastAt = -Infinity;
      // Observations before the window only seed `last`.
      while (j < list.length && list[j].at < fromMs) {
        last = streamCode(list[j], opts.degradedLatencyMs);
        lastAt = list[j].at;
        j++;
      }
      for (let i = 0; i < n; i++) {
        const t = fromMs + i * MINUTE_MS;
        const end = t + MINUTE_MS;
        let code = S_NONE;
        let latest = S_NONE;
        let latestAt = -Infinity;
        while (j < list.length && list[j].at < end) {
          const c = streamCode(list[j], opts.degradedLatencyMs);
          code = worseOf(code, c);
          latest = c;
          latestAt = list[j].at;
          j++;
        }
        if (code === S_NONE) {
          code = lastAt + fresh >= end ? last : S_NONE;
        } else {
          last = latest;
          lastAt = latestAt;
        }
        streamMin[i] = code;
      }
      for (let i = 0; i < n; i++) {
        const c = streamMin[i];
        if (c === S_NONE || c === S_ERR) continue;
        if (c > cellState[i]) cellState[i] = c;
      }
    }
    for (let i = 0; i < n; i++) {
      const c = cellState[i];
      if (c === 0) {
        unknown[i]++;
        bad[i]++;
      } else if (c === 3) {
        down[i]++;
        bad[i]++;
      } else if (c === 2) degraded[i]++;
    }
  }
  const states = series.states;
  for (let i = 0; i < n; i++) {
    let st: number;
    if (unknown[i] === nCells) st = MinuteState.UNKNOWN;
    else if (down[i] > 0 && bad[i] / nCells >= downShare) st = MinuteState.DOWN;
    else if (unknown[i] / nCells >= downShare) st = MinuteState.UNKNOWN;
    else if (bad[i] > 0 && (bad[i] / nCells >= partialShare || down[i] > 0)) st = MinuteState.DEGRADED;
    else if (degraded[i] > 0) st = MinuteState.DEGRADED;
    else st = MinuteState.UP;
    states[base + i] = st;
  }
}

/** Splits mixed observations by component (`service/region`) and builds each one's series. */
export function seriesByComponent(
  observations: readonly Observation[],
  fromMs: number,
  toMs: number,
  opts: SeriesOptions,
): Map<string, MinuteSeries> {
  const groups = new Map<string, Observation[]>();
  for (const o of observations) {
    const k = componentId(o.service, o.region);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(o);
  }
  const out = new Map<string, MinuteSeries>();
  for (const [k, g] of groups) out.set(k, seriesFromObservations(g, fromMs, toMs, opts));
  return out;
}

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

/** The request-measure error rate of minutes [lo, hi) not masked (the same formula as `scan`). */
function intervalRate(
  states: Uint8Array,
  requests: Uint32Array | undefined,
  failures: Uint32Array | undefined,
  lo: number,
  hi: number,
  mask: Uint8Array | undefined,
): number {
  let badNoReq = 0;
  let withReq = 0;
  let req = 0;
  let fail = 0;
  let k = 0;
  for (let i = lo; i < hi; i++) {
    if (mask !== undefined && mask[i] === 1) continue;
    k++;
    const r = requests !== undefined ? requests[i] : 0;
    if (r > 0) {
      withReq++;
      req += r;
      const f = failures![i];
      fail += f < r ? f : r;
    } else if (states[i] === 0 || states[i] === 3) badNoReq++;
  }
  return k === 0 ? 0 : (badNoReq + (withReq > 0 ? (withReq * fail) / req : 0)) / k;
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

export interface MaintenanceWindow {
  fromMs: number;
  toMs: number;
  /** The maintenance record it came from. */
  id?: string;
}

function maintenanceCovers(m: IncidentRecord, component: string): boolean {
  return m.components.includes(component) || m.components.includes(component.split('/')[0]);
}

/**
 * The maintenance windows that may be excluded for a component: maintenance records (kind 'maintenance')
 * naming the component (or its whole service), with an announced start and end, created at least
 * `minNoticeMs` (default 0: strictly) before the announced start. Only the announced window is excluded:
 * work that overran it counts.
 */
export function announcedMaintenance(
  incidents: readonly IncidentRecord[],
  component: string,
  opts: { minNoticeMs?: number } = {},
): MaintenanceWindow[] {
  const notice = opts.minNoticeMs ?? 0;
  const out: MaintenanceWindow[] = [];
  for (const m of incidents) {
    if (m.kind !== 'maintenance' || !maintenanceCovers(m, component)) continue;
    if (m.scheduledFor === null || m.scheduledUntil === null || m.scheduledUntil <= m.scheduledFor) continue;
    if (!(m.createdAt < m.scheduledFor && m.scheduledFor - m.createdAt >= notice)) continue;
    out.push({ fromMs: m.scheduledFor, toMs: m.scheduledUntil, id: m.id });
  }
  return out.sort((x, y) => x.fromMs - y.fromMs);
}

/** Maintenance for a component that is not excluded, with the reason (shown in the report). */
export function rejectedMaintenance(
  incidents: readonly IncidentRecord[],
  component: string,
  opts: { minNoticeMs?: number } = {},
): Array<{ id: string; reason: string }> {
  const notice = opts.minNoticeMs ?? 0;
  const out: Array<{ id: string; reason: string }> = [];
  for (const m of incidents) {
    if (m.kind !== 'maintenance' || !maintenanceCovers(m, component)) continue;
    if (m.scheduledFor === null || m.scheduledUntil === null || m.scheduledUntil <= m.scheduledFor)
      out.push({ id: m.id, reason: 'no announced start and end' });
    else if (!(m.createdAt < m.scheduledFor)) out.push({ id: m.id, reason: 'announced after it started' });
    else if (m.scheduledFor - m.createdAt < notice) out.push({ id: m.id, reason: 'announced with too little notice' });
  }
  return out;
}

export type Measure = 'minutes' | 'requests';

export interface UptimeOptions {
  measure: Measure;
  /** Windows announced in advance; minutes entirely inside one are not counted. */
  maintenance?: readonly MaintenanceWindow[];
  /** Minutes starting at or after this are in the future and not counted (a month or day not over yet). */
  nowMs?: number;
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
  /** Request measure: 5-minute intervals counted and the sum of their error rates (0 for minutes). */
  intervals: number;
  errorRateSum: number;
  /** Requests and failures counted in counted minutes. */
  requests: number;
  failures: number;
}

function maintenanceMask(fromMs: number, n: number, windows: readonly MaintenanceWindow[] | undefined): Uint8Array | undefined {
  if (!windows || windows.length === 0) return undefined;
  let mask: Uint8Array | undefined;
  for (const w of windows) {
    // Minutes entirely inside [w.fromMs, w.toMs).
    const first = Math.max(0, Math.ceil((w.fromMs - fromMs) / MINUTE_MS));
    const last = Math.min(n, Math.floor((w.toMs - fromMs) / MINUTE_MS)); // exclusive
    if (last <= first) continue;
    mask ??= new Uint8Array(n);
    mask.fill(1, first, last);
  }
  return mask;
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
    intervals: 0,
    errorRateSum: 0,
    requests: 0,
    failures: 0,
  };
}

/**
 * Counts states over a window and, for the request measure, the 5-minute error rates. Hot loop of the
 * report (a month × thousands of components): plain local counters, integer indices, no per-minute objects.
 */
function scan(series: MinuteSeries, fromMs: number, toMs: number, opts: UptimeOptions, requestMeasure: boolean): Uptime {
  checkWindow(fromMs, toMs);
  const u = newUptime(fromMs, toMs, opts.measure);
  // Whole minutes, kept as small integers so the loops below index typed arrays at full speed.
  const n = ((toMs - fromMs) / MINUTE_MS) | 0;
  // Minutes [0, nPast) of the window are not in the future.
  const nPast = opts.nowMs === undefined ? n : Math.max(0, Math.min(n, Math.ceil((opts.nowMs - fromMs) / MINUTE_MS))) | 0;
  const mask = maintenanceMask(fromMs, nPast, opts.maintenance);
  const states = series.states;
  const reqs = series.requests;
  const fails = series.failures;
  const off = ((fromMs - series.startMs) / MINUTE_MS) | 0; // series index of window minute 0
  const len = states.length | 0;
  let c0 = 0; // unknown
  let c1 = 0; // up
  let c2 = 0; // degraded
  let c3 = 0; // down
  let maint = 0;
  let reqSum = 0;
  let failSum = 0;

  if (!requestMeasure && mask === undefined && reqs === undefined) {
    // The common case: count the minutes that are not UP over the part the series covers.
    const lo = Math.max(0, -off) | 0;
    const hi = Math.max(lo, Math.min(nPast, len - off)) | 0;
    for (let si = lo + off, end = hi + off; si < end; si++) {
      const x = states[si];
      if (x !== 1) {
        if (x === 3) c3++;
        else if (x === 2) c2++;
        else c0++;
      }
    }
    c1 = hi - lo - c0 - c2 - c3;
    c0 += nPast - (hi - lo);
  } else if (!requestMeasure) {
    for (let i = 0; i < nPast; i++) {
      if (mask !== undefined && mask[i] === 1) {
        maint++;
        continue;
      }
      const si = i + off;
      if (si < 0 || si >= len) {
        c0++;
        continue;
      }
      const x = states[si];
      // Most minutes are UP: test that first.
      if (x === 1) c1++;
      else if (x === 3) c3++;
      else if (x === 2) c2++;
      else c0++;
      if (reqs !== undefined) {
        reqSum += reqs[si];
        failSum += fails![si];
      }
    }
  } else {
    // 5-minute intervals aligned to UTC: the first may be cut by fromMs, the last by toMs or now.
    const phase = ((((fromMs / MINUTE_MS) % INTERVAL_MINUTES) + INTERVAL_MINUTES) % INTERVAL_MINUTES) | 0;
    let intervals = 0;
    let rateSum = 0;
    let i = 0;
    while (i < nPast) {
      const stop = Math.min(nPast, i + INTERVAL_MINUTES - (i === 0 ? phase : 0));
      let k = 0; // counted minutes
      let badNoReq = 0; // minutes without request counts that are down or unknown
      let withReq = 0; // minutes with request counts
      let iReq = 0;
      let iFail = 0;
      for (; i < stop; i++) {
        if (mask !== undefined && mask[i] === 1) {
          maint++;
          continue;
        }
        const si = i + off;
        k++;
        if (si < 0 || si >= len) {
          c0++;
          badNoReq++;
          continue;
        }
        const x = states[si];
        if (x === 1) c1++;
        else if (x === 3) c3++;
        else if (x === 2) c2++;
        else c0++;
        const r = reqs !== undefined ? reqs[si] : 0;
        if (r > 0) {
          withReq++;
          iReq += r;
          const f = fails![si];
          iFail += f < r ? f : r;
        } else if (x === 0 || x === 3) badNoReq++;
      }
      if (k > 0) {
        intervals++;
        rateSum += (badNoReq + (withReq > 0 ? (withReq * iFail) / iReq : 0)) / k;
        reqSum += iReq;
        failSum += iFail;
      }
    }
    u.intervals = intervals;
    u.errorRateSum = rateSum;
  }
  u.requests = reqSum;
  u.failures = failSum;
  u.upMinutes = c1;
  u.degradedMinutes = c2;
  u.downMinutes = c3;
  u.unknownMinutes = c0;
  u.maintenanceMinutes = maint;
  u.futureMinutes = n - nPast;
  u.minutes = c0 + c1 + c2 + c3;
  u.percent = percentOf(u);
  return u;
}

function percentOf(u: Uptime): number {
  if (u.measure === 'requests') return u.intervals === 0 ? 100 : 100 - (100 * u.errorRateSum) / u.intervals;
  return u.minutes === 0 ? 100 : (100 * (u.upMinutes + u.degradedMinutes)) / u.minutes;
}

/** Compute-style availability over [fromMs, toMs): 100 × (up + degraded minutes) / counted minutes. */
export function minuteAvailability(series: MinuteSeries, fromMs: number, toMs: number, opts: Omit<UptimeOptions, 'measure'> = {}): Uptime {
  return scan(series, fromMs, toMs, { ...opts, measure: 'minutes' }, false);
}

/** Storage-style availability over [fromMs, toMs): 100 % − the mean of the 5-minute error rates. */
export function requestAvailability(series: MinuteSeries, fromMs: number, toMs: number, opts: Omit<UptimeOptions, 'measure'> = {}): Uptime {
  return scan(series, fromMs, toMs, { ...opts, measure: 'requests' }, true);
}

export function windowUptime(series: MinuteSeries, fromMs: number, toMs: number, opts: UptimeOptions): Uptime {
  return scan(series, fromMs, toMs, opts, opts.measure === 'requests');
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

/** Runs of DOWN or UNKNOWN minutes over [fromMs, toMs), outside maintenance and before `nowMs`. */
export function badPeriods(
  series: MinuteSeries,
  fromMs: number,
  toMs: number,
  opts: { maintenance?: readonly MaintenanceWindow[]; nowMs?: number } = {},
): BadPeriod[] {
  checkWindow(fromMs, toMs);
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

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

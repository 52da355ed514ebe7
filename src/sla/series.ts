// Per-minute series of one component, built from its observations (the rules are in availability.ts's
// header and docs/sla.md). Pure: no clock, no I/O.
import type { Observation } from '../core/types.js';

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

export function assertMinuteAligned(ms: number, what: string): void {
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

/**
 * Writes `part` into `into` at its place (`part.startMs`, inside `into`), request counts too: they are
 * added to `into` when `part` has them. Used to build a long series a day (or a tail) at a time.
 */
export function spliceSeries(into: MinuteSeries, part: MinuteSeries): void {
  const at = (part.startMs - into.startMs) / MINUTE_MS;
  if (!Number.isInteger(at) || at < 0 || at + part.states.length > into.states.length)
    throw new Error(`spliceSeries: the part (${part.startMs}, ${part.states.length} minutes) is not inside the series`);
  into.states.set(part.states, at);
  if (part.requests) {
    into.requests ??= new Uint32Array(into.states.length);
    into.failures ??= new Uint32Array(into.states.length);
    into.requests.set(part.requests, at);
    into.failures.set(part.failures!, at);
  }
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
  /** Names the rule `counts` applies, so a rolled-up day knows what it was computed with (src/sla/rollup.ts). */
  countsKey?: string;
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

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

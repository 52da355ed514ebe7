// Both SLA formulas against months computed by hand (I8). Every expected figure is worked out in a comment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Observation } from '../core/types.js';
import type { IncidentRecord } from '../store/store.js';
import {
  announcedMaintenance,
  badPeriods,
  combineEither,
  dailyUptime,
  emptySeries,
  formatPercent,
  MINUTE_MS,
  MinuteState,
  minuteAvailability,
  rejectedMaintenance,
  requestAvailability,
  seriesFromObservations,
  sumUptime,
  windowUptime,
  type MinuteSeries,
} from './availability.js';
import { parseMonth } from './report.js';
import { tierFor, SLA_PRESETS } from '../config/sla.js';

const H = 60 * MINUTE_MS;
const utc = (s: string) => Date.parse(s);

/** A series over [from, to) that is UP everywhere, with `down` ranges set to DOWN and `gaps` to UNKNOWN. */
function series(
  from: number,
  to: number,
  opts: { down?: Array<[string, string]>; gaps?: Array<[string, string]>; requestsPerMinute?: number } = {},
): MinuteSeries {
  const s = emptySeries(from, to, { requests: opts.requestsPerMinute !== undefined });
  s.states.fill(MinuteState.UP);
  if (s.requests) s.requests.fill(opts.requestsPerMinute!);
  const set = (ranges: Array<[string, string]> | undefined, st: number) => {
    for (const [a, b] of ranges ?? []) {
      const i = (utc(a) - from) / MINUTE_MS;
      const j = (utc(b) - from) / MINUTE_MS;
      s.states.fill(st, Math.max(0, i), Math.min(s.states.length, j));
      if (s.requests) s.requests.fill(0, Math.max(0, i), Math.min(s.states.length, j));
    }
  };
  set(opts.down, MinuteState.DOWN);
  set(opts.gaps, MinuteState.UNKNOWN);
  return s;
}

function obs(at: number, verdict: Observation['verdict'], extra: Partial<Observation> = {}): Observation {
  return { service: 'blob', region: 'eu-west', cell: 'c1', source: 'http', at, verdict, ...extra };
}

test('month boundaries are calendar months in UTC, with 28, 29, 30 and 31 days', () => {
  const days = (m: string) => (parseMonth(m).toMs - parseMonth(m).fromMs) / (24 * H);
  assert.equal(days('2026-10'), 31);
  assert.equal(days('2026-11'), 30);
  assert.equal(days('2027-02'), 28);
  assert.equal(days('2028-02'), 29); // leap year
  assert.equal(days('2026-12'), 31); // year boundary
  assert.equal(parseMonth('2026-12').toMs, utc('2027-01-01T00:00:00Z'));
  assert.equal(parseMonth('2026-10').fromMs, utc('2026-10-01T00:00:00Z'));
  assert.throws(() => parseMonth('2026-13'), /YYYY-MM/);
  assert.throws(() => parseMonth('Oct 2026'), /YYYY-MM/);
});

test('minute measure: downtime just outside the month does not count, inside it does', () => {
  const { fromMs, toMs } = parseMonth('2026-10');
  // Evidence every minute at :30 from 30 Sept 23:00 to 1 Nov 01:00; down the last hour of September,
  // the last 10 minutes of October and the first half hour of November.
  const o: Observation[] = [];
  for (let t = utc('2026-09-30T23:00:00Z'); t < utc('2026-11-01T01:00:00Z'); t += MINUTE_MS) {
    const down = t < fromMs || (t >= utc('2026-10-31T23:50:00Z') && t < toMs) || (t >= toMs && t < utc('2026-11-01T00:30:00Z'));
    o.push(obs(t + 30_000, down ? 'fail' : 'pass'));
  }
  const s = seriesFromObservations(o, fromMs, toMs, { freshForMs: 3 * MINUTE_MS });
  const u = minuteAvailability(s, fromMs, toMs);
  // 31 days = 44,640 minutes; 10 down: 100 × 44,630 / 44,640 = 99.97759…
  assert.equal(u.minutes, 44_640);
  assert.equal(u.downMinutes, 10);
  assert.equal(u.unknownMinutes, 0);
  assert.equal(u.percent, (100 * 44_630) / 44_640);
  assert.equal(formatPercent(u.percent), '99.97%');
});

test('29 February counts: February 2028 has 41,760 minutes', () => {
  const { fromMs, toMs } = parseMonth('2028-02');
  const s = series(fromMs, toMs, { down: [['2028-02-29T10:00:00Z', '2028-02-29T11:00:00Z']] });
  const u = minuteAvailability(s, fromMs, toMs);
  // 29 × 1,440 = 41,760 minutes; 60 down → 100 × 41,700 / 41,760 = 99.85632…
  assert.equal(u.minutes, 41_760);
  assert.equal(u.downMinutes, 60);
  assert.equal(formatPercent(u.percent), '99.85%');
  const days = dailyUptime(s, fromMs, 29, { measure: 'minutes' });
  assert.equal(days.at(-1)!.day, '2028-02-29');
  assert.equal(days.at(-1)!.downMinutes, 60);
  // Compute preset: below 99.99 → 10%.
  assert.deepEqual(tierFor(u.percent, SLA_PRESETS.compute.tiers), { below: 99.99, credit: 10 });
});

test('a daylight-saving change neither adds nor loses minutes: months and days are UTC', () => {
  // Central Europe turns clocks back at 01:00 UTC on 25 October 2026: that local day lasts 25 hours.
  const localOffset = (ms: number) =>
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', timeZoneName: 'shortOffset' })
      .formatToParts(ms)
      .find((p) => p.type === 'timeZoneName')!.value;
  assert.equal(localOffset(utc('2026-10-25T00:30:00Z')), 'GMT+2');
  assert.equal(localOffset(utc('2026-10-25T01:30:00Z')), 'GMT+1');

  const { fromMs, toMs } = parseMonth('2026-10');
  // Down from 00:30 to 02:30 UTC across the change: exactly 120 minutes, not 60 or 180.
  const s = series(fromMs, toMs, { down: [['2026-10-25T00:30:00Z', '2026-10-25T02:30:00Z']] });
  const days = dailyUptime(s, fromMs, 31, { measure: 'minutes' });
  for (const d of days) assert.equal(d.minutes, 1440, d.day);
  const day25 = days.find((d) => d.day === '2026-10-25')!;
  assert.equal(day25.downMinutes, 120);
  const month = minuteAvailability(s, fromMs, toMs);
  assert.equal(month.minutes, 44_640);
  assert.equal(month.downMinutes, 120);
  // 100 × 44,520 / 44,640 = 99.73118…
  assert.equal(formatPercent(month.percent), '99.73%');
  // The March change (29 March 2026, clocks forward) likewise leaves March at 31 × 1,440 minutes.
  const march = parseMonth('2026-03');
  assert.equal(minuteAvailability(series(march.fromMs, march.toMs), march.fromMs, march.toMs).minutes, 44_640);
});

test('gaps in evidence count as down (unknown), after the last evidence stops being fresh', () => {
  const from = utc('2026-10-05T00:00:00Z');
  const to = from + 24 * H;
  const o: Observation[] = [];
  for (let t = from; t < to; t += MINUTE_MS) {
    // Nothing measured from 10:01 to 10:30 inclusive: the last observation before the gap is 10:00:30.
    if (t >= utc('2026-10-05T10:01:00Z') && t <= utc('2026-10-05T10:30:00Z')) continue;
    o.push(obs(t + 30_000, 'pass', { requests: 1000, failures: 0 }));
  }
  const s = seriesFromObservations(o, from, to, { freshForMs: 3 * MINUTE_MS });
  // 10:00:30 + 3m = 10:03:30 covers minutes 10:01 and 10:02 (they end by 10:03:30), not 10:03.
  // So minutes 10:03 … 10:30 are unknown: 28 minutes.
  const m = minuteAvailability(s, from, to);
  assert.equal(m.unknownMinutes, 28);
  assert.equal(m.downMinutes, 0);
  assert.equal(formatPercent(m.percent), '98.05%'); // 100 × 1,412 / 1,440 = 98.0555…
  assert.deepEqual(badPeriods(s, from, to), [
    { fromMs: utc('2026-10-05T10:03:00Z'), toMs: utc('2026-10-05T10:31:00Z'), state: MinuteState.UNKNOWN },
  ]);
  // Request measure: interval 10:00–10:05 has 10:00 (requests, 0%), 10:01 and 10:02 (no requests, evidence
  // up: 0), 10:03 and 10:04 (no evidence: 1) → 2/5. Five whole intervals 10:05–10:30 → 1 each. Interval
  // 10:30–10:35: 10:30 unknown (1), the rest measured at 0% → 1/5. Sum 5.6 over 288 intervals.
  const r = requestAvailability(s, from, to);
  assert.equal(r.intervals, 288);
  assert.ok(Math.abs(r.errorRateSum - 5.6) < 1e-12);
  assert.ok(Math.abs(r.percent - (100 - 560 / 288)) < 1e-9);
  assert.equal(formatPercent(r.percent), '98.05%');
});

test('an error verdict is not evidence, and a cell down among healthy cells is degraded, not down', () => {
  const from = utc('2026-10-05T00:00:00Z');
  const to = from + 10 * MINUTE_MS;
  const o: Observation[] = [];
  for (let i = 0; i < 10; i++) {
    const t = from + i * MINUTE_MS + 10_000;
    o.push(obs(t, i < 5 ? 'error' : 'pass'));
    // Two more cells: c2 fails from minute 3, c3 passes throughout.
    o.push(obs(t, i >= 3 ? 'fail' : 'pass', { cell: 'c2' }));
    o.push(obs(t, 'pass', { cell: 'c3' }));
  }
  const s = seriesFromObservations(o, from, to, { freshForMs: 0 });
  // Minutes 0–2: c1 unknown (error), c2 up, c3 up → 1 of 3 bad → degraded.
  // Minutes 3–4: c1 unknown, c2 down, c3 up → 2 of 3 bad ≥ 0.5 with one down → down.
  // Minutes 5–9: c2 down only → 1 of 3 → degraded.
  assert.deepEqual([...s.states], [2, 2, 2, 3, 3, 2, 2, 2, 2, 2]);
  const only = seriesFromObservations(
    o.filter((x) => x.cell === 'c1'),
    from,
    to,
    { freshForMs: 0 },
  );
  assert.deepEqual([...only.states], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
});

test('request measure: 100% minus the mean of the 5-minute error rates', () => {
  const from = utc('2026-10-07T00:00:00Z');
  const to = from + 24 * H;
  const s = series(from, to, { requestsPerMinute: 1000 });
  // Interval 01:00–01:05: 5,000 requests, 100 failed in one minute → 100/5,000 = 0.02.
  s.failures![60] = 100;
  // Interval 02:00–02:05: requests only in 3 minutes (100 each, 10 failed each → 0.1), 2 minutes with no
  // requests while probes say up (0) → (3 × 0.1 + 0) / 5 = 0.06.
  for (let i = 120; i < 125; i++) s.requests![i] = 0;
  for (let i = 120; i < 123; i++) {
    s.requests![i] = 100;
    s.failures![i] = 10;
  }
  // Interval 03:00–03:05: hung front-ends, no requests counted, probes down → 1.
  for (let i = 180; i < 185; i++) {
    s.requests![i] = 0;
    s.states[i] = MinuteState.DOWN;
  }
  const r = requestAvailability(s, from, to);
  // Sum of rates 1.08 over 288 intervals: 100 − 108 / 288 = 99.625.
  assert.equal(r.intervals, 288);
  assert.ok(Math.abs(r.percent - 99.625) < 1e-9);
  assert.equal(formatPercent(r.percent), '99.62%');
  // The minute measure on the same evidence counts only the 5 down minutes: 100 × 1,435 / 1,440.
  assert.equal(formatPercent(minuteAvailability(s, from, to).percent), '99.65%');
});

test('30- and 31-day months: the same 44 minutes miss 99.9% in November, not in October', () => {
  const nov = parseMonth('2026-11');
  const oct = parseMonth('2026-10');
  const n = minuteAvailability(
    series(nov.fromMs, nov.toMs, { down: [['2026-11-10T08:00:00Z', '2026-11-10T08:44:00Z']] }),
    nov.fromMs,
    nov.toMs,
  );
  const o = minuteAvailability(
    series(oct.fromMs, oct.toMs, { down: [['2026-10-10T08:00:00Z', '2026-10-10T08:44:00Z']] }),
    oct.fromMs,
    oct.toMs,
  );
  // November: 43,200 minutes → 100 × 43,156 / 43,200 = 99.8981… ; October: 44,640 → 100 × 44,596 / 44,640 = 99.9014…
  assert.equal(n.minutes, 43_200);
  assert.equal(o.minutes, 44_640);
  assert.equal(formatPercent(n.percent), '99.89%');
  assert.equal(formatPercent(o.percent), '99.90%');
  const tiers = SLA_PRESETS.storage.tiers;
  assert.deepEqual(tierFor(n.percent, tiers), { below: 99.9, credit: 10 });
  assert.equal(tierFor(o.percent, tiers), undefined);

  // Request measure, an 11-hour total outage (no requests served, probes down):
  // October 8,928 intervals: 100 − 100 × 132 / 8,928 = 98.5215… ; November 8,640: 100 − 13,200 / 8,640 = 98.4722…
  const ro = requestAvailability(
    series(oct.fromMs, oct.toMs, { requestsPerMinute: 50, down: [['2026-10-19T00:00:00Z', '2026-10-19T11:00:00Z']] }),
    oct.fromMs,
    oct.toMs,
  );
  const rn = requestAvailability(
    series(nov.fromMs, nov.toMs, { requestsPerMinute: 50, down: [['2026-11-19T00:00:00Z', '2026-11-19T11:00:00Z']] }),
    nov.fromMs,
    nov.toMs,
  );
  assert.equal(ro.intervals, 8_928);
  assert.equal(rn.intervals, 8_640);
  assert.equal(formatPercent(ro.percent), '98.52%');
  assert.equal(formatPercent(rn.percent), '98.47%');
  assert.deepEqual(tierFor(ro.percent, tiers), { below: 99, credit: 25 });
});

function maintenance(id: string, createdAt: string, from: string, until: string, components = ['blob/eu-west']): IncidentRecord {
  return {
    id,
    kind: 'maintenance',
    title: `maintenance ${id}`,
    status: 'completed',
    impact: 'maintenance',
    components,
    source: 'manual',
    createdAt: utc(createdAt),
    updatedAt: utc(until),
    resolvedAt: utc(until),
    scheduledFor: utc(from),
    scheduledUntil: utc(until),
    updates: [],
    data: {},
  };
}

test('maintenance announced in advance is excluded; announced too late, or overrun, is not', () => {
  const { fromMs, toMs } = parseMonth('2026-10');
  // Down 02:00–04:30 on 14 October; the announced window is 02:00–04:00.
  const s = series(fromMs, toMs, { down: [['2026-10-14T02:00:00Z', '2026-10-14T04:30:00Z']] });
  const early = maintenance('m1', '2026-10-12T09:00:00Z', '2026-10-14T02:00:00Z', '2026-10-14T04:00:00Z');
  const late = maintenance('m2', '2026-10-14T02:10:00Z', '2026-10-14T02:00:00Z', '2026-10-14T04:00:00Z');
  const other = maintenance('m3', '2026-10-01T00:00:00Z', '2026-10-14T02:00:00Z', '2026-10-14T04:00:00Z', ['blob/us-east']);

  const ok = announcedMaintenance([early, other], 'blob/eu-west');
  assert.deepEqual(
    ok.map((w) => w.id),
    ['m1'],
  );
  const u = minuteAvailability(s, fromMs, toMs, { maintenance: ok });
  // 120 minutes excluded, 30 minutes of overrun count: 100 × 44,490 / 44,520 = 99.93261…
  assert.equal(u.maintenanceMinutes, 120);
  assert.equal(u.minutes, 44_520);
  assert.equal(u.downMinutes, 30);
  assert.equal(formatPercent(u.percent), '99.93%');

  assert.deepEqual(announcedMaintenance([late], 'blob/eu-west'), []);
  assert.deepEqual(rejectedMaintenance([late], 'blob/eu-west'), [{ id: 'm2', reason: 'announced after it started' }]);
  const v = minuteAvailability(s, fromMs, toMs, { maintenance: announcedMaintenance([late], 'blob/eu-west') });
  // Nothing excluded: 150 down → 100 × 44,490 / 44,640 = 99.66397…
  assert.equal(v.downMinutes, 150);
  assert.equal(formatPercent(v.percent), '99.66%');
  // A minimum notice of 3 days rejects the 2-day-old announcement too.
  assert.deepEqual(announcedMaintenance([early], 'blob/eu-west', { minNoticeMs: 72 * H }), []);

  // The request measure skips intervals fully in maintenance: 8,928 − 24 = 8,904 intervals, 6 of them at 1.
  const r = requestAvailability(s, fromMs, toMs, { maintenance: ok });
  assert.equal(r.intervals, 8_904);
  assert.ok(Math.abs(r.percent - (100 - 600 / 8_904)) < 1e-9);
});

test('geo-redundant pair: available while either region is', () => {
  const { fromMs, toMs } = parseMonth('2026-10');
  const a = series(fromMs, toMs, { requestsPerMinute: 100, down: [['2026-10-19T10:00:00Z', '2026-10-19T12:00:00Z']] });
  const b = series(fromMs, toMs, { requestsPerMinute: 100, down: [['2026-10-19T11:00:00Z', '2026-10-19T13:00:00Z']] });
  const pair = combineEither(a, b);
  const m = minuteAvailability(pair, fromMs, toMs);
  // Both down only 11:00–12:00: 60 minutes.
  assert.equal(m.downMinutes, 60);
  assert.equal(minuteAvailability(a, fromMs, toMs).downMinutes, 120);
  // Requests: in an interval where A fails some requests and B serves all, the pair takes B's interval.
  a.failures![100] = 50;
  const p2 = combineEither(a, b, 'requests');
  assert.equal(p2.failures![100], 0);
  assert.equal(combineEither(a, b, 'minutes').failures![100], 50); // by minutes both are up: A's counts

  // The choice is made on the minutes that count: with 00:00–00:03 excluded, A (down only then) is the
  // better region for that interval, although over all five minutes B (down at 00:03) looks better.
  const from = utc('2026-10-01T00:00:00Z');
  const x = series(from, from + 10 * MINUTE_MS, { requestsPerMinute: 0, down: [['2026-10-01T00:00:00Z', '2026-10-01T00:03:00Z']] });
  const y = series(from, from + 10 * MINUTE_MS, { requestsPerMinute: 0, down: [['2026-10-01T00:03:00Z', '2026-10-01T00:04:00Z']] });
  const excluded = [{ fromMs: from, toMs: from + 3 * MINUTE_MS }];
  const xy = combineEither(x, y, 'requests', excluded);
  assert.equal(requestAvailability(xy, from, from + 10 * MINUTE_MS, { maintenance: excluded }).percent, 100);
  assert.ok(requestAvailability(combineEither(x, y, 'requests'), from, from + 10 * MINUTE_MS, { maintenance: excluded }).percent < 100);
  const r = requestAvailability(p2, fromMs, toMs);
  // 12 intervals at 1: 100 − 1,200 / 8,928.
  assert.ok(Math.abs(r.percent - (100 - 1200 / 8928)) < 1e-9);
});

test('days add up to the month exactly, and the future is not counted', () => {
  const { fromMs, toMs } = parseMonth('2026-10');
  const s = series(fromMs, toMs, {
    requestsPerMinute: 10,
    down: [['2026-10-03T00:00:00Z', '2026-10-03T00:17:00Z']],
    gaps: [['2026-10-20T23:58:00Z', '2026-10-21T00:03:00Z']],
  });
  for (const measure of ['minutes', 'requests'] as const) {
    const days = dailyUptime(s, fromMs, 31, { measure });
    const summed = sumUptime(days);
    const month = windowUptime(s, fromMs, toMs, { measure });
    assert.equal(summed.minutes, month.minutes);
    assert.equal(summed.intervals, month.intervals);
    assert.equal(formatPercent(summed.percent), formatPercent(month.percent));
    assert.ok(Math.abs(summed.percent - month.percent) < 1e-9);
  }
  // Halfway through 2 October, 1,440 + 720 minutes have passed.
  const now = utc('2026-10-02T12:00:00Z');
  const partial = minuteAvailability(s, fromMs, toMs, { nowMs: now });
  assert.equal(partial.minutes, 2160);
  assert.equal(partial.futureMinutes, 44_640 - 2160);
  assert.equal(partial.percent, 100);
});

test('formatPercent rounds down, so downtime never shows as 100%', () => {
  assert.equal(formatPercent(100), '100.00%');
  assert.equal(formatPercent(99.99999), '99.99%');
  assert.equal(formatPercent(99.9), '99.90%');
  assert.equal(formatPercent((100 * 9990) / 10000), '99.90%');
  assert.equal(formatPercent(99.89999), '99.89%');
  assert.equal(formatPercent(0), '0.00%');
  assert.equal(formatPercent(98.5215, 1), '98.5%');
});

test('a month built at once equals the same month built a day at a time, even when a cell appears mid-month', () => {
  const { fromMs, toMs } = parseMonth('2026-10');
  const o: Observation[] = [];
  for (let t = fromMs - 10 * MINUTE_MS; t < toMs; t += 2 * MINUTE_MS) {
    o.push(obs(t + 5_000, t >= utc('2026-10-07T03:00:00Z') && t < utc('2026-10-07T05:00:00Z') ? 'fail' : 'pass'));
    // A second cell starts reporting on 15 October (a new cell added to the region).
    if (t >= utc('2026-10-15T12:00:00Z')) o.push(obs(t + 5_000, 'pass', { cell: 'c9' }));
  }
  const opts = { freshForMs: 5 * MINUTE_MS, cells: ['c1'] };
  const month = seriesFromObservations(o, fromMs, toMs, opts);
  for (let day = fromMs; day < toMs; day += 24 * H) {
    const one = seriesFromObservations(
      o.filter((x) => x.at >= day - opts.freshForMs && x.at < day + 24 * H),
      day,
      day + 24 * H,
      opts,
    );
    const i = (day - fromMs) / MINUTE_MS;
    assert.deepEqual(one.states, month.states.subarray(i, i + 1440), new Date(day).toISOString());
  }
  // Cells count per day: on the 15th, c9 is silent until noon, half the cells → unknown (no evidence for
  // half the region); the days before it existed are not touched.
  const [d14, d15] = dailyUptime(month, utc('2026-10-14T00:00:00Z'), 2, { measure: 'minutes' });
  assert.equal(d14.percent, 100);
  assert.equal(d15.unknownMinutes, 720);
  assert.equal(d15.percent, 50);
});

test('properties: days sum to the window, a pair is never worse than its better region, shown never exceeds exact', async () => {
  const fc = (await import('fast-check')).default;
  const from = utc('2026-10-30T00:00:00Z');
  const days = 3;
  const n = days * 1440;
  // Random runs of states and request counts over three days (crossing the month boundary).
  const runs = fc.array(
    fc.record({
      at: fc.nat(n - 1),
      len: fc.integer({ min: 1, max: 600 }),
      state: fc.constantFrom(0, 1, 2, 3),
      req: fc.nat(50),
      fail: fc.nat(60),
    }),
    { maxLength: 12 },
  );
  const build = (rs: Array<{ at: number; len: number; state: number; req: number; fail: number }>) => {
    const s = emptySeries(from, from + n * MINUTE_MS, { requests: true });
    s.states.fill(MinuteState.UP);
    for (const r of rs) {
      s.states.fill(r.state, r.at, r.at + r.len);
      s.requests!.fill(r.req, r.at, r.at + r.len);
      s.failures!.fill(r.fail, r.at, r.at + r.len);
    }
    return s;
  };
  fc.assert(
    fc.property(runs, runs, fc.nat(n), fc.nat(600), (ra, rb, mAt, mLen) => {
      const a = build(ra);
      const b = build(rb);
      const maintenance = [{ fromMs: from + mAt * MINUTE_MS, toMs: from + (mAt + mLen) * MINUTE_MS }];
      for (const measure of ['minutes', 'requests'] as const) {
        const opts = { measure, maintenance };
        const whole = windowUptime(a, from, from + n * MINUTE_MS, opts);
        const summed = sumUptime(dailyUptime(a, from, days, opts));
        assert.equal(summed.minutes, whole.minutes);
        assert.equal(summed.downMinutes, whole.downMinutes);
        assert.equal(summed.intervals, whole.intervals);
        assert.ok(Math.abs(summed.percent - whole.percent) < 1e-9);
        const pair = windowUptime(combineEither(a, b, measure, maintenance), from, from + n * MINUTE_MS, opts).percent;
        const best = Math.max(whole.percent, windowUptime(b, from, from + n * MINUTE_MS, opts).percent);
        assert.ok(pair >= best - 1e-9, `${measure}: pair ${pair} < better region ${best}`);
        // Shown digits never overstate, and downtime never shows as 100%.
        assert.ok(Number.parseFloat(formatPercent(whole.percent)) <= whole.percent + 1e-9);
        if (whole.percent < 100) assert.notEqual(formatPercent(whole.percent), '100.00%');
      }
    }),
    { numRuns: 150 },
  );
});

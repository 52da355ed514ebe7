// The SLA report: tiers, credits per customer and region, geo-redundant pairs, incidents behind downtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncidentRecord } from '../store/store.js';
import { emptySeries, MINUTE_MS, MinuteState, type MinuteSeries } from './availability.js';
import { buildSlaReport, parseMonth } from './report.js';
import { formatSlaCsv, formatSlaTable, slaReportJson } from './report-format.js';
import { checkSlaConfig, pairGraph, resolveSla, usageUnits, type CustomerConfig } from '../config/sla.js';

const utc = (s: string) => Date.parse(s);
const period = parseMonth('2026-10');

function series(down: Array<[string, string]> = [], requestsPerMinute?: number): MinuteSeries {
  const s = emptySeries(period.fromMs, period.toMs, { requests: requestsPerMinute !== undefined });
  s.states.fill(MinuteState.UP);
  if (s.requests) s.requests.fill(requestsPerMinute!);
  for (const [a, b] of down) {
    const i = (utc(a) - period.fromMs) / MINUTE_MS;
    const j = (utc(b) - period.fromMs) / MINUTE_MS;
    s.states.fill(MinuteState.DOWN, i, j);
    if (s.requests) s.requests.fill(0, i, j);
  }
  return s;
}

const fleet = {
  regions: [{ id: 'eu-north', pair: 'eu-west' }, { id: 'eu-west' }, { id: 'us-east', pair: 'us-west' }, { id: 'us-west' }],
};

const incident = (id: string, components: string[], from: string, to: string | null): IncidentRecord => ({
  id,
  kind: 'incident',
  title: `incident ${id}`,
  status: to ? 'resolved' : 'investigating',
  impact: 'major',
  components,
  source: 'auto:component',
  createdAt: utc(from),
  updatedAt: utc(to ?? from),
  resolvedAt: to ? utc(to) : null,
  scheduledFor: null,
  scheduledUntil: null,
  updates: [],
  data: {},
});

function report(customers: CustomerConfig[], evidence: Record<string, MinuteSeries>, incidents: IncidentRecord[] = [], filter = {}) {
  return buildSlaReport({
    period,
    slas: [
      resolveSla({ service: 'blob', preset: 'storage', geoRedundant: false }),
      resolveSla({ service: 'vm', preset: 'compute', geoRedundant: false }),
    ],
    customers,
    pairs: pairGraph(fleet),
    series: (service, region) => evidence[`${service}/${region}`],
    incidents,
    filter,
  });
}

// The 2014 shape: blob down 11 hours in both European regions, fine in the US.
const outage: Array<[string, string]> = [['2026-10-19T00:00:00Z', '2026-10-19T11:00:00Z']];
const evidence2014 = {
  'blob/eu-north': series(outage, 100),
  'blob/eu-west': series(outage, 100),
  'blob/us-east': series([], 100),
  'blob/us-west': series([], 100),
  'vm/eu-west': series([['2026-10-19T00:00:00Z', '2026-10-19T00:10:00Z']]),
};

test('credit is the tier share of the bill, split evenly over the regions used', () => {
  const r = report(
    [
      { id: 'acme', currency: 'EUR', uses: [{ service: 'blob', regions: ['eu-west', 'us-east'], monthlyBill: 1000 }] },
      { id: 'nobill', uses: [{ service: 'blob', regions: ['eu-north'] }] },
      { id: 'vmco', currency: 'EUR', uses: [{ service: 'vm', regions: ['eu-west'], monthlyBill: 200 }] },
    ],
    evidence2014,
    [
      incident('inc-1', ['blob/eu-west', 'blob/eu-north'], '2026-10-19T00:05:00Z', '2026-10-19T11:10:00Z'),
      incident('inc-2', ['blob/us-east'], '2026-10-02T00:00:00Z', '2026-10-02T01:00:00Z'),
    ],
  );
  const acme = r.customers.find((c) => c.id === 'acme')!;
  // eu-west: 100 − 100 × 132 / 8,928 = 98.52% → below 99 → 25% of 500 = 125; us-east met → 0.
  assert.deepEqual(
    acme.lines.map((l) => [l.unit, l.shown, l.creditPercent, l.billShare, l.credit]),
    [
      ['blob/eu-west', '98.52%', 25, 500, 125],
      ['blob/us-east', '100.00%', 0, 500, 0],
    ],
  );
  assert.equal(acme.total, 125);
  const nobill = r.customers.find((c) => c.id === 'nobill')!;
  assert.equal(nobill.total, null);
  assert.equal(nobill.owed, true);
  assert.equal(nobill.lines[0].creditPercent, 25);
  // vm: 10 minutes of 44,640 → 99.9775… < 99.99 → 10% of 200 = 20.
  const vm = r.customers.find((c) => c.id === 'vmco')!;
  assert.equal(vm.lines[0].shown, '99.97%');
  assert.equal(vm.total, 20);
  assert.deepEqual(r.totals, { EUR: 145 });
  assert.equal(r.customersOwed, 3);
  // The incident behind eu-west's downtime is listed with its overlap; the unrelated one is not.
  assert.deepEqual(
    r.incidents.map((i) => i.id),
    ['inc-1'],
  );
  // 00:05–11:00 overlaps both European regions: 655 minutes each.
  assert.equal(r.incidents[0].badMinutes, 655 * 2);
  assert.deepEqual(r.units.find((u) => u.id === 'blob/eu-west')!.incidents, ['inc-1']);
  assert.deepEqual(r.units.find((u) => u.id === 'blob/us-east')!.incidents, []);
  // All three output forms carry the same shown digits.
  assert.match(formatSlaTable(r), /blob\/eu-west\s+requests\s+98\.52%/);
  assert.match(formatSlaCsv(r), /2026-10,acme,blob,eu-west,requests,98\.52%/);
  const json = slaReportJson(r) as { units: Array<{ id: string; availability: string }> };
  assert.equal(json.units.find((u) => u.id === 'blob/eu-west')!.availability, '98.52%');
});

test('a geo-redundant pair loses only when both regions are down at once', () => {
  const customers: CustomerConfig[] = [
    { id: 'paired', uses: [{ service: 'blob', regions: ['eu-north', 'eu-west'], monthlyBill: 900, geoRedundant: true }] },
    { id: 'us-pair', uses: [{ service: 'blob', regions: ['us-east', 'us-west'], monthlyBill: 900, geoRedundant: true }] },
  ];
  // Europe: both down together (2014): the pair is down 11 hours, as customers of both regions found.
  const r = report(customers, evidence2014);
  const eu = r.customers[0];
  assert.equal(eu.lines.length, 1);
  assert.deepEqual(eu.lines[0].regions, ['eu-north', 'eu-west']);
  assert.equal(eu.lines[0].shown, '98.52%');
  assert.equal(eu.total, 225); // 25% of the whole 900
  // US: east down 10:00–12:00, west 11:00–13:00 → pair down one hour (12 intervals).
  const r2 = report(customers, {
    ...evidence2014,
    'blob/us-east': series([['2026-10-05T10:00:00Z', '2026-10-05T12:00:00Z']], 100),
    'blob/us-west': series([['2026-10-05T11:00:00Z', '2026-10-05T13:00:00Z']], 100),
  });
  const us = r2.customers[1];
  assert.equal(us.lines[0].percent, 100 - 1200 / 8928);
  assert.equal(us.lines[0].shown, '99.86%');
  assert.equal(us.total, 90); // below 99.9 → 10%
  // Each region is still reported on its own too.
  assert.ok(r2.units.some((u) => u.id === 'blob/us-east'));
  assert.ok(r2.units.some((u) => u.id === 'blob/us-east+us-west'));
});

test('a component with no evidence at all is down the whole month, and filters narrow the report', () => {
  const r = report(
    [
      {
        id: 'acme',
        uses: [
          { service: 'blob', regions: ['eu-west'], monthlyBill: 100 },
          { service: 'vm', regions: ['us-west'], monthlyBill: 100 },
        ],
      },
    ],
    evidence2014,
  );
  const vm = r.units.find((u) => u.id === 'vm/us-west')!;
  assert.equal(vm.shown, '0.00%');
  assert.equal(vm.uptime.unknownMinutes, 44_640);
  assert.equal(vm.tier?.credit, 100);
  assert.equal(r.customers[0].total, 25 + 100);
  const onlyVm = report(
    r.customers.length ? [{ id: 'acme', uses: [{ service: 'vm', regions: ['us-west'], monthlyBill: 100 }] }] : [],
    evidence2014,
    [],
    { service: 'vm' },
  );
  assert.deepEqual(
    onlyVm.units.map((u) => u.id),
    ['vm/us-west'],
  );
  assert.throws(() => report([], evidence2014, [], { service: 'nope' }), /no SLA for service "nope"/);
  assert.throws(() => report([], evidence2014, [], { customer: 'nope' }), /no customer "nope"/);
});

test('a month not over yet counts only the minutes up to now', () => {
  const r = buildSlaReport({
    period,
    nowMs: utc('2026-10-19T06:00:00Z'),
    slas: [resolveSla({ service: 'blob', preset: 'storage', geoRedundant: false })],
    customers: [{ id: 'acme', uses: [{ service: 'blob', regions: ['eu-west'] }] }],
    pairs: pairGraph(fleet),
    series: (s, r) => (evidence2014 as Record<string, MinuteSeries>)[`${s}/${r}`],
    incidents: [],
  });
  assert.equal(r.complete, false);
  const u = r.units[0];
  // 18 days 6 hours = 26,280 minutes counted, 5,256 intervals, 72 of them down (00:00–06:00).
  assert.equal(u.uptime.minutes, 26_280);
  assert.equal(u.uptime.intervals, 5_256);
  assert.equal(u.percent, 100 - 7200 / 5256);
  assert.equal(u.badPeriods.length, 1);
  assert.equal(u.badPeriods[0].toMs, utc('2026-10-19T06:00:00Z'));
});

test('presets, usage units and config checks', () => {
  const storage = resolveSla({ service: 'blob', preset: 'storage', geoRedundant: false });
  assert.equal(storage.measure, 'requests');
  assert.deepEqual(
    storage.tiers.map((t) => t.below),
    [99.9, 99, 95],
  );
  const custom = resolveSla({
    service: 'x',
    preset: 'compute',
    tiers: [
      { below: 95, credit: 50 },
      { below: 99.5, credit: 5 },
    ],
    geoRedundant: true,
  });
  assert.equal(custom.measure, 'minutes');
  assert.deepEqual(custom.tiers, [
    { below: 99.5, credit: 5 },
    { below: 95, credit: 50 },
  ]);
  assert.deepEqual(usageUnits(['eu-west', 'us-east', 'eu-north'], true, pairGraph(fleet)), [['eu-west', 'eu-north'], ['us-east']]);
  const problems = checkSlaConfig({
    fleet,
    services: [{ name: 'blob' }],
    sla: [
      { service: 'blob', preset: 'storage', geoRedundant: true },
      { service: 'blb', geoRedundant: false },
    ],
    customers: [{ id: 'a', uses: [{ service: 'vm', regions: ['eu-wset', 'us-east'], geoRedundant: true }] }],
  });
  const text = problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('\n');
  assert.match(text, /sla\.1\.service: no service "blb" under services; did you mean "blob"\?/);
  assert.match(text, /sla\.1: say how it is measured/);
  assert.match(text, /customers\.0\.uses\.0\.service: service "vm" has no SLA/);
  assert.match(text, /customers\.0\.uses\.0\.regions\.0: no region "eu-wset" in the fleet; did you mean "eu-west"\?/);
  assert.match(text, /geo-redundant use needs pairs/);
});

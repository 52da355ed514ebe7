// A new install counts only from the start of measurement (I8): its history shows "not monitored" before the
// first evidence, its v2 JSON carries that start, and the month-to-date SLA report counts neither up nor down
// before it (nor before a customer's contract), while silence after it still counts as down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Observation } from '../src/core/types.js';
import { VirtualClock } from '../src/core/clock.js';
import { loadConfig } from '../src/config/load.js';
import type { EtapeConfig } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { slaReportFromStore } from '../src/sla/from-store.js';
import { parseMonth } from '../src/sla/report.js';
import { formatSlaTable } from '../src/sla/report-format.js';
import { StatusBuilder } from '../src/statuspage/publisher.js';
import { MEASUREMENT_STARTED_EVENT } from '../src/sla/measurement.js';

const CONFIG = `version: 1
fleet:
  regions:
    - { id: eu-north, geography: europe, canary: true, cells: [{ id: c1 }] }
    - { id: eu-west, geography: europe, cells: [{ id: c1 }] }
services:
  - name: blob
    driver: { kind: exec, deploy: "true" }
  - name: vm
    regions: [eu-north]
    driver: { kind: exec, deploy: "true" }
    measuredSince: 2026-12-10T11:00:00Z
statuspage:
  rules: { freshFor: 2m }
  out: OUT
sla:
  - { service: blob, preset: compute }
  - { service: vm, preset: compute }
customers:
  - id: early
    currency: EUR
    uses: [{ service: blob, regions: [eu-west], monthlyBill: 100 }]
  - id: late
    currency: EUR
    since: 2026-12-10T11:56:00Z
    uses: [{ service: blob, regions: [eu-west], monthlyBill: 100 }]
  - id: vmuser
    currency: EUR
    uses: [{ service: vm, regions: [eu-north], monthlyBill: 100 }]
`;

const utc = (s: string) => Date.parse(s);
const INSTALLED = utc('2026-12-10T11:50:00Z');
const NOW = utc('2026-12-10T12:00:00Z');

let dir = '';
let store: Store;
let config: EtapeConfig;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etape-measure-'));
  writeFileSync(join(dir, 'etape.yaml'), CONFIG.replace('OUT', join(dir, 'site')));
  config = (await loadConfig(join(dir, 'etape.yaml'))).config;
  store = await openStore(join(dir, 'etape.db'));
  // Probes begin ten minutes before "now", every 30 s: eu-north passes throughout; eu-west passes for five
  // minutes (last at 11:54:40) and then falls silent (fresh for 2 minutes, so from 11:56 on no evidence). vm
  // has none.
  const obs: Observation[] = [];
  for (let t = INSTALLED + 10_000; t < NOW; t += 30_000) {
    obs.push({ service: 'blob', region: 'eu-north', cell: 'c1', source: 'http', at: t, verdict: 'pass', latencyMs: 20 });
    if (t < INSTALLED + 5 * 60_000)
      obs.push({ service: 'blob', region: 'eu-west', cell: 'c1', source: 'http', at: t, verdict: 'pass', latencyMs: 20 });
  }
  await store.recordObservations(obs);
});

after(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a new install: history and v2 JSON start at the first evidence, the days before are not monitored', async () => {
  const builder = new StatusBuilder({ store, config, clock: new VirtualClock(NOW), publish: false });
  await builder.build();
  await builder.close();
  const site = join(dir, 'site');
  const hist = readFileSync(join(site, 'history/blob.html'), 'utf8');
  // 89 days before today are not monitored; none shows as down or as "no evidence".
  assert.equal(hist.match(/: not monitored</g)?.length, 2 * 89);
  assert.doesNotMatch(hist, /no evidence\)/);
  assert.doesNotMatch(hist, /over 90 days/);
  assert.match(hist, /eu-north <span class="sum">100\.00% since 2026-12-10 11:50 UTC, when monitoring began/);
  // eu-west: 6 good minutes, then 4 without evidence before now: counted against the provider.
  assert.match(hist, /eu-west <span class="sum">(\d+\.\d\d)% since 2026-12-10 11:50 UTC/);
  assert.doesNotMatch(hist, /eu-west <span class="sum">100\.00%/);
  const vm = readFileSync(join(site, 'history/vm.html'), 'utf8');
  assert.match(vm, /since 2026-12-10 11:00 UTC/, 'a configured start counts from the configured date');

  const comps = JSON.parse(readFileSync(join(site, 'api/v2/components.json'), 'utf8')).components as Array<Record<string, unknown>>;
  const north = comps.find((c) => c.id === 'blob/eu-north')!;
  assert.equal(north.created_at, new Date(INSTALLED + 10_000).toISOString());
  assert.equal(north.start_date, '2026-12-10');
  assert.equal(comps.find((c) => c.id === 'vm/eu-north')!.created_at, '2026-12-10T11:00:00.000Z');
  assert.ok(!comps.some((c) => String(c.created_at).startsWith('1970')), 'no component is created in 1970');

  // The start is kept as an event, so pruning old observations never moves it.
  const evs = await store.listEvents({ types: [MEASUREMENT_STARTED_EVENT] });
  assert.deepEqual(evs.map((e) => (e.data as { component: string }).component).sort(), ['blob/eu-north', 'blob/eu-west']);
});

test('month-to-date SLA counts only from the start of measurement, and from a customer contract', async () => {
  const r = await slaReportFromStore({ config, store, period: parseMonth('2026-12'), nowMs: NOW });
  const unit = (id: string) => r.units.find((u) => u.id === id)!;
  const north = unit('blob/eu-north');
  assert.equal(north.countedFromMs, INSTALLED);
  assert.equal(north.uptime.minutes, 10);
  assert.equal(north.uptime.unmonitoredMinutes, 9 * 1440 + 11 * 60 + 50);
  assert.equal(north.shown, '100.00%');
  assert.equal(north.measuredSince?.source, 'evidence');
  // eu-west: 11:50–11:55 measured or fresh, 11:56–11:59 silent: 4 of 10 minutes count as down (I8).
  const west = unit('blob/eu-west');
  assert.equal(west.uptime.minutes, 10);
  assert.equal(west.uptime.unknownMinutes, 4);
  assert.equal(west.percent, 60);
  // vm: configured start 11:00 and no evidence since: 60 minutes, all counted against the provider.
  const vm = unit('vm/eu-north');
  assert.equal(vm.measuredSince?.source, 'configured');
  assert.equal(vm.uptime.minutes, 60);
  assert.equal(vm.uptime.unknownMinutes, 60);

  const early = r.customers.find((c) => c.id === 'early')!;
  assert.equal(early.lines[0].countedFrom, 'measurement');
  assert.equal(early.lines[0].creditPercent, 100); // 60% is below 95%
  assert.equal(early.total, 100);
  // late's contract begins at 11:56: only the 4 minutes from then count, all of them silent.
  const late = r.customers.find((c) => c.id === 'late')!;
  assert.equal(late.lines[0].countedFrom, 'contract');
  assert.equal(late.lines[0].countedFromMs, utc('2026-12-10T11:56:00Z'));
  assert.equal(late.lines[0].uptime.minutes, 4);
  assert.equal(late.lines[0].uptime.unmonitoredMinutes, 9 * 1440 + 11 * 60 + 56);
  assert.equal(late.lines[0].percent, 0);
  assert.equal(r.customers.find((c) => c.id === 'vmuser')!.total, 100);

  const text = formatSlaTable(r);
  assert.match(text, /Counting starts at the later of the month's start, the customer's contract \(customers\[\]\.since\)/);
  assert.match(text, /blob\/eu-north: measured since 2026-12-10 11:50 UTC \(first evidence\)/);
  assert.match(text, /vm\/eu-north: measured since 2026-12-10 11:00 UTC \(services\[\]\.measuredSince\)/);
  assert.match(text, /2026-12-10T11:56Z \(contract\)/);
});

test('a month before measurement began counts nothing and owes nothing', async () => {
  const r = await slaReportFromStore({ config, store, period: parseMonth('2026-11'), nowMs: NOW });
  for (const u of r.units) {
    assert.equal(u.uptime.minutes, 0, u.id);
    assert.equal(u.shown, 'not monitored');
  }
  assert.equal(r.customersOwed, 0);
  assert.deepEqual(r.totals, { EUR: 0 });
});

// The SLA report end to end on a real SQLite store, and its agreement with the status page (I8): the same
// evidence gives the same figures, to the last shown digit, in `etape sla report` and in the page's uptime.
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
import type { IncidentRecord, Store } from '../src/store/store.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dailyUptime, DAY_MS, formatPercent, MINUTE_MS, sumUptime } from '../src/sla/availability.js';
import { componentSeriesFromStore, seriesOptionsFromConfig, slaReportForDemo, slaReportFromStore } from '../src/sla/from-store.js';
import { parseMonth } from '../src/sla/report.js';
import { StatusBuilder } from '../src/statuspage/publisher.js';
import { componentsFromConfig } from '../src/status/status.js';
import { maintenanceFromIncidents, measureFromSlaConfig, StoreHistorySource } from '../src/statuspage/history.js';

const CONFIG = `version: 1
fleet:
  regions:
    - id: eu-north
      geography: europe
      pair: eu-west
      canary: true
      cells: [{ id: cell-1 }, { id: cell-2 }]
    - id: eu-west
      geography: europe
      cells: [{ id: cell-1 }, { id: cell-2 }]
    - id: us-east
      geography: americas
      cells: [{ id: cell-1 }, { id: cell-2 }]
services:
  - name: blob
    regions: all
    driver: { kind: exec, deploy: "true" }
statuspage:
  rules: { freshFor: 10m }
sla:
  - service: blob
    preset: storage
customers:
  - id: acme
    currency: EUR
    uses:
      - { service: blob, regions: [eu-north, eu-west], monthlyBill: 1200, geoRedundant: true }
      - { service: blob, regions: [us-east], monthlyBill: 300 }
  - id: solo
    currency: EUR
    uses:
      - { service: blob, regions: [eu-west], monthlyBill: 100 }
`;

const utc = (s: string) => Date.parse(s);
const execFileP = promisify(execFile);
const REGIONS = ['eu-north', 'eu-west', 'us-east'];
const OCT = parseMonth('2026-10');
const NOW = utc('2026-11-01T00:20:00Z');

/** Probe results every 5 minutes (at :30 s) per cell, each carrying the requests of its minute. */
function evidence(): Observation[] {
  const out: Observation[] = [];
  const inRange = (t: number, a: string, b: string) => t >= utc(a) && t < utc(b);
  for (let m = utc('2026-09-30T23:50:00Z'); m < NOW; m += 5 * MINUTE_MS) {
    const t = m + 30_000;
    for (const region of REGIONS)
      for (const cell of ['cell-1', 'cell-2']) {
        // eu-west: no evidence at all for two hours on 5 October.
        if (region === 'eu-west' && inRange(t, '2026-10-05T10:00:00Z', '2026-10-05T12:00:00Z')) continue;
        const fail =
          // Both European regions down for eleven hours on 19 October (the 2014 shape).
          (region !== 'us-east' && inRange(t, '2026-10-19T00:00:00Z', '2026-10-19T11:00:00Z')) ||
          // One us-east cell fails for an hour on 10 October.
          (region === 'us-east' && cell === 'cell-2' && inRange(t, '2026-10-10T08:00:00Z', '2026-10-10T09:00:00Z')) ||
          // Maintenance: us-east announced in advance, eu-north announced after it started.
          (region === 'us-east' && inRange(t, '2026-10-20T02:00:00Z', '2026-10-20T03:00:00Z')) ||
          (region === 'eu-north' && inRange(t, '2026-10-22T02:00:00Z', '2026-10-22T03:00:00Z'));
        out.push({
          service: 'blob',
          region,
          cell,
          source: 'get-blob',
          at: t,
          verdict: fail ? 'fail' : 'pass',
          latencyMs: 30,
          requests: 500,
          failures: fail ? 500 : 0,
        });
      }
  }
  return out;
}

function record(p: Partial<IncidentRecord> & Pick<IncidentRecord, 'id' | 'kind' | 'components' | 'createdAt'>): IncidentRecord {
  return {
    title: p.id,
    status: p.kind === 'maintenance' ? 'completed' : 'resolved',
    impact: p.kind === 'maintenance' ? 'maintenance' : 'major',
    source: 'manual',
    updatedAt: p.resolvedAt ?? p.createdAt,
    resolvedAt: null,
    scheduledFor: null,
    scheduledUntil: null,
    updates: [],
    data: {},
    ...p,
  };
}

let dir = '';
let store: Store;
let config: EtapeConfig;
let cfgFile = '';
let dbFile = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etape-sla-'));
  cfgFile = join(dir, 'etape.yaml');
  dbFile = join(dir, 'etape.db');
  writeFileSync(cfgFile, CONFIG);
  config = (await loadConfig(cfgFile)).config;
  store = await openStore(dbFile);
  const obs = evidence();
  for (let i = 0; i < obs.length; i += 5000) await store.recordObservations(obs.slice(i, i + 5000));
  await store.saveIncident(
    record({
      id: 'inc-eu',
      kind: 'incident',
      title: 'Blob requests hang in Europe',
      components: ['blob/eu-north', 'blob/eu-west'],
      createdAt: utc('2026-10-19T00:06:00Z'),
      resolvedAt: utc('2026-10-19T11:10:00Z'),
    }),
  );
  await store.saveIncident(
    record({
      id: 'mnt-us',
      kind: 'maintenance',
      components: ['blob/us-east'],
      createdAt: utc('2026-10-18T09:00:00Z'),
      scheduledFor: utc('2026-10-20T02:00:00Z'),
      scheduledUntil: utc('2026-10-20T03:00:00Z'),
      resolvedAt: utc('2026-10-20T03:00:00Z'),
    }),
  );
  await store.saveIncident(
    record({
      id: 'mnt-late',
      kind: 'maintenance',
      components: ['blob/eu-north'],
      createdAt: utc('2026-10-22T02:10:00Z'),
      scheduledFor: utc('2026-10-22T02:00:00Z'),
      scheduledUntil: utc('2026-10-22T03:00:00Z'),
      resolvedAt: utc('2026-10-22T03:00:00Z'),
    }),
  );
});

after(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the report for October: availability, tiers, credits and the incidents behind the downtime', async () => {
  const r = await slaReportFromStore({ config, store, period: OCT, nowMs: NOW });
  const unit = (id: string) => r.units.find((u) => u.id === id)!;
  // The pair was down only while both were: 11 hours = 132 of 8,928 intervals → 100 − 13,200 / 8,928.
  const pair = unit('blob/eu-north+eu-west');
  assert.equal(pair.percent, 100 - 13_200 / 8_928);
  assert.equal(pair.shown, '98.52%');
  assert.deepEqual(pair.tier, { below: 99, credit: 25 });
  // us-east: the announced hour is excluded (12 intervals); the failing cell makes 12 intervals of
  // (4 × 1 + 0.5) / 5 = 0.9 → 100 − 1,080 / 8,916.
  const us = unit('blob/us-east');
  assert.equal(us.uptime.maintenanceMinutes, 60);
  assert.equal(us.uptime.intervals, 8_916);
  assert.ok(Math.abs(us.percent - (100 - 1_080 / 8_916)) < 1e-9);
  assert.equal(us.shown, '99.87%');
  assert.deepEqual(us.tier, { below: 99.9, credit: 10 });
  // eu-north: the late announcement is not excluded.
  const north = unit('blob/eu-north');
  assert.equal(north.uptime.maintenanceMinutes, 0);
  assert.deepEqual(north.maintenanceNotExcluded, [{ id: 'mnt-late', reason: 'announced after it started' }]);
  // eu-west: the evidence gap is unknown time, counted against the provider: the last probe at 09:55:30
  // stays fresh (10m) through minute 10:04; 10:05–11:59 is unknown (115 minutes).
  const west = unit('blob/eu-west');
  assert.equal(west.uptime.unknownMinutes, 115);
  // Alone, eu-west also carries the 11 hours: 132 intervals down, 23 of no evidence → 100 − 15,500 / 8,928.
  assert.ok(Math.abs(west.percent - (100 - 15_500 / 8_928)) < 1e-9);
  assert.equal(west.shown, '98.26%');
  assert.ok(
    west.badPeriods.some((p) => p.state === 0 && p.fromMs === utc('2026-10-05T10:05:00Z') && p.toMs === utc('2026-10-05T12:00:00Z')),
  );
  // Credits: acme 25% of 1,200 for the pair + 10% of 300 for us-east; solo pays for eu-west alone.
  const acme = r.customers.find((c) => c.id === 'acme')!;
  assert.equal(acme.total, 300 + 30);
  const solo = r.customers.find((c) => c.id === 'solo')!;
  assert.equal(solo.lines[0].unit, 'blob/eu-west');
  assert.equal(solo.total, 25);
  assert.deepEqual(r.totals, { EUR: 355 });
  assert.deepEqual(
    r.incidents.map((i) => i.id),
    ['inc-eu'],
  );
  assert.deepEqual(pair.incidents, ['inc-eu']);
});

test('etape sla report prints the same figures as table, csv and json', async () => {
  // The real command line in its own process (the test runner owns this process's stdout).
  const run = async (...args: string[]) => {
    const entry = `import(${JSON.stringify(new URL('../src/cli/main.ts', import.meta.url).href)}).then((m) => m.main(process.argv)).then((c) => process.exit(c))`;
    try {
      const r = await execFileP(
        process.execPath,
        ['--import', 'tsx', '-e', entry, 'etape', '--config', cfgFile, '--store', dbFile, 'sla', 'report', '--month', '2026-10', ...args],
        {
          cwd: new URL('..', import.meta.url).pathname,
          env: { ...process.env, ETAPE_STORE: '' },
        },
      );
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: x.code ?? -1, out: x.stdout ?? '', err: x.stderr ?? '' };
    }
  };
  const json = await run('--format', 'json');
  assert.equal(json.code, 0);
  const j = JSON.parse(json.out) as { units: Array<{ id: string; availability: string }>; totals: Record<string, number> };
  assert.equal(j.units.find((u) => u.id === 'blob/eu-north+eu-west')!.availability, '98.52%');
  assert.deepEqual(j.totals, { EUR: 355 });
  const table = await run();
  assert.equal(table.code, 0);
  assert.match(table.out, /blob\/eu-north\+eu-west\s+requests\s+98\.52%/);
  assert.match(table.out, /Total credits: 355\.00 EUR/);
  assert.match(table.out, /inc-eu/);
  const csv = await run('--format', 'csv', '--customer', 'solo');
  assert.equal(csv.code, 0);
  assert.deepEqual(
    csv.out
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').slice(1, 6).join(',')),
    ['solo,blob,eu-west,requests,98.26%'],
  );
  const bad = await run('--month', '2026-13');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /not a month: write it as YYYY-MM/);
  const badFormat = await run('--format', 'xml');
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.err, /use table, csv or json/);
});

test('the status page and the SLA report agree to the last shown digit on the same evidence', async () => {
  const out = join(dir, 'status');
  const builder = new StatusBuilder({ store, config, clock: new VirtualClock(NOW), outDir: out, applyRules: false, publish: false });
  await builder.build();
  const html = readFileSync(join(out, 'history', 'blob.html'), 'utf8');
  const report = await slaReportFromStore({ config, store, period: OCT, nowMs: NOW });

  // The page's history source (the one the builder uses), over the same store and maintenance.
  const incidents = await store.listIncidents({});
  const history = await new StoreHistorySource(store, seriesOptionsFromConfig(config), {
    measure: measureFromSlaConfig(config.sla),
    maintenance: maintenanceFromIncidents(incidents),
  }).history(componentsFromConfig(config), NOW, config.statuspage.historyDays);

  for (const region of REGIONS) {
    const unit = report.units.find((u) => u.id === `blob/${region}`)!;
    // Per day: the figure on the page equals the report's series cut into days.
    const section = html.split(`aria-labelledby="h-${region}"`)[1].split('</section>')[0];
    const shownOnPage = new Map([...section.matchAll(/(\d{4}-\d{2}-\d{2}): ([\d.]+%)/g)].map((m) => [m[1], m[2]]));
    const series = await componentSeriesFromStore({
      config,
      store,
      service: 'blob',
      region,
      fromMs: OCT.fromMs,
      toMs: OCT.toMs,
      nowMs: NOW,
    });
    const days = dailyUptime(series, OCT.fromMs, 31, { measure: unit.measure, maintenance: unit.maintenance });
    for (const d of days) assert.equal(shownOnPage.get(d.day), formatPercent(d.percent), `${region} ${d.day}`);
    // The month: the page's October days, summed as the SLA sums them, show the report's figure.
    const pageDays = history.get(`blob/${region}`)!.days.filter((d) => d.day.startsWith('2026-10'));
    assert.equal(pageDays.length, 31);
    const month = sumUptime(pageDays);
    assert.equal(formatPercent(month.percent), unit.shown, region);
    assert.equal(month.minutes, unit.uptime.minutes);
    assert.equal(month.unknownMinutes, unit.uptime.unknownMinutes);
    assert.equal(month.maintenanceMinutes, unit.uptime.maintenanceMinutes);
  }
  // The days the report blames are the ones the page shows red.
  assert.equal(formatPercent(history.get('blob/eu-west')!.days.find((d) => d.day === '2026-10-19')!.percent), '54.16%');
});

test('the demo summary names the credits owed over a run window', async () => {
  const from = utc('2026-10-19T00:00:00Z');
  const { report, summary, text } = await slaReportForDemo({ config, store, fromMs: from, toMs: from + DAY_MS, label: 'replay day' });
  // 11 of 24 hours down for the European pair: 54.16% → 100% credit of the whole bill share.
  assert.equal(report.units.find((u) => u.id === 'blob/eu-north+eu-west')!.shown, '54.16%');
  assert.match(summary, /^replay day: credits owed \d+\.\d{2} EUR to 2 of 2 customers/);
  assert.match(text, /Credits/);
});

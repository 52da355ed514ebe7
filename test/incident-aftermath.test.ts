// After an incident: its page, feed entry and v2 JSON carry what was measured (duration, regions,
// availability of each affected component over the incident) and what it means under the SLA, and the credit
// they state is the one `etape sla report` computes from the same store. A postmortem is published on it.
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
import { StatusBuilder } from '../src/statuspage/publisher.js';
import { openIncidentOp, publishPostmortemOp, resolveIncidentOp, type IncidentDeps } from '../src/incidents/service.js';

const CONFIG = `version: 1
fleet:
  regions:
    - { id: eu-north, geography: europe, pair: eu-west, canary: true, cells: [{ id: c1 }] }
    - { id: eu-west, geography: europe, cells: [{ id: c1 }] }
    - { id: us-east, geography: americas, cells: [{ id: c1 }] }
services:
  - name: blob
    driver: { kind: exec, deploy: "true" }
statuspage:
  rules: { freshFor: 10m }
  out: OUT
sla:
  - { service: blob, preset: compute }
customers:
  - id: acme
    currency: EUR
    uses: [{ service: blob, regions: [eu-north, eu-west], monthlyBill: 1000 }]
  - id: solo
    currency: EUR
    uses: [{ service: blob, regions: [us-east], monthlyBill: 100 }]
`;

const utc = (s: string) => Date.parse(s);
const NOV = parseMonth('2026-11');
const AFTER_NOV = utc('2026-12-01T00:10:00Z');
let dir = '';
let store: Store;
let config: EtapeConfig;
let incidentId = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etape-aftermath-'));
  writeFileSync(join(dir, 'etape.yaml'), CONFIG.replace('OUT', join(dir, 'site')));
  config = (await loadConfig(join(dir, 'etape.yaml'))).config;
  store = await openStore(join(dir, 'etape.db'));
  // A probe every 5 minutes per region; on 19 November eu-west fails 00:00–11:00 and eu-north 00:00–01:00.
  const obs: Observation[] = [];
  const inRange = (t: number, a: string, b: string) => t >= utc(a) && t < utc(b);
  for (let m = utc('2026-10-31T23:50:00Z'); m < AFTER_NOV; m += 5 * 60_000)
    for (const region of ['eu-north', 'eu-west', 'us-east']) {
      const t = m + 30_000;
      const fail =
        (region === 'eu-west' && inRange(t, '2026-11-19T00:00:00Z', '2026-11-19T11:00:00Z')) ||
        (region === 'eu-north' && inRange(t, '2026-11-19T00:00:00Z', '2026-11-19T01:00:00Z'));
      obs.push({ service: 'blob', region, cell: 'c1', source: 'http', at: t, verdict: fail ? 'fail' : 'pass', latencyMs: 20 });
    }
  await store.recordObservations(obs);
  const clock = new VirtualClock(utc('2026-11-19T00:05:00Z'));
  const deps: IncidentDeps = { store, clock, updateCadenceMs: 30 * 60_000 };
  const opened = await openIncidentOp(deps, {
    title: 'Blob requests fail in Europe',
    impact: 'major',
    components: ['blob/eu-north', 'blob/eu-west'],
    body: 'We are investigating.',
    actor: 'test',
  });
  incidentId = opened.id;
  clock.advance(11 * 3600_000);
  await resolveIncidentOp(deps, incidentId, { body: 'Reverted; requests succeed again.', actor: 'test' });
});

after(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function build(now: number): Promise<void> {
  const b = new StatusBuilder({ store, config, clock: new VirtualClock(now), publish: false, applyRules: false });
  await b.build();
  await b.close();
}

const read = (p: string) => readFileSync(join(dir, 'site', p), 'utf8');

test("a resolved incident's page states the credit the SLA report computes for the same store", async () => {
  await build(AFTER_NOV);
  const page = read(`incidents/${incidentId}.html`);
  const report = await slaReportFromStore({ config, store, period: NOV, nowMs: AFTER_NOV });
  const owed = report.customers.flatMap((c) => c.lines.filter((l) => l.creditPercent > 0 && l.regions.some((r) => r.startsWith('eu-'))));
  // acme is owed for both European regions (eu-west 98.47% → 30%, eu-north 99.86% → 10%); solo nothing.
  assert.deepEqual(owed.map((l) => `${l.unit} ${l.creditPercent}`).sort(), ['blob/eu-north 10', 'blob/eu-west 30']);
  for (const l of owed)
    assert.match(
      page,
      new RegExp(`Customers of blob in [^.<]*\\b${l.regions[0]}\\b[^.<]* are owed a ${l.creditPercent}% credit for 2026-11\\.`),
      `the page states ${l.unit}'s ${l.creditPercent}% credit`,
    );
  // The public page names no customer and no amount.
  assert.doesNotMatch(page, /acme|EUR/);

  // What was measured: 11 hours, two regions, and each component's availability over the incident.
  assert.match(page, /Measured over the incident \(11h, 2 regions: eu-north and eu-west\)/);
  const v2 = JSON.parse(read('api/v2/incidents.json')).incidents.find((i: { id: string }) => i.id === incidentId);
  const west = v2.etape_measured.components.find((c: { id: string }) => c.id === 'blob/eu-west');
  assert.equal(west.counted_minutes, 660);
  assert.equal(west.down_minutes, 655); // 00:05–11:00 of the window 00:05–11:05
  assert.match(page, new RegExp(`blob/eu-west ${west.availability.replace('.', '\\.')} \\(655 min down`));
  assert.deepEqual(
    v2.etape_measured.sla.credits
      .map((c: { regions: string[]; credit_percent: number }) => `${c.regions.join('+')} ${c.credit_percent}`)
      .sort(),
    ['eu-north 10', 'eu-west 30'],
  );

  // The feed's entry for the resolving update carries the same sentences.
  const feed = read('feed.atom');
  const entry = feed.split('<entry>').find((e) => e.includes(`${incidentId}-u2`))!;
  assert.match(entry, /Customers of blob in eu-west are owed a 30% credit for 2026-11\./);
  assert.match(entry, /Measured over the incident/);
});

test('while the month is not over the credit is stated as so far', async () => {
  await build(utc('2026-11-20T00:00:00Z'));
  const page = read(`incidents/${incidentId}.html`);
  assert.match(page, /owed a 30% credit for 2026-11 so far \(the month is not over/);
});

test('a postmortem is published on a resolved incident: page, v2 JSON and feed', async () => {
  const deps: IncidentDeps = { store, clock: new VirtualClock(utc('2026-11-21T09:00:00Z')), updateCadenceMs: 30 * 60_000 };
  const text = 'A configuration push reached both regions at once.\n\nWe now stage such pushes region by region.';
  const v = await publishPostmortemOp(deps, incidentId, { text, actor: 'test' });
  assert.equal(v.status, 'postmortem');
  await assert.rejects(publishPostmortemOp(deps, incidentId, { text: '  ', actor: 'test' }), /needs its text/);
  await build(AFTER_NOV);
  const page = read(`incidents/${incidentId}.html`);
  assert.match(page, /<h2 id="h-pm">Postmortem<\/h2>/);
  assert.match(page, /<p>We now stage such pushes region by region\.<\/p>/);
  assert.match(page, /owed a 30% credit for 2026-11\./, 'the figures stay on the page after the postmortem');
  const v2 = JSON.parse(read('api/v2/incidents.json')).incidents.find((i: { id: string }) => i.id === incidentId);
  assert.equal(v2.status, 'postmortem');
  assert.equal(v2.postmortem_body, text);
  assert.equal(v2.postmortem_published_at, '2026-11-21T09:00:00.000Z');
  assert.match(read('feed.atom'), /We now stage such pushes region by region\./);
});

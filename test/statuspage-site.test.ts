// The built site: Statuspage v2 JSON shapes and enums, generated_at everywhere, size budget, incremental writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSite, writeSite, newBuildState, fillGeneratedAt } from '../src/statuspage/build.js';
import { V2_COMPONENT_STATUSES, V2_IMPACTS, V2_INCIDENT_STATUSES, V2_INDICATORS, V2_MAINTENANCE_STATUSES } from '../src/statuspage/v2.js';
import { fleetConfig, healthyEvidence, failing, wideIncident, maintenanceFixture, modelFor, NOW } from './statuspage-fixtures.js';
import { MINUTE_MS } from '../src/sla/availability.js';
import { formatPercent, dailyUptime } from '../src/sla/availability.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
type J = Record<string, any>;

function checkPage(p: J) {
  for (const k of ['id', 'name', 'url', 'time_zone', 'updated_at']) assert.ok(k in p, `page.${k}`);
  assert.match(p.updated_at, ISO);
}

function checkComponent(c: J) {
  for (const [k, t] of Object.entries({
    id: 'string',
    name: 'string',
    status: 'string',
    created_at: 'string',
    updated_at: 'string',
    position: 'number',
    showcase: 'boolean',
    page_id: 'string',
    group: 'boolean',
    only_show_if_degraded: 'boolean',
  }))
    assert.equal(typeof c[k], t, `component.${k}`);
  assert.ok('description' in c && 'group_id' in c && 'start_date' in c);
  assert.ok((V2_COMPONENT_STATUSES as readonly string[]).includes(c.status), `component status ${c.status}`);
  if (c.group) assert.ok(Array.isArray(c.components));
}

function checkIncident(i: J, maintenance: boolean) {
  for (const k of [
    'id',
    'name',
    'status',
    'created_at',
    'updated_at',
    'monitoring_at',
    'resolved_at',
    'impact',
    'shortlink',
    'started_at',
    'page_id',
    'incident_updates',
    'components',
  ])
    assert.ok(k in i, `incident.${k}`);
  assert.ok(((maintenance ? V2_MAINTENANCE_STATUSES : V2_INCIDENT_STATUSES) as readonly string[]).includes(i.status), `status ${i.status}`);
  assert.ok((V2_IMPACTS as readonly string[]).includes(i.impact));
  assert.match(i.created_at, ISO);
  assert.ok(i.incident_updates.length >= 1);
  for (const u of i.incident_updates) {
    for (const k of [
      'id',
      'status',
      'body',
      'incident_id',
      'created_at',
      'updated_at',
      'display_at',
      'affected_components',
      'deliver_notifications',
      'custom_tweet',
      'tweet_id',
    ])
      assert.ok(k in u, `update.${k}`);
    assert.equal(u.incident_id, i.id);
  }
  // Newest update first, as Statuspage lists them.
  const times = i.incident_updates.map((u: J) => Date.parse(u.created_at));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
  );
  for (const c of i.components) assert.ok((V2_COMPONENT_STATUSES as readonly string[]).includes(c.status));
  if (maintenance) {
    assert.match(i.scheduled_for, ISO);
    assert.match(i.scheduled_until, ISO);
  }
}

async function build(model: ReturnType<typeof modelFor>) {
  const dir = await mkdtemp(join(tmpdir(), 'etape-sp-'));
  const state = newBuildState();
  const files = renderSite(model, state);
  const r = await writeSite(dir, files, model.generatedAt, state, 150_000);
  return { dir, state, files, r };
}

test('JSON files follow the Statuspage v2 shapes and enums, each with generated_at', async () => {
  const cfg = fleetConfig(6, 3);
  const obs = [...healthyEvidence(cfg, NOW - 30_000), ...failing('svc-0', 'region-00', ['cell-1', 'cell-2'], NOW - 5000)].filter(
    (o) => !(o.service === 'svc-2' && o.region === 'region-03'),
  );
  const { dir } = await build(modelFor(cfg, obs, [wideIncident(NOW), maintenanceFixture(NOW)]));
  try {
    const read = async (p: string) => JSON.parse(await readFile(join(dir, 'api/v2', p), 'utf8')) as J;
    const files = [
      'summary.json',
      'status.json',
      'components.json',
      'incidents.json',
      'incidents/unresolved.json',
      'scheduled-maintenances.json',
      'scheduled-maintenances/upcoming.json',
      'scheduled-maintenances/active.json',
    ];
    for (const f of files) {
      const d = await read(f);
      assert.equal(d.generated_at, new Date(NOW).toISOString(), `${f} generated_at`);
      checkPage(d.page);
    }
    const s = await read('summary.json');
    assert.ok((V2_INDICATORS as readonly string[]).includes(s.status.indicator));
    assert.equal(s.status.indicator, 'major');
    assert.equal(s.components.length, 3 + 18);
    for (const c of s.components) checkComponent(c);
    // Groups by service, children point at their group.
    const groups = new Map<string, J>(s.components.filter((c: J) => c.group).map((c: J) => [c.id, c]));
    for (const c of s.components.filter((c: J) => !c.group)) assert.ok(groups.get(c.group_id)?.components.includes(c.id));
    // etape's `unknown` is never published as operational.
    const unknown = s.components.find((c: J) => c.id === 'svc-2/region-03');
    assert.equal(unknown.etape_status, 'unknown');
    assert.equal(unknown.status, 'degraded_performance');
    assert.equal(s.components.find((c: J) => c.id === 'svc-0/region-00').status, 'major_outage');
    assert.equal(s.incidents.length, 1);
    checkIncident(s.incidents[0], false);
    assert.equal(s.incidents[0].status, 'identified');
    assert.equal(s.scheduled_maintenances.length, 1);
    checkIncident(s.scheduled_maintenances[0], true);
    assert.equal((await read('scheduled-maintenances/upcoming.json')).scheduled_maintenances.length, 1);
    assert.equal((await read('scheduled-maintenances/active.json')).scheduled_maintenances.length, 0);
    assert.equal((await read('status.json')).status.indicator, 'major');
    for (const i of (await read('incidents.json')).incidents) checkIncident(i, false);
    // Every file of the site carries generated_at; no placeholder is left behind.
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    assert.match(html, /<meta name="generated_at" content="2026-11-25T01:00:00.000Z">/);
    assert.match(html, /Generated <time datetime="2026-11-25T01:00:00.000Z">2026-11-25 01:00 UTC<\/time>/);
    assert.match(html, /<noscript><meta http-equiv="refresh" content="60"><\/noscript>/);
    assert.ok(!html.includes('\uE000'));
    const badge = await readFile(join(dir, 'badges/svc-0/region-00.svg'), 'utf8');
    assert.match(badge, /generated_at 2026-11-25T01:00:00.000Z/);
    assert.match(badge, /major outage/);
    const feed = await readFile(join(dir, 'feed.atom'), 'utf8');
    assert.match(feed, /<updated>2026-11-25T01:00:00.000Z<\/updated>/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('no evidence at all: the page and the JSON say so, never "All Systems Operational"', async () => {
  const cfg = fleetConfig(3, 2);
  const { dir } = await build(modelFor(cfg, [], []));
  try {
    const s = JSON.parse(await readFile(join(dir, 'api/v2/summary.json'), 'utf8')) as J;
    assert.notEqual(s.status.indicator, 'none');
    assert.match(s.status.description, /no evidence/);
    assert.ok(s.components.every((c: J) => c.status !== 'operational'));
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    assert.ok(!html.includes('All Systems Operational'));
    assert.match(html, /No probe or metric has reported anything/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('index.html plus CSS stays under 100 KB for 60 regions × 10 services', async () => {
  const cfg = fleetConfig(60, 10);
  // Worst case for size: many components not operational (each shows its reason).
  const obs = healthyEvidence(cfg, NOW - 30_000).map((o, k) =>
    k % 3 === 0 ? { ...o, verdict: 'fail' as const, detail: 'HTTP 503 Service Unavailable' } : o,
  );
  const { dir, files } = await build(modelFor(cfg, obs, [wideIncident(NOW), maintenanceFixture(NOW)]));
  try {
    const size = (await stat(join(dir, 'index.html'))).size;
    assert.ok(size < 100 * 1024, `index.html is ${size} bytes`);
    const html = files.find((f) => f.path === 'index.html')!.content;
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'no external assets');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('incremental: unchanged files are not rewritten; a change rewrites only what it touches', async () => {
  const cfg = fleetConfig(6, 3);
  const obs = healthyEvidence(cfg, NOW - 30_000);
  const m1 = modelFor(cfg, obs, []);
  const { dir, state, r } = await build(m1);
  try {
    assert.equal(r.written, r.files);
    const badge = join(dir, 'badges/svc-1/region-02.svg');
    const before = (await stat(badge)).mtimeMs;
    const m2 = modelFor(cfg, [...obs, ...failing('svc-1', 'region-02', ['cell-1'], NOW + 20_000)], [], NOW + 30_000);
    const r2 = await writeSite(dir, renderSite(m2, state), m2.generatedAt, state, 150_000);
    assert.ok(r2.written < r2.files / 2, `wrote ${r2.written} of ${r2.files}`);
    assert.ok((await stat(badge)).mtimeMs >= before);
    assert.match(await readFile(badge, 'utf8'), /major outage/);
    const other = await readFile(join(dir, 'badges/svc-0/region-00.svg'), 'utf8');
    assert.match(other, /2026-11-25T01:00:00.000Z/, 'an unchanged badge keeps its first generated_at');
    // Past the refresh age, unchanged files are rewritten with a new generated_at.
    const m3 = modelFor(cfg, [...obs, ...failing('svc-1', 'region-02', ['cell-1'], NOW + 20_000)], [], NOW + 30_000, NOW + 3 * MINUTE_MS);
    await writeSite(dir, renderSite(m3, state), m3.generatedAt, state, 150_000);
    assert.match(await readFile(join(dir, 'badges/svc-0/region-00.svg'), 'utf8'), /2026-11-25T01:03:00.000Z/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('per-day percentages on the history page are the SLA figures, digit for digit', async () => {
  const cfg = fleetConfig(2, 1);
  const m = modelFor(cfg, healthyEvidence(cfg, NOW - 30_000), []);
  const files = renderSite(m);
  const page = fillGeneratedAt(files.find((f) => f.path === 'history/svc-0.html')!.content, NOW);
  const h = m.history!.get('svc-0/region-00')!;
  // Day 10 has a bad hour in the fixture.
  const d = h.days[10];
  assert.equal(formatPercent(d.percent), '95.83%');
  assert.ok(page.includes(`${d.day}: 95.83%`));
  assert.ok(page.includes(`${formatPercent(h.total.percent)} over 90 days`));
  // A day without any evidence shows what the SLA counts for it: 0%, never a flattering 100%.
  const blind = dailyUptime({ startMs: d.fromMs, states: new Uint8Array(1440) }, d.fromMs, 1, { measure: 'minutes' })[0];
  assert.equal(formatPercent(blind.percent), '0.00%');
  assert.ok(page.includes(`${h.days[30].day}: 0.00% (no evidence)`));
});

test('text from people is escaped everywhere: HTML, Atom, SVG and JSON', async () => {
  const cfg = fleetConfig(3, 1);
  const evil = '<script>alert("x")</script> & <b>';
  const inc = wideIncident(NOW);
  inc.title = evil;
  inc.updates[0].body = evil;
  const { dir } = await build(modelFor(cfg, healthyEvidence(cfg, NOW - 1000), [inc]));
  try {
    for (const f of ['index.html', `incidents/${inc.id}.html`, 'feed.atom']) {
      const text = await readFile(join(dir, f), 'utf8');
      assert.ok(!text.includes('<script>alert'), `${f} has the raw script tag`);
      assert.ok(text.includes('&lt;script&gt;alert'), `${f} shows the text escaped`);
    }
    const s = JSON.parse(await readFile(join(dir, 'api/v2/summary.json'), 'utf8')) as J;
    assert.equal(s.incidents[0].name, evil, 'JSON carries the text as it is');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

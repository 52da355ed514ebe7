// Retention: raw observations rolled up into per-minute availability and pruned after a window. The SLA report
// and the status page's history read from rollups equal those read from raw, on both backends; events and
// rollout state are kept; the measurement start does not move when the first evidence is pruned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Observation } from '../src/core/types.js';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { DAY_MS, MINUTE_MS } from '../src/sla/availability.js';
import { seriesOptionsFromConfig, slaReportFromStore } from '../src/sla/from-store.js';
import { runRetention } from '../src/sla/rollup.js';
import { componentsFromConfig } from '../src/status/status.js';
import { measureFromSlaConfig, StoreHistorySource } from '../src/statuspage/history.js';

const PG_URL = process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const DAY0 = Date.UTC(2026, 10, 1);
const NOW = DAY0 + 4 * DAY_MS + 60 * MINUTE_MS;

const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'eu-north', geography: 'europe', canary: true, cells: [{ id: 'c1' }, { id: 'c2' }] },
      { id: 'eu-west', geography: 'europe', cells: [{ id: 'c1' }, { id: 'c2' }] },
      { id: 'us-east', geography: 'americas', cells: [{ id: 'c1' }] },
    ],
  },
  services: [
    { name: 'blob', driver: { kind: 'exec', deploy: 'true' } },
    { name: 'vm', regions: ['eu-north', 'us-east'], driver: { kind: 'exec', deploy: 'true' } },
  ],
  statuspage: { rules: { freshFor: '5m', degradedLatency: '500ms' } },
  sla: [
    { service: 'blob', preset: 'storage' },
    { service: 'vm', preset: 'compute' },
  ],
  customers: [{ id: 'acme', uses: [{ service: 'blob', regions: ['eu-north', 'eu-west'], monthlyBill: 1000 }] }],
});

/** Four days and an hour of probes every 30 s per cell, request counts every minute, with an outage, a gap, slow answers. */
function observations(): Observation[] {
  const out: Observation[] = [];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const cells: [string, string, string][] = [];
  for (const r of config.fleet.regions) for (const c of r.cells) for (const s of ['blob', 'vm']) cells.push([s, r.id, c.id]);
  for (let t = DAY0 + 20 * MINUTE_MS; t < NOW; t += 30_000) {
    for (const [service, region, cell] of cells) {
      if (service === 'vm' && region === 'eu-west') continue;
      // us-east goes silent for an hour on day 1; eu-west fails for 90 minutes on day 0; slow answers now and then.
      if (region === 'us-east' && t >= DAY0 + DAY_MS + 2 * 3_600_000 && t < DAY0 + DAY_MS + 3 * 3_600_000) continue;
      const outage = region === 'eu-west' && t >= DAY0 + 10 * 3_600_000 && t < DAY0 + 11.5 * 3_600_000;
      const flaky = rnd() < 0.01;
      out.push({
        service,
        region,
        cell,
        source: 'http',
        at: t + Math.floor(rnd() * 1000),
        verdict: outage || flaky ? 'fail' : 'pass',
        latencyMs: rnd() < 0.02 ? 900 : 40,
      });
      if (service === 'blob' && t % MINUTE_MS === 0)
        out.push({
          service,
          region,
          cell,
          source: 'requests',
          at: t,
          verdict: 'pass',
          requests: 1000,
          failures: outage ? 400 : Math.floor(rnd() * 3),
        });
    }
  }
  return out;
}

async function figures(store: Store) {
  const period = { label: 'four days', fromMs: DAY0, toMs: DAY0 + 5 * DAY_MS };
  const sla = await slaReportFromStore({ config, store, period, nowMs: NOW });
  const history = new StoreHistorySource(store, seriesOptionsFromConfig(config), { measure: measureFromSlaConfig(config.sla) });
  const page = await history.history(componentsFromConfig(config), NOW, 7);
  return { sla, history: [...page.values()].map((h) => ({ id: h.id, days: h.days, total: h.total })) };
}

async function withBackends(fn: (store: Store) => Promise<void>) {
  await fn(await openStore(':memory:'));
  const schema = `etape_test_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  const store = await openStore(u.toString());
  try {
    await fn(store);
  } finally {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

test(
  'SLA and history from rollups equal those from raw, after the raw window is pruned (SQLite and PostgreSQL)',
  { timeout: 120_000 },
  async () => {
    const obs = observations();
    const raw = await openStore(':memory:');
    await raw.recordObservations(obs);
    const expected = await figures(raw);
    await raw.close();
    // The days have real content: an outage, a gap, request failures.
    assert.ok(
      expected.sla.units.some((u) => u.percent < 100) && expected.sla.units.every((u) => u.measuredSince),
      JSON.stringify(expected.sla.units.map((u) => [u.id, u.shown])),
    );

    await withBackends(async (store) => {
      try {
        await store.recordObservations(obs);
        await store.appendEvents([{ rolloutId: null, at: DAY0, actor: 'test', type: 'test.kept', data: {} }]);
        const r = await runRetention({ store, config, rawMs: 2 * DAY_MS }, NOW);
        // Days 0-3 are over (day 4 is today): rolled up; raw before day 2 is gone, the rest stays.
        assert.equal(r.days, 4);
        assert.equal(await store.retention.mark('rolled_to'), DAY0 + 4 * DAY_MS);
        assert.ok(r.prunedObservations > 0);
        assert.equal(await store.retention.oldestObservation().then((t) => t! >= DAY0 + 2 * DAY_MS), true);
        assert.equal((await store.queryObservations({ to: DAY0 + 2 * DAY_MS })).length, 0);
        assert.equal((await store.listEvents({ types: ['test.kept'] })).length, 1, 'events are kept');
        const got = await figures(store);
        assert.deepEqual(got.sla, expected.sla);
        assert.deepEqual(got.history, expected.history);
        // A second pass does nothing more; rollups older than their window go.
        assert.deepEqual(await runRetention({ store, config, rawMs: 2 * DAY_MS }, NOW), {
          days: 0,
          components: 0,
          prunedObservations: 0,
          prunedDays: 0,
        });
        const late = await runRetention({ store, config, rawMs: 2 * DAY_MS, rollupsMs: 2 * DAY_MS }, NOW);
        assert.equal(late.prunedDays, 2 * 5, 'days 0 and 1 of five components');
      } finally {
        await store.close();
      }
    });
  },
);

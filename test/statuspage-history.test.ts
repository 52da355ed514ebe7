// The history read from the store gives the same per-day figures as the SLA computation over the whole window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/open.js';
import type { Observation } from '../src/core/types.js';
import { StoreHistorySource } from '../src/statuspage/history.js';
import { dailyUptime, DAY_MS, formatPercent, MINUTE_MS, seriesFromObservations } from '../src/sla/availability.js';
import type { ComponentDef } from '../src/status/status.js';

test('store-backed history equals dailyUptime over the whole window, and stays equal as time moves on', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etape-hist-'));
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const day0 = Date.UTC(2026, 10, 20);
    const defs: ComponentDef[] = [
      { id: 'blob/weu', service: 'blob', region: 'weu', regionName: 'weu', geography: 'europe', cells: ['c1', 'c2'] },
    ];
    const obs: Observation[] = [];
    // Four days of probes every 2 minutes, with an outage, a gap without evidence and slow answers.
    for (let t = day0; t < day0 + 4 * DAY_MS; t += 2 * MINUTE_MS)
      for (const cell of ['c1', 'c2']) {
        const h = (t - day0) / 3600_000;
        if (h > 30 && h < 31.5 && cell === 'c2') continue; // gap
        const verdict = h > 50 && h < 52 ? 'fail' : 'pass';
        obs.push({ service: 'blob', region: 'weu', cell, source: 'http', at: t + 7_000, verdict, latencyMs: h > 70 && h < 71 ? 2500 : 40 });
      }
    await store.recordObservations(obs);
    const opts = { freshForMs: 180_000, downShare: 0.5, partialShare: 0.01, degradedLatencyMs: 1000 };
    const src = new StoreHistorySource(store, opts);
    for (const now of [day0 + 3 * DAY_MS + 5 * 3600_000, day0 + 3 * DAY_MS + 9 * 3600_000 + 30_000, day0 + 3 * DAY_MS + 23 * 3600_000]) {
      const h = (await src.history(defs, now, 4)).get('blob/weu')!;
      const sla = dailyUptime(
        seriesFromObservations(
          obs.filter((o) => o.at < now),
          day0,
          day0 + 4 * DAY_MS,
          { ...opts, cells: ['c1', 'c2'] },
        ),
        day0,
        4,
        { measure: 'minutes', nowMs: now },
      );
      assert.deepEqual(
        h.days.map((d) => [d.day, formatPercent(d.percent), d.minutes]),
        sla.map((d) => [d.day, formatPercent(d.percent), d.minutes]),
      );
      assert.ok(h.days.some((d) => d.percent < 100));
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the page history of a month sums to the figure the SLA report shows for it, maintenance included', { timeout: 120_000 }, async () => {
  const { configSchema } = await import('../src/config/schema.js');
  const { slaReportFromStore } = await import('../src/sla/from-store.js');
  const { parseMonth } = await import('../src/sla/report.js');
  const { seriesOptionsFromConfig } = await import('../src/sla/from-store.js');
  const { measureFromSlaConfig, maintenanceFromIncidents } = await import('../src/statuspage/history.js');
  const { componentsFromConfig } = await import('../src/status/status.js');
  const { sumUptime } = await import('../src/sla/availability.js');
  const { scheduleMaintenance } = await import('../src/incidents/lifecycle.js');
  const dir = await mkdtemp(join(tmpdir(), 'etape-hist-'));
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const config = configSchema.parse({
      fleet: { regions: [{ id: 'weu', geography: 'europe', canary: true, cells: [{ id: 'c1' }, { id: 'c2' }] }] },
      services: [{ name: 'vm' }],
      sla: [{ service: 'vm', preset: 'compute' }],
    });
    const period = parseMonth('2026-11');
    const obs: Observation[] = [];
    for (let t = period.fromMs; t < period.toMs; t += 2 * MINUTE_MS)
      for (const cell of ['c1', 'c2']) {
        const h = (t - period.fromMs) / 3600_000;
        if (h > 100 && h < 103 && cell === 'c1') continue; // no evidence from c1 for a while
        obs.push({
          service: 'vm',
          region: 'weu',
          cell,
          source: 'http',
          at: t + 5_000,
          verdict: h > 300 && h < 301.2 ? 'fail' : 'pass',
          latencyMs: 30,
        });
      }
    await store.recordObservations(obs);
    const m = scheduleMaintenance(
      {
        id: 'mnt-1',
        title: 'Upgrade',
        components: ['vm/weu'],
        body: '',
        scheduledFor: period.fromMs + 400 * 3600_000,
        scheduledUntil: period.fromMs + 402 * 3600_000,
        actor: 't',
      },
      period.fromMs,
    );
    await store.saveIncident(m);
    const now = period.toMs + 30 * MINUTE_MS;
    const report = await slaReportFromStore({ config, store, period, nowMs: now });
    const unit = report.units.find((u) => u.id === 'vm/weu')!;
    assert.ok(unit.percent < 100);
    const src = new StoreHistorySource(store, seriesOptionsFromConfig(config), {
      measure: measureFromSlaConfig(config.sla),
      maintenance: maintenanceFromIncidents([m], config.sla),
    });
    const h = (await src.history(componentsFromConfig(config), now, 31)).get('vm/weu')!;
    const november = h.days.filter((d) => d.day.startsWith('2026-11'));
    assert.equal(november.length, 30);
    assert.equal(formatPercent(sumUptime(november).percent), unit.shown);
    assert.equal(sumUptime(november).maintenanceMinutes, 120);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

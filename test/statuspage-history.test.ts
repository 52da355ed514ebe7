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
import type { ComponentDef } from '../src/statuspage/status.js';

test('store-backed history equals dailyUptime over the whole window, and stays equal as time moves on', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etape-hist-'));
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const day0 = Date.UTC(2026, 10, 20);
    const defs: ComponentDef[] = [{ id: 'blob/weu', service: 'blob', region: 'weu', regionName: 'weu', geography: 'europe', cells: ['c1', 'c2'] }];
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
      const sla = dailyUptime(seriesFromObservations(obs.filter((o) => o.at < now), day0, day0 + 4 * DAY_MS, { ...opts, cells: ['c1', 'c2'] }), day0, 4, { measure: 'minutes', nowMs: now });
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

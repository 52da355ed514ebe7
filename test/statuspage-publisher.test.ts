// The publisher loop `etape serve` runs: builds at start and on every interval of its clock, until stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { startStatusPublisher } from '../src/statuspage/publisher.js';
import { componentSeriesFromStore } from '../src/sla/from-store.js';
import { MinuteState } from '../src/sla/availability.js';

test('startStatusPublisher rebuilds on its interval and stops cleanly', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etape-pub-'));
  const store = await openStore(join(dir, 'etape.db'));
  const T0 = Date.UTC(2026, 10, 25, 0, 0);
  const clock = new VirtualClock(T0);
  const config = configSchema.parse({
    fleet: { regions: [{ id: 'weu', geography: 'europe', cells: [{ id: 'c1' }] }] },
    services: [{ name: 'blob' }],
    statuspage: { title: 'Loop', buildEvery: '15s' },
  });
  const out = join(dir, 'site');
  const pub = startStatusPublisher({ store, config, clock, outDir: out });
  try {
    const first = await pub.buildNow();
    assert.equal(first.headline.noEvidence, true);
    await store.recordObservations([
      { service: 'blob', region: 'weu', cell: 'c1', source: 'http', at: T0 + 10_000, verdict: 'pass', latencyMs: 20 },
    ]);
    // Wait until the loop sleeps on the virtual clock, then move it past the interval.
    for (let i = 0; i < 200 && clock.nextWake() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    clock.advance(15_000);
    for (let i = 0; i < 500 && pub.lastReport?.at !== T0 + 15_000; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pub.lastReport?.at, T0 + 15_000);
    assert.equal(pub.lastReport?.headline.description, 'All Systems Operational');
    const s = JSON.parse(await readFile(join(out, 'api/v2/status.json'), 'utf8')) as {
      generated_at: string;
      status: { indicator: string };
    };
    assert.equal(s.generated_at, new Date(T0 + 15_000).toISOString());
    assert.equal(s.status.indicator, 'none');
  } finally {
    await pub.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'a judge gate falling silent after its rollout leaves a healthy component operational, on the page and in the SLA',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etape-pub-judge-'));
    const store = await openStore(join(dir, 'etape.db'));
    const T0 = Date.UTC(2026, 10, 25, 0, 0);
    const clock = new VirtualClock(T0);
    const config = configSchema.parse({
      fleet: { regions: [{ id: 'weu', geography: 'europe', cells: [{ id: 'c1' }] }] },
      services: [
        {
          name: 'blob',
          probes: [{ name: 'http', url: 'http://127.0.0.1:1/health' }],
          gates: [
            { kind: 'probe', name: 'health', probe: 'http' },
            {
              kind: 'judge',
              name: 'canary-judge',
              prometheus: 'http://127.0.0.1:9090',
              metrics: [{ name: 'errors', kind: 'count', query: 'x', totalQuery: 'y' }],
            },
          ],
        },
      ],
      statuspage: { title: 'Judge', rules: { freshFor: '3m' } },
    });
    // The judge spoke during a rollout an hour ago (inconclusive: not enough data yet), then the rollout ended.
    await store.recordObservations([
      {
        service: 'blob',
        region: 'weu',
        cell: 'c1',
        source: 'canary-judge',
        at: T0 - 3_600_000,
        verdict: 'inconclusive',
        evidenceFraction: 0.4,
      },
    ]);
    // The probe has kept passing ever since, every 10 s.
    const probes = [];
    for (let t = T0 - 3_600_000; t <= T0; t += 10_000)
      probes.push({ service: 'blob', region: 'weu', cell: 'c1', source: 'http', at: t, verdict: 'pass' as const, latencyMs: 20 });
    await store.recordObservations(probes);
    const pub = startStatusPublisher({ store, config, clock, outDir: join(dir, 'site') });
    try {
      const r = await pub.buildNow();
      assert.equal(r.headline.description, 'All Systems Operational', 'a silent judge is not "unknown"');
      const series = await componentSeriesFromStore({
        config,
        store,
        service: 'blob',
        region: 'weu',
        fromMs: T0 - 3_600_000,
        toMs: T0,
        nowMs: T0,
      });
      assert.ok(
        series.states.every((s) => s === MinuteState.UP),
        'every minute of the hour is up: the judge\'s "not enough data yet" degrades no minute of availability',
      );
      // A judgment is known by its evidence fraction even when the config at hand lacks the gate (the demo adds
      // its judge to the rollout's config only).
      const withoutGate = configSchema.parse({ ...config, services: [{ name: 'blob', probes: config.services[0].probes }] });
      const pub2 = startStatusPublisher({ store, config: withoutGate, clock, outDir: join(dir, 'site2') });
      try {
        assert.equal((await pub2.buildNow()).headline.description, 'All Systems Operational');
      } finally {
        await pub2.stop();
      }
    } finally {
      await pub.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

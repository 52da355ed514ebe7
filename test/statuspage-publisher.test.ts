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
    await store.recordObservations([{ service: 'blob', region: 'weu', cell: 'c1', source: 'http', at: T0 + 10_000, verdict: 'pass', latencyMs: 20 }]);
    // Wait until the loop sleeps on the virtual clock, then move it past the interval.
    for (let i = 0; i < 200 && clock.nextWake() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    clock.advance(15_000);
    for (let i = 0; i < 500 && pub.lastReport?.at !== T0 + 15_000; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pub.lastReport?.at, T0 + 15_000);
    assert.equal(pub.lastReport?.headline.description, 'All Systems Operational');
    const s = JSON.parse(await readFile(join(out, 'api/v2/status.json'), 'utf8')) as { generated_at: string; status: { indicator: string } };
    assert.equal(s.generated_at, new Date(T0 + 15_000).toISOString());
    assert.equal(s.status.indicator, 'none');
  } finally {
    await pub.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

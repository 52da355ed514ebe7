// Publish on change: a component whose status changes is on the published page at once (debounced), not at
// the next timed build. The real runtime probes a loopback target; the real publisher's heartbeat is a minute
// away, so only the change itself can have published what the page shows within the waits below.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import { composeRuntime } from '../src/controller/runtime.js';
import { openStore } from '../src/store/open.js';
import { startStatusPublisher, type StatusPublisher } from '../src/statuspage/publisher.js';
import { listen, waitFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'etape-on-change-'));
let answer = 200;
const target = createServer((_req, res) => res.writeHead(answer).end(String(answer)));
after(() => {
  target.close();
  rmSync(dir, { recursive: true, force: true });
});

const HEARTBEAT_MS = 60_000;
/** Well inside the heartbeat: a page that changes within this was published by the change. */
const WITHIN_MS = HEARTBEAT_MS / 3;

function componentStatus(out: string): string | undefined {
  try {
    const s = JSON.parse(readFileSync(join(out, 'api/v2/summary.json'), 'utf8')) as { components: { name: string; status: string }[] };
    return s.components[0]?.status;
  } catch {
    return undefined; // not written yet
  }
}

test('a status change reaches the published page long before the next timed build', { timeout: 90_000 }, async () => {
  const port = await listen(target);
  const config = configSchema.parse({
    fleet: { regions: [{ id: 'r1', geography: 'g1', cells: [{ id: 'c1', vars: { port } }] }] },
    services: [
      {
        name: 'blob',
        driver: { kind: 'exec', deploy: 'true' },
        probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/', interval: '500ms', timeout: '2s' }],
      },
    ],
  });
  const store = await openStore(join(dir, 'etape.db'));
  const out = join(dir, 'site');
  const page: { publisher?: StatusPublisher } = {};
  const runtime = composeRuntime({
    store,
    config,
    listener: { evidence: (obs) => page.publisher?.evidence(obs), events: (evs) => page.publisher?.events(evs) },
  });
  const publisher = startStatusPublisher({ store, config, clock: systemClock, outDir: out, intervalMs: HEARTBEAT_MS });
  page.publisher = publisher;
  try {
    // The first (heartbeat) build has no evidence; only then do the probes start.
    await waitFor('the first build', () => publisher.lastReport);
    assert.notEqual(componentStatus(out), 'operational');
    runtime.start();
    await waitFor('the page showing the component operational', () => componentStatus(out) === 'operational', WITHIN_MS);
    answer = 500;
    await waitFor('the page showing the outage', () => /outage/.test(componentStatus(out) ?? '') || undefined, WITHIN_MS);
    answer = 200;
    await waitFor('the page showing the component operational again', () => componentStatus(out) === 'operational', WITHIN_MS);
  } finally {
    await runtime.stop();
    await publisher.stop();
    await store.close();
  }
});

// The composition root: what `etape serve`, `rollout follow` and the demo all run. Its probe runner writes
// through the controller's sink with one set of settings; bad news is stored at once, good news in batches.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { composeRuntime, DEFAULT_RUNTIME_SETTINGS } from '../src/controller/runtime.js';
import { openStore } from '../src/store/open.js';
import { listen, waitFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'etape-runtime-'));
const good = createServer((_req, res) => res.writeHead(200).end('ok'));
const bad = createServer((_req, res) => res.writeHead(503).end('no'));
after(() => {
  good.close();
  bad.close();
  rmSync(dir, { recursive: true, force: true });
});

test('one set of settings, and a failing probe reaches the store without waiting for the batch', async () => {
  const ports = { good: await listen(good), bad: await listen(bad) };
  const config = configSchema.parse({
    fleet: {
      regions: [
        {
          id: 'r1',
          geography: 'g1',
          cells: [
            { id: 'ok', vars: { port: ports.good } },
            { id: 'down', vars: { port: ports.bad } },
          ],
        },
      ],
    },
    services: [
      {
        name: 'blob',
        driver: { kind: 'exec', deploy: 'true' },
        probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/', interval: '1h', timeout: '5s' }],
      },
    ],
  });
  const store = await openStore(join(dir, 'etape.db'));
  try {
    assert.deepEqual(composeRuntime({ store, config }).settings, DEFAULT_RUNTIME_SETTINGS);
    const runtime = composeRuntime({ store, config, settings: { probeFlushEveryMs: 3_600_000 } });
    assert.equal(runtime.settings.probeBatchSize, DEFAULT_RUNTIME_SETTINGS.probeBatchSize, 'what the user did not set keeps its default');
    runtime.start();
    // Both cells are probed once at start. The timed flush is an hour away: the failure is written at once.
    const stored = await waitFor('the failing observation in the store', async () => {
      const o = await store.queryObservations({ service: 'blob' });
      return o.some((x) => x.cell === 'down') ? o : undefined;
    });
    assert.equal(stored.find((o) => o.cell === 'down')?.verdict, 'fail');
    await waitFor('the passing probe measured', () => runtime.prober!.stats.measured === 2);
    await runtime.stop();
    // Stopping writes what was buffered.
    const all = await store.queryObservations({ service: 'blob' });
    assert.deepEqual(all.map((o) => `${o.cell}:${o.verdict}`).sort(), ['down:fail', 'ok:pass']);
  } finally {
    await store.close();
  }
});

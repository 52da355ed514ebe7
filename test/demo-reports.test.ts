// The demo's reports without a fleet: customers' request counts become observations, and one status build
// plus the SLA report over a window are written from a run's store. Fast; the end-to-end run is demo.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/open.js';
import { defaultFleetSpec, pairsOf, type Fleet } from '../src/demo/fleet.js';
import { demoConfig, demoCustomers } from '../src/demo/demo-config.js';
import { customerObservations, CUSTOMER_SOURCE, writeStatusAndSla } from '../src/demo/reports.js';
import type { Observation } from '../src/core/types.js';

const spec = defaultFleetSpec({ regions: 2, cells: 2 });
const fakeFleet = { port: () => 40_000 } as unknown as Fleet;
const o = { intervalMs: 500, timeoutMs: 1000, k: 3, canaryBakeMs: 10_000, bakeMs: 4000 };

test('customer buckets become one observation per cell and second, with requests and failures', () => {
  const obs = customerObservations('blob', [
    {
      at: 1_000,
      regions: {},
      cells: {
        'eu-north/cell-1': { ok: 8, error: 1, timeout: 1 },
        'eu-west/cell-2': { ok: 5, error: 0, timeout: 0 },
        'eu-west/cell-1': { ok: 0, error: 0, timeout: 0 },
      },
    },
  ]);
  assert.equal(obs.length, 2, 'a cell without requests in that second has no observation');
  const a = obs.find((x) => x.region === 'eu-north')!;
  assert.deepEqual(
    { cell: a.cell, source: a.source, at: a.at, verdict: a.verdict, requests: a.requests, failures: a.failures },
    { cell: 'cell-1', source: CUSTOMER_SOURCE, at: 1_999, verdict: 'fail', requests: 10, failures: 2 },
  );
  assert.equal(obs.find((x) => x.region === 'eu-west')!.verdict, 'pass');
});

test('the demo config carries an SLA, customers per pair and short incident thresholds, and validates', () => {
  const { config, yamlText } = demoConfig({ o: o as never, spec }, fakeFleet);
  assert.equal(config.sla[0].service, 'blob');
  assert.equal(config.sla[0].preset, 'storage');
  const pairs = pairsOf(spec);
  const custs = demoCustomers(spec);
  assert.equal(custs.filter((c) => c.uses[0].geoRedundant).length, pairs.length);
  assert.ok(custs.some((c) => !c.uses[0].geoRedundant && c.uses[0].regions.length === 1));
  assert.equal(config.customers.length, custs.length);
  assert.equal(config.incidents.openAfter, '2s');
  assert.match(yamlText, /customers:/);
});

test('writeStatusAndSla: failing customers in both regions of a pair owe credits; passing ones owe none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-demo-reports-'));
  try {
    const { config } = demoConfig({ o: o as never, spec }, fakeFleet);
    const now = Date.now();
    const from = now - 30_000;
    const run = async (name: string, failing: boolean) => {
      const store = await openStore(join(dir, name, 'etape.db'));
      try {
        const obs: Observation[] = [];
        for (let t = from; t < now; t += 1000)
          for (const r of spec.regions)
            for (const c of r.cells) {
              const bad = failing && !r.canary;
              obs.push({ service: 'blob', region: r.id, cell: c, source: 'health', at: t, verdict: bad ? 'fail' : 'pass', latencyMs: 2 });
              obs.push({
                service: 'blob',
                region: r.id,
                cell: c,
                source: CUSTOMER_SOURCE,
                at: t,
                verdict: bad ? 'fail' : 'pass',
                requests: 10,
                failures: bad ? 8 : 0,
              });
            }
        await store.recordObservations(obs);
        return await writeStatusAndSla({ store, config, dir: join(dir, name), fromMs: from, toMs: now, label: name });
      } finally {
        await store.close();
      }
    };
    const bad = await run('bad', true);
    const good = await run('good', false);
    const total = (t: Record<string, number>) => Object.values(t).reduce((n, x) => n + x, 0);
    assert.ok(total(bad.sla.totals) > 0, JSON.stringify(bad.sla));
    assert.equal(total(good.sla.totals), 0, JSON.stringify(good.sla));
    // Every pair customer is owed when both regions of its pair fail; the canary customer is not.
    assert.equal(bad.sla.customersOwed, bad.sla.customers - 1);
    for (const [name, r] of [
      ['bad', bad],
      ['good', good],
    ] as const) {
      for (const f of ['status/index.html', 'status/api/v2/summary.json', 'status/feed.atom', 'sla.txt', 'sla.json'])
        assert.ok(existsSync(join(dir, name, f)), `${name}/${f}`);
      assert.match(readFileSync(join(dir, name, 'status/index.html'), 'utf8'), /<meta name="generated_at"/);
      assert.match(readFileSync(join(dir, name, 'sla.txt'), 'utf8'), /if this window were the whole billing month/);
      assert.equal(r.statusUrl.startsWith('file://'), true);
    }
    assert.match(good.headline, /All Systems Operational/);
    assert.doesNotMatch(bad.headline, /All Systems Operational/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

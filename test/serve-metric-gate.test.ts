// `etape serve` runs metric gates against a real Prometheus: a version whose error ratio is over the gate's
// condition is halted and rolled back by that gate; a good version goes through every wave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { startRollout } from '../src/rollout/operations.js';
import { systemClock } from '../src/core/clock.js';
import { startLocalPrometheus } from '../src/demo/local-prometheus.js';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';

const ROOT = new URL('..', import.meta.url).pathname;
const REGIONS = [
  { id: 'r1', cells: ['c1'], canary: true },
  { id: 'r2', cells: ['c1'] },
  { id: 'r3', cells: ['c1'] },
];

test('etape serve halts a rollout on a failing metric gate and lets a good version through', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-serve-metric-'));
  const fleet = new TargetFleet(REGIONS.flatMap((r) => r.cells.map((c) => `${r.id}/${c}`)));
  await fleet.start();
  // Each target's error ratio, as its exporter would report it: versions named "bad" fail 20% of requests.
  const exporter = createServer((_req, res) => {
    let body = '# TYPE etape_test_error_ratio gauge\n';
    for (const [id, t] of fleet.targets) {
      const [region, cell] = id.split('/');
      body += `etape_test_error_ratio{region="${region}",cell="${cell}"} ${t.version.includes('bad') ? 0.2 : 0.001}\n`;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
  const prom = await startLocalPrometheus({ targets: [`127.0.0.1:${(exporter.address() as AddressInfo).port}`], scrapeInterval: '1s' });
  const db = join(dir, 'etape.db');
  const cfgFile = join(dir, 'etape.yaml');
  const raw = {
    fleet: fleetConfig(fleet, REGIONS),
    policy: { bake: { canary: '3s', first: '2s', later: '2s' } },
    services: [
      {
        name: 'blob',
        initialVersion: 'v1',
        driver: fleet.execDriver(),
        probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '250ms', timeout: '2s' }],
        gates: [
          { kind: 'probe', name: 'health', probe: 'http', failAfter: 3 },
          {
            kind: 'metric',
            name: 'error-ratio',
            prometheus: prom.url,
            query: 'max(etape_test_error_ratio{region="{region}",cell="{cell}"})',
            successCondition: 'result < 0.05',
            interval: '1s',
            timeout: '2s',
          },
        ],
      },
    ],
    server: { reconcileEvery: '200ms' },
    statuspage: { out: join(dir, 'status') },
  };
  writeFileSync(cfgFile, JSON.stringify(raw, null, 2));
  const config = configSchema.parse(raw);
  const store = await openStore(db);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfgFile, '--store', db, '--listen', '127.0.0.1:0'],
    {
      cwd: ROOT,
      env: { ...process.env, ETAPE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const ended = async (id: string) => {
    for (let i = 0; i < 2400; i++) {
      const r = (await store.getRollout(id))!;
      if (['completed', 'rolled_back', 'failed'].includes(r.phase)) return r.phase;
      if (child.exitCode !== null) throw new Error(`etape serve died:\n${out}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`rollout ${id} did not end:\n${out}`);
  };
  try {
    const bad = await startRollout({ store, config, clock: systemClock }, { service: 'blob', version: 'v2-bad', actor: 'test' });
    assert.equal(await ended(bad.id), 'rolled_back');
    const events = await store.listEvents({ rolloutId: bad.id });
    const halted = events.find((e) => e.type === 'rollout.halted');
    assert.ok(halted, 'a halt event');
    assert.match(JSON.stringify(halted.data), /error-ratio/, `halted by the metric gate: ${JSON.stringify(halted.data)}`);
    const versions = await fleet.versions();
    for (const [id, v] of versions) assert.equal(v, 'v1', `${id} back on v1`);
    assert.ok(
      !fleet.applied.some((a) => a.version === 'v2-bad' && !a.target.startsWith('r1/')),
      'only the canary ever ran the bad version',
    );

    const good = await startRollout({ store, config, clock: systemClock }, { service: 'blob', version: 'v2', actor: 'test' });
    assert.equal(await ended(good.id), 'completed', out);
    for (const [id, v] of await fleet.versions()) assert.equal(v, 'v2', `${id} on v2`);
    const metricObs = await store.queryObservations({ service: 'blob', source: 'error-ratio' });
    assert.ok(
      metricObs.some((o) => o.verdict === 'pass') && metricObs.some((o) => o.verdict === 'fail'),
      'the gate measured both versions',
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
    await prom.stop();
    exporter.closeAllConnections();
    await new Promise((r) => exporter.close(r));
    await fleet.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A real Prometheus scrapes /metrics from `etape serve`: the series etape exposes about itself arrive
// (rollouts by phase, waves, gate verdicts, probe latency and errors, leases and takeovers, the store being
// up, the observation backlog), queried back through Prometheus's own API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPrometheus } from '../src/demo/local-prometheus.js';
import { openStore } from '../src/store/open.js';
import { newRolloutState } from '../src/rollout/state.js';
import { listen, waitFor } from './helpers.js';
import { handPlan, probeGateSpec } from './sim.js';

const ROOT = new URL('..', import.meta.url).pathname;

test('a real Prometheus scrapes /metrics from etape serve', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-metrics-'));
  const cfg = join(dir, 'etape.yaml');
  const db = join(dir, 'etape.db');
  const target = createServer((_req, res) => res.writeHead(200).end('ok'));
  const port = await listen(target);
  // Accepts and never answers: every probe of it times out.
  const hang = createServer(() => {});
  const hangPort = await listen(hang);
  writeFileSync(
    cfg,
    JSON.stringify({
      fleet: {
        regions: [
          { id: 'r1', geography: 'g1', canary: true, cells: [{ id: 'c1' }] },
          { id: 'r2', geography: 'g1', cells: [{ id: 'c1' }] },
        ],
      },
      services: [
        {
          name: 'blob',
          initialVersion: 'v1',
          driver: { kind: 'exec', deploy: 'true' },
          probes: [
            { name: 'http', url: `http://127.0.0.1:${port}/{region}`, interval: '1s', timeout: '1s' },
            { name: 'down', url: `http://127.0.0.1:${hangPort}/`, interval: '1s', timeout: '200ms' },
          ],
        },
      ],
      statuspage: { out: join(dir, 'status') },
    }),
  );
  // One finished rollout, and one paused in its first wave's bake with a passing gate.
  const store = await openStore(db);
  await store.createRollout(
    { id: 'done-1', service: 'blob', version: 'v0', phase: 'completed', state: {}, createdAt: 1, updatedAt: 1 },
    [],
  );
  const plan = handPlan('blob', [
    { targets: ['r1/c1'], bakeMs: 3_600_000, gates: ['health'] },
    { targets: ['r2/c1'], bakeMs: 3_600_000, gates: ['health'] },
  ]);
  const s = newRolloutState({
    id: 'paused-1',
    plan,
    version: 'v2',
    fromVersion: 'v1',
    gates: [probeGateSpec('health')],
    createdAt: 2,
    createdBy: 'test',
  });
  s.phase = 'paused';
  s.pausedBy = 'test';
  s.waves[0] = {
    ...s.waves[0],
    status: 'baking',
    startedAt: 2,
    bakeStartedAt: 2,
    verdicts: [{ gate: 'health', kind: 'probe', verdict: 'pass', reason: 'ok', at: 2 }],
  };
  await store.createRollout({ id: 'paused-1', service: 'blob', version: 'v2', phase: 'paused', state: s, createdAt: 2, updatedAt: 2 }, []);
  await store.close();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfg, '--store', db, '--listen', '127.0.0.1:0'],
    {
      cwd: ROOT,
      env: { ...process.env, ETAPE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let prom: Awaited<ReturnType<typeof startLocalPrometheus>> | undefined;
  try {
    const addr = await waitFor(
      'serve to listen',
      () => (child.exitCode !== null ? Promise.reject(new Error(out)) : /listening on http:\/\/(\S+)/.exec(out)?.[1]),
      30_000,
    );
    const text = await (await fetch(`http://${addr}/metrics`)).text();
    assert.match(text, /etape_rollouts\{phase="completed"\} 1/);
    prom = await startLocalPrometheus({ targets: [addr], scrapeInterval: '1s' });
    const query = async (q: string) =>
      (
        (await (await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        }
      ).data.result;
    const value = async (q: string) => Number((await query(q))[0]?.value[1]);
    // Probes ran (and timed out on the hanging target) and were scraped.
    await waitFor(
      'probe series in Prometheus',
      async () =>
        (await value('sum(etape_probe_latency_seconds_count{probe="http"})')) > 0 &&
        (await value('sum(etape_probe_errors_total{probe="down"})')) > 0,
      60_000,
    );
    assert.equal(await value('etape_rollouts{phase="completed"}'), 1);
    assert.equal(await value('etape_rollouts{phase="paused"}'), 1);
    assert.equal(await value('etape_waves{status="baking"}'), 1);
    assert.equal(await value('etape_waves{status="waiting"}'), 1);
    assert.equal(await value('etape_gate_verdicts{service="blob",gate="health",verdict="pass"}'), 1);
    assert.ok((await value('sum(etape_probe_results_total{source="http",verdict="pass"})')) > 0);
    assert.ok((await value('sum(etape_probe_results_total{source="down",verdict="fail"})')) > 0);
    assert.equal(await value('etape_store_up'), 1);
    assert.equal(await value('etape_up'), 1);
    // Present from the start, so a rate() or an alert has a series to read.
    for (const q of [
      'etape_observation_backlog',
      'etape_rollout_lease_takeovers_total',
      'etape_store_errors_total',
      'etape_rollout_leases_held',
    ])
      assert.ok(Number.isFinite(await value(q)), q);
  } finally {
    await prom?.stop();
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    target.close();
    hang.closeAllConnections();
    hang.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A real Prometheus scrapes /metrics from `etape serve`: the series etape exposes about itself arrive
// (rollouts by phase, the store being up), queried back through Prometheus's own API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPrometheus } from '../src/demo/local-prometheus.js';
import { openStore } from '../src/store/open.js';

const ROOT = new URL('..', import.meta.url).pathname;

test('a real Prometheus scrapes /metrics from etape serve', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-metrics-'));
  const cfg = join(dir, 'etape.yaml');
  const db = join(dir, 'etape.db');
  writeFileSync(
    cfg,
    JSON.stringify({
      fleet: {
        regions: [
          { id: 'r1', geography: 'g1', canary: true, cells: [{ id: 'c1' }] },
          { id: 'r2', geography: 'g1', cells: [{ id: 'c1' }] },
        ],
      },
      services: [{ name: 'blob', initialVersion: 'v1', driver: { kind: 'exec', deploy: 'true' } }],
      statuspage: { out: join(dir, 'status') },
    }),
  );
  // One finished rollout in the store, so that a phase has a count.
  const store = await openStore(db);
  await store.createRollout(
    { id: 'done-1', service: 'blob', version: 'v0', phase: 'completed', state: {}, createdAt: 1, updatedAt: 1 },
    [],
  );
  await store.close();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfg, '--store', db, '--listen', '127.0.0.1:0', '--no-probes'],
    { cwd: ROOT, env: { ...process.env, ETAPE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let prom: Awaited<ReturnType<typeof startLocalPrometheus>> | undefined;
  try {
    const end = Date.now() + 30_000;
    while (!out.includes('listening on') && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const m = /listening on http:\/\/(\S+)/.exec(out);
    assert.ok(m, out);
    const text = await (await fetch(`http://${m[1]}/metrics`)).text();
    assert.match(text, /etape_rollouts\{phase="completed"\} 1/);
    prom = await startLocalPrometheus({ targets: [m[1]], scrapeInterval: '1s' });
    const query = async (q: string) =>
      (
        (await (await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        }
      ).data.result;
    const completed = await query('etape_rollouts{phase="completed"}');
    assert.equal(completed[0]?.value[1], '1', JSON.stringify(completed));
    assert.equal((await query('etape_store_up'))[0]?.value[1], '1');
    assert.equal((await query('etape_up'))[0]?.value[1], '1');
  } finally {
    await prom?.stop();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});

// The demo fleet's own blob front-ends (real processes) with their faults, scraped by a real Prometheus and
// judged by the canary judge with the metrics they expose: `--fault errors` fails the error metric,
// `--fault latency` fails the latency metric, the same code passes. Load is real HTTP requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { blobServerCommand } from '../src/demo/fleet.js';
import { gateSchema, type GateConfig } from '../src/config/service.js';
import { PrometheusClient, measureJudge, type QueryTarget } from '../src/evidence/prometheus.js';
import { startLocalPrometheus, type LocalPrometheus } from '../src/demo/local-prometheus.js';

const PROMETHEUS = '/usr/bin/prometheus';
const children: ChildProcess[] = [];
let prom: LocalPrometheus | undefined;
let stopLoad = false;
let load: Promise<void> | undefined;
let start = 0;

interface Cell extends QueryTarget {
  base: string;
}
const cells: Record<string, Cell> = {};

async function startCell(cell: string, version: string, extra: string[]): Promise<Cell> {
  const { command, args } = blobServerCommand();
  const child = spawn(command, [...args, '--region', 'westeurope', '--cell', cell, '--version', version, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
    child.once('exit', (code) => reject(new Error(`blob front-end exited early: ${code}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return { region: 'westeurope', cell, version, base: `http://127.0.0.1:${port}` };
}

/** Keeps `perCell` requests in flight against each cell's blob path until stopped. */
async function drive(targets: Cell[], perCell: number): Promise<void> {
  const one = async (c: Cell, i: number) => {
    while (!stopLoad) {
      try {
        const r = await fetch(`${c.base}/blobs/${i % 2 ? 'a' : 'missing'}`, { signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
      } catch {
        /* a timed-out request is data for the judge, not for the driver */
      }
      await new Promise((r) => setTimeout(r, 5)); // a steady load that leaves the machine room to scrape
    }
  };
  await Promise.all(targets.flatMap((c) => Array.from({ length: perCell }, (_, i) => one(c, i))));
}

before(async () => {
  assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: run scripts/setup-test-deps.sh`);
  const started = await Promise.all([
    startCell('cell-1', 'v1', []),
    startCell('cell-2', 'v1', []),
    startCell('cell-3', 'v2', ['--fault', 'errors', '--error-rate', '0.05']),
    startCell('cell-4', 'v3', ['--fault', 'latency', '--latency-ms', '150']),
    startCell('cell-5', 'v4', []),
  ]);
  for (const c of started) cells[c.cell] = c;
  for (const c of started) await fetch(`${c.base}/blobs/a`, { method: 'PUT', body: 'blob' });
  prom = await startLocalPrometheus({
    targets: started.map((c) => c.base.replace('http://', '')),
    scrapeInterval: '1s',
    binary: PROMETHEUS,
  });
  start = Date.now();
  load = drive(started, 2);
});

after(async () => {
  stopLoad = true;
  await load;
  await prom?.stop();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});

// The demo's metric names: etape_blob_requests_total{route,method,code} and the latency histogram.
const sel = 'region="{region}",cell="{cell}",version="{version}"';
const gate = gateSchema.parse({
  kind: 'judge',
  name: 'canary-judge',
  prometheus: 'http://127.0.0.1:9090',
  step: '1s',
  minRequests: 400,
  minSamples: 8,
  perCell: false,
  metrics: [
    {
      name: 'errors',
      kind: 'count',
      query: `etape_blob_requests_total{${sel},route="blobs",code=~"5.."}`,
      totalQuery: `etape_blob_requests_total{${sel},route="blobs"}`,
    },
    {
      name: 'p99 latency',
      kind: 'latency',
      query: `histogram_quantile(0.99, sum by (le) (rate(etape_blob_request_duration_seconds_bucket{${sel}}[3s])))`,
    },
  ],
}) as Extract<GateConfig, { kind: 'judge' }>;

async function decide(canary: Cell) {
  const client = new PrometheusClient({ baseUrl: prom!.url, timeoutMs: 5000 });
  const baseline = [cells['cell-1'], cells['cell-2']];
  // The judge is sequential: it decides once the canary has served enough requests, which on a loaded
  // machine takes longer. The deadline is only a safety net, far beyond what a quiet machine needs.
  const deadline = Date.now() + 150_000;
  for (;;) {
    const m = await measureJudge(client, gate, 'blob', [canary], baseline, start, Date.now());
    const o = m.observations[0];
    if (o.verdict === 'pass' || o.verdict === 'fail') return m;
    if (Date.now() > deadline) {
      const up = await client.instant('up');
      const n = await client.instant('count(etape_blob_requests_total)');
      return { ...m, observations: [{ ...o, detail: `${o.detail} [up: ${JSON.stringify(up)}; series: ${JSON.stringify(n)}]` }] };
    }
    if (o.verdict === 'error') throw new Error(o.detail);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('--fault errors is caught by the error metric', async () => {
  const m = await decide(cells['cell-3']);
  assert.equal(m.observations[0].verdict, 'fail', m.observations[0].detail);
  assert.equal(m.result!.metrics.find((x) => x.name === 'errors')!.verdict, 'fail');
  assert.match(m.observations[0].detail ?? '', /errors rate \+(\d+%|∞) \(98% CI/);
});

test('--fault latency is caught by the latency metric', async () => {
  const m = await decide(cells['cell-4']);
  assert.equal(m.observations[0].verdict, 'fail', m.observations[0].detail);
  assert.equal(m.result!.metrics.find((x) => x.name === 'p99 latency')!.verdict, 'fail');
  assert.match(m.observations[0].detail ?? '', /p99 latency \+\d+% \(98% CI/);
});

test('the same code on a new version passes', async () => {
  const m = await decide(cells['cell-5']);
  assert.equal(m.observations[0].verdict, 'pass', m.observations[0].detail);
});

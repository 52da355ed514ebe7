// A real Prometheus scrapes real loopback servers (a baseline and two canaries counting requests by
// status code); the canary judge queries it over its HTTP API. One more percentage point of errors on
// a canary is caught; an identical version passes; a dead Prometheus is an error, a missing series is
// inconclusive. Every wait is on a condition; everything started here is stopped here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from './helpers.js';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { PrometheusClient, measureJudge, measureMetricGate, renderQuery, type QueryTarget } from '../src/evidence/prometheus.js';
import { startLocalPrometheus, type LocalPrometheus } from '../src/demo/local-prometheus.js';
import { gateSchema, type GateConfig } from '../src/config/service.js';
import { seededRandom } from '../src/core/random.js';

const PROMETHEUS = '/usr/bin/prometheus';

/** A loopback server whose simulated traffic (2,000 requests/s) fails at `errorRate`, counted by status code. */
function blobServer(labels: { version: string; region: string; cell: string }, errorRate: number, seed: number) {
  const rand = seededRandom(seed);
  const counts = { '200': 0, '500': 0 };
  const tick = setInterval(() => {
    for (let i = 0; i < 100; i++) counts[rand() < errorRate ? '500' : '200']++;
  }, 50);
  const lbl = `version="${labels.version}",region="${labels.region}",cell="${labels.cell}"`;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      '# HELP blob_requests_total Requests served, by status code.\n# TYPE blob_requests_total counter\n' +
        Object.entries(counts)
          .map(([code, n]) => `blob_requests_total{${lbl},code="${code}"} ${n}\n`)
          .join(''),
    );
  });
  return {
    server,
    async start(): Promise<number> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return (server.address() as AddressInfo).port;
    },
    async stop() {
      clearInterval(tick);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const servers = [
  blobServer({ version: 'v1', region: 'westeurope', cell: 'cell-1' }, 0.01, 1),
  blobServer({ version: 'v2', region: 'westeurope', cell: 'cell-2' }, 0.02, 2),
  blobServer({ version: 'v3', region: 'westeurope', cell: 'cell-3' }, 0.01, 3),
];
let prom: LocalPrometheus | undefined;
let promUrl = '';
let start = 0;

before(async () => {
  assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: run scripts/setup-test-deps.sh`);
  const ports = await Promise.all(servers.map((s) => s.start()));
  // Starts on a free loopback port with a generated config and a temporary storage folder, and resolves
  // once /api/v1/targets shows every server up (a condition, not a sleep).
  prom = await startLocalPrometheus({ targets: ports.map((p) => `127.0.0.1:${p}`), scrapeInterval: '1s', binary: PROMETHEUS });
  promUrl = prom.url;
  start = Date.now();
});

after(async () => {
  await prom?.stop();
  await Promise.all(servers.map((s) => s.stop()));
});

const gate = gateSchema.parse({
  kind: 'judge',
  name: 'canary-judge',
  prometheus: 'http://127.0.0.1:9090',
  step: '1s',
  minRequests: 2000,
  metrics: [
    {
      name: 'errors',
      kind: 'count',
      critical: true,
      query: 'blob_requests_total{version="{version}",region="{region}",cell="{cell}",code=~"5.."}',
      totalQuery: 'blob_requests_total{version="{version}",region="{region}",cell="{cell}"}',
    },
  ],
}) as Extract<GateConfig, { kind: 'judge' }>;

const baseline: QueryTarget = { region: 'westeurope', cell: 'cell-1', version: 'v1' };
const badCanary: QueryTarget = { region: 'westeurope', cell: 'cell-2', version: 'v2' };
const sameCanary: QueryTarget = { region: 'westeurope', cell: 'cell-3', version: 'v3' };

/** Looks again and again, as a bake does, until the judge decides (or the time runs out). */
async function lookUntilDecided(canary: QueryTarget) {
  const client = new PrometheusClient({ baseUrl: promUrl, timeoutMs: 5000 });
  return waitFor(
    `a decision on ${canary.version}`,
    async () => {
      const m = await measureJudge(client, gate, 'blob', [canary], [baseline], start, Date.now());
      const v = m.observations[0].verdict;
      if (v === 'error') throw new Error(m.observations[0].detail);
      return v === 'pass' || v === 'fail' ? m : undefined;
    },
    45_000,
    200,
  );
}

test('one more percentage point of errors on the canary is caught', async () => {
  const m = await lookUntilDecided(badCanary);
  const o = m.observations[0];
  assert.equal(o.verdict, 'fail', `${o.detail}\n${prom?.log() ?? ''}`);
  assert.equal(o.cell, 'cell-2');
  assert.match(o.detail ?? '', /critical metric failed: errors rate \+\d+% \(98% CI/);
  assert.equal(o.value, 0);
});

test('an identical version passes', async () => {
  const m = await lookUntilDecided(sameCanary);
  const o = m.observations[0];
  assert.equal(o.verdict, 'pass', `${o.detail}\n${prom?.log() ?? ''}`);
  assert.equal(o.evidenceFraction, 1);
  assert.ok(m.result && m.result.metrics[0].scopes[0].canarySamples >= 2000);
});

test('a series that does not exist is inconclusive, an unreachable Prometheus is an error', async () => {
  const client = new PrometheusClient({ baseUrl: promUrl, timeoutMs: 5000 });
  const missing = await measureJudge(client, gate, 'blob', [{ ...sameCanary, version: 'v9' }], [baseline], start, Date.now());
  assert.equal(missing.observations[0].verdict, 'inconclusive');
  const dead = new PrometheusClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000 });
  const down = await measureJudge(dead, gate, 'blob', [badCanary], [baseline], start, Date.now());
  assert.equal(down.observations[0].verdict, 'error');
  assert.match(down.observations[0].detail ?? '', /cannot reach Prometheus/);
  // A metric gate over the same source: PromQL syntax errors are errors, conditions decide the rest.
  const metric = gateSchema.parse({
    kind: 'metric',
    name: 'error-ratio',
    prometheus: promUrl,
    successCondition: 'result < 0.015',
    query: 'sum(blob_requests_total{version="{version}",code="500"}) / sum(blob_requests_total{version="{version}"})',
  }) as Extract<GateConfig, { kind: 'metric' }>;
  assert.equal(
    renderQuery(metric.query, badCanary),
    'sum(blob_requests_total{version="v2",code="500"}) / sum(blob_requests_total{version="v2"})',
  );
  const now = Date.now();
  assert.equal((await measureMetricGate(client, metric, 'blob', badCanary, now)).verdict, 'fail');
  assert.equal((await measureMetricGate(client, metric, 'blob', sameCanary, now)).verdict, 'pass');
  assert.equal((await measureMetricGate(client, metric, 'blob', { ...sameCanary, version: 'v9' }, now)).verdict, 'inconclusive');
  const broken = await measureMetricGate(client, { ...metric, query: 'sum(' }, 'blob', sameCanary, now);
  assert.equal(broken.verdict, 'error');
  assert.match(broken.detail ?? '', /bad_data|parse/);
});

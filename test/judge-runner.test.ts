// The Prometheus gate runner and client without a Prometheus: a fake fetch, a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../src/core/clock.js';
import type { Observation } from '../src/core/types.js';
import { serviceSchema } from '../src/config/service.js';
import { fleetSchema } from '../src/config/fleet.js';
import { PrometheusClient, PrometheusGateRunner, counterIncrements, renderQuery } from '../src/evidence/prometheus.js';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

test('templates fill known names only and escape values for PromQL strings', () => {
  const q = renderQuery('up{region="{region}",cell="{cell}",code=~"5.."} {unknown}', { region: 'west"europe', cell: 'c\\1' });
  assert.equal(q, 'up{region="west\\"europe",cell="c\\\\1",code=~"5.."} {unknown}');
});

test('counter increments per step, with resets counting from zero', () => {
  const inc = counterIncrements([
    {
      metric: {},
      points: [
        [0, 10],
        [1000, 15],
        [2000, 3],
        [3000, 8],
      ],
    },
    {
      metric: {},
      points: [
        [1000, 1],
        [2000, 2],
      ],
    },
  ]);
  assert.deepEqual(
    [...inc.entries()],
    [
      [1000, 5],
      [2000, 3 + 1],
      [3000, 5],
    ],
  );
});

test('client failures are values: HTTP errors, PromQL errors, timeouts, bad shapes', async () => {
  const c = (f: typeof fetch) => new PrometheusClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 50, fetch: f });
  const r1 = await c(async () => json({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }, 400)).instant('sum(');
  assert.deepEqual(r1, { ok: false, error: 'Prometheus bad_data: parse error at char 5' });
  // A fetch that never answers; the client's timeout signal (an unref'd timer) must end it.
  const keepAlive = setInterval(() => undefined, 1000);
  const r2 = await c(
    async (_u, init) => new Promise((_, rej) => init?.signal?.addEventListener('abort', () => rej(init.signal!.reason))),
  ).instant('up');
  clearInterval(keepAlive);
  assert.equal(r2.ok, false);
  assert.match((r2 as { error: string }).error, /timed out after 50ms/);
  const r3 = await c(async () => new Response('<html>', { status: 502 })).range('up', 0, 1000, 1000);
  assert.deepEqual(r3, { ok: false, error: 'Prometheus answered HTTP 502 without JSON' });
  const r4 = await c(async () => json({ status: 'success', data: { resultType: 'matrix', result: [] } })).instant('up');
  assert.equal(r4.ok, false);
  const r5 = await c(async () =>
    json({ status: 'success', data: { resultType: 'vector', result: [{ metric: { a: 'b' }, value: [1, '0.5'] }] } }),
  ).instant('up');
  assert.deepEqual(r5, { ok: true, samples: [{ metric: { a: 'b' }, value: 0.5 }] });
});

test('the runner measures every target of a metric gate on its interval and stores the observations', async () => {
  const clock = new VirtualClock();
  const fleet = fleetSchema.parse({ regions: [{ id: 'westeurope', geography: 'europe', cells: [{ id: 'cell-1' }, { id: 'cell-2' }] }] });
  const svc = serviceSchema.parse({
    name: 'blob',
    gates: [
      {
        kind: 'metric',
        name: 'error-ratio',
        prometheus: 'http://127.0.0.1:9',
        query: 'ratio{cell="{cell}",version="{version}"}',
        successCondition: 'result < 0.01',
        interval: '30s',
      },
    ],
  });
  const queries: string[] = [];
  const fakeFetch = (async (_url: string, init?: RequestInit) => {
    const q = new URLSearchParams(String(init?.body)).get('query')!;
    queries.push(q);
    return json({
      status: 'success',
      data: {
        resultType: 'vector',
        result: q.includes('cell-2') ? [{ metric: {}, value: [0, '0.05'] }] : [{ metric: {}, value: [0, '0.001'] }],
      },
    });
  }) as typeof fetch;
  const stored: Observation[] = [];
  let rounds = 0;
  const runner = new PrometheusGateRunner({
    store: { recordObservations: async (o) => void stored.push(...o) },
    clock,
    services: [svc],
    fleet,
    fetch: fakeFetch,
    versionOf: () => 'v7',
    onObservation: () => rounds++,
  });
  runner.start();
  const until = async (n: number) => {
    for (let i = 0; i < 200 && stored.length < n; i++) await new Promise((r) => setImmediate(r));
  };
  await until(2);
  clock.advance(30_000);
  await until(4);
  await runner.stop();
  assert.equal(stored.length, 4);
  assert.deepEqual(queries.slice(0, 2).sort(), ['ratio{cell="cell-1",version="v7"}', 'ratio{cell="cell-2",version="v7"}']);
  const byCell = (c: string) => stored.filter((o) => o.cell === c).map((o) => o.verdict);
  assert.deepEqual(byCell('cell-1'), ['pass', 'pass']);
  assert.deepEqual(byCell('cell-2'), ['fail', 'fail']);
  assert.equal(stored[0].source, 'error-ratio');
  assert.equal(rounds, 4);
});

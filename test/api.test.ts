// The HTTP API: auth (401/403), bad input (400 naming the field), unknown ids (404), the OpenAPI document,
// tokens never in events or logs, and routes mounted by other parts behind the same auth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { VirtualClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { createApi, type RouteRegistrar } from '../src/api/app.js';
import { serveApi } from '../src/api/server.js';

const VIEWER = 'viewer-secret-0123456789';
const OPERATOR = 'operator-secret-9876543210';

const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'r1', geography: 'g1', canary: true, cells: [{ id: 'c1' }] },
      { id: 'r2', geography: 'g1', cells: [{ id: 'c1' }] },
      { id: 'r3', geography: 'g2', cells: [{ id: 'c1' }, { id: 'c2' }] },
    ],
  },
  services: [{ name: 'blob', initialVersion: 'v1', driver: { kind: 'exec', deploy: 'true' } }],
  server: {
    tokens: [
      { name: 'dash', token: VIEWER, role: 'viewer' },
      { name: 'ops', token: { env: 'ETAPE_TEST_OPERATOR_TOKEN' }, role: 'operator' },
    ],
  },
});

async function setup(routes: RouteRegistrar[] = []) {
  const store = await openStore(':memory:');
  let logged = '';
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => ((logged += c), cb()) }));
  const app = createApi({ store, config, clock: new VirtualClock(), log, routes, env: { ETAPE_TEST_OPERATOR_TOKEN: OPERATOR } });
  const call = async (method: string, path: string, opts: { token?: string; body?: unknown; raw?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await app.request(path, {
      method,
      headers,
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return { store, app, call, logged: () => logged };
}

test('no token is 401, a wrong token is 401, the wrong role is 403', async () => {
  const { call, store } = await setup();
  assert.equal((await call('GET', '/api/rollouts')).status, 401);
  assert.equal((await call('GET', '/api/rollouts', { token: 'nope' })).status, 401);
  assert.equal((await call('GET', '/api/rollouts', { token: VIEWER })).status, 200);
  assert.equal((await call('GET', '/api/rollouts', { token: OPERATOR })).status, 200);
  const r = await call('POST', '/api/rollouts', { token: VIEWER, body: { service: 'blob', version: 'v2' } });
  assert.equal(r.status, 403);
  assert.match(r.json.error.message, /role viewer; this needs operator/);
  assert.equal((await call('POST', '/api/rollouts/x/abort', { token: VIEWER })).status, 403);
  await store.close();
});

test('bad input is 400 with a message naming the field', async () => {
  const { call, store } = await setup();
  const post = (body: unknown) => call('POST', '/api/rollouts', { token: OPERATOR, body });
  const cases: [unknown, string][] = [
    [{ service: 'blob' }, 'version'],
    [{ version: 'v2' }, 'service'],
    [{ service: 'blob', version: 42 }, 'version'],
    [{ service: 'blbo', version: 'v2' }, 'service'],
    [{ service: 'blob', version: 'v 2;rm -rf' }, 'version'],
    [{ service: 'blob', version: 'v2', colour: 'red' }, 'colour'],
  ];
  for (const [body, field] of cases) {
    const r = await post(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(r.json.error.message.includes(field), `message names ${field}: ${r.json.error.message}`);
    assert.ok(
      r.json.error.problems.some((p: { path: string }) => p.path.includes(field)),
      `problems name ${field}`,
    );
  }
  assert.match((await post({ service: 'blbo', version: 'v2' })).json.error.message, /did you mean "blob"/);
  const bad = await call('POST', '/api/rollouts', { token: OPERATOR, raw: '{not json' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^body/);

  const started = await post({ service: 'blob', version: 'v2' });
  assert.equal(started.status, 201);
  const id = started.json.id;
  for (const wave of ['2', 0, 1.5]) {
    const r = await call('POST', `/api/rollouts/${id}/approve`, { token: OPERATOR, body: { wave } });
    assert.equal(r.status, 400, `wave ${JSON.stringify(wave)}`);
    assert.match(r.json.error.message, /wave/);
  }
  const r = await call('POST', `/api/rollouts/${id}/approve`, { token: OPERATOR, body: { wave: 99 } });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /wave 99 does not exist/);
  assert.equal((await call('GET', '/api/rollouts?limit=0', { token: VIEWER })).status, 400);
  assert.equal((await call('GET', `/api/rollouts/${id}/events?after=x`, { token: VIEWER })).status, 400);
  await store.close();
});

test('unknown ids are 404', async () => {
  const { call, store } = await setup();
  for (const [m, p] of [
    ['GET', '/api/rollouts/nope'],
    ['GET', '/api/rollouts/nope/events'],
    ['POST', '/api/rollouts/nope/pause'],
    ['POST', '/api/rollouts/nope/resume'],
    ['POST', '/api/rollouts/nope/abort'],
    ['POST', '/api/rollouts/nope/approve'],
  ] as const) {
    const r = await call(m, p, { token: OPERATOR });
    assert.equal(r.status, 404, `${m} ${p}`);
    assert.match(r.json.error.message, /no rollout nope/);
  }
  assert.equal((await call('GET', '/api/nothing-here', { token: VIEWER })).status, 404);
  await store.close();
});

test('operations through the API are recorded with the token name, never the token', async () => {
  const { call, store, logged } = await setup();
  const started = await call('POST', '/api/rollouts', { token: OPERATOR, body: { service: 'blob', version: 'v2' } });
  const id = started.json.id;
  assert.equal(started.json.phase, 'pending');
  assert.equal((await call('POST', `/api/rollouts/${id}/pause`, { token: OPERATOR, body: { reason: 'lunch' } })).json.phase, 'paused');
  assert.equal((await call('POST', `/api/rollouts/${id}/pause`, { token: OPERATOR })).status, 409, 'pausing a paused rollout is refused');
  assert.equal((await call('POST', `/api/rollouts/${id}/resume`, { token: OPERATOR })).json.phase, 'running');
  const needless = await call('POST', `/api/rollouts/${id}/approve`, { token: OPERATOR, body: { wave: 2 } });
  assert.equal(needless.status, 409, 'approving a wave that needs no approval is refused');
  assert.match(needless.json.error.message, /wave 2 of rollout .* needs no approval/);
  assert.equal((await call('POST', `/api/rollouts/${id}/abort`, { token: OPERATOR })).json.phase, 'aborted');
  const resumeAgain = await call('POST', `/api/rollouts/${id}/resume`, { token: OPERATOR });
  assert.equal(resumeAgain.status, 409);
  const ev = await call('GET', `/api/rollouts/${id}/events`, { token: VIEWER });
  assert.equal(ev.status, 200);
  const actors = ev.json.events.map((e: { actor: string }) => e.actor);
  assert.ok(actors.includes('api:ops'));
  const all = JSON.stringify(ev.json) + JSON.stringify(await store.listEvents({})) + logged();
  assert.ok(!all.includes(OPERATOR) && !all.includes(VIEWER), 'no token in events or logs');
  const list = await call('GET', '/api/rollouts?service=blob', { token: VIEWER });
  assert.deepEqual(
    list.json.rollouts.map((r: { id: string }) => r.id),
    [id],
  );
  await store.close();
});

test('the OpenAPI document is served and other parts can mount routes behind the same auth', async () => {
  const extra: RouteRegistrar = (app, ctx) => {
    app.get('/api/incidents', (c) => c.json({ incidents: [], by: c.get('actor') }));
    app.post('/api/incidents', async (c) => {
      const { z } = await import('zod');
      const b = await ctx.body(c, z.strictObject({ title: z.string().min(1) }));
      return c.json({ title: b.title }, 201);
    });
    ctx.describe({
      '/api/incidents': { get: { summary: 'List incidents', operationId: 'listIncidents', responses: { '200': { description: 'ok' } } } },
    });
  };
  const { call, store, app } = await setup([extra]);
  const doc = await call('GET', '/openapi.json');
  assert.equal(doc.status, 200);
  assert.equal(doc.json.openapi, '3.1.0');
  for (const p of ['/api/rollouts', '/api/rollouts/{id}', '/api/rollouts/{id}/events', '/api/rollouts/{id}/approve', '/api/incidents'])
    assert.ok(doc.json.paths[p], p);
  assert.equal((await call('GET', '/api/incidents')).status, 401);
  assert.equal((await call('GET', '/api/incidents', { token: VIEWER })).json.by, 'api:dash');
  assert.equal((await call('POST', '/api/incidents', { token: VIEWER, body: { title: 'x' } })).status, 403);
  const bad = await call('POST', '/api/incidents', { token: OPERATOR, body: { title: '' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^title/);

  // And over a real loopback socket.
  const server = await serveApi(app, '127.0.0.1:0');
  try {
    const res = await fetch(`${server.url}/api/rollouts`, { headers: { authorization: `Bearer ${VIEWER}` } });
    assert.equal(res.status, 200);
    assert.equal((await fetch(`${server.url}/api/rollouts`)).status, 401);
  } finally {
    await server.close();
    await store.close();
  }
});

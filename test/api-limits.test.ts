// The API's limits, on a real loopback server and in-process: oversized bodies are refused before they are
// read whole, slow ones time out, long fields and deep JSON are 400s naming the field, and no body on any
// route gives a 500 or changes what is stored when it is refused (a fast-check property).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import { VirtualClock } from '../src/core/clock.js';
import { API_LIMITS } from '../src/core/limits.js';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createApi, type ApiApp } from '../src/api/app.js';
import { extraRoutes } from '../src/api/routes.js';
import { serveApi, type RunningServer } from '../src/api/server.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'r1', geography: 'g1', canary: true },
      { id: 'r2', geography: 'g1' },
      { id: 'r3', geography: 'g2' },
    ],
  },
  services: [{ name: 'blob', initialVersion: 'v1', driver: { kind: 'exec', deploy: 'true' } }],
  server: {
    tokens: [
      { name: 'ops', token: OPERATOR, role: 'operator' },
      { name: 'dash', token: VIEWER, role: 'viewer' },
    ],
  },
});

let store: Store;
let app: ApiApp;
let server: RunningServer;
let rolloutId = '';
let incidentId = '';

async function call(method: string, path: string, body?: string, token = OPERATOR) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  });
  const text = await res.text();
  let json: { error?: { code: string; message: string; problems: { path: string }[] } } | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Everything the API can change, in a form to compare. */
async function snapshot(): Promise<string> {
  const rollouts = await store.listRollouts({});
  const events = await store.listEvents({});
  const incidents = await store.listIncidents({});
  return JSON.stringify({ rollouts, events, incidents });
}

before(async () => {
  store = await openStore(':memory:');
  app = createApi({ store, config, clock: new VirtualClock(Date.UTC(2026, 10, 25)), routes: extraRoutes });
  server = await serveApi(app, '127.0.0.1:0', { requestTimeoutMs: 600, headersTimeoutMs: 600 });
  const r = await call('POST', '/api/rollouts', JSON.stringify({ service: 'blob', version: 'v2' }));
  assert.equal(r.status, 201, r.text);
  rolloutId = (r.json as unknown as { id: string }).id;
  const i = await call('POST', '/api/incidents', JSON.stringify({ title: 'Uploads fail', components: ['blob/r1'] }));
  assert.equal(i.status, 201, i.text);
  incidentId = (i.json as unknown as { id: string }).id;
});
after(async () => {
  await server.close();
  await store.close();
});

describe('API limits', () => {
  it('a 20 MB body is refused with 413 from its Content-Length, before it is read', async () => {
    const before = await snapshot();
    const big = Buffer.alloc(20 * 1024 * 1024, 'a');
    const res = await fetch(`${server.url}/api/incidents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', 'content-length': String(big.length) },
      body: big,
    }).catch((e: Error) => e);
    // The server answers 413 at once; it may close the connection while the client is still sending.
    if (res instanceof Error)
      assert.match(String((res as Error & { cause?: unknown }).cause ?? res), /EPIPE|ECONNRESET|other side closed|SocketError/);
    else {
      assert.equal(res.status, 413);
      const j = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(j.error.code, 'too_large');
      assert.match(j.error.message, /larger than 64 KiB/);
    }
    assert.equal(await snapshot(), before);
  });

  it('a streamed body without Content-Length is cut off at the limit with 413, without waiting for its end', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        // 1 GB: far more than the test would wait to send; the answer comes long before.
        if (sent >= 1024 * 1024 * 1024) return c.close();
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const res = await fetch(`${server.url}/api/incidents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    await res.text();
    assert.ok(sent < 1024 * 1024 * 1024, `answered before the end of the body (${sent} bytes pulled)`);
  });

  it('a body that arrives too slowly gets 408 within about the request time limit', async () => {
    const port = Number(new URL(server.url).port);
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(
          `POST /api/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${OPERATOR}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":`,
        );
      });
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
      s.setTimeout(10_000, () => s.destroy(new Error('no answer in 10 s')));
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - started < 5000, 'held for about the limit, not 300 s');
  });

  it('long fields, long lists and deep JSON are 400s naming the field; incidents need components', async () => {
    const before = await snapshot();
    const cases: [string, string, unknown, RegExp][] = [
      ['/api/incidents', 'title', { title: 'x'.repeat(API_LIMITS.titleChars + 1), components: ['blob/r1'] }, /at most 200 characters/],
      ['/api/incidents', 'components', { title: 'Slow' }, /expected array|components/],
      ['/api/incidents', 'components', { title: 'Slow', components: [] }, /name the affected components/],
      ['/api/incidents', 'components', { title: 'Slow', components: Array.from({ length: 101 }, () => 'blob/r1') }, /at most 100/],
      ['/api/rollouts', 'version', { service: 'blob', version: 'v'.repeat(201) }, /at most 200 characters/],
      [`/api/rollouts/${rolloutId}/pause`, 'reason', { reason: 'r'.repeat(1001) }, /at most 1000/],
    ];
    for (const [path, field, body, re] of cases) {
      const r = await call('POST', path, JSON.stringify(body));
      assert.equal(r.status, 400, `${path} ${field}: ${r.text}`);
      assert.ok(
        r.json?.error?.problems.some((p) => p.path === field),
        `${path}: problem names ${field}: ${r.text}`,
      );
      assert.match(r.json!.error!.message, re);
    }
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    const d = await call('POST', '/api/incidents', JSON.stringify({ title: 'Deep', components: ['blob/r1'], message: deep }));
    assert.equal(d.status, 400);
    assert.match(d.json!.error!.message, /nested more than 16 deep/);
    assert.equal(await snapshot(), before);
  });

  it('a postmortem before the resolution is 409 and changes nothing', async () => {
    const before = await snapshot();
    const r = await call('POST', `/api/incidents/${incidentId}/updates`, JSON.stringify({ status: 'postmortem', message: 'We learned' }));
    assert.equal(r.status, 409, r.text);
    assert.match(r.json!.error!.message, /still investigating: a postmortem follows the resolution. Resolve it first/);
    assert.equal(await snapshot(), before);
  });

  it('the OpenAPI document states the limits and the 413 and 409 answers', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      info: { description: string; 'x-limits': Record<string, number> };
      paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
    };
    assert.equal(doc.info['x-limits'].bodyBytes, API_LIMITS.bodyBytes);
    assert.match(doc.info.description, /at most 64 KiB \(413 otherwise/);
    assert.match(doc.info.description, /408/);
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item))
        if (method === 'post' && path.startsWith('/api/')) assert.ok(op.responses['413'], `${method} ${path} documents 413`);
    assert.ok(doc.paths['/api/incidents/{id}/updates'].post.responses['409']);
    assert.ok(doc.paths['/api/rollouts/{id}/pause'].post.responses['409']);
    const open = JSON.stringify(doc.paths['/api/incidents'].post.requestBody);
    assert.match(open, /"maxLength":200/);
    assert.match(open, /"required":\["title","components"\]/);
  });

  it('random and oversized bodies on every route never give a 500 and never change state when refused', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes: { method: string; path: string }[] = [];
    for (const [path, item] of Object.entries(doc.paths))
      for (const method of Object.keys(item)) routes.push({ method: method.toUpperCase(), path });
    assert.ok(routes.length >= 10, `${routes.length} routes`);
    const ids = fc.constantFrom(rolloutId, incidentId, 'nope', '%2e%2e', 'x'.repeat(300));
    const body = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.string({ maxLength: 200 }),
      fc
        .jsonValue({ maxDepth: 3 })
        .map((v) => JSON.stringify({ title: v, components: v, message: v, service: v, version: v, wave: v, reason: v })),
      fc.constantFrom('{', '[]', 'null', '"x"', '{"__proto__": {"x": 1}}', `{"title": "${'t'.repeat(70_000)}"}`, '['.repeat(5000)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), ids, body, fc.constantFrom(OPERATOR, VIEWER, 'wrong'), async (route, id, b, token) => {
        const path = route.path.replace(/\{[^}]+\}/g, encodeURIComponent(id));
        const before = await snapshot();
        const r = await call(route.method, path, b, token);
        assert.ok(r.status < 500, `${route.method} ${path} with ${b.slice(0, 80)}: ${r.status} ${r.text.slice(0, 200)}`);
        if (r.status >= 400) assert.equal(await snapshot(), before, `${route.method} ${path} refused with ${r.status} and changed nothing`);
      }),
      { numRuns: 300, seed: 12 },
    );
  });
});

describe('tokens', () => {
  it('401 says why: no tokens configured, or their environment variables unset when the server started', async () => {
    const base = { fleet: config.fleet, services: [] };
    const none = createApi({ store, config: configSchema.parse(base) });
    const r1 = await none.request('/api/rollouts', { headers: { authorization: 'Bearer x' } });
    assert.equal(r1.status, 401);
    assert.match(
      ((await r1.json()) as { error: { message: string } }).error.message,
      /has no API tokens configured: its operator must add server.tokens/,
    );
    const unset = createApi({
      store,
      config: configSchema.parse({
        ...base,
        server: { tokens: [{ name: 'ops', role: 'operator', token: { env: 'ETAPE_TEST_NOT_SET' } }] },
      }),
      env: {},
    });
    const r2 = await unset.request('/api/rollouts', { headers: { authorization: 'Bearer x' } });
    assert.equal(r2.status, 401);
    assert.match(
      ((await r2.json()) as { error: { message: string } }).error.message,
      /environment variables of server.tokens \(ops\) were not set/,
    );
  });
});

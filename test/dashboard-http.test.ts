// The dashboard over HTTP without a browser: sign-in and its cookie, refusals without a session, from
// another origin or without the CSRF token, a viewer refused by the API, no token in any page, keyset pages
// of the rollouts view, filters, assets from the installed packages, and the change feed's events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../src/config/schema.js';
import { VirtualClock } from '../src/core/clock.js';
import { openStore } from '../src/store/open.js';
import { createApi } from '../src/api/app.js';
import { extraRoutes } from '../src/api/routes.js';
import { serveApi } from '../src/api/server.js';
import { LiveFeed } from '../src/dashboard/live.js';

const OP = 'operator-token-4d2c9e1a7b';
const VIEW = 'viewer-token-1b7e3f9c2d';
const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'r1', geography: 'g1', canary: true, cells: [{ id: 'c1' }] },
      { id: 'r2', geography: 'g1', pair: 'r3', cells: [{ id: 'c1' }] },
      { id: 'r3', geography: 'g2', cells: [{ id: 'c1' }, { id: 'c2' }] },
    ],
  },
  services: ['blob', 'queue'].map((name) => ({
    name,
    initialVersion: 'v1',
    driver: { kind: 'exec', deploy: 'true' },
    probes: [{ name: 'http', url: 'http://127.0.0.1:9/health' }],
    gates: [{ kind: 'probe', name: 'health', probe: 'http' }],
  })),
  server: {
    tokens: [
      { name: 'ops', role: 'operator', token: OP },
      { name: 'watcher', role: 'viewer', token: VIEW },
    ],
  },
});

async function setup() {
  const store = await openStore(':memory:');
  const clock = new VirtualClock(Date.parse('2026-11-20T10:00:00Z'));
  const app = createApi({ store, config, clock, routes: extraRoutes });
  const signIn = async (token: string) => {
    const r = await app.request('/ui/signin', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost', host: 'localhost' },
      body: new URLSearchParams({ token }).toString(),
    });
    const set = r.headers.get('set-cookie');
    return { status: r.status, set, cookie: set?.split(';')[0] ?? '' };
  };
  const get = async (path: string, cookie = '') => {
    const r = await app.request(path, { headers: cookie ? { cookie } : {} });
    return { status: r.status, location: r.headers.get('location'), html: await r.text(), headers: r.headers };
  };
  const post = async (path: string, cookie: string, form: Record<string, string>, origin = 'http://localhost') => {
    const r = await app.request(path, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin, host: 'localhost' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: r.status, location: r.headers.get('location'), html: await r.text() };
  };
  const api = async (method: string, path: string, body?: unknown, token = OP) => {
    const r = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];
  return { store, clock, app, signIn, get, post, api, csrfOf };
}

test('sign-in sets an HttpOnly SameSite=Strict cookie on /ui; no session leads to sign-in; a wrong token is 401', async () => {
  const { store, signIn, get } = await setup();
  assert.equal((await get('/')).location, '/ui/rollouts');
  const anon = await get('/ui/rollouts');
  assert.equal(anon.status, 303);
  assert.equal(anon.location, '/ui/signin');
  assert.equal((await get('/ui/live')).status, 401);
  const bad = await signIn('nope');
  assert.equal(bad.status, 401);
  assert.equal(bad.set, null);
  const ok = await signIn(OP);
  assert.equal(ok.status, 303);
  assert.match(ok.set!, /HttpOnly/);
  assert.match(ok.set!, /SameSite=Strict/);
  assert.match(ok.set!, /Path=\/ui/);
  const page = await get('/ui/rollouts', ok.cookie);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.ok(!page.html.includes(OP), 'the token is not in the page');
  await store.close();
});

test('actions need our origin, the CSRF token and the operator role; the API refuses a viewer', async () => {
  const { store, signIn, get, post, api, csrfOf } = await setup();
  const started = await api('POST', '/api/rollouts', { service: 'blob', version: 'v2', id: 'r-1' });
  assert.equal(started.status, 201);
  const op = await signIn(OP);
  const page = await get('/ui/rollouts/r-1', op.cookie);
  assert.match(page.html, /href="\/ui\/rollouts\/r-1\/confirm\/pause"/);
  assert.match(page.html, /href="\/ui\/rollouts\/r-1\/confirm\/abort"/);
  assert.doesNotMatch(page.html, /confirm\/resume/, 'resume does not apply to a pending rollout');
  const confirm = await get('/ui/rollouts/r-1/confirm/abort', op.cookie);
  assert.match(confirm.html, /rolls back the 0 targets it touched to their last verified version \(v1\)/);
  const csrf = csrfOf(confirm.html);
  assert.equal((await post('/ui/rollouts/r-1/actions/pause', op.cookie, { csrf }, 'http://evil.example')).status, 403);
  assert.equal((await post('/ui/rollouts/r-1/actions/pause', op.cookie, {})).status, 403);
  assert.equal((await post('/ui/rollouts/r-1/actions/pause', op.cookie, { csrf: 'x'.repeat(csrf.length) })).status, 403);
  assert.equal((await api('GET', '/api/rollouts/r-1')).json.phase, 'pending', 'nothing changed');
  const done = await post('/ui/rollouts/r-1/actions/pause', op.cookie, { csrf, reason: 'lunch' });
  assert.equal(done.status, 303);
  assert.equal(done.location, '/ui/rollouts/r-1?done=pause');
  assert.equal((await api('GET', '/api/rollouts/r-1')).json.phase, 'paused');
  // An action that no longer applies says why.
  const again = await post('/ui/rollouts/r-1/actions/pause', op.cookie, { csrf });
  assert.equal(again.status, 409);
  assert.match(again.html, /pause does not apply to rollout r-1 now: it is paused/);

  const viewer = await signIn(VIEW);
  const vpage = await get('/ui/rollouts/r-1', viewer.cookie);
  assert.doesNotMatch(vpage.html, /confirm\//, 'a viewer sees no action');
  assert.equal((await get('/ui/rollouts/r-1/confirm/resume', viewer.cookie)).status, 403);
  const refused = await post('/ui/rollouts/r-1/actions/resume', viewer.cookie, { csrf: csrfOf(vpage.html) });
  assert.equal(refused.status, 403);
  assert.match(refused.html, /role viewer; this needs operator/);
  assert.equal((await api('GET', '/api/rollouts/r-1')).json.phase, 'paused');
  await store.close();
});

test('the rollouts view pages with a cursor, filters by service and phase, and each row says what it waits for', async () => {
  const { store, clock, signIn, get, api } = await setup();
  // 120 ended rollouts and one active, created a minute apart.
  for (let i = 0; i < 120; i++) {
    const service = i % 2 ? 'queue' : 'blob';
    const at = clock.now() + i * 60_000;
    await store.createRollout(
      {
        id: `old-${String(i).padStart(3, '0')}`,
        service,
        version: `v${i + 2}`,
        phase: 'completed',
        state: {
          id: `old-${i}`,
          service,
          version: `v${i + 2}`,
          phase: 'completed',
          createdBy: 'cli:x',
          createdAt: at,
          updatedAt: at,
          rollbackOnHalt: true,
          waves: [],
          targets: {},
          gates: {},
          freeze: [],
        },
        createdAt: at,
        updatedAt: at,
      },
      [],
    );
  }
  clock.advance(121 * 60_000);
  await api('POST', '/api/rollouts', { service: 'blob', version: 'v999', id: 'live-1' });
  const op = await signIn(OP);
  const ids = (html: string) => [...html.matchAll(/data-rollout="([^"]+)"/g)].map((m) => m[1]);
  const seen: string[] = [];
  let url: string | null = '/ui/rollouts';
  let pages = 0;
  while (url) {
    const p = await get(url, op.cookie);
    seen.push(...ids(p.html));
    pages++;
    const next = /href="(\/ui\/rollouts\?[^"]+)" rel="next"/.exec(p.html);
    url = next ? next[1].replace(/&amp;/g, '&') : null;
  }
  assert.equal(pages, 3, '121 rollouts in pages of 50');
  assert.equal(seen.length, 121);
  assert.equal(new Set(seen).size, 121, 'no rollout twice');
  assert.equal(seen[0], 'live-1', 'newest first');
  const first = await get('/ui/rollouts', op.cookie);
  assert.match(first.html, /the controller to start it/);
  assert.match(first.html, /1 of 3/);
  const active = ids((await get('/ui/rollouts?phase=active', op.cookie)).html);
  assert.deepEqual(active, ['live-1']);
  const queue = ids((await get('/ui/rollouts?service=queue', op.cookie)).html);
  assert.equal(queue.length, 50);
  assert.ok(queue.every((id) => Number(id.slice(4)) % 2 === 1));
  assert.match(
    (await get('/ui/rollouts?service=nosuch&phase=completed', op.cookie)).html,
    /data-rollout/,
    'an unknown service is no filter',
  );
  assert.equal((await get('/ui/rollouts/nosuch', op.cookie)).status, 404);
  await store.close();
});

test('assets come from the installed packages and our folder; the fleet and incidents views render', async () => {
  const { store, signIn, get, api } = await setup();
  for (const [file, type] of [
    ['htmx.min.js', /javascript/],
    ['uPlot.iife.min.js', /javascript/],
    ['uPlot.min.css', /css/],
    ['dashboard.js', /javascript/],
    ['dashboard.css', /css/],
  ] as const) {
    const r = await get(`/ui/assets/${file}`);
    assert.equal(r.status, 200, file);
    assert.match(r.headers.get('content-type')!, type);
    assert.ok(r.html.length > 500, file);
  }
  assert.equal((await get('/ui/assets/..%2Fpackage.json')).status, 404);
  const op = await signIn(OP);
  const fleet = await get('/ui/fleet', op.cookie);
  assert.match(fleet.html, /<a href="#region-r3">r3<\/a>/, 'r2 links to its pair');
  assert.match(fleet.html, /data-component="queue\/r3"/);
  assert.match(fleet.html, /unknown/, 'no evidence is unknown, never operational');
  const frozen = await api('POST', '/api/freezes', { scope: 'region', value: 'r2', reason: 'network work in r2' });
  assert.equal(frozen.status, 201, JSON.stringify(frozen.json));
  const fleet2 = await get('/ui/fleet', op.cookie);
  assert.match(fleet2.html, /Frozen<\/strong> region r2 by api:ops since [^:]+:\d\d:\d\dZ: network work in r2/);
  const r2 = fleet2.html.slice(fleet2.html.indexOf('data-component="blob/r2"'));
  assert.match(r2.slice(0, r2.indexOf('</td>')), /frozen/);
  const r3 = fleet2.html.slice(fleet2.html.indexOf('data-component="blob/r3"'));
  assert.doesNotMatch(r3.slice(0, r3.indexOf('</td>')), /frozen/);
  const opened = await api('POST', '/api/incidents', { title: 'Queue slow', components: ['queue/r1'], message: 'Looking.' });
  assert.equal(opened.status, 201);
  const inc = await get('/ui/incidents', op.cookie);
  assert.match(inc.html, /Queue slow/);
  assert.match(inc.html, /Post update/);
  await store.close();
});

test('the change feed tells listeners which rollouts changed, from the event log', async () => {
  const { store, api } = await setup();
  const feed = new LiveFeed({ store, pollMs: 20, evidenceMs: 60_000 });
  const got: string[][] = [];
  const unsubscribe = feed.subscribe((m) => {
    if (m.kind === 'change') got.push(m.change.rollouts);
  });
  // Let the first poll find the end of the log, then change something.
  await new Promise((r) => setTimeout(r, 60));
  await api('POST', '/api/rollouts', { service: 'queue', version: 'v2', id: 'q-1' });
  const start = Date.now();
  while (!got.some((x) => x.includes('q-1')) && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
  unsubscribe();
  assert.ok(
    got.some((x) => x.includes('q-1')),
    `a change for q-1: ${JSON.stringify(got)}`,
  );
  assert.equal(feed.size, 0);
  // And over a real socket, the SSE stream says hello.
  const app = createApi({ store, config, clock: new VirtualClock(), routes: extraRoutes });
  const server = await serveApi(app, '127.0.0.1:0');
  try {
    const si = await fetch(`${server.url}/ui/signin`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: `token=${OP}`,
    });
    const cookie = si.headers.get('set-cookie')!.split(';')[0];
    const ac = new AbortController();
    const res = await fetch(`${server.url}/ui/live`, { headers: { cookie }, signal: ac.signal });
    assert.match(res.headers.get('content-type')!, /text\/event-stream/);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /event: hello/);
    ac.abort();
  } finally {
    await server.close();
    await store.close();
  }
});

test('metric values are shown against their condition, and a judge look per metric with its estimate and interval', async () => {
  const { judge } = await import('../src/judge/judge.js');
  const { startRollout } = await import('../src/rollout/operations.js');
  const { systemClock } = await import('../src/core/clock.js');
  const cfg = configSchema.parse({
    ...config,
    services: [
      {
        name: 'blob',
        initialVersion: 'v1',
        driver: { kind: 'exec', deploy: 'true' },
        gates: [
          {
            kind: 'metric',
            name: 'error-ratio',
            prometheus: 'http://127.0.0.1:9',
            query: 'x{region="{region}"}',
            successCondition: 'result < 0.05',
          },
          {
            kind: 'judge',
            name: 'canary-judge',
            prometheus: 'http://127.0.0.1:9',
            metrics: [
              { name: 'p99 latency', query: 'y' },
              { name: 'p50 latency', query: 'z' },
            ],
          },
        ],
      },
    ],
  });
  const store = await openStore(':memory:');
  const rec = await startRollout(
    { store, config: cfg, clock: systemClock },
    { service: 'blob', version: 'v2', actor: 'api:ops', id: 'm-1' },
  );
  const s = structuredClone(rec.state) as import('../src/rollout/state.js').RolloutState;
  const now = Date.now();
  s.phase = 'running';
  s.waves[0].status = 'baking';
  s.waves[0].startedAt = now - 60_000;
  for (const id of s.waves[0].targets) s.targets[id].status = 'deployed';
  // A real judge look: canary p99 about 40% slower than the baseline, p50 the same.
  const series = (base: number, n: number, target: string) => ({
    target,
    points: Array.from({ length: n }, (_, i) => ({ t: i * 1000, value: base + ((i * 7) % 11) })),
  });
  const look = judge([
    {
      name: 'p99 latency',
      kind: 'latency',
      direction: 'increase',
      critical: false,
      weight: 1,
      canary: [series(140, 120, 'r1/c1')],
      baseline: [series(100, 120, 'r2/c1')],
    },
    {
      name: 'p50 latency',
      kind: 'latency',
      direction: 'increase',
      critical: false,
      weight: 1,
      canary: [series(50, 120, 'r1/c1')],
      baseline: [series(50, 120, 'r2/c1')],
    },
  ]);
  s.waves[0].verdicts = [
    { gate: 'error-ratio', kind: 'metric', verdict: 'fail', reason: 'r1/c1: result 0.2 is not < 0.05', at: now },
    { gate: 'canary-judge', kind: 'judge', verdict: look.verdict, reason: look.reason, at: now },
  ];
  await store.saveRollout('m-1', rec.revision, { phase: s.phase, state: s, updatedAt: now }, []);
  await store.recordObservations([
    { service: 'blob', region: 'r1', cell: 'c1', source: 'error-ratio', at: now - 20_000, verdict: 'pass', value: 0.001 },
    {
      service: 'blob',
      region: 'r1',
      cell: 'c1',
      source: 'error-ratio',
      at: now - 10_000,
      verdict: 'fail',
      value: 0.2,
      detail: 'result 0.2',
    },
    {
      service: 'blob',
      region: 'r1',
      cell: 'c1',
      source: 'canary-judge',
      at: now - 5_000,
      verdict: look.verdict,
      value: look.score,
      detail: look.reason,
    },
  ]);
  const app = createApi({ store, config: cfg, clock: systemClock, routes: extraRoutes });
  const si = await app.request('/ui/signin', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost', host: 'localhost' },
    body: `token=${OP}`,
  });
  const cookie = si.headers.get('set-cookie')!.split(';')[0];
  const html = await (await app.request('/ui/rollouts/m-1', { headers: { cookie } })).text();
  const gate = (name: string) =>
    html.slice(html.indexOf(`data-gate="${name}"`), html.indexOf('</section>', html.indexOf(`data-gate="${name}"`)));
  const metric = gate('error-ratio');
  assert.match(metric, /Rule: pass when result &lt; 0.05/);
  assert.match(metric, /r1\/c1: result 0.2 is not &lt; 0.05/);
  assert.match(metric, /<td>0.2<\/td>/, 'the newest value');
  assert.match(metric, /<td>0.001<\/td>/, 'the lowest value');
  assert.match(metric, /data-chart=/);
  const judged = gate('canary-judge');
  assert.match(judged, /Rule: canary vs baseline at 98% confidence/);
  // The look's reason names each metric it rests on (on a fail, the failing ones) with its estimate and interval.
  assert.equal(look.verdict, 'fail');
  const p99 = look.metrics.find((m) => m.name === 'p99 latency')!;
  assert.ok(judged.includes(`<li>${p99.detail}</li>`), `a line for p99 with its estimate and interval: ${p99.detail}`);
  assert.match(judged, /p99 latency \+\d+% \(98% CI \+\d+%…\+\d+%\)/, 'the p99 estimate and interval');
  await store.close();
});

test('force from the dashboard: a target whose rollback failed is forced inside its rollout; observed versions name their source', async () => {
  const { store, clock, signIn, get, post, api, csrfOf } = await setup();
  assert.equal((await api('POST', '/api/rollouts', { service: 'blob', version: 'v2', id: 'r-f' })).status, 201);
  // The rollout as a failed rollback leaves it: r2/c1 could not be put back on v1.
  const rec = (await store.getRollout('r-f'))!;
  const s = structuredClone(rec.state) as import('../src/rollout/state.js').RolloutState;
  for (const t of Object.values(s.targets))
    if (t.wave <= 2) Object.assign(t, { status: 'rolled_back', backAt: clock.now(), provenBackAt: clock.now() });
  Object.assign(s.targets['r2/c1'], {
    status: 'failed',
    provenBackAt: undefined,
    lastError: 'force failed: exit 1',
    attempts: { force: 3 },
  });
  s.phase = 'failed';
  s.rollback = { startedAt: clock.now(), order: Object.keys(s.targets), round: 1 };
  await store.saveRollout('r-f', rec.revision, { phase: 'failed', state: s, updatedAt: clock.now() }, [
    { rolloutId: 'r-f', at: clock.now(), actor: 'controller', type: 'rollout.failed', data: {} },
  ]);
  await store.recordObservations([
    { service: 'blob', region: 'r2', cell: 'c1', source: 'etape:observe', at: clock.now(), verdict: 'pass', version: 'v2', detail: 'v2' },
    { service: 'blob', region: 'r1', cell: 'c1', source: 'http', at: clock.now(), verdict: 'pass', version: 'v1', detail: 'HTTP 200' },
  ]);
  clock.advance(1000);

  const op = await signIn(OP);
  const page = await get('/ui/rollouts/r-f', op.cookie);
  assert.match(page.html, /data-target="r2\/c1"[\s\S]*?v2<span class="detail"> \(driver observe\)/, 'observed by the driver');
  assert.match(page.html, /data-target="r1\/c1"[\s\S]*?v1<span class="detail"> \(probe http\)/, 'observed by a probe');
  const link = /href="(\/ui\/rollouts\/r-f\/confirm\/force\?target=[^"]+)"/.exec(page.html);
  assert.ok(link, 'a force button for the failed target');
  const confirm = await get(link[1].replace(/&amp;/g, '&'), op.cookie);
  assert.match(confirm.html, /Force target r2\/c1 of rollout r-f to v1/);
  const done = await post('/ui/rollouts/r-f/actions/force', op.cookie, { csrf: csrfOf(confirm.html), target: 'r2/c1' });
  assert.equal(done.status, 303, done.html);
  const after = await api('GET', '/api/rollouts/r-f');
  assert.equal(after.json.phase, 'rolling_back');
  const events = (await api('GET', '/api/rollouts/r-f/events')).json.events as { type: string; actor: string; data: unknown }[];
  const asked = events.find((e) => e.type === 'target.force_requested')!;
  assert.equal(asked.actor, 'api:ops');
  assert.deepEqual(asked.data, { target: 'r2/c1', version: 'v1' });
  // Through the API too: a target that is not failed is refused, with why.
  const refused = await api('POST', `/api/rollouts/r-f/targets/${encodeURIComponent('r1/c1')}/force`, {});
  assert.equal(refused.status, 409);
  assert.match(JSON.stringify(refused.json), /only a target whose rollback failed is forced/);

  const viewer = await signIn(VIEW);
  assert.doesNotMatch((await get('/ui/rollouts/r-f', viewer.cookie)).html, /confirm\/force/, 'a viewer sees no force button');
  await store.close();
});

test('the fleet grid counts a forced target on the version it was forced to as verified, not drift', async () => {
  const { store, clock, api, signIn, get } = await setup();
  const { forceTarget } = await import('../src/rollout/operations.js');
  const { fleetView } = await import('../src/dashboard/model.js');
  const finish = async (id: string) => {
    const rec = (await store.getRollout(id))!;
    await store.saveRollout(
      id,
      rec.revision,
      { phase: 'completed', state: { ...(rec.state as object), phase: 'completed' }, updatedAt: clock.now() },
      [],
    );
    clock.advance(1000);
  };
  assert.equal((await api('POST', '/api/rollouts', { service: 'blob', version: 'v2', id: 'r-2' })).status, 201);
  await finish('r-2');
  const forced = await forceTarget({ store, config, clock }, { service: 'blob', target: 'r3/c1', version: 'v1', actor: 'test' });
  assert.equal(forced.via, 'force');
  await finish(forced.rollout.id);
  const op = await signIn(OP);
  assert.match((await get('/ui/rollouts', op.cookie)).html, /force of r3\/c1: v2 → <strong>v1<\/strong>/, 'the list says it is a force');
  const seen = (region: string, cell: string, version: string) => ({
    service: 'blob',
    region,
    cell,
    source: 'http',
    at: clock.now(),
    verdict: 'pass' as const,
    version,
    detail: 'HTTP 200',
  });
  await store.recordObservations([seen('r1', 'c1', 'v2'), seen('r2', 'c1', 'v9'), seen('r3', 'c1', 'v1'), seen('r3', 'c2', 'v2')]);
  clock.advance(1000);
  const view = await fleetView({ store, config, clock });
  assert.equal(view.cells.get('blob/r3')!.drift, false, 'r3/c1 was forced to v1');
  assert.equal(view.cells.get('blob/r2')!.drift, true, 'v9 was never verified anywhere');
  assert.equal(view.cells.get('blob/r1')!.drift, false);
  await store.close();
});

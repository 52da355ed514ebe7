// Incident routes on the HTTP API: viewers read, operators write; bad input names what to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { createApi } from '../src/api/app.js';
import { registerIncidentRoutes } from '../src/api/incidents.js';

const T0 = Date.UTC(2026, 10, 25, 0, 0);
const MIN = 60_000;

test('incident API: open, update, resolve, maintenance, overdue flags and roles', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etape-api-'));
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const config = configSchema.parse({
      fleet: {
        regions: [
          { id: 'weu', geography: 'europe' },
          { id: 'neu', geography: 'europe' },
        ],
      },
      services: [{ name: 'blob' }],
      server: {
        tokens: [
          { name: 'reader', token: 'viewer-token', role: 'viewer' },
          { name: 'oncall', token: 'operator-token', role: 'operator' },
        ],
      },
    });
    const clock = new VirtualClock(T0);
    const app = createApi({ store, config, clock, routes: [registerIncidentRoutes] });
    const call = (method: string, path: string, token: string | undefined, body?: unknown) =>
      app.request(path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    assert.equal((await call('GET', '/api/incidents', undefined)).status, 401);
    assert.equal((await call('POST', '/api/incidents', 'viewer-token', { title: 'x' })).status, 403);

    const bad = await call('POST', '/api/incidents', 'operator-token', { title: 'Uploads fail', components: ['blob/weuu'] });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /did you mean "blob\/weu"/);

    const res = await call('POST', '/api/incidents', 'operator-token', {
      title: 'Uploads fail',
      impact: 'major',
      components: ['blob'],
      message: 'Looking into it.',
    });
    assert.equal(res.status, 201);
    const inc = (await res.json()) as { id: string; components: string[]; status: string; updates: { actor: string }[] };
    assert.deepEqual(inc.components, ['blob/neu', 'blob/weu'], 'a bare service means all its regions');
    assert.equal(inc.status, 'investigating');
    assert.equal(inc.updates[0].actor, 'api:oncall');

    clock.advance(31 * MIN);
    const list = (await (await call('GET', '/api/incidents?open=true', 'viewer-token')).json()) as {
      incidents: { id: string; overdue: boolean }[];
      overdue: string[];
    };
    assert.deepEqual(list.overdue, [inc.id]);
    assert.equal(list.incidents[0].overdue, true);

    const upd = await call('POST', `/api/incidents/${inc.id}/updates`, 'operator-token', {
      status: 'identified',
      message: 'A bad config push; reverting.',
    });
    assert.equal(upd.status, 200);
    assert.equal(((await upd.json()) as { overdue: boolean }).overdue, false);
    assert.equal((await call('POST', `/api/incidents/${inc.id}/updates`, 'operator-token', { status: 'sideways' })).status, 400);
    assert.equal((await call('POST', '/api/incidents/nope/updates', 'operator-token', { message: 'x' })).status, 404);

    const resolved = await call('POST', `/api/incidents/${inc.id}/resolve`, 'operator-token', { message: 'Reverted; all good.' });
    assert.equal(((await resolved.json()) as { status: string }).status, 'resolved');
    assert.equal((await call('POST', `/api/incidents/${inc.id}/resolve`, 'operator-token', {})).status, 409);

    const m = await call('POST', '/api/maintenances', 'operator-token', {
      title: 'Database upgrade',
      components: ['blob/weu'],
      start: new Date(T0 + 2 * 3600_000).toISOString(),
      end: new Date(T0 + 3 * 3600_000).toISOString(),
    });
    assert.equal(m.status, 201);
    const mm = (await m.json()) as { kind: string; status: string; data: { announcedAt: number } };
    assert.equal(mm.kind, 'maintenance');
    assert.equal(mm.status, 'scheduled');
    assert.equal(mm.data.announcedAt, clock.now());
    const backwards = await call('POST', '/api/maintenances', 'operator-token', {
      title: 'x',
      components: ['blob/weu'],
      start: new Date(T0 + 2 * 3600_000).toISOString(),
      end: new Date(T0).toISOString(),
    });
    assert.equal(backwards.status, 400);

    const one = await call('GET', `/api/incidents/${inc.id}`, 'viewer-token');
    assert.equal(((await one.json()) as { updates: unknown[] }).updates.length, 3);
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/api/incidents/{id}/updates']);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

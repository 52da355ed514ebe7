// I5: a service has at most one active rollout, enforced by the store. Many starts of one service sent at
// once, through two API servers (each with its own store connection), on SQLite and on PostgreSQL: exactly
// one is created (201); every other answer is 409 naming the active rollout.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createApi } from '../src/api/app.js';
import { serveApi, type RunningServer } from '../src/api/server.js';
import { abortRollout } from '../src/rollout/operations.js';
import { systemClock } from '../src/core/clock.js';

const PG_URL = process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = 'operator-secret-one-active-0123';

const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'r1', geography: 'g1', canary: true, cells: [{ id: 'c1' }] },
      { id: 'r2', geography: 'g1', cells: [{ id: 'c1' }] },
    ],
  },
  services: [{ name: 'blob', initialVersion: 'v1', driver: { kind: 'exec', deploy: 'true' } }],
  server: { tokens: [{ name: 'ops', token: TOKEN, role: 'operator' }] },
});

const dir = mkdtempSync(join(tmpdir(), 'etape-one-active-'));
const schema = `etape_test_${randomBytes(6).toString('hex')}`;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
});

async function twoServers(url: string): Promise<{ stores: Store[]; servers: RunningServer[] }> {
  const stores: Store[] = [];
  const servers: RunningServer[] = [];
  for (let i = 0; i < 2; i++) {
    const store = await openStore(url);
    stores.push(store);
    servers.push(await serveApi(createApi({ store, config }), '127.0.0.1:0'));
  }
  return { stores, servers };
}

async function startsAtOnce(servers: RunningServer[], n: number, version: string) {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${servers[i % servers.length].url}/api/rollouts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'blob', version: `${version}.${i}` }),
      });
      return { status: res.status, json: (await res.json()) as { id?: string; error?: { message: string } } };
    }),
  );
}

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`${backend}: 16 concurrent starts of one service through two servers give exactly one active rollout`, async () => {
    const url =
      backend === 'sqlite'
        ? join(dir, 'etape.db')
        : (() => {
            const u = new URL(PG_URL);
            u.searchParams.set('schema', schema);
            return u.toString();
          })();
    const { stores, servers } = await twoServers(url);
    try {
      for (let round = 0; round < 3; round++) {
        const answers = await startsAtOnce(servers, 16, `v${round + 2}`);
        const created = answers.filter((a) => a.status === 201);
        assert.equal(created.length, 1, `round ${round}: ${JSON.stringify(answers.map((a) => a.status))}`);
        const id = created[0].json.id!;
        for (const a of answers.filter((x) => x.status !== 201)) {
          assert.equal(a.status, 409, JSON.stringify(a.json));
          assert.ok(a.json.error?.message.includes(`already has rollout ${id}`), `names the active rollout: ${a.json.error?.message}`);
        }
        const active = await stores[0].listRollouts({
          service: 'blob',
          phases: ['pending', 'running', 'paused', 'halted', 'aborted', 'rolling_back'],
        });
        assert.deepEqual(
          active.map((r) => r.id),
          [id],
        );
        // End it (abort, then as a controller would: rolled back), so that the next round may start one.
        await abortRollout({ store: stores[0], clock: systemClock }, id, 'test');
        const rec = (await stores[0].getRollout(id))!;
        await stores[0].saveRollout(id, rec.revision, { phase: 'rolled_back', state: rec.state, updatedAt: Date.now() }, []);
      }
    } finally {
      for (const s of servers) await s.close();
      for (const s of stores) await s.close();
    }
  });
}

// Several controllers on one PostgreSQL share the work that is not a rollout (I5, issue 11): each target is
// probed by exactly one live server, a server that leaves has its share taken by the others, and one server
// at a time builds and publishes the status page, another taking over when it stops.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { composeRuntime, type Runtime } from '../src/controller/runtime.js';
import { startStatusPublisher, PUBLISHER_LEASE, type StatusPublisher } from '../src/statuspage/publisher.js';
import { systemClock } from '../src/core/clock.js';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';
import { waitFor } from './helpers.js';

const PG_URL = process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `etape_test_${randomBytes(6).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'etape-many-'));
const REGIONS = [
  { id: 'r1', cells: ['c1', 'c2'], canary: true },
  { id: 'r2', cells: ['c1', 'c2', 'c3'] },
  { id: 'r3', cells: ['c1', 'c2', 'c3'] },
];
const fleet = new TargetFleet(REGIONS.flatMap((r) => r.cells.map((c) => `${r.id}/${c}`)));
const stores: Store[] = [];

after(async () => {
  for (const s of stores) await s.close().catch(() => {});
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
});

/** The checks each runtime runs: together every check, none twice. */
function assertPartition(runtimes: Runtime[], all: number): boolean {
  const ids = runtimes.flatMap((r) => r.prober!.checkIds);
  return ids.length === all && new Set(ids).size === all;
}

test('three controllers on one PostgreSQL probe each target once between them, and one publishes the status page', async () => {
  await fleet.start();
  const raw = {
    fleet: fleetConfig(fleet, REGIONS),
    services: [
      {
        name: 'blob',
        initialVersion: 'v1',
        driver: fleet.execDriver(),
        probes: [
          { name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '500ms', timeout: '400ms' },
          { name: 'root', url: 'http://127.0.0.1:{port}/', interval: '500ms', timeout: '400ms' },
        ],
      },
    ],
  };
  const config = configSchema.parse(raw);
  const all = 8 * 2;
  const url = `${PG_URL}?schema=${schema}`;
  const runtimes: Runtime[] = [];
  const publishers: StatusPublisher[] = [];
  for (let i = 0; i < 3; i++) {
    const store = await openStore(url);
    stores.push(store);
    const rt = composeRuntime({ store, config, clock: systemClock, shareProbes: true, settings: { leaseMs: 1000 } });
    rt.start();
    runtimes.push(rt);
    publishers.push(
      startStatusPublisher({
        store,
        config,
        clock: systemClock,
        intervalMs: 200,
        outDir: join(dir, `status-${i}`),
        elect: { holder: rt.controller.holder, leaseMs: 1000 },
      }),
    );
  }
  const store = stores[0];
  try {
    // The rules' incident writes are fenced: a holding that is gone cannot save one.
    const g = (await store.acquireLease('fence-test', 'old-builder', 60_000))!;
    await store.releaseLease('fence-test', 'old-builder');
    await assert.rejects(
      store.saveIncident(
        {
          id: 'i-stale',
          kind: 'incident',
          title: 'stale',
          status: 'investigating',
          impact: 'minor',
          components: [],
          source: 'auto:component',
          createdAt: 1,
          updatedAt: 1,
          resolvedAt: null,
          scheduledFor: null,
          scheduledUntil: null,
          updates: [],
          data: {},
        },
        { lease: 'fence-test', holder: 'old-builder', token: g.token },
      ),
      /no longer holds/,
    );
    assert.equal(await store.getIncident('i-stale'), undefined);
    await waitFor(
      'three members that share the checks',
      () => runtimes.every((r) => r.membership!.members.length === 3) && assertPartition(runtimes, all),
    );
    for (const r of runtimes) assert.ok(r.prober!.checkIds.length < all, 'no server probes everything');
    // Every probe of one target goes to the same server.
    for (const r of runtimes) {
      const targets = new Set(r.prober!.checkIds.map((id) => id.split('/').slice(0, 3).join('/')));
      for (const other of runtimes.filter((o) => o !== r))
        assert.ok(!other.prober!.checkIds.some((id) => targets.has(id.split('/').slice(0, 3).join('/'))), 'a target belongs to one server');
    }

    // One publisher: only its folder is written.
    const holder = await waitFor('a publisher', async () => (await store.getLease(PUBLISHER_LEASE))?.holder);
    const pub = runtimes.findIndex((r) => r.controller.holder === holder);
    await waitFor('the page built', () => existsSync(join(dir, `status-${pub}`, 'index.html')));
    for (let i = 0; i < 3; i++) if (i !== pub) assert.ok(!existsSync(join(dir, `status-${i}`)), `server ${i} did not build the page`);

    // The publisher's server stops: another takes over the page and its probes within the lease time.
    await publishers[pub].stop();
    await runtimes[pub].stop();
    const rest = runtimes.filter((_, i) => i !== pub);
    await waitFor(
      'two members that share every check',
      () => rest.every((r) => r.membership!.members.length === 2) && assertPartition(rest, all),
    );
    const next = await waitFor('another publisher', async () => {
      const l = await store.getLease(PUBLISHER_LEASE);
      return l && l.holder !== holder && l.until > (await store.now()) && l.holder;
    });
    const i2 = runtimes.findIndex((r) => r.controller.holder === next);
    await waitFor('the page built by the new publisher', () => existsSync(join(dir, `status-${i2}`, 'index.html')));
  } finally {
    for (const p of publishers) await p.stop();
    for (const r of runtimes) await r.stop();
  }
});

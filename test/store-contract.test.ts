// The Store contract, run against both backends: SQLite (a real file in a temp folder) and PostgreSQL
// (127.0.0.1:5432, database `test`, a fresh schema per run, dropped afterwards). PostgreSQL being down is a
// failure, not a skip: CI starts it (scripts/setup-test-deps.sh). Override with ETAPE_TEST_PG.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { isEtapeError } from '../src/core/errors.js';
import type { Observation } from '../src/core/types.js';
import { openStore } from '../src/store/open.js';
import { parseStoreUrl, resolveStoreUrl, redactStoreUrl } from '../src/store/url.js';
import type { IncidentRecord, NewEvent, Store } from '../src/store/store.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { PostgresStore } from '../src/store/postgres.js';
import { postgresMigrations, sqliteMigrations } from '../src/store/migrations.js';

const PG_URL = process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Backend {
  name: string;
  /** Prepares a fresh, empty location; returns its store URL. */
  setup(): Promise<string>;
  /** Another empty location next to the first (dropped by teardown). */
  another(): string;
  teardown(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  return {
    name: 'sqlite',
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'etape-store-'));
      return join(dir, 'nested', 'etape.db');
    },
    another() {
      return join(dir, `another-${randomBytes(4).toString('hex')}.db`);
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  const schema = `etape_test_${randomBytes(6).toString('hex')}`;
  const schemas = [schema];
  const admin = () => new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  return {
    name: 'postgres',
    async setup() {
      const c = admin();
      try {
        await c.connect();
        await c.query('SELECT 1');
      } catch (e) {
        throw new Error(
          `PostgreSQL is not reachable at ${redactStoreUrl(PG_URL)} (${(e as Error).message}). ` +
            'The PostgreSQL half of the store contract needs it: run scripts/setup-test-deps.sh, or set ETAPE_TEST_PG.',
          { cause: e },
        );
      } finally {
        await c.end().catch(() => {});
      }
      const u = new URL(PG_URL);
      u.searchParams.set('schema', schema);
      return u.toString();
    },
    another() {
      const name = `etape_test_${randomBytes(6).toString('hex')}`;
      schemas.push(name);
      const u = new URL(PG_URL);
      u.searchParams.set('schema', name);
      return u.toString();
    },
    async teardown() {
      const c = admin();
      try {
        await c.connect();
        for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      } finally {
        await c.end().catch(() => {});
      }
    },
  };
}

const T0 = Date.UTC(2026, 0, 1);

function ev(rolloutId: string | null, type: string, at = T0, data: unknown = {}): NewEvent {
  return { rolloutId, at, actor: 'controller', type, data };
}

// One service per rollout unless a test says otherwise: a service has at most one active rollout (I5).
function rollout(id: string, service = `svc-${id}`, createdAt = T0, phase = 'pending') {
  return { id, service, version: '2.0.0', phase, state: { waves: [{ n: 1 }] }, createdAt, updatedAt: createdAt };
}

function incident(id: string, over: Partial<IncidentRecord> = {}): IncidentRecord {
  return {
    id,
    kind: 'incident',
    title: `Incident ${id}`,
    status: 'investigating',
    impact: 'major',
    components: ['blob/eu-west'],
    source: 'manual',
    createdAt: T0,
    updatedAt: T0,
    resolvedAt: null,
    scheduledFor: null,
    scheduledUntil: null,
    updates: [{ id: 'u1', at: T0, status: 'investigating', body: 'Looking into it', actor: 'cli:ops' }],
    data: { rolloutId: 'r1' },
    ...over,
  };
}

function obs(over: Partial<Observation> = {}): Observation {
  return { service: 'blob', region: 'eu-west', cell: 'c1', source: 'health', at: T0, verdict: 'pass', latencyMs: 12, ...over };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isEtapeError(e), `expected an EtapeError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

function contract(backend: Backend): void {
  describe(`Store contract: ${backend.name}`, () => {
    let url = '';
    let store: Store;
    const extra: Store[] = [];

    before(async () => {
      url = await backend.setup();
      store = await openStore(url);
    });

    after(async () => {
      for (const s of extra) await s.close().catch(() => {});
      await store?.close().catch(() => {});
      await backend.teardown();
    });

    async function second(): Promise<Store> {
      const s = await openStore(url);
      extra.push(s);
      return s;
    }

    it('migrate twice is a no-op and keeps data', async () => {
      await store.createRollout(rollout('m1'), [ev('m1', 'rollout.created')]);
      const applied = await (store as unknown as { appliedMigrations(): Promise<{ id: number }[]> }).appliedMigrations();
      assert.ok(applied.length >= 1);
      assert.deepEqual(
        applied.map((m) => m.id),
        [...applied.map((m) => m.id)].sort((a, b) => a - b),
      );
      await store.migrate();
      await store.migrate();
      const again = await (store as unknown as { appliedMigrations(): Promise<{ id: number }[]> }).appliedMigrations();
      assert.deepEqual(again, applied);
      assert.equal((await store.getRollout('m1'))?.id, 'm1');
    });

    it('an older schema is upgraded by applying only the missing migrations, keeping data', async () => {
      const where = backend.another();
      const loc = parseStoreUrl(where);
      const all = loc.kind === 'sqlite' ? sqliteMigrations : postgresMigrations;
      assert.ok(all.length >= 2);
      const make = (migrations: typeof all) =>
        loc.kind === 'sqlite' ? new SqliteStore(loc.path, { migrations }) : new PostgresStore(loc.url, { migrations });
      const old = make(all.slice(0, 1));
      await old.migrate();
      assert.deepEqual(
        (await old.appliedMigrations()).map((m) => m.id),
        [1],
      );
      await old.createRollout(rollout('kept'), [ev('kept', 'rollout.created')]);
      await old.close();
      const current = make(all);
      extra.push(current);
      await current.migrate();
      assert.deepEqual(
        (await current.appliedMigrations()).map((m) => m.id),
        all.map((m) => m.id),
      );
      assert.equal((await current.getRollout('kept'))?.id, 'kept');
      assert.equal((await current.listEvents({ rolloutId: 'kept' })).length, 1);
    });

    it('creates, reads and lists rollouts; a duplicate id is a conflict', async () => {
      const r = await store.createRollout(rollout('c1', 'queue', T0 + 10), [ev('c1', 'rollout.created', T0 + 10, { by: 'cli' })]);
      assert.equal(r.revision, 1);
      await store.createRollout(rollout('c2', 'queue', T0 + 20, 'completed'), []);
      const got = await store.getRollout('c1');
      assert.deepEqual(got, { ...rollout('c1', 'queue', T0 + 10), revision: 1 });
      assert.equal(await store.getRollout('nope'), undefined);
      await rejectsWith(store.createRollout(rollout('c1', 'queue'), [ev('c1', 'x')]), 'store.conflict');
      const listed = await store.listRollouts({ service: 'queue' });
      assert.deepEqual(
        listed.map((x) => x.id),
        ['c2', 'c1'],
        'newest first',
      );
      assert.deepEqual(
        (await store.listRollouts({ service: 'queue', limit: 1 })).map((x) => x.id),
        ['c2'],
      );
      assert.deepEqual(await store.listRollouts({ phases: [] }), []);
      // keyset pages: after c2 comes c1; ties on created_at fall back to the id
      await store.createRollout(rollout('c0', 'queue', T0 + 20, 'completed'), []);
      const page1 = await store.listRollouts({ service: 'queue', limit: 2 });
      assert.deepEqual(
        page1.map((x) => x.id),
        ['c2', 'c0'],
      );
      const last = page1[page1.length - 1];
      assert.deepEqual(
        (await store.listRollouts({ service: 'queue', limit: 2, before: { createdAt: last.createdAt, id: last.id } })).map((x) => x.id),
        ['c1'],
      );
      // the rejected duplicate appended nothing
      assert.deepEqual(
        (await store.listEvents({ rolloutId: 'c1' })).map((e) => e.type),
        ['rollout.created'],
      );
    });

    it('saveRollout bumps the revision and detects a stale one', async () => {
      await store.createRollout(rollout('s1'), []);
      const rev2 = await store.saveRollout('s1', 1, { phase: 'running', state: { wave: 1 }, updatedAt: T0 + 1 }, [
        ev('s1', 'rollout.started'),
      ]);
      assert.equal(rev2, 2);
      await rejectsWith(
        store.saveRollout('s1', 1, { phase: 'halted', state: { wave: 9 }, updatedAt: T0 + 2 }, [ev('s1', 'rollout.halted')]),
        'store.conflict',
      );
      const cur = await store.getRollout('s1');
      assert.equal(cur?.phase, 'running');
      assert.deepEqual(cur?.state, { wave: 1 });
      assert.equal(cur?.revision, 2);
      assert.equal(cur?.updatedAt, T0 + 1);
      // the losing save appended no events
      assert.deepEqual(
        (await store.listEvents({ rolloutId: 's1' })).map((e) => e.type),
        ['rollout.started'],
      );
      assert.equal(await store.saveRollout('s1', 2, { phase: 'completed', state: null, updatedAt: T0 + 3 }, []), 3);
      assert.equal((await store.getRollout('s1'))?.state, null);
      await rejectsWith(store.saveRollout('missing', 1, { phase: 'x', state: {}, updatedAt: T0 }, []), 'not_found');
      const phases = await store.listRollouts({ phases: ['completed'] });
      assert.ok(phases.some((r) => r.id === 's1'));
      assert.ok(phases.every((r) => r.phase === 'completed'));
    });

    it('appends events in order with a store-wide seq, and filters them', async () => {
      const before = await store.listEvents();
      const last = before.length ? before[before.length - 1].seq : 0;
      await store.appendEvents([
        ev('e1', 'wave.deploying', T0, { wave: 1 }),
        ev('e2', 'wave.deploying', T0 + 1),
        ev(null, 'server.started', T0 + 2),
      ]);
      await store.appendEvents([
        ev('e1', 'wave.baking', T0 + 3, { left: 3600 }),
        ev('e1', 'driver.deploy.succeeded', T0 + 4, { output: 'ok\u0000done' }),
      ]);
      await store.appendEvents([]);
      const all = await store.listEvents({ afterSeq: last });
      assert.equal(all.length, 5);
      for (let i = 1; i < all.length; i++) assert.ok(all[i].seq > all[i - 1].seq, 'seq strictly increases');
      assert.deepEqual(
        all.map((e) => e.type),
        ['wave.deploying', 'wave.deploying', 'server.started', 'wave.baking', 'driver.deploy.succeeded'],
      );
      assert.equal(all[2].rolloutId, null);
      assert.deepEqual(all[0].data, { wave: 1 });
      assert.equal(all[0].actor, 'controller');
      assert.equal(all[0].at, T0);
      assert.equal(typeof (all[4].data as { output: string }).output, 'string');
      const e1 = await store.listEvents({ rolloutId: 'e1' });
      assert.deepEqual(
        e1.map((e) => e.type),
        ['wave.deploying', 'wave.baking', 'driver.deploy.succeeded'],
      );
      const after = await store.listEvents({ rolloutId: 'e1', afterSeq: e1[0].seq });
      assert.deepEqual(
        after.map((e) => e.seq),
        [e1[1].seq, e1[2].seq],
      );
      const typed = await store.listEvents({ rolloutId: 'e1', types: ['wave.baking', 'driver.deploy.succeeded'] });
      assert.deepEqual(
        typed.map((e) => e.type),
        ['wave.baking', 'driver.deploy.succeeded'],
      );
      assert.equal((await store.listEvents({ afterSeq: last, limit: 2 })).length, 2);
      assert.deepEqual(await store.listEvents({ types: [] }), []);
    });

    it('beginAction is idempotent by key; finishAction records the result', async () => {
      const key = 'r9:eu-west/c1:deploy:1';
      const a = await store.beginAction(key, 'r9', T0);
      assert.equal(a.created, true);
      assert.deepEqual(a.record, {
        key,
        rolloutId: 'r9',
        status: 'started',
        startedAt: T0,
        finishedAt: null,
        result: null,
        target: null,
        token: null,
        deadline: null,
        place: null,
        pgid: null,
      });
      const b = await store.beginAction(key, 'r9', T0 + 500);
      assert.equal(b.created, false);
      assert.equal(b.record.startedAt, T0, 'the first start is kept');
      await store.finishAction(key, 'succeeded', T0 + 900, { detail: 'exit 0', attempts: 1 });
      const done = await store.getAction(key);
      assert.equal(done?.status, 'succeeded');
      assert.equal(done?.finishedAt, T0 + 900);
      assert.deepEqual(done?.result, { detail: 'exit 0', attempts: 1 });
      const c = await store.beginAction(key, 'r9', T0 + 1000);
      assert.equal(c.created, false);
      assert.equal(c.record.status, 'succeeded', 'a finished action is reported as finished, not restarted');
      assert.equal(await store.getAction('other'), undefined);
      await rejectsWith(store.finishAction('never-begun', 'failed', T0, null), 'not_found');
    });

    it('beginAction from two connections at once: exactly one creates', async () => {
      const s2 = await second();
      for (let i = 0; i < 10; i++) {
        const key = `race:${i}`;
        const [x, y] = await Promise.all([store.beginAction(key, 'race', T0 + i), s2.beginAction(key, 'race', T0 + i)]);
        assert.equal(Number(x.created) + Number(y.created), 1, `round ${i}`);
      }
    });

    it('records and queries observations', async () => {
      const rows: Observation[] = [
        obs({ at: T0 + 1000 }),
        obs({ at: T0 + 2000, verdict: 'fail', latencyMs: 2000, timedOut: true, detail: 'timeout after 2s', version: '2.0.0' }),
        obs({ at: T0 + 3000, cell: 'c2' }),
        {
          service: 'blob',
          region: 'eu-west',
          cell: null,
          source: 'error-rate',
          at: T0 + 4000,
          verdict: 'pass',
          value: 0.25,
          requests: 1200,
          failures: 3,
        },
        obs({ at: T0 + 5000, region: 'us-east', verdict: 'error', detail: 'bad template' }),
        obs({ at: T0 + 6000, service: 'queue' }),
      ];
      await store.recordObservations(rows);
      await store.recordObservations([]);
      const blob = await store.queryObservations({ service: 'blob' });
      assert.equal(blob.length, 5);
      assert.deepEqual(
        blob.map((o) => o.at),
        [1000, 2000, 3000, 4000, 5000].map((x) => T0 + x),
      );
      assert.deepEqual(blob[1], rows[1]);
      assert.deepEqual(blob[3], rows[3], 'optional fields round-trip; absent ones stay absent');
      assert.equal('latencyMs' in blob[3], false);
      assert.equal('timedOut' in blob[0], false);
      assert.deepEqual(
        (await store.queryObservations({ service: 'blob', cell: 'c1', region: 'eu-west' })).map((o) => o.at),
        [T0 + 1000, T0 + 2000],
      );
      assert.deepEqual(
        (await store.queryObservations({ cell: null })).map((o) => o.source),
        ['error-rate'],
      );
      assert.deepEqual((await store.queryObservations({ source: 'error-rate' })).length, 1);
      assert.deepEqual(
        (await store.queryObservations({ service: 'blob', from: T0 + 2000, to: T0 + 4000 })).map((o) => o.at),
        [T0 + 2000, T0 + 3000],
      );
      assert.deepEqual(
        (await store.queryObservations({ service: 'blob', limit: 2 })).map((o) => o.at),
        [T0 + 1000, T0 + 2000],
      );
      assert.deepEqual(
        (await store.queryObservations({ service: 'blob', limit: 2, order: 'desc' })).map((o) => o.at),
        [T0 + 5000, T0 + 4000],
      );
    });

    it('latestObservations gives the newest per (service, region, cell, source) since a time', async () => {
      const svc = 'latest';
      await store.recordObservations([
        obs({ service: svc, at: T0 + 1, verdict: 'pass' }),
        obs({ service: svc, at: T0 + 5, verdict: 'fail' }),
        obs({ service: svc, at: T0 + 3, verdict: 'pass' }),
        obs({ service: svc, at: T0 + 2, cell: 'c2' }),
        obs({ service: svc, at: T0 + 9, cell: null, source: 'metric', value: 1 }),
        obs({ service: svc, at: T0 + 10, cell: null, source: 'metric', value: 2 }),
        obs({ service: svc, at: T0 - 100, region: 'old' }),
      ]);
      const latest = await store.latestObservations({ service: svc, since: T0 });
      const key = (o: Observation) => `${o.region}/${o.cell}/${o.source}`;
      const by = new Map(latest.map((o) => [key(o), o]));
      assert.equal(latest.length, 3);
      assert.equal(by.get('eu-west/c1/health')?.verdict, 'fail');
      assert.equal(by.get('eu-west/c1/health')?.at, T0 + 5);
      assert.equal(by.get('eu-west/c2/health')?.at, T0 + 2);
      assert.equal(by.get('eu-west/null/metric')?.value, 2);
      assert.equal(by.has('old/c1/health'), false, 'older than since');
      const later = await store.latestObservations({ service: svc, since: T0 + 4 });
      assert.deepEqual(later.map(key).sort(), ['eu-west/c1/health', 'eu-west/null/metric']);
      const all = await store.latestObservations({ since: T0 - 1000 });
      assert.ok(all.some((o) => o.service === svc && o.region === 'old'));
      assert.ok(all.some((o) => o.service === 'blob'));
    });

    it('leases: taken when free, refused while held, renewed by the holder keeping its token, taken over after expiry with a greater one', async () => {
      const a1 = await store.acquireLease('controller', 'a', 60_000);
      assert.ok(a1, 'free: taken');
      assert.equal(await store.acquireLease('controller', 'b', 60_000), undefined, 'held by a');
      const a2 = await store.acquireLease('controller', 'a', 60_000);
      assert.equal(a2?.token, a1.token, 'a renewal keeps the token');
      assert.ok(a2!.until >= a1.until);
      await store.releaseLease('controller', 'b'); // not b's: no effect
      assert.equal(await store.acquireLease('controller', 'b', 60_000), undefined);
      await store.releaseLease('controller', 'a');
      const b1 = await store.acquireLease('controller', 'b', 300);
      assert.ok(b1 && b1.token > a1.token, 'free after release; the new holding has a greater token');
      assert.equal(await store.acquireLease('controller', 'a', 60_000), undefined, 'held by b');
      // Expiry is judged by the store's clock: wait until it says b's holding is over.
      while ((await store.now()) < b1.until) await new Promise((r) => setTimeout(r, 20));
      const a3 = await store.acquireLease('controller', 'a', 60_000);
      assert.ok(a3 && a3.token > b1.token, 'expired: a takes over with a greater token');
      assert.deepEqual(await store.getLease('controller'), { name: 'controller', holder: 'a', token: a3.token, until: a3.until });
      assert.ok(await store.acquireLease('other', 'b', 1000), 'leases are independent by name');
    });

    it('liveLeases: the unexpired leases with a prefix, by the store clock', async () => {
      const p = `member-${Math.random().toString(36).slice(2, 8)}:`;
      await store.acquireLease(`${p}b`, 'b', 60_000);
      await store.acquireLease(`${p}a`, 'a', 60_000);
      const short = (await store.acquireLease(`${p}c`, 'c', 200))!;
      await store.acquireLease(`x${p}d`, 'd', 60_000);
      assert.deepEqual(
        (await store.liveLeases(p)).map((l) => l.holder),
        ['a', 'b', 'c'],
      );
      while ((await store.now()) < short.until) await new Promise((r) => setTimeout(r, 20));
      await store.releaseLease(`${p}b`, 'b');
      assert.deepEqual(
        (await store.liveLeases(p)).map((l) => l.holder),
        ['a'],
      );
    });

    it('leases from two connections at once: exactly one holder', async () => {
      const s2 = await second();
      for (let i = 0; i < 10; i++) {
        const name = `race-lease-${i}`;
        const [x, y] = await Promise.all([store.acquireLease(name, 'a', 1000), s2.acquireLease(name, 'b', 1000)]);
        assert.equal(Number(!!x) + Number(!!y), 1, `round ${i}`);
      }
    });

    it('fencing: a holding whose lease was taken over cannot save, append, begin, arm or finish; the new one can', async () => {
      await store.createRollout(rollout('f1'), []);
      const name = 'rollout:f1';
      const old = await store.acquireLease(name, 'old', 1000);
      assert.ok(old);
      const oldFence = { lease: name, holder: 'old', token: old.token };
      assert.equal(await store.saveRollout('f1', 1, { phase: 'running', state: { n: 1 }, updatedAt: T0 }, [ev('f1', 'a')], oldFence), 2);
      const begun = await store.beginAction('f1:r1/c1:deploy:1', 'f1', T0, { fence: oldFence, target: 'r1/c1' });
      assert.equal(begun.created, true);
      assert.equal(await store.armAttempt('f1:r1/c1:deploy:1', oldFence, 500), true);
      // The old holder "sleeps" past its lease (and past its attempt's deadline); another takes over.
      const s2 = await second();
      let fresh;
      while (!(fresh = await s2.acquireLease(name, 'new', 60_000))) await new Promise((r) => setTimeout(r, 20));
      assert.ok(fresh.token > old.token);
      const newFence = { lease: name, holder: 'new', token: fresh.token };
      // The old holding wakes: every write is refused in the same transaction, and nothing changed.
      await rejectsWith(
        store.saveRollout('f1', 2, { phase: 'halted', state: { n: 2 }, updatedAt: T0 }, [ev('f1', 'b')], oldFence),
        'store.fenced',
      );
      await rejectsWith(store.appendEvents([ev('f1', 'c')], oldFence), 'store.fenced');
      await rejectsWith(store.beginAction('f1:r1/c1:deploy:2', 'f1', T0, { fence: oldFence, target: 'r1/c1' }), 'store.fenced');
      assert.equal(await store.armAttempt('f1:r1/c1:deploy:1', oldFence, 1000), false, 'no driver attempt starts');
      assert.equal((await store.getRollout('f1'))?.revision, 2);
      assert.deepEqual(
        (await store.listEvents({ rolloutId: 'f1' })).map((e) => e.type),
        ['a'],
      );
      // The new holder takes over the call whose attempt is surely over, and owns it from then on.
      const taken = await s2.beginAction('f1:r1/c1:deploy:1', 'f1', T0, { fence: newFence, target: 'r1/c1' });
      assert.equal(taken.created, false);
      assert.equal(taken.busyUntil, undefined);
      assert.equal(taken.record.token, fresh.token);
      await rejectsWith(store.finishAction('f1:r1/c1:deploy:1', 'succeeded', T0, { ok: true }, oldFence), 'store.fenced');
      await s2.finishAction('f1:r1/c1:deploy:1', 'succeeded', T0, { ok: true }, newFence);
      assert.equal(await s2.saveRollout('f1', 2, { phase: 'running', state: { n: 3 }, updatedAt: T0 }, [], newFence), 3);
    });

    it('fencing: a call started by another holding is not repeated while its attempt may still run', async () => {
      await store.createRollout(rollout('f2'), []);
      const name = 'rollout:f2';
      const a = await store.acquireLease(name, 'a', 5000);
      const fa = { lease: name, holder: 'a', token: a!.token };
      await store.beginAction('f2:r1/c1:deploy:1', 'f2', T0, { fence: fa, target: 'r1/c1' });
      // The attempt may run 1.5 s: the lease is extended to outlive it.
      assert.equal(await store.armAttempt('f2:r1/c1:deploy:1', fa, 1500), true);
      assert.ok((await store.getLease(name))!.until >= (await store.now()) + 1000, 'the lease outlives the attempt it covers');
      // Even a holder that got the lease some other way (released) must wait for the attempt's deadline.
      await store.releaseLease(name, 'a');
      const b = await store.acquireLease(name, 'b', 60_000);
      const fb = { lease: name, holder: 'b', token: b!.token };
      for (const key of ['f2:r1/c1:deploy:1', 'f2:r1/c1:rollback:1']) {
        const r = await store.beginAction(key, 'f2', T0, { fence: fb, target: 'r1/c1' });
        assert.ok(r.busyUntil !== undefined && r.busyUntil > (await store.now()), `${key}: busy while the other attempt may run`);
        assert.equal(r.blocking?.key, 'f2:r1/c1:deploy:1');
      }
      assert.equal(await store.getAction('f2:r1/c1:rollback:1'), undefined, 'a busy answer creates nothing');
      // Its process group is known gone: the attempt is declared over and the call can be taken.
      await store.noteAttempt('f2:r1/c1:deploy:1', fa.token, 'here', 12345);
      await store.attemptOver('f2:r1/c1:deploy:1', fa.token);
      const r = await store.beginAction('f2:r1/c1:rollback:1', 'f2', T0, { fence: fb, target: 'r1/c1' });
      assert.equal(r.created, true);
    });

    it('one active rollout per service: concurrent creates from two connections, exactly one wins; the others name it', async () => {
      const s2 = await second();
      for (let round = 0; round < 3; round++) {
        const service = `one-${round}`;
        const tries = Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? s2 : store).createRollout(rollout(`${service}-${i}`, service), [ev(`${service}-${i}`, 'rollout.created')]),
        );
        const results = await Promise.allSettled(tries);
        const won = results.filter((r) => r.status === 'fulfilled');
        assert.equal(won.length, 1, `round ${round}: exactly one active rollout`);
        const winner = (won[0] as PromiseFulfilledResult<{ id: string }>).value.id;
        for (const r of results) {
          if (r.status === 'rejected') {
            assert.ok(isEtapeError(r.reason) && r.reason.code === 'conflict', String(r.reason));
            assert.match(r.reason.message, new RegExp(`already has rollout ${winner} \\(pending\\)`));
          }
        }
        assert.equal(
          (await store.listEvents({ rolloutId: `${service}-0` })).length + (await store.listEvents({ rolloutId: `${service}-1` })).length <=
            1,
          true,
        );
        // Once it ends, the next one may start.
        const rec = (await store.getRollout(winner))!;
        await store.saveRollout(winner, rec.revision, { phase: 'completed', state: {}, updatedAt: T0 }, []);
        await store.createRollout(rollout(`${service}-next`, service), []);
      }
    });

    it('refuses a database migrated by a newer etape, naming the version it needs, and changes nothing', async () => {
      const where = backend.another();
      const loc = parseStoreUrl(where);
      const all = loc.kind === 'sqlite' ? sqliteMigrations : postgresMigrations;
      const newer = [...all, { id: 9999, name: 'from-the-future', sql: 'CREATE TABLE future_thing (id integer)' }];
      const make = (migrations: typeof all) =>
        loc.kind === 'sqlite' ? new SqliteStore(loc.path, { migrations }) : new PostgresStore(loc.url, { migrations });
      const future = make(newer);
      await future.migrate();
      const applied = await future.appliedMigrations();
      await future.close();
      // Pretend the newer etape was 99.1.0.
      const direct = make(newer);
      extra.push(direct);
      const older = make(all);
      extra.push(older);
      if (loc.kind === 'sqlite') {
        const Database = (await import('better-sqlite3')).default;
        const db = new Database(loc.path);
        db.prepare("UPDATE schema_migrations SET etape_version = '99.1.0' WHERE id = 9999").run();
        db.close();
      } else {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`UPDATE ${new URL(where).searchParams.get('schema')}.schema_migrations SET etape_version = '99.1.0' WHERE id = 9999`);
        await c.end();
      }
      await assert.rejects(older.migrate(), (e: unknown) => {
        assert.ok(isEtapeError(e) && e.code === 'store.too_new', String(e));
        assert.match(e.message, /upgraded by a newer etape \(99\.1\.0\)/);
        assert.match(e.message, /migration 9999 \(from-the-future\)/);
        assert.match(e.message, /Run etape 99\.1\.0 or newer/);
        return true;
      });
      assert.deepEqual(await older.appliedMigrations(), applied, 'nothing changed');
    });

    it('incidents: save, replace, get, list newest first with open/kind/since/limit filters', async () => {
      await store.saveIncident(incident('i1', { createdAt: T0, updatedAt: T0 }));
      await store.saveIncident(incident('i2', { createdAt: T0 + 100, updatedAt: T0 + 100 }));
      await store.saveIncident(
        incident('m1', {
          kind: 'maintenance',
          status: 'scheduled',
          impact: 'maintenance',
          createdAt: T0 + 50,
          updatedAt: T0 + 50,
          scheduledFor: T0 + 1000,
          scheduledUntil: T0 + 2000,
        }),
      );
      assert.deepEqual(await store.getIncident('i1'), incident('i1'));
      assert.equal(await store.getIncident('none'), undefined);
      assert.deepEqual(
        (await store.listIncidents()).map((i) => i.id),
        ['i2', 'm1', 'i1'],
      );
      const resolved = incident('i1', {
        status: 'resolved',
        updatedAt: T0 + 500,
        resolvedAt: T0 + 500,
        updates: [...incident('i1').updates, { id: 'u2', at: T0 + 500, status: 'resolved', body: 'Fixed', actor: 'cli:ops' }],
      });
      await store.saveIncident(resolved);
      assert.deepEqual(await store.getIncident('i1'), resolved);
      assert.deepEqual(
        (await store.listIncidents({ open: true })).map((i) => i.id),
        ['i2', 'm1'],
      );
      assert.deepEqual(
        (await store.listIncidents({ open: false })).map((i) => i.id),
        ['i1'],
      );
      assert.deepEqual(
        (await store.listIncidents({ kind: 'maintenance' })).map((i) => i.id),
        ['m1'],
      );
      assert.deepEqual(
        (await store.listIncidents({ since: T0 + 200 })).map((i) => i.id),
        ['i1'],
        'updated after since',
      );
      assert.deepEqual(
        (await store.listIncidents({ since: T0 + 60 })).map((i) => i.id),
        ['i2', 'i1'],
      );
      assert.deepEqual(
        (await store.listIncidents({ limit: 1 })).map((i) => i.id),
        ['i2'],
      );
      await store.saveIncident(incident('m2', { kind: 'maintenance', status: 'completed', createdAt: T0 + 1 }));
      assert.equal((await store.listIncidents({ open: true, kind: 'maintenance' })).length, 1);
    });

    it('concurrent saveRollout from two connections: exactly one wins each round', async () => {
      const s2 = await second();
      await store.createRollout(rollout('race'), []);
      let revision = 1;
      for (let round = 0; round < 15; round++) {
        const results = await Promise.allSettled([
          store.saveRollout('race', revision, { phase: 'running', state: { by: 'one', round }, updatedAt: T0 + round }, [
            ev('race', `one.${round}`),
          ]),
          s2.saveRollout('race', revision, { phase: 'running', state: { by: 'two', round }, updatedAt: T0 + round }, [
            ev('race', `two.${round}`),
          ]),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: exactly one save wins`);
        assert.ok(
          isEtapeError(lost[0].reason) && lost[0].reason.code === 'store.conflict',
          `round ${round}: the other gets store.conflict`,
        );
        revision = (won[0] as PromiseFulfilledResult<number>).value;
        assert.equal(revision, round + 2);
        const winner = results[0].status === 'fulfilled' ? 'one' : 'two';
        assert.deepEqual((await s2.getRollout('race'))?.state, { by: winner, round });
      }
      const events = await store.listEvents({ rolloutId: 'race' });
      assert.equal(events.length, 15, 'only the winners appended events');
    });

    it('events appended from two connections at once all land with distinct, increasing seq', async () => {
      const s2 = await second();
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        jobs.push(store.appendEvents([ev('multi', 'a', T0 + i, { i }), ev('multi', 'a2', T0 + i, { i })]));
        jobs.push(s2.appendEvents([ev('multi', 'b', T0 + i)]));
      }
      await Promise.all(jobs);
      const got = await s2.listEvents({ rolloutId: 'multi' });
      assert.equal(got.length, 60);
      assert.equal(new Set(got.map((e) => e.seq)).size, 60);
      // a batch keeps its order (batches from different writers may interleave)
      for (let i = 0; i < 20; i++) {
        const pos = (t: string) => got.findIndex((e) => e.type === t && (e.data as { i: number }).i === i);
        assert.ok(pos('a') >= 0 && pos('a') < pos('a2'), `batch ${i} in order`);
      }
    });

    it('a reader tailing afterSeq while others append concurrently sees every event exactly once', async () => {
      // On PostgreSQL, sequence values are drawn before commit: without the store's event lock, a reader
      // following afterSeq skips late committers (dozens per run in this shape of test).
      const s2 = await second();
      const rid = 'tail';
      const writersN = 8;
      const each = 60;
      const total = writersN * each;
      let writing = true;
      const writers = Promise.all(
        Array.from({ length: writersN }, async (_, w) => {
          for (let i = 0; i < each; i++) await s2.appendEvents([ev(rid, `w${w}`, T0 + i, { pad: 'x'.repeat((i * 997 + w * 131) % 4000) })]);
        }),
      ).finally(() => (writing = false));
      const seen: number[] = [];
      let cursor = 0;
      for (;;) {
        const page = await store.listEvents({ rolloutId: rid, afterSeq: cursor, limit: 50 });
        for (const e of page) seen.push(e.seq);
        if (page.length) cursor = page[page.length - 1].seq;
        else if (!writing) break;
        else await new Promise((r) => setImmediate(r));
      }
      await writers;
      const all = await store.listEvents({ rolloutId: rid });
      assert.equal(all.length, total);
      assert.equal(seen.length, total, `the tailing reader saw ${seen.length} of ${total}`);
      assert.deepEqual(
        seen,
        all.map((e) => e.seq),
        'in order, none repeated',
      );
    });

    it('data survives closing and reopening the store', async () => {
      await store.createRollout(rollout('durable'), [ev('durable', 'rollout.created')]);
      const s3 = await openStore(url);
      try {
        assert.equal((await s3.getRollout('durable'))?.id, 'durable');
        assert.equal((await s3.listEvents({ rolloutId: 'durable' })).length, 1);
      } finally {
        await s3.close();
      }
    });
  });
}

contract(sqliteBackend());
contract(postgresBackend());

describe('store URLs', () => {
  it('resolveStoreUrl: flag, then ETAPE_STORE, then config, then the default file', () => {
    assert.equal(resolveStoreUrl({ flag: 'a.db', config: 'c.db', env: { ETAPE_STORE: 'e.db' } }), 'a.db');
    assert.equal(resolveStoreUrl({ config: 'c.db', env: { ETAPE_STORE: 'e.db' } }), 'e.db');
    assert.equal(resolveStoreUrl({ config: 'c.db', env: {} }), 'c.db');
    assert.equal(resolveStoreUrl({ env: { ETAPE_STORE: '' } }), '.etape/etape.db');
  });

  it('parseStoreUrl picks the backend', () => {
    assert.deepEqual(parseStoreUrl('postgres://u@h/db'), { kind: 'postgres', url: 'postgres://u@h/db' });
    assert.deepEqual(parseStoreUrl('postgresql://u@h/db'), { kind: 'postgres', url: 'postgresql://u@h/db' });
    assert.deepEqual(parseStoreUrl('sqlite:data/x.db'), { kind: 'sqlite', path: 'data/x.db' });
    assert.deepEqual(parseStoreUrl('sqlite:///tmp/x.db'), { kind: 'sqlite', path: '/tmp/x.db' });
    assert.deepEqual(parseStoreUrl('.etape/etape.db'), { kind: 'sqlite', path: '.etape/etape.db' });
    assert.throws(
      () => parseStoreUrl('mysql://u:pw@h/db'),
      (e: unknown) => isEtapeError(e) && e.code === 'usage' && !e.message.includes('pw'),
    );
    assert.equal(redactStoreUrl('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
  });

  it('an unreachable PostgreSQL is store.unavailable with a message naming it, not the password', async () => {
    // a loopback port nobody listens on: bind one, close it, use it
    const net = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    await assert.rejects(openStore(`postgres://u:hunter2@127.0.0.1:${port}/db`), (e: unknown) => {
      assert.ok(isEtapeError(e));
      assert.equal(e.code, 'store.unavailable');
      assert.match(e.message, /127\.0\.0\.1/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
  });
});

describe('SQLite shared by several processes', () => {
  it('writers in separate processes wait for each other (busy_timeout) and exactly one save per revision wins', async () => {
    const { spawn } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const dir = mkdtempSync(join(tmpdir(), 'etape-store-procs-'));
    try {
      const db = join(dir, 'etape.db');
      const store = await openStore(db);
      await store.createRollout(rollout('shared'), []);
      const sqliteModule = fileURLToPath(new URL('../src/store/sqlite.ts', import.meta.url));
      const script = join(dir, 'writer.mts');
      writeFileSync(
        script,
        `import { SqliteStore } from ${JSON.stringify(sqliteModule)};
const [db, name, rounds] = process.argv.slice(2);
const s = new SqliteStore(db);
const { existsSync, writeFileSync } = await import('node:fs');
writeFileSync(db + '.ready-' + name, '');
while (!existsSync(db + '.go')) await new Promise((r) => setTimeout(r, 5));
let wins = 0, conflicts = 0;
for (let i = 0; i < Number(rounds); i++) {
  const r = await s.getRollout('shared');
  try {
    await s.saveRollout('shared', r.revision, { phase: 'running', state: { by: name, i }, updatedAt: i }, [{ rolloutId: 'shared', at: i, actor: name, type: 'saved', data: { i } }]);
    wins++;
  } catch (e) {
    if (e.code !== 'store.conflict') throw e;
    conflicts++;
  }
  await s.appendEvents([{ rolloutId: 'log', at: i, actor: name, type: 'tick', data: null }]);
}
await s.close();
console.log(JSON.stringify({ wins, conflicts }));
`,
      );
      const run = (name: string) =>
        new Promise<{ wins: number; conflicts: number }>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script, db, name, '400'], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          child.on('exit', (code) =>
            code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`writer ${name} exited ${code}: ${err}`)),
          );
        });
      const names = ['p1', 'p2', 'p3'];
      const running = Promise.all(names.map(run));
      // start them together, so their writes really interleave
      const { existsSync } = await import('node:fs');
      const deadline = Date.now() + 60_000;
      while (!names.every((n) => existsSync(`${db}.ready-${n}`))) {
        if (Date.now() > deadline) throw new Error('writers did not start');
        await new Promise((r) => setTimeout(r, 10));
      }
      writeFileSync(`${db}.go`, '');
      const results = await running;
      const wins = results.reduce((a, r) => a + r.wins, 0);
      assert.equal(
        results.reduce((a, r) => a + r.wins + r.conflicts, 0),
        1200,
      );
      assert.ok(results.reduce((a, r) => a + r.conflicts, 0) > 0, `the writers overlapped: ${JSON.stringify(results)}`);
      const final = await store.getRollout('shared');
      assert.equal(final?.revision, 1 + wins, 'every win bumped the revision once');
      assert.equal((await store.listEvents({ rolloutId: 'shared' })).length, wins, 'only winners appended events');
      const ticks = await store.listEvents({ rolloutId: 'log' });
      assert.equal(ticks.length, 1200, 'no write was lost to a busy database');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

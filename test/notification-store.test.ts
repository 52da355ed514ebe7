// The notification store (subscribers, outbox, delivery log, cursors) behaves the same on SQLite and
// PostgreSQL: a key is queued once, a claim is exclusive until it expires, only the claim's holder finishes a
// message, and every attempt is logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import type { NewMessage, SubscriberRecord } from '../src/store/notifications.js';

const PG_URL = process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function contract(store: Store): Promise<void> {
  const ns = store.notifications;
  const sub: SubscriberRecord = {
    id: 'sub-1',
    channel: 'email',
    address: 'a@example.com',
    services: ['blob'],
    regions: [],
    status: 'pending',
    token: 'tok-1',
    createdAt: 1000,
    updatedAt: 1000,
    confirmedAt: null,
    unsubscribedAt: null,
    confirmSentAt: 1000,
  };
  await ns.saveSubscriber(sub);
  await ns.saveSubscriber({ ...sub, status: 'confirmed', confirmedAt: 2000, updatedAt: 2000 });
  assert.deepEqual(await ns.findSubscriber({ token: 'tok-1' }), { ...sub, status: 'confirmed', confirmedAt: 2000, updatedAt: 2000 });
  assert.equal((await ns.listSubscribers({ status: 'confirmed' })).length, 1);
  assert.equal(await ns.findSubscriber({ channel: 'email', address: 'b@example.com' }), undefined);

  const msg = (k: string, at = 5000): NewMessage => ({
    key: k,
    channel: 'email',
    target: 'a@example.com',
    subscriberId: 'sub-1',
    kind: 'incident.opened',
    payload: { subject: k, text: 'x' },
    createdAt: at,
  });
  assert.equal(await ns.enqueue([msg('m1'), msg('m2'), msg('m3')]), 3);
  assert.equal(await ns.enqueue([msg('m1'), msg('m4')]), 1, 'a key already queued is skipped');
  const a = await ns.claim('A', 6000, 7000, 2);
  assert.deepEqual(
    a.map((m) => m.key),
    ['m1', 'm2'],
  );
  const b = await ns.claim('B', 6000, 7000, 10);
  assert.deepEqual(
    b.map((m) => m.key),
    ['m3', 'm4'],
    'claimed messages are not claimed twice',
  );
  assert.equal(
    await ns.finish(a[0].id, 'B', { status: 'sent', at: 6100, attempt: 1, ok: true, detail: '250' }),
    false,
    'only the holder finishes',
  );
  assert.equal(await ns.finish(a[0].id, 'A', { status: 'sent', at: 6100, attempt: 1, ok: true, detail: '250 ok' }), true);
  assert.equal(
    await ns.finish(a[1].id, 'A', { status: 'pending', at: 6100, nextAt: 9000, attempt: 1, ok: false, detail: 'ECONNREFUSED' }),
    true,
  );
  // B's claim expires at 7000: then its messages are free again; m2 waits for 9000.
  assert.deepEqual(await ns.claim('C', 6500, 8000, 10), []);
  assert.deepEqual(
    (await ns.claim('C', 7001, 20_000, 10)).map((m) => m.key),
    ['m3', 'm4'],
  );
  assert.deepEqual(
    (await ns.claim('D', 9000, 10_000, 10)).map((m) => [m.key, m.attempts]),
    [['m2', 1]],
  );
  assert.deepEqual(await ns.countMessages(), { pending: 3, sent: 1, failed: 0 });
  const log = await ns.listDeliveries({});
  assert.deepEqual(
    log.map((d) => [d.messageId, d.attempt, d.ok, d.detail]),
    [
      [a[1].id, 1, false, 'ECONNREFUSED'],
      [a[0].id, 1, true, '250 ok'],
    ],
  );
  const sent = (await ns.listMessages({ status: 'sent' }))[0];
  assert.equal(sent.sentAt, 6100);
  assert.deepEqual(sent.payload, { subject: 'm1', text: 'x' });

  assert.equal(await ns.getCursor('operators'), undefined);
  await ns.saveCursor('operators', 5);
  await ns.saveCursor('operators', 3);
  assert.equal(await ns.getCursor('operators'), 5, 'a cursor never moves back');
  await store.appendEvents([{ rolloutId: null, at: 1, actor: 't', type: 'x', data: null }]);
  assert.ok((await ns.lastEventSeq()) >= 1);
}

test('notification store on SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-ns-'));
  const store = await openStore(join(dir, 'etape.db'));
  try {
    await contract(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('notification store on PostgreSQL', async () => {
  const schema = `etape_test_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  const store = await openStore(u.toString());
  try {
    await contract(store);
  } finally {
    await store.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
});

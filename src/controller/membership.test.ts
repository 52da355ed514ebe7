import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../core/clock.js';
import { openStore } from '../store/open.js';
import { Elected, Membership, ownerOf } from './membership.js';

test('rendezvous hashing: every key has one owner among the members; a member leaving moves only its own keys', () => {
  const keys = Array.from({ length: 300 }, (_, i) => `blob/r${i % 17}/c${i}`);
  const three = ['a', 'b', 'c'];
  const owners = new Map(keys.map((k) => [k, ownerOf(k, three)!]));
  const counts = three.map((m) => [...owners.values()].filter((o) => o === m).length);
  for (const n of counts) assert.ok(n > 60, `shares are roughly even: ${counts.join(', ')}`);
  assert.deepEqual(
    keys.map((k) => ownerOf(k, ['c', 'a', 'b'])),
    keys.map((k) => owners.get(k)),
    'the order of the list does not matter',
  );
  for (const k of keys) {
    const now = ownerOf(k, ['a', 'c'])!;
    if (owners.get(k) !== 'b') assert.equal(now, owners.get(k), `${k} stays where it was`);
    else assert.ok(now === 'a' || now === 'c');
  }
  assert.equal(ownerOf('x', []), undefined);
});

test('membership: live members by the store clock; a member that stops renewing drops out after the lease time', async () => {
  const clock = new VirtualClock();
  const store = await openStore(':memory:', { clock });
  const seen = new Map<string, string[]>();
  const member = (holder: string) => new Membership({ store, holder, leaseMs: 1000, onChange: (m) => seen.set(holder, m) });
  const [a, b, c] = [member('a'), member('b'), member('c')];
  for (const m of [a, b, c]) await m.refresh();
  await a.refresh();
  await b.refresh();
  assert.deepEqual(seen.get('a'), ['a', 'b', 'c']);
  assert.deepEqual(b.members, ['a', 'b', 'c']);

  // c dies (stops renewing). Before its lease runs out it still counts; after, the others drop it.
  clock.advance(600);
  await a.refresh();
  assert.deepEqual(a.members, ['a', 'b', 'c']);
  await b.refresh();
  clock.advance(600);
  await a.refresh();
  await b.refresh();
  assert.deepEqual(a.members, ['a', 'b']);
  assert.deepEqual(seen.get('b'), ['a', 'b']);

  // A member that stops cleanly leaves at once.
  await b.stop();
  await a.refresh();
  assert.deepEqual(a.members, ['a']);
  await store.close();
});

test('election: one holder at a time; another takes over once the holder stops renewing, with a greater token', async () => {
  const clock = new VirtualClock();
  const store = await openStore(':memory:', { clock });
  const gained: string[] = [];
  const mk = (holder: string) =>
    new Elected({ store, lease: 'statuspage.publisher', holder, leaseMs: 1000, onGain: () => gained.push(holder) });
  const [a, b] = [mk('a'), mk('b')];
  assert.equal(await a.tryHold(), true);
  assert.equal(await b.tryHold(), false);
  const tokenA = a.fence()!.token;
  assert.equal(b.fence(), undefined);
  clock.advance(1500); // a stops renewing (dies or is paused)
  assert.equal(await b.tryHold(), true);
  assert.ok(b.fence()!.token > tokenA);
  // a wakes: the store refuses its old holding, and it does not get the lease back while b renews.
  assert.equal(await a.tryHold(), false);
  assert.equal(a.fence(), undefined);
  await assert.rejects(
    store.appendEvents([{ rolloutId: null, at: 0, actor: 'etape', type: 'x', data: {} }], {
      lease: 'statuspage.publisher',
      holder: 'a',
      token: tokenA,
    }),
    /no longer holds/,
  );
  assert.deepEqual(gained, ['a', 'b']);
  await store.close();
});

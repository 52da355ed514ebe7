// The status builder on a real SQLite store: automatic incidents from evidence and from a halted rollout,
// auto-resolve, webhooks signed and retried, the publish command, overdue flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { Observation } from '../src/core/types.js';
import { StatusBuilder } from '../src/statuspage/publisher.js';
import { createWebhookNotifier } from '../src/incidents/notify.js';
import { verifySignature } from '../src/drivers/http.js';
import { listIncidentsOp, openIncidentOp } from '../src/incidents/service.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 25, 0, 0);

function config(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    fleet: {
      regions: [
        { id: 'weu', geography: 'europe', cells: [{ id: 'c1' }, { id: 'c2' }] },
        { id: 'neu', geography: 'europe', cells: [{ id: 'c1' }, { id: 'c2' }] },
      ],
    },
    services: [{ name: 'blob' }],
    statuspage: { title: 'Test status', ...extra },
  });
}

function probes(at: number, failRegion?: string): Observation[] {
  const out: Observation[] = [];
  for (const region of ['weu', 'neu'])
    for (const cell of ['c1', 'c2'])
      out.push({
        service: 'blob',
        region,
        cell,
        source: 'http',
        at,
        verdict: region === failRegion ? 'fail' : 'pass',
        latencyMs: 30,
        detail: region === failRegion ? 'HTTP 503' : undefined,
      });
  return out;
}

async function receiver(failFirst: number) {
  const got: { body: string; sig: string | undefined; event: string | undefined }[] = [];
  let seen = 0;
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen++;
      if (seen <= failFirst) {
        res.statusCode = 503;
        res.end('busy');
        return;
      }
      got.push({
        body,
        sig: req.headers['x-etape-signature'] as string | undefined,
        event: req.headers['x-etape-event'] as string | undefined,
      });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    got,
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((r) => server.close(() => r())),
    attempts: () => seen,
  };
}

test(
  'evidence opens an incident after openAfter and resolves it after resolveAfter; subscribers hear of it',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etape-inc-'));
    const hook = await receiver(1);
    const store = await openStore(join(dir, 'etape.db'));
    try {
      const cfg = config({ publish: `echo "$ETAPE_STATUS_DIR" > ${join(dir, 'published.txt')}` });
      const clock = new VirtualClock(T0);
      const notifier = createWebhookNotifier(
        [{ url: hook.url, secret: 's3cret', events: ['incident', 'component'], timeout: '5s', retries: 3 }],
        { backoffMs: 10, maxBackoffMs: 20 },
      );
      const out = join(dir, 'site');
      const b = new StatusBuilder({ store, config: cfg, clock, outDir: out, notifier });
      let opened: string | undefined;
      for (let m = 0; m <= 30; m++) {
        const bad = m >= 1 && m <= 10;
        await store.recordObservations(probes(clock.now() - 1000, bad ? 'weu' : undefined));
        const r = await b.build();
        if (m === 0) {
          assert.equal(r.headline.description, 'All Systems Operational');
          assert.equal(r.publish?.ok, true);
        }
        for (const a of r.actions) if (a.kind === 'open') opened = `${a.id}@${m}`;
        if (m === 8) {
          const html = await readFile(join(out, 'index.html'), 'utf8');
          assert.match(html, /blob: major outage in weu/);
          assert.ok(!html.includes('All Systems Operational'));
        }
        clock.advance(MIN);
      }
      assert.match(opened ?? '', /@6$/, `opened at minute 6: ${opened}`);
      const all = await store.listIncidents({});
      assert.equal(all.length, 1);
      assert.equal(all[0].status, 'resolved');
      assert.equal(all[0].source, 'auto:component');
      assert.deepEqual(
        all[0].updates.map((u) => u.status),
        ['investigating', 'monitoring', 'resolved'],
      );
      // The status changes were stored as events, so a new builder (a restart) remembers them.
      const changes = await store.listEvents({ types: ['component.status_changed'] });
      assert.ok(changes.length >= 4);
      assert.equal(await readFile(join(dir, 'published.txt'), 'utf8'), out + '\n');
      await b.idle();
      // Webhooks: signed like the http driver, retried after a 503.
      assert.ok(hook.attempts() > hook.got.length, 'the first delivery failed and was retried');
      const types = hook.got.map((g) => JSON.parse(g.body).type);
      assert.ok(
        types.includes('incident.opened') && types.includes('incident.resolved') && types.includes('component.status_changed'),
        types.join(','),
      );
      for (const g of hook.got) assert.ok(verifySignature('s3cret', g.body, g.sig), 'signature verifies');
      assert.ok(!verifySignature('other', hook.got[0].body, hook.got[0].sig));
    } finally {
      await store.close();
      await hook.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('a halted rollout opens one incident for the regions of its wave', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etape-inc-'));
  const store = await openStore(join(dir, 'etape.db'));
  try {
    const cfg = config();
    const clock = new VirtualClock(T0);
    await store.createRollout(
      {
        id: 'ro-1',
        service: 'blob',
        version: '2.0.0',
        phase: 'running',
        state: { waves: [{ index: 1, regions: ['weu'] }] },
        createdAt: T0,
        updatedAt: T0,
      },
      [{ rolloutId: 'ro-1', at: T0, actor: 'test', type: 'rollout.created', data: {} }],
    );
    const b = new StatusBuilder({ store, config: cfg, clock, outDir: join(dir, 'site') });
    await store.recordObservations(probes(T0 - 1000));
    await b.build();
    await store.appendEvents([
      {
        rolloutId: 'ro-1',
        at: T0 + 1000,
        actor: 'controller',
        type: 'rollout.halted',
        data: {
          from: 'running',
          reason: 'gate http-ok failed in wave 1: 3 consecutive failures',
          wave: 1,
          gate: 'http-ok',
          verdict: 'fail',
        },
      },
    ]);
    clock.advance(MIN);
    await store.recordObservations(probes(clock.now() - 1000));
    const r = await b.build();
    assert.equal(r.actions.filter((a) => a.kind === 'open').length, 1);
    // A second builder (another process, or a restart) does not open it again.
    clock.advance(MIN);
    const b2 = new StatusBuilder({ store, config: cfg, clock, outDir: join(dir, 'site2') });
    await b.close();
    const r2 = await b2.build();
    assert.equal(r2.actions.filter((a) => a.kind === 'open').length, 0);
    const [i] = await store.listIncidents({ open: true });
    assert.equal(i.source, 'auto:gate');
    assert.deepEqual(i.components, ['blob/weu']);
    assert.match(i.title, /rollout of 2\.0\.0 halted/);
    assert.equal(i.data.rolloutId, 'ro-1');
    // Open incidents need public updates: overdue after the cadence. The probes keep passing meanwhile (the
    // rules read the evidence over time: a gap in it would be "unknown", and would not resolve anything).
    for (let m = 1; m <= 31; m++) await store.recordObservations(probes(clock.now() + m * MIN - 1000));
    clock.advance(31 * MIN);
    const deps = { store, clock, updateCadenceMs: 30 * MIN };
    assert.deepEqual(
      (await listIncidentsOp(deps, { overdue: true })).map((x) => x.id),
      [i.id],
    );
    const manual = await openIncidentOp(deps, { title: 'Manual one', components: ['blob/neu'], actor: 'test' });
    assert.equal((await listIncidentsOp(deps, { overdue: true })).length, 1);
    // The automatic one resolves itself (healthy long enough); the manual one waits for a person.
    await store.recordObservations(probes(clock.now() - 1000));
    const r3 = await b2.build();
    assert.deepEqual(
      r3.actions.map((a) => [a.kind, a.id]),
      [['resolve', i.id]],
    );
    for (let m = 1; m <= 31; m++) await store.recordObservations(probes(clock.now() + m * MIN - 1000));
    clock.advance(31 * MIN);
    const r4 = await b2.build();
    assert.deepEqual(r4.overdue, [manual.id]);
    assert.equal(r4.headline.status !== 'operational', true, 'an open minor incident keeps the headline off operational');
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

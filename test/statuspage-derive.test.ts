// Incidents come from the stored evidence over time, not from when a status build happened to look: a
// publisher stopped during an outage still opens (and resolves) the incident the evidence shows, with the
// outage's start and end, exactly as one that built every minute; rebuilding changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import type { Observation } from '../src/core/types.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { StatusBuilder, startStatusPublisher } from '../src/statuspage/publisher.js';
import { openIncidentOp } from '../src/incidents/service.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 25, 6, 0);
/** The outage the store records: weu's probes fail from S until E (both probe times). */
const S = T0 + 10 * MIN + 5_000;
const E = T0 + 25 * MIN + 5_000;
const END = T0 + 60 * MIN;

const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'weu', geography: 'europe', cells: [{ id: 'c1' }, { id: 'c2' }] },
      { id: 'neu', geography: 'europe', cells: [{ id: 'c1' }, { id: 'c2' }] },
    ],
  },
  services: [{ name: 'blob' }],
  statuspage: { title: 'Derived', buildEvery: '15s' },
  incidents: { openAfter: '2m', resolveAfter: '5m' },
});

/** Probes every 10 s (at 5 s past each 10 s) over [from, to): weu fails in [S, E). */
function probes(from: number, to: number): Observation[] {
  const out: Observation[] = [];
  for (let at = Math.ceil((from - 5_000) / 10_000) * 10_000 + 5_000; at < to; at += 10_000)
    for (const region of ['weu', 'neu'])
      for (const cell of ['c1', 'c2']) {
        const bad = region === 'weu' && at >= S && at < E;
        out.push({
          service: 'blob',
          region,
          cell,
          source: 'http',
          at,
          verdict: bad ? 'fail' : 'pass',
          latencyMs: 20,
          ...(bad ? { detail: 'timeout after 2s', timedOut: true } : {}),
        });
      }
  return out;
}

async function autoIncidents(store: Store) {
  return (await store.listIncidents({})).filter((i) => i.source.startsWith('auto:'));
}

test(
  'a publisher stopped during an outage shows it at its next build, with the start and end the evidence gives',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etape-derive-'));
    const quiet = await openStore(join(dir, 'quiet.db'));
    const stopped = await openStore(join(dir, 'stopped.db'));
    try {
      // The quiet machine: a build every minute while the evidence comes in.
      const qc = new VirtualClock(T0 + 5_000);
      const qb = new StatusBuilder({ store: quiet, config, clock: qc, outDir: join(dir, 'quiet'), publish: false });
      for (let t = T0 + 5_000; t <= END; t += MIN) {
        await quiet.recordObservations(probes(t - MIN, t));
        qc.set(t);
        await qb.build();
      }
      await qb.close();

      // The busy machine: the publisher builds once, then stops (or starves) for the whole outage.
      const sc = new VirtualClock(T0 + 5_000);
      const deps = { store: stopped, clock: sc, updateCadenceMs: 30 * MIN };
      const manual = await openIncidentOp(deps, { title: 'Slow listings in neu', components: ['blob/neu'], actor: 'ops' });
      await stopped.recordObservations(probes(T0 - MIN, T0 + 5_001));
      const pub = startStatusPublisher({ store: stopped, config, clock: sc, outDir: join(dir, 'stopped') });
      const first = await pub.buildNow();
      assert.equal(first.actions.length, 0);
      await pub.stop();
      await stopped.recordObservations(probes(T0 + 5_001, END + 1));
      sc.set(END);
      const out = join(dir, 'restarted');
      const later = new StatusBuilder({ store: stopped, config, clock: sc, outDir: out, publish: false });
      const r = await later.build();
      await later.close();

      const [inc, ...more] = await autoIncidents(stopped);
      assert.equal(more.length, 0, 'one incident');
      assert.ok(inc, 'the outage the publisher did not see opened an incident');
      assert.deepEqual(inc.components, ['blob/weu']);
      assert.equal(inc.createdAt, S, 'it starts when the evidence went bad');
      assert.equal(inc.data.endedAt, E, 'it ends when the evidence passed again');
      assert.equal(inc.status, 'resolved');
      assert.equal(inc.resolvedAt, E + 5 * MIN, 'resolved after resolveAfter of passing evidence');
      assert.equal(inc.updates[0].at, S + 2 * MIN, 'opened when openAfter had passed, by the evidence');
      assert.deepEqual(
        r.actions.map((a) => a.kind),
        ['open', 'update', 'resolve'],
      );
      // Its events carry the times of the evidence, not of the build.
      const evs = (await stopped.listEvents({ types: ['incident.opened', 'incident.updated', 'incident.resolved'] })).filter(
        (e) => (e.data as { id?: string }).id === inc.id,
      );
      assert.deepEqual(
        evs.map((e) => e.at),
        [S + 2 * MIN, E, E + 5 * MIN],
      );
      // On the page: the incident with its start and resolution.
      const json = JSON.parse(await readFile(join(out, 'api/v2/incidents.json'), 'utf8')) as {
        incidents: { id: string; started_at: string; resolved_at: string | null; status: string }[];
      };
      const shown = json.incidents.find((i) => i.id === inc.id);
      assert.ok(shown, 'incidents.json lists it');
      assert.equal(shown.started_at, new Date(S).toISOString());
      assert.equal(shown.resolved_at, new Date(E + 5 * MIN).toISOString());

      // The same evidence gives the same incident however often the rules looked.
      const [q] = await autoIncidents(quiet);
      assert.deepEqual(inc, q);

      // Rebuilding, by the same publisher or a new one, changes nothing; the operator's incident is as they left it.
      const again = new StatusBuilder({ store: stopped, config, clock: sc, outDir: out, publish: false });
      const r2 = await again.build();
      const r3 = await again.build();
      await again.close();
      assert.deepEqual([...r2.actions, ...r3.actions], []);
      assert.deepEqual(await autoIncidents(stopped), [inc]);
      assert.deepEqual(await stopped.getIncident(manual.id), (({ overdue: _o, lastUpdateAt: _l, ...rec }) => rec)(manual));
    } finally {
      await quiet.close();
      await stopped.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'an outage still going on when the publisher comes back is open, and started when the evidence says',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etape-derive-open-'));
    const store = await openStore(join(dir, 'etape.db'));
    try {
      const clock = new VirtualClock(T0);
      await store.recordObservations(probes(T0 - MIN, E - 30_000));
      clock.set(E - 30_000);
      const b = new StatusBuilder({ store, config, clock, outDir: join(dir, 'site'), publish: false });
      const r = await b.build();
      await b.close();
      const [inc] = await autoIncidents(store);
      assert.equal(inc?.status, 'investigating');
      assert.equal(inc.createdAt, S);
      assert.equal(inc.data.endedAt, undefined);
      assert.ok(r.headline.status === 'major_outage', `headline ${r.headline.status}`);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

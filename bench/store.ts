// Store throughput on both backends: concurrent saveRollout (state + 2 events each), observation batches,
// latestObservations, and a reader tailing events while writers append. Prints figures; asserts nothing.
//
//   node --import tsx bench/store.ts
//   node --import tsx bench/store.ts --writers 16 --saves 4000 --observations 200000
//   ETAPE_BENCH_PG=postgres://user@127.0.0.1:5432/db node --import tsx bench/store.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Observation } from '../src/core/types.js';
import { openStore } from '../src/store/open.js';
import { redactStoreUrl } from '../src/store/url.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const writers = Number(arg('writers', '8'));
const saves = Number(arg('saves', '2000'));
const observations = Number(arg('observations', '100000'));
const pgUrl = process.env.ETAPE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function bench(name: string, url: string): Promise<void> {
  const store = await openStore(url);
  try {
    const rollouts = writers * 4;
    for (let i = 0; i < rollouts; i++) {
      await store.createRollout(
        { id: `r${i}`, service: 'blob', version: '2', phase: 'running', state: { i }, createdAt: i, updatedAt: i },
        [],
      );
    }
    const revs = new Array<number>(rollouts).fill(1);
    let t = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let k = 0; k < saves / writers; k++) {
          const i = w + writers * (k % 4);
          revs[i] = await store.saveRollout(`r${i}`, revs[i], { phase: 'running', state: { k, targets: 'x'.repeat(2000) }, updatedAt: k }, [
            { rolloutId: `r${i}`, at: k, actor: 'controller', type: 'wave.baking', data: { k } },
            { rolloutId: `r${i}`, at: k, actor: 'controller', type: 'gate.pass', data: { k } },
          ]);
        }
      }),
    );
    const done = revs.reduce((a, r) => a + r - 1, 0);
    const saveSec = (performance.now() - t) / 1000;
    console.log(
      `${name}: saveRollout (2 KB state + 2 events), ${writers} writers: ${Math.round(done / saveSec)} saves/s, ${Math.round((2 * done) / saveSec)} events/s`,
    );

    const obs: Observation[] = Array.from({ length: observations }, (_, i) => ({
      service: 'blob',
      region: `r${i % 20}`,
      cell: `c${i % 5}`,
      source: 'health',
      at: i,
      verdict: 'pass',
      latencyMs: 12.5,
      detail: 'HTTP 200',
    }));
    t = performance.now();
    for (let i = 0; i < obs.length; i += 500) await store.recordObservations(obs.slice(i, i + 500));
    console.log(
      `${name}: recordObservations in batches of 500: ${Math.round(obs.length / ((performance.now() - t) / 1000))} observations/s`,
    );
    t = performance.now();
    const latest = await store.latestObservations({ since: observations / 2 });
    console.log(
      `${name}: latestObservations over ${observations / 2} rows (${latest.length} keys): ${Math.round(performance.now() - t)} ms`,
    );
    t = performance.now();
    const recent = await store.queryObservations({ service: 'blob', from: observations - 5000 });
    console.log(`${name}: queryObservations of the last ${recent.length} rows: ${Math.round(performance.now() - t)} ms`);

    // a reader tailing afterSeq while writers append: how many events it sees
    let cursor = (await store.listEvents({ afterSeq: 0 })).at(-1)?.seq ?? 0;
    let writing = true;
    const total = writers * 100;
    const w = Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = 0; i < 100; i++) await store.appendEvents([{ rolloutId: 'tail', at: i, actor: 'x', type: 'tick', data: null }]);
      }),
    ).finally(() => (writing = false));
    let seen = 0;
    t = performance.now();
    for (;;) {
      const page = await store.listEvents({ afterSeq: cursor, limit: 200 });
      seen += page.filter((e) => e.rolloutId === 'tail').length;
      if (page.length) cursor = page[page.length - 1].seq;
      else if (!writing) break;
    }
    await w;
    console.log(
      `${name}: tailing reader saw ${seen} of ${total} events appended by ${writers} writers in ${Math.round(performance.now() - t)} ms`,
    );
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'etape-bench-store-'));
const schema = `etape_bench_${randomBytes(6).toString('hex')}`;
try {
  await bench('sqlite', join(dir, 'etape.db'));
  const u = new URL(pgUrl);
  u.searchParams.set('schema', schema);
  try {
    await bench('postgres', u.toString());
  } catch (e) {
    console.log(`postgres: not measured (${redactStoreUrl(pgUrl)}: ${(e as Error).message})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: pgUrl });
  try {
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } catch {
    // nothing to drop
  } finally {
    await c.end().catch(() => {});
  }
}

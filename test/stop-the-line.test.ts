// Stop the line with real processes: two services roll out into the same regions at once; one (store) ships
// a version that breaks the other's (web) health while its own gates stay green. The line stops, store's
// rollout is blamed and rolled back, web's rollout pauses, resumes once the region is healthy, and completes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killChildren, serveUrl, startChild, startServe, waitFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
after(killChildren);

test(
  'a rollout that breaks another service is blamed and rolled back; the innocent one resumes and completes',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etape-line-'));
    try {
      const fixture = startChild(process.execPath, [join(ROOT, 'test/fixtures/two-services.mjs'), dir]);
      const { port } = await waitFor('the fixture listens', () => {
        const line = fixture
          .output()
          .split('\n')
          .find((l) => l.startsWith('{'));
        return line ? (JSON.parse(line) as { port: number }) : undefined;
      });
      const write = `printf %s "$ETAPE_VERSION" > '${dir}'/"$ETAPE_SERVICE"__"$ETAPE_REGION"__"$ETAPE_CELL"; echo "$ETAPE_ACTION $ETAPE_SERVICE $ETAPE_REGION/$ETAPE_CELL $ETAPE_VERSION" >> '${dir}/calls.log'`;
      const driver = { kind: 'exec', deploy: write, rollback: write, force: write, timeout: '10s' };
      const service = (name: string) => ({
        name,
        initialVersion: 'v1',
        driver,
        probes: [{ name: 'ready', url: `http://127.0.0.1:${port}/${name}/{region}/{cell}/ready`, interval: '200ms', timeout: '2s' }],
        gates: [{ kind: 'probe', name: 'ready', probe: 'ready', failAfter: 2 }],
      });
      const cfgFile = join(dir, 'etape.yaml');
      writeFileSync(
        cfgFile,
        JSON.stringify({
          fleet: {
            regions: [
              { id: 'canary', geography: 'eu', canary: true, cells: [{ id: 'cell-1' }] },
              { id: 'r1', geography: 'eu', cells: [{ id: 'cell-1' }] },
              { id: 'r2', geography: 'us', cells: [{ id: 'cell-1' }] },
            ],
          },
          policy: { maxRegionsPerWave: 1, bake: { canary: '1s', first: '1s', later: '8s' } },
          services: [service('store'), service('web')],
          health: {
            every: '250ms',
            signals: [
              {
                name: 'web-slo',
                service: 'web',
                probe: { url: `http://127.0.0.1:${port}/web/{region}/{cell}/health`, interval: '200ms', timeout: '2s' },
                failAfter: 3,
              },
            ],
          },
          server: { tokens: [{ name: 'ops', token: { env: 'LINE_TEST_TOKEN' }, role: 'operator' }], reconcileEvery: '200ms' },
        }),
      );
      const serve = startServe(cfgFile, join(dir, 'etape.db'), ['--no-status-page'], { LINE_TEST_TOKEN: 'secret-ops' });
      const base = await serveUrl(serve);
      const api = async (method: string, path: string, body?: unknown) => {
        const r = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: 'Bearer secret-ops', 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const j = (await r.json()) as any;
        if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
        return j;
      };
      const events = async (id: string) => (await api('GET', `/api/rollouts/${id}/events?limit=1000`)).events as any[];
      const fail = (e: Error) => {
        throw new Error(`${e.message}\nserve output:\n${serve.output()}\ncalls:\n${safeRead(join(dir, 'calls.log'))}`);
      };

      // web goes first and is into its last wave (r2) before store starts.
      const web = await api('POST', '/api/rollouts', { service: 'web', version: 'v2' });
      await waitFor(
        'web bakes its last wave',
        async () => (await events(web.id)).some((e) => e.type === 'wave.baking' && e.data.wave === 3),
        60_000,
      ).catch(fail);
      const store = await api('POST', '/api/rollouts', { service: 'store', version: 'bad' });

      // The line stops: store is blamed and rolled back; web pauses.
      const rolledBack = await waitFor(
        'store rolled back',
        async () => {
          const r = await api('GET', `/api/rollouts/${store.id}`);
          return r.phase === 'rolled_back' ? r : undefined;
        },
        60_000,
      ).catch(fail);
      assert.ok(rolledBack);
      const storeEvents = await events(store.id);
      const aborted = storeEvents.find((e) => e.type === 'rollout.aborted');
      assert.equal(aborted?.actor, 'line-stop', 'the line-stop aborted it');
      assert.match(aborted.data.reason, /explains the fault in canary/);
      assert.ok(
        storeEvents.some((e) => e.type === 'line.blamed'),
        "the blame is in the store rollout's log",
      );
      assert.equal(readFileSync(join(dir, 'store__canary__cell-1'), 'utf8'), 'v1', 'the target is back on v1');

      // web was paused by the line, then resumed, and completes.
      const done = await waitFor(
        'web completes',
        async () => {
          const r = await api('GET', `/api/rollouts/${web.id}`);
          return r.phase === 'completed' ? r : undefined;
        },
        60_000,
      ).catch(fail);
      assert.ok(done);
      const webEvents = await events(web.id);
      const paused = webEvents.find((e) => e.type === 'rollout.paused');
      assert.equal(paused?.actor, 'line-stop', 'web was paused by the line');
      const resumed = webEvents.find((e) => e.type === 'rollout.running' && e.seq > paused.seq);
      assert.equal(resumed?.actor, 'line-stop', 'and resumed by it');
      const calls = readFileSync(join(dir, 'calls.log'), 'utf8');
      assert.doesNotMatch(calls, /deploy store r1/, 'store never reached a second region');
      assert.match(calls, /deploy web r2\/cell-1 v2/);
      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited, 0, serve.output());
    } finally {
      killChildren();
      if (!process.env.KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
    }
  },
);

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '(none)';
  }
}

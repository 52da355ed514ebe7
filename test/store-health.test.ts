// The store's health is the server's: an unwritable store makes /healthz answer 503 and the log say so once,
// with backoff, not a flood; it answers 200 again once the store is writable; a SQLite file deleted under a
// running `etape serve` stops it with a message saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { StoreHealth } from '../src/store/health.js';
import { createApi } from '../src/api/app.js';

const ROOT = new URL('..', import.meta.url).pathname;
const PG_URL = process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

const config = configSchema.parse({
  fleet: { regions: [{ id: 'r1', geography: 'g1', cells: [{ id: 'c1' }] }] },
  services: [{ name: 'blob', initialVersion: 'v1', driver: { kind: 'exec', deploy: 'true' } }],
});

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('PostgreSQL that cannot be written: /healthz 503, logged with backoff, 200 again when it recovers', async () => {
  const schema = `etape_test_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  const store = await openStore(u.toString());
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  let logged = '';
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => ((logged += c), cb()) }));
  const health = new StoreHealth({ store, holder: 'h1', log, everyMs: 50 });
  const app = createApi({ store, config, log, health: () => health.current });
  const status = async () => (await app.request('/healthz')).status;
  try {
    await health.check();
    assert.equal(await status(), 200);
    // Writes now fail (a read-only database behaves the same way): every check fails.
    await admin.query(`ALTER TABLE ${schema}.leases RENAME TO leases_away`);
    await health.check();
    assert.equal(await status(), 503);
    const body = (await (await app.request('/healthz')).json()) as { ok: boolean; store: { error: string } };
    assert.equal(body.ok, false);
    assert.match(body.store.error, /leases/);
    health.start();
    // ~40 failed checks in 2 s: logged at 0, 1 s (and maybe 3 s), never once per check.
    await new Promise((r) => setTimeout(r, 2000));
    const failing = logged.split('\n').filter((l) => l.includes('store: failing')).length;
    assert.ok(health.current.failures >= 10, `checks kept running: ${health.current.failures}`);
    assert.ok(failing >= 1 && failing <= 3, `logged ${failing} times for ${health.current.failures} failed checks`);
    await admin.query(`ALTER TABLE ${schema}.leases_away RENAME TO leases`);
    await until(async () => (await status()) === 200, '/healthz to recover');
    assert.ok(logged.includes('store: working again'));
  } finally {
    health.stop();
    await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
});

test('etape serve stops when its SQLite file is deleted, saying why', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-vanish-'));
  try {
    const cfg = join(dir, 'etape.yaml');
    writeFileSync(cfg, JSON.stringify({ ...configSchemaInput(), statuspage: { out: join(dir, 'status') } }));
    const db = join(dir, 'data', 'etape.db');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfg, '--store', db, '--listen', '127.0.0.1:0', '--no-probes'],
      { cwd: ROOT, env: { ...process.env, ETAPE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await until(() => out.includes('listening on') || child.exitCode !== null, 'serve to listen', 30_000);
    const url = /listening on (\S+)/.exec(out)![1];
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    const code = await exited;
    assert.equal(code, 1, out);
    assert.match(out, /the SQLite file .*etape\.db is gone/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'etape serve on a read-only SQLite file: /healthz 503, and each part logs it once, then with backoff',
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etape-readonly-'));
    try {
      const cfg = join(dir, 'etape.yaml');
      const status = join(dir, 'status');
      mkdirSync(status, { mode: 0o777 });
      chmodSync(status, 0o777);
      writeFileSync(cfg, JSON.stringify({ ...configSchemaInput(), statuspage: { out: status } }));
      const db = join(dir, 'etape.db');
      await (await openStore(db)).close();
      // The file is read-only; its folder is not (SQLite may make its -wal and -shm files). Root writes any
      // file, so as root serve runs as nobody.
      chmodSync(db, 0o444);
      chmodSync(dir, 0o777);
      const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfg, '--store', db, '--listen', '127.0.0.1:0', '--no-probes'],
        {
          cwd: ROOT,
          env: { ...process.env, ETAPE_LOG_LEVEL: 'warn', ETAPE_LOG_FORMAT: 'json' },
          stdio: ['ignore', 'pipe', 'pipe'],
          ...asNobody,
        },
      );
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      try {
        await until(() => out.includes('listening on') || child.exitCode !== null, 'serve to listen', 30_000);
        const url = /listening on (\S+)/.exec(out)?.[1];
        assert.ok(url, out);
        await until(async () => (await fetch(`${url}/healthz`)).status === 503, '/healthz to answer 503');
        const body = (await (await fetch(`${url}/healthz`)).json()) as { store: { error: string } };
        assert.match(body.store.error, /readonly/);
        // Every part that writes fails every round (the health check every 2 s, notifications every 1-2 s):
        // over 6 s each says so at most at 0, 1, 3 s (backoff 1 s, 2 s, 4 s), not once per round.
        await new Promise((r) => setTimeout(r, 6000));
        const lines = out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { level: number; msg: string });
        const errors = lines.filter((l) => l.level >= 50);
        assert.ok(
          errors.some((l) => l.msg === 'store: failing'),
          out,
        );
        const byMsg = new Map<string, number>();
        for (const l of errors) byMsg.set(l.msg, (byMsg.get(l.msg) ?? 0) + 1);
        for (const [msg, n] of byMsg) assert.ok(n <= 4, `"${msg}" logged ${n} times in about 7 s`);
      } finally {
        child.kill('SIGTERM');
        if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

function configSchemaInput() {
  return {
    fleet: {
      regions: [
        { id: 'r1', geography: 'g1', canary: true, cells: [{ id: 'c1' }] },
        { id: 'r2', geography: 'g1', cells: [{ id: 'c1' }] },
      ],
    },
    services: [{ name: 'blob', initialVersion: 'v1', driver: { kind: 'exec', deploy: 'true' } }],
  };
}

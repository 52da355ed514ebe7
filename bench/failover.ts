// Several `etape serve` on one PostgreSQL: how long a rollout stands still when the server driving it is
// SIGKILLed (from the kill to the next driver call by another server, read from the driver's own call log),
// median and worst over repeated runs; and how many probes each target gets per probe interval with 1 and with
// 3 servers (the probes are shared, so the aim is the same figure). Prints figures; asserts nothing.
//
//   npm run bench:failover
//   npm run bench:failover -- --runs 5 --lease 15s --window 20
//   ETAPE_BENCH_PG=postgres://user@127.0.0.1:5432/db npm run bench:failover
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { startRollout } from '../src/rollout/operations.js';
import { systemClock } from '../src/core/clock.js';
import { parseDuration } from '../src/core/duration.js';
import { TargetFleet } from '../test/rollout-fixture.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const runs = Number(arg('runs', '5'));
const lease = arg('lease', '15s');
const leaseMs = parseDuration(lease) ?? 15_000;
const windowS = Number(arg('window', '20'));
const pgUrl = process.env.ETAPE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'etape-bench-failover-'));
const REGIONS = [
  { id: 'r1', cells: ['c1'], canary: true },
  { id: 'r2', cells: ['c1', 'c2'], pair: 'r3' },
  { id: 'r3', cells: ['c1', 'c2'] },
  { id: 'r4', cells: ['c1', 'c2', 'c3'] },
];
const ids = REGIONS.flatMap((r) => r.cells.map((c) => `${r.id}/${c}`));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function withSchema<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const schema = `etape_bench_${randomBytes(5).toString('hex')}`;
  try {
    return await fn(`${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`);
  } finally {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
}

interface Serve {
  name: string;
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
}

function serve(name: string, cfg: string, url: string, extra: string[] = []): Serve {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfg, '--store', url, '--listen', '127.0.0.1:0', '--lease', lease, ...extra],
    { cwd: ROOT, env: { ...process.env, ETAPE_LOG_LEVEL: 'warn', ETAPE_TEST_SERVE: name }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) resolve();
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`serve ${name} exited (${code}):\n${out}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { name, child, ready, exited };
}

async function stopAll(serves: Serve[]): Promise<void> {
  for (const s of serves) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
  await Promise.all(serves.map((s) => s.exited));
}

/** One failover: two servers, a rollout; the one with a deploy in flight is SIGKILLed; ms until the other calls the driver. */
async function failoverOnce(run: number): Promise<number> {
  const fleet = new TargetFleet(ids);
  fleet.deployDelayMs = 500;
  await fleet.start();
  try {
    return await withSchema(async (url) => {
      const raw = {
        fleet: {
          regions: REGIONS.map((r) => ({
            id: r.id,
            geography: 'geo',
            canary: r.canary ?? false,
            ...(r.pair ? { pair: r.pair } : {}),
            weight: r.cells.length,
            cells: r.cells.map((c) => ({ id: c, vars: { port: fleet.port(`${r.id}/${c}`) } })),
          })),
        },
        policy: { bake: { canary: '1s', first: '1s', later: '1s' } },
        services: [
          {
            name: 'blob',
            initialVersion: 'v1',
            driver: fleet.execDriver({ timeout: '10s', retries: 0, by: 'ETAPE_TEST_SERVE' }),
            probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '500ms', timeout: '1s' }],
            gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
          },
        ],
        server: { reconcileEvery: '200ms' },
      };
      const cfg = join(dir, `failover-${run}.yaml`);
      writeFileSync(cfg, JSON.stringify(raw));
      const serves = [serve(`a${run}`, cfg, url, ['--no-status-page']), serve(`b${run}`, cfg, url, ['--no-status-page'])];
      try {
        await Promise.all(serves.map((s) => s.ready));
        const store = await openStore(url);
        try {
          await startRollout(
            { store, config: configSchema.parse(raw), clock: systemClock },
            { service: 'blob', version: 'v2', actor: 'bench' },
          );
        } finally {
          await store.close();
        }
        // Kill the driver in the middle of a deploy of the second wave (not the first call: the servers are settled).
        const inflight = await until('a deploy of wave 2 in flight', () =>
          fleet.calls.find((c) => !c.outcome && c.target.startsWith('r2/') && c.action === 'deploy'),
        );
        const victim = serves.find((s) => s.name === inflight.by)!;
        const killedAt = Date.now();
        victim.child.kill('SIGKILL');
        await victim.exited;
        const next = await until('a driver call by the other server', () =>
          fleet.calls.find((c) => c.by !== victim.name && c.arrived >= killedAt),
        );
        return next.arrived - killedAt;
      } finally {
        await stopAll(serves);
      }
    });
  } finally {
    await fleet.stop();
  }
}

/** Probes per target per interval with `n` servers, counted by the targets themselves over the window. */
async function probeRate(n: number): Promise<number> {
  const hits = new Map<number, number>();
  const servers: Server[] = [];
  for (let i = 0; i < 24; i++) {
    const s = createServer((req, res) => {
      hits.set(i, (hits.get(i) ?? 0) + 1);
      res.writeHead(200, { 'x-etape-version': 'v1' }).end('ok\n');
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  const port = (i: number) => (servers[i].address() as AddressInfo).port;
  try {
    return await withSchema(async (url) => {
      const raw = {
        fleet: {
          regions: Array.from({ length: 6 }, (_, r) => ({
            id: `r${r + 1}`,
            geography: 'geo',
            canary: r === 0,
            cells: Array.from({ length: 4 }, (_, c) => ({ id: `c${c + 1}`, vars: { port: port(r * 4 + c) } })),
          })),
        },
        services: [
          {
            name: 'blob',
            initialVersion: 'v1',
            driver: { kind: 'exec', deploy: 'true' },
            probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '1s', timeout: '1s' }],
          },
        ],
      };
      const cfg = join(dir, `probes-${n}.yaml`);
      writeFileSync(cfg, JSON.stringify(raw));
      const serves = Array.from({ length: n }, (_, i) => serve(`p${n}-${i}`, cfg, url, ['--no-status-page']));
      try {
        await Promise.all(serves.map((s) => s.ready));
        // Every server has read who is live (it looks every min(lease/5, 1 s)); then count.
        await sleep(Math.min(leaseMs / 5, 1000) * 3 + 1000);
        const before = [...servers.keys()].map((i) => hits.get(i) ?? 0);
        await sleep(windowS * 1000);
        const after = [...servers.keys()].map((i) => hits.get(i) ?? 0);
        const per = after.map((a, i) => a - before[i]);
        return per.reduce((a, b) => a + b, 0) / per.length / windowS;
      } finally {
        await stopAll(serves);
      }
    });
  } finally {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
try {
  process.stdout.write(
    `bench:failover — PostgreSQL ${pgUrl.replace(/:[^:@/]*@/, ':***@')}, --lease ${lease}, ${runs} runs; exec driver timeout 10 s, deploys 0.5 s\n`,
  );
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = await failoverOnce(i);
    times.push(t);
    process.stdout.write(`  run ${i + 1}: killed during a deploy; next driver call by the other server after ${fmt(t)}\n`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  process.stdout.write(`failover (kill → next driver call by another server): median ${fmt(median)}, worst ${fmt(sorted.at(-1)!)}\n`);
  for (const n of [1, 3]) {
    const rate = await probeRate(n);
    process.stdout.write(`probes per target per interval (1 s) with ${n} server(s), over ${windowS} s, 24 targets: ${rate.toFixed(2)}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// What the integration tests share: waiting for a condition (never a fixed sleep), free loopback ports,
// child processes that are cleaned up, the CLI run from source, and tools a test needs (Chromium,
// Prometheus) that may skip locally but never in CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * Polls `check` until it gives something other than false/undefined/null and returns that. A check that
 * throws is tried again; the last error is in the failure message. Fails after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  everyMs = 20,
): Promise<Exclude<T, false | undefined | null>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined && v !== null) return v as Exclude<T, false | undefined | null>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Listens on a free loopback port and gives it. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback port nothing listens on (it was free a moment ago): for "connection refused". */
export async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Child processes started through `startChild`, killed by `killChildren` (call it in `after`). */
const children = new Set<ChildProcess>();

export interface Child {
  child: ChildProcess;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** Everything written to stdout and stderr so far (when they are pipes). */
  output(): string;
}

/** Spawns a process, collects its output, and keeps it for `killChildren`. */
export function startChild(command: string, args: string[], opts: SpawnOptions = {}): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, output: () => out };
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts `etape serve` from source on a free port (`--listen 127.0.0.1:0`), logging at warn unless `env`
 * says otherwise, as a child kept for `killChildren`. `serveUrl` waits for it to listen.
 */
export function startServe(cfg: string, store: string, extra: string[] = [], env: Record<string, string> = {}): Child {
  return startChild(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfg, '--store', store, '--listen', '127.0.0.1:0', ...extra],
    { cwd: ROOT, env: { ...process.env, ETAPE_LOG_LEVEL: 'warn', ...env } },
  );
}

/** The base URL a started `etape serve` listens on, once it says so; its output is in the error when it does not. */
export async function serveUrl(serve: Child, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    'etape serve to listen',
    () => {
      if (serve.child.exitCode !== null) throw new Error(`etape serve exited (${serve.child.exitCode})`);
      return /listening on (http:\/\/[^\s]+)/.exec(serve.output())?.[1];
    },
    timeoutMs,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${serve.output()}`);
  });
}

/** SIGKILLs every child started through `startChild` that still runs. */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

const mainTs = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/**
 * Runs the `etape` CLI from source in a child process, for end-to-end tests. A run that outlives
 * `timeoutMs` gets SIGINT, as a person's Ctrl-C, so the command's own cleanup is exercised too.
 */
export async function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `const { main } = await import(${JSON.stringify(mainTs)}); process.exitCode = await main(['node', 'etape', ...${JSON.stringify(args)}]);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const t = setTimeout(() => child.kill('SIGINT'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(t);
  children.delete(child);
  return { code, stdout, stderr };
}

/** Are we in CI? There a missing tool fails the run instead of skipping the tests that need it. */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The `skip` option for tests that need the tool at `path`: false when it is installed. When it is missing
 * the tests skip with `hint`, except in CI (`CI=true`), where a failing test says what is missing instead.
 */
export function skipWithout(path: string, hint: string): string | false {
  if (existsSync(path)) return false;
  if (inCI) {
    test(`${path} is installed (CI does not skip the tests that need it)`, () => {
      assert.fail(`${path} is missing: ${hint}`);
    });
  }
  return `${path} is missing: ${hint}`;
}
/**
 * Runs the CLI's main() in this process, capturing what it writes (fast enough for property tests). The
 * environment may be changed for the run with `env` (undefined values unset a variable).
 */
export async function runInProcess(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = (await import(mainTs)) as typeof import('../src/cli/main.js');
  const write = process.stdout.write.bind(process.stdout);
  const ewrite = process.stderr.write.bind(process.stderr);
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    const code = await main(['node', 'etape', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = write;
    process.stderr.write = ewrite;
    process.exitCode = before;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// The `exec` driver: runs the configured shell command for each call. The target, versions and idempotency
// key reach the command twice: as {placeholders} in the command text (shell-quoted when needed) and as
// ETAPE_* environment variables. Each run has a timeout that kills the command's whole process group (a
// deploy script that hangs, and whatever it started in the foreground, is stopped). Failures and timeouts are
// retried with backoff up to `retries` more times; the result is always a value, never an exception.
import { spawn } from 'node:child_process';
import type { z } from 'zod';
import { systemClock, type Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Target } from '../core/types.js';
import { ms } from '../config/common.js';
import type { execDriverSchema } from '../config/service.js';
import type { Driver, DriverCall, DriverResult, Observed } from './driver.js';
import { attemptWithRetries, OutputCollector, OUTPUT_LIMIT } from './retry.js';

export type ExecDriverConfig = z.output<typeof execDriverSchema>;
export type DriverAction = 'deploy' | 'rollback' | 'force' | 'drain' | 'restore' | 'observe';

export interface ExecDriverOptions {
  /** Backoff between retries waits on this clock. Default: the system clock. */
  clock?: Clock;
  log?: Logger;
  /** Extra template values per target (the region's and cell's `vars` from the fleet config). */
  vars?: (target: Target) => Record<string, string | number>;
  /** First retry delay (ms, before jitter). Default 500. */
  backoffMs?: number;
  /** Largest retry delay (ms). Default 30 000. */
  maxBackoffMs?: number;
  random?: () => number;
  /** After SIGTERM to the group on timeout, how long before SIGKILL (ms). Default 1000. */
  killGraceMs?: number;
  /** Characters of output kept. Default 4096. */
  outputLimit?: number;
  cwd?: string;
  /** The environment the command's variables are picked from (see commandEnv). Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Strings never to store or show (tokens, passwords): replaced in the output kept for the event log. */
  secrets?: readonly string[];
}

/** What every command gets from etape's environment, so that a shell works as usual. */
export const BASIC_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM'] as const;

/**
 * The environment of a driver command: the basics (BASIC_ENV and LC_*), the names the config passes
 * (`passEnv`), then the call's ETAPE_* variables. Everything else in etape's environment (API tokens, store
 * passwords, webhook secrets) stays out.
 */
export function commandEnv(base: NodeJS.ProcessEnv, passEnv: readonly string[], call: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue;
    if ((BASIC_ENV as readonly string[]).includes(k) || k.startsWith('LC_') || passEnv.includes(k)) env[k] = v;
  }
  return { ...env, ...call };
}

const SAFE = /^[A-Za-z0-9_.,:/@%+=-]+$/;

/** Quotes a value for a POSIX shell unless it is plainly safe. */
export function shellQuote(v: string): string {
  if (SAFE.test(v)) return v;
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

/**
 * Replaces `{name}` in a command with the shell-quoted value of `name`. Unknown names are left alone, so
 * shell syntax with braces (`${HOME}`, `{a,b}`) still works.
 */
export function expandCommand(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string, offset: number) => {
    if (!Object.hasOwn(vars, name)) return m;
    // `${name}` is the shell's own parameter expansion: leave it to the shell (the ETAPE_* variables exist).
    if (offset > 0 && template[offset - 1] === '$') return m;
    return shellQuote(String(vars[name]));
  });
}

/** The template values and ETAPE_* variables of one call. */
export function callVariables(
  action: DriverAction,
  call: DriverCall,
  extra: Record<string, string | number> = {},
): { vars: Record<string, string | number>; env: Record<string, string> } {
  const t = call.target;
  const vars: Record<string, string | number> = {
    ...extra,
    service: t.service,
    region: t.region,
    cell: t.cell,
    version: call.version,
    fromVersion: call.fromVersion ?? '',
    key: call.key,
    rolloutId: call.rolloutId,
    action,
  };
  const env: Record<string, string> = {
    ETAPE_ACTION: action,
    ETAPE_SERVICE: t.service,
    ETAPE_REGION: t.region,
    ETAPE_CELL: t.cell,
    ETAPE_VERSION: call.version,
    ETAPE_FROM_VERSION: call.fromVersion ?? '',
    ETAPE_IDEMPOTENCY_KEY: call.key,
    ETAPE_ROLLOUT_ID: call.rolloutId,
    ETAPE_LEASE_TOKEN: call.leaseToken === undefined ? '' : String(call.leaseToken),
  };
  for (const [k, v] of Object.entries(extra)) {
    const name = k.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    env[`ETAPE_VAR_${name}`] = String(v);
  }
  return { vars, env };
}

interface RunOutcome {
  ok: boolean;
  detail: string;
  timedOut: boolean;
  aborted: boolean;
  output: string;
  stdout: string;
}

/**
 * Runs one shell command in its own process group. Resolves (never rejects) when it exits, when its
 * timeout kills the group, or when `signal` aborts it.
 */
/**
 * Runs `$3` under GNU timeout so that it ends by the local epoch time `$1` (ms) even if etape dies or is
 * stopped (SIGKILL, SIGSTOP, a VM pause): TERM `$2` ms before the deadline, KILL at it. Past the deadline it
 * does not start at all. timeout signals its whole process group, which is the attempt's.
 */
const DEADLINE_WRAPPER = [
  'grace=$2; rem=$(( $1 - $(date +%s%3N) - grace ))',
  'if [ "$rem" -le 0 ]; then echo "etape: the attempt deadline passed before it started" >&2; exit 124; fi',
  'exec timeout -k "$(( grace / 1000 )).$(printf %03d $(( grace % 1000 )))" "$(( rem / 1000 )).$(printf %03d $(( rem % 1000 )))" /bin/sh -c "$3"',
].join('\n');

export function runCommand(
  command: string,
  o: {
    env: NodeJS.ProcessEnv;
    timeoutMs: number;
    signal?: AbortSignal;
    killGraceMs?: number;
    outputLimit?: number;
    cwd?: string;
    /** Local epoch ms by which the attempt must be over, whatever happens to this process. */
    deadline?: number;
    onSpawn?: (pgid: number) => void;
  },
): Promise<RunOutcome> {
  return new Promise((resolve) => {
    const out = new OutputCollector(o.outputLimit ?? OUTPUT_LIMIT);
    const stdout = new OutputCollector(o.outputLimit ?? OUTPUT_LIMIT);
    if (o.signal?.aborted) {
      resolve({ ok: false, detail: 'aborted before start', timedOut: false, aborted: true, output: '', stdout: '' });
      return;
    }
    let child;
    const grace = Math.max(100, o.killGraceMs ?? 1000);
    const args =
      o.deadline === undefined
        ? ['-c', command]
        : ['-c', DEADLINE_WRAPPER, 'etape-attempt', String(Math.floor(o.deadline)), String(grace), command];
    // This process's own timer fires first; the wrapper's is for when this process cannot act.
    const timeoutMs = o.deadline === undefined ? o.timeoutMs : Math.max(0, Math.min(o.timeoutMs, o.deadline - grace - Date.now() - 50));
    try {
      child = spawn('/bin/sh', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: o.env, cwd: o.cwd });
    } catch (e) {
      resolve({ ok: false, detail: `could not start: ${(e as Error).message}`, timedOut: false, aborted: false, output: '', stdout: '' });
      return;
    }
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pid = child.pid;
    if (pid !== undefined) o.onSpawn?.(pid);

    const killGroup = (sig: NodeJS.Signals) => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), o.killGraceMs ?? 1000);
      killTimer.unref();
    };
    let exited = false;
    const timer = setTimeout(() => {
      // After a stall of this process (SIGSTOP, a long pause) the command's exit may wait in the event loop
      // behind this timer: let that I/O in first, so a command that ended in time is not called timed out.
      setImmediate(() => {
        if (exited || settled) return;
        timedOut = true;
        stop();
      });
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out.push(d);
      stdout.push(d);
    });
    child.stderr!.on('data', (d: string) => out.push(d));

    const finish = (detail: string, ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (timedOut || aborted) {
        // Make sure nothing of the group outlives a timeout, even if the shell died first.
        killGroup('SIGKILL');
        if (killTimer) clearTimeout(killTimer);
      }
      resolve({
        ok: ok && !timedOut && !aborted,
        detail: timedOut ? `timeout after ${formatDuration(o.timeoutMs)}` : aborted ? 'aborted' : detail,
        timedOut,
        aborted,
        output: out.text(),
        stdout: stdout.text(),
      });
    };

    child.on('error', (e) => finish(`could not start: ${e.message}`, false));
    child.on('exit', (code, sig) => {
      exited = true;
      const detail = code !== null ? `exit ${code}` : `killed by ${sig}`;
      // Output pipes close when every process holding them is gone. A command may leave a background
      // process running (a server it started): wait briefly for the pipes, then stop reading.
      let closed = false;
      child.once('close', () => {
        closed = true;
        finish(detail, code === 0);
      });
      setTimeout(() => {
        if (closed) return;
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(detail, code === 0);
      }, 250).unref();
    });
  });
}

export function createExecDriver(cfg: ExecDriverConfig, opts: ExecDriverOptions = {}): Driver {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const timeoutMs = ms(cfg.timeout);
  const retries = cfg.retries;
  const commands: Partial<Record<Exclude<DriverAction, 'observe'>, string>> = {
    deploy: cfg.deploy,
    // A rollback is a deploy of the last verified version unless a dedicated command is given; a force
    // without its own command falls back the same way (ETAPE_ACTION tells the script which it is).
    rollback: cfg.rollback ?? cfg.deploy,
    force: cfg.force ?? cfg.rollback ?? cfg.deploy,
    drain: cfg.drain,
    restore: cfg.restore,
  };

  async function act(action: Exclude<DriverAction, 'observe'>, call: DriverCall, signal?: AbortSignal): Promise<DriverResult> {
    let extra: Record<string, string | number>;
    try {
      extra = opts.vars?.(call.target) ?? {};
    } catch (e) {
      return {
        ok: false,
        detail: `no template values for ${call.target.region}/${call.target.cell}: ${(e as Error).message}`,
        durationMs: 0,
        attempts: 0,
      };
    }
    const { vars, env } = callVariables(action, call, extra);
    const command = expandCommand(commands[action] ?? '', vars);
    const graceMs = Math.max(100, opts.killGraceMs ?? 1000);
    return attemptWithRetries<RunOutcome>({
      // A drain is tried once: the way back of a failing target waits for it.
      retries: action === 'drain' ? 0 : retries,
      backoff: { baseMs: opts.backoffMs ?? 500, maxMs: opts.maxBackoffMs ?? 30_000, random: opts.random },
      clock,
      log,
      name: 'exec driver',
      key: call.key,
      action,
      signal,
      // No attempt starts unless the store says this controller still holds the lease, for long enough.
      arm: call.arm && (() => call.arm!(timeoutMs + graceMs + 100)),
      attempt: (n, deadline) =>
        runCommand(command, {
          env: commandEnv(opts.env ?? process.env, cfg.passEnv ?? [], { ...env, ETAPE_TRY: String(n) }),
          timeoutMs,
          deadline,
          onSpawn: call.onSpawn,
          signal,
          killGraceMs: opts.killGraceMs,
          outputLimit: opts.outputLimit,
          cwd: opts.cwd,
        }),
      retryable: (r) => !r.aborted,
      output: (r) => r.output,
    });
  }

  return {
    armsAttempts: true,
    deploy: (call, signal) => act('deploy', call, signal),
    rollback: (call, signal) => act('rollback', call, signal),
    force: (call, signal) => act('force', call, signal),
    ...(cfg.drain && cfg.restore
      ? {
          drain: (call: DriverCall, signal?: AbortSignal) => act('drain', call, signal),
          restore: (call: DriverCall, signal?: AbortSignal) => act('restore', call, signal),
        }
      : {}),
    async observe(target: Target, signal?: AbortSignal): Promise<Observed> {
      if (!cfg.observe) return { detail: 'no observe command configured' };
      let extra: Record<string, string | number>;
      try {
        extra = opts.vars?.(target) ?? {};
      } catch (e) {
        return { healthy: false, detail: `no template values: ${(e as Error).message}` };
      }
      const call: DriverCall = { key: `observe:${target.service}:${target.region}/${target.cell}`, rolloutId: '', target, version: '' };
      const { vars, env } = callVariables('observe', call, extra);
      const r = await runCommand(expandCommand(cfg.observe, vars), {
        env: commandEnv(opts.env ?? process.env, cfg.passEnv ?? [], { ...env, ETAPE_TRY: '1' }),
        timeoutMs,
        signal,
        killGraceMs: opts.killGraceMs,
        outputLimit: opts.outputLimit,
        cwd: opts.cwd,
      });
      if (!r.ok) return { healthy: false, detail: r.output ? `${r.detail}: ${r.output.split('\n').at(-1)}` : r.detail };
      return parseObserved(r.stdout, r.detail);
    },
  };
}

/**
 * Reads what an observe command printed: JSON `{"version": "...", "healthy": true, "detail": "..."}`, or
 * else the first non-empty line as the version.
 */
export function parseObserved(stdout: string, fallbackDetail: string): Observed {
  const text = stdout.trim();
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as { version?: unknown; healthy?: unknown; detail?: unknown };
      const o: Observed = { detail: typeof j.detail === 'string' ? j.detail : fallbackDetail };
      if (typeof j.version === 'string') o.version = j.version;
      if (typeof j.healthy === 'boolean') o.healthy = j.healthy;
      return o;
    } catch {
      // not JSON after all: fall through
    }
  }
  const first = text
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  return first ? { version: first, healthy: true, detail: fallbackDetail } : { healthy: true, detail: fallbackDetail };
}

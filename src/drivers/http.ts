// The `http` driver: POSTs a signed JSON webhook for each call. The receiver verifies
// `X-Etape-Signature: sha256=<hex HMAC-SHA256 of the raw body with the shared secret>`, and can refuse old
// messages by the `timestamp` inside the signed body (repeated in `X-Etape-Timestamp`). The idempotency key is
// in the body and in `Idempotency-Key`: a receiver must treat a repeated key as the same request.
// Network errors, timeouts, 5xx, 408 and 429 are retried with exponential backoff and jitter; any other 4xx
// means the request itself is wrong and is not retried. Results are values, never exceptions.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { systemClock, type Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { EtapeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Target } from '../core/types.js';
import { ms, resolveSecret } from '../config/common.js';
import type { httpDriverSchema } from '../config/service.js';
import type { Driver, DriverCall, DriverResult, Observed } from './driver.js';
import { attemptWithRetries, trimOutput } from './retry.js';

export type HttpDriverConfig = z.output<typeof httpDriverSchema>;

export interface HttpDriverOptions {
  /** `timestamp` in the body comes from this clock; backoff waits on it. Default: the system clock. */
  clock?: Clock;
  log?: Logger;
  /** Environment to resolve `secret: { env: NAME }` from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** First retry delay (ms, before jitter). Default 250. */
  backoffMs?: number;
  /** Largest retry delay (ms). Default 10 000. */
  maxBackoffMs?: number;
  random?: () => number;
}

/** What the webhook receives. */
export interface WebhookBody {
  action: 'deploy' | 'rollback' | 'force' | 'drain' | 'restore' | 'observe';
  key: string;
  rolloutId: string;
  target: Target;
  version: string;
  fromVersion?: string;
  /** Seconds since the epoch when this attempt was sent (also in X-Etape-Timestamp). */
  timestamp: number;
}

/** `sha256=<hex>` for a raw body. */
export function signBody(secret: string, rawBody: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** Checks an `X-Etape-Signature` header against the raw body, in constant time. */
export function verifySignature(secret: string, rawBody: string | Buffer, header: string | null | undefined): boolean {
  if (!header) return false;
  const want = Buffer.from(signBody(secret, rawBody));
  const got = Buffer.from(header.trim());
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Reads at most `limit` bytes of a response body (a receiver may answer with anything). */
async function readCapped(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    if (size >= limit) await reader.cancel().catch(() => {});
    else reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8');
}

function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

interface Attempt {
  ok: boolean;
  retry: boolean;
  detail: string;
  timedOut: boolean;
  aborted: boolean;
  status?: number;
  body?: string;
}

export function createHttpDriver(cfg: HttpDriverConfig, opts: HttpDriverOptions = {}): Driver {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const timeoutMs = ms(cfg.timeout);
  const secret = resolveSecret(cfg.secret, opts.env ?? process.env);
  if (!secret) {
    const name = typeof cfg.secret === 'object' ? cfg.secret.env : '?';
    throw new EtapeError(
      'config.invalid',
      `the http driver's secret comes from the environment variable ${name}, which is not set: set it before starting etape`,
    );
  }
  const secretKey = secret;

  async function post(body: Omit<WebhookBody, 'timestamp'>, signal?: AbortSignal, leaseToken?: number): Promise<Attempt> {
    const full: WebhookBody = { ...body, timestamp: Math.floor(clock.now() / 1000) };
    const raw = JSON.stringify(full);
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = signal ? AbortSignal.any([timeout, signal]) : timeout;
    try {
      const res = await fetch(cfg.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'etape',
          'x-etape-signature': signBody(secretKey, raw),
          'x-etape-timestamp': String(full.timestamp),
          'idempotency-key': body.key,
          ...(leaseToken !== undefined ? { 'x-etape-lease-token': String(leaseToken) } : {}),
        },
        body: raw,
        signal: both,
      });
      const text = await readCapped(res, 64 * 1024);
      const ok = res.status >= 200 && res.status < 300;
      return {
        ok,
        retry: !ok && retryable(res.status),
        detail: `HTTP ${res.status}`,
        timedOut: false,
        aborted: false,
        status: res.status,
        body: text,
      };
    } catch (e) {
      if (signal?.aborted) return { ok: false, retry: false, detail: 'aborted', timedOut: false, aborted: true };
      if (timeout.aborted)
        return { ok: false, retry: true, detail: `timeout after ${formatDuration(timeoutMs)}`, timedOut: true, aborted: false };
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      return { ok: false, retry: true, detail: `network error: ${why}`, timedOut: false, aborted: false };
    }
  }

  async function act(action: Exclude<WebhookBody['action'], 'observe'>, call: DriverCall, signal?: AbortSignal): Promise<DriverResult> {
    const body: Omit<WebhookBody, 'timestamp'> = {
      action,
      key: call.key,
      rolloutId: call.rolloutId,
      target: { service: call.target.service, region: call.target.region, cell: call.target.cell },
      version: call.version,
      ...(call.fromVersion !== undefined ? { fromVersion: call.fromVersion } : {}),
    };
    return attemptWithRetries<Attempt>({
      // A drain is tried once: the way back of a failing target waits for it.
      retries: action === 'drain' ? 0 : cfg.retries,
      backoff: { baseMs: opts.backoffMs ?? 250, maxMs: opts.maxBackoffMs ?? 10_000, random: opts.random },
      clock,
      log,
      name: 'http driver',
      key: call.key,
      action,
      signal,
      // A webhook attempt starts only under a lease that outlives its timeout.
      arm: call.arm && (() => call.arm!(timeoutMs + 100)),
      attempt: () => post(body, signal, call.leaseToken),
      retryable: (r) => r.retry,
      output: (r) => (r.body ? trimOutput(r.body) : undefined),
    });
  }

  return {
    armsAttempts: true,
    deploy: (call, signal) => act('deploy', call, signal),
    rollback: (call, signal) => act('rollback', call, signal),
    force: (call, signal) => act('force', call, signal),
    ...(cfg.drain
      ? {
          drain: (call: DriverCall, signal?: AbortSignal) => act('drain', call, signal),
          restore: (call: DriverCall, signal?: AbortSignal) => act('restore', call, signal),
        }
      : {}),
    async observe(target: Target, signal?: AbortSignal): Promise<Observed> {
      const r = await post(
        {
          action: 'observe',
          key: `observe:${target.service}:${target.region}/${target.cell}`,
          rolloutId: '',
          target: { service: target.service, region: target.region, cell: target.cell },
          version: '',
        },
        signal,
      );
      if (!r.ok) return { healthy: false, detail: r.detail };
      try {
        const j = JSON.parse(r.body ?? '') as { version?: unknown; healthy?: unknown; detail?: unknown };
        const o: Observed = { detail: typeof j.detail === 'string' ? j.detail : r.detail };
        if (typeof j.version === 'string') o.version = j.version;
        if (typeof j.healthy === 'boolean') o.healthy = j.healthy;
        return o;
      } catch {
        return { detail: `${r.detail} (body is not JSON)` };
      }
    },
  };
}

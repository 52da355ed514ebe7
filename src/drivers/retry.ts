// Shared by the exec and http drivers: exponential backoff with jitter, trimming captured output, the
// attempt loop of a call, and the result of a call after its attempts.
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { DriverResult } from './driver.js';

export interface BackoffOptions {
  /** Delay before the first retry, before jitter (ms). */
  baseMs: number;
  /** Upper bound on any delay (ms). */
  maxMs: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

/**
 * Delay before retry number `retry` (1 = the first retry): base × 2^(retry−1), capped, with "equal jitter"
 * (half fixed, half random) so drivers retrying together spread out but never retry immediately.
 */
export function backoffDelay(retry: number, o: BackoffOptions): number {
  const exp = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, retry - 1));
  const r = (o.random ?? Math.random)();
  return Math.round(exp / 2 + (r * exp) / 2);
}

/** Default number of characters of output kept for the event log. */
export const OUTPUT_LIMIT = 4096;

/**
 * Collects process or response output without holding more than a few KB: the head (how it started) and
 * the tail (how it ended, usually the error), with a marker saying how much was dropped between them.
 */
export class OutputCollector {
  private head = '';
  private tail = '';
  private dropped = 0;
  private readonly headLimit: number;
  private readonly tailLimit: number;

  constructor(limit = OUTPUT_LIMIT) {
    this.headLimit = Math.floor(limit / 4);
    this.tailLimit = limit - this.headLimit;
  }

  push(chunk: string): void {
    // NUL and other C0 controls except tab/newline/CR make event logs unreadable (and jsonb refuses NUL).
    // eslint-disable-next-line no-control-regex
    let s = chunk.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '\uFFFD');
    if (this.head.length < this.headLimit) {
      const take = this.headLimit - this.head.length;
      this.head += s.slice(0, take);
      s = s.slice(take);
    }
    if (s.length === 0) return;
    this.tail += s;
    if (this.tail.length > this.tailLimit * 2) {
      const cut = this.tail.length - this.tailLimit;
      this.dropped += cut;
      this.tail = this.tail.slice(cut);
    }
  }

  text(): string {
    let tail = this.tail;
    let dropped = this.dropped;
    if (tail.length > this.tailLimit) {
      dropped += tail.length - this.tailLimit;
      tail = tail.slice(tail.length - this.tailLimit);
    }
    const out = dropped > 0 ? `${this.head}\n…[${dropped} characters trimmed]…\n${tail}` : this.head + tail;
    return out.trim();
  }
}

export function trimOutput(s: string, limit = OUTPUT_LIMIT): string {
  const c = new OutputCollector(limit);
  c.push(s);
  return c.text();
}

/** The DriverResult of a call after its attempts: the last attempt's outcome, saying how many it took. */
export function finalResult(
  last: { ok: boolean; detail: string; timedOut?: boolean } | undefined,
  attempts: number,
  durationMs: number,
  output: string | undefined,
): DriverResult {
  if (!last) return { ok: false, detail: 'aborted before start', durationMs, attempts };
  const detail = attempts > 1 ? `${last.detail} after ${attempts} attempts` : last.detail;
  const result: DriverResult = { ok: last.ok, detail, durationMs, attempts };
  if (last.timedOut) result.timedOut = true;
  if (output) result.output = output;
  return result;
}

/** What one attempt of a driver call reports back to the attempt loop. */
export interface AttemptOutcome {
  ok: boolean;
  detail: string;
  timedOut?: boolean;
}

export interface AttemptLoop<A extends AttemptOutcome> {
  /** Retries after the first attempt. */
  retries: number;
  backoff: BackoffOptions;
  /** Backoff waits on this clock. */
  clock: Clock;
  log: Logger;
  /** Names the driver in log lines ("exec driver", "http driver"). */
  name: string;
  key: string;
  action: string;
  signal?: AbortSignal;
  /**
   * Asked before each attempt (see DriverCall.arm): the local epoch time the attempt must end by, or
   * undefined to start nothing more (the lease is lost).
   */
  arm?: () => Promise<number | undefined>;
  /** Makes attempt number `n` (1 = the first), to end by `deadline` when armed. Resolves, never rejects. */
  attempt: (n: number, deadline?: number) => Promise<A>;
  /** Whether a failed attempt is worth another try. */
  retryable: (a: A) => boolean;
  /** The output kept in the result for the last attempt. */
  output: (a: A) => string | undefined;
}

/**
 * Runs a driver call: attempts it, waits with backoff between failed attempts that are worth retrying,
 * stops early when the signal aborts, and gives the result of the last attempt (logged).
 */
export async function attemptWithRetries<A extends AttemptOutcome>(o: AttemptLoop<A>): Promise<DriverResult> {
  const started = performance.now();
  let last: A | undefined;
  let attempts = 0;
  for (let i = 0; i <= o.retries; i++) {
    if (i > 0) {
      const wait = backoffDelay(i, o.backoff);
      o.log.warn({ key: o.key, action: o.action, attempt: attempts, detail: last?.detail, retryInMs: wait }, `${o.name}: retrying`);
      await o.clock.sleep(wait, o.signal);
      if (o.signal?.aborted) break;
    }
    let deadline: number | undefined;
    if (o.arm) {
      deadline = await o.arm();
      if (deadline === undefined) {
        const durationMs = Math.round(performance.now() - started);
        o.log.warn({ key: o.key, action: o.action, attempts }, `${o.name}: lease lost, no further attempt`);
        return { ok: false, fenced: true, detail: 'not started: this controller lost the lease', durationMs, attempts };
      }
    }
    attempts++;
    last = await o.attempt(attempts, deadline);
    if (last.ok || !o.retryable(last)) break;
  }
  const durationMs = Math.round(performance.now() - started);
  const result = finalResult(last, attempts, durationMs, last ? o.output(last) : undefined);
  o.log.info({ key: o.key, action: o.action, ok: result.ok, detail: result.detail, attempts, durationMs }, `${o.name} call`);
  return result;
}

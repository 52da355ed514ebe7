// One synthetic HTTP probe of one target, turned into an Observation. It measures and records; it decides
// nothing (the gates do).
//
// `fail` versus `error`, the distinction the gates and the status page depend on (I3):
// - `fail`: the target misbehaved in a way a client would see. Wrong status, body that does not match,
//   a timeout (a hang looks exactly like this: connected or not, no complete answer in time), connection
//   refused or reset (the process is down or crashing), a malformed HTTP answer, a TLS failure.
// - `error`: we could not measure, and it says nothing about the target. A URL template naming a value the
//   fleet does not define, a URL that does not parse or is not http(s), a bad bodyMatch regex, a host name
//   that does not resolve (our resolver or our config, not the target), a local resource limit (no file
//   descriptors or ports left).
// Neither is ever a pass. A gate counts failures against `failAfter`/`failureLimit` and errors against
// `consecutiveErrorLimit`; the status page shows `error` as "unknown", not as an outage.
//
// Probes use node:http with a fresh connection each time (no keep-alive pool): a probe should measure
// connect too, and a pooled socket to a process that has since restarted would fail for reasons that are
// not the target's.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { EtapeError } from '../core/errors.js';
import type { Observation, Target } from '../core/types.js';
import { ms } from '../config/common.js';
import type { FleetConfig } from '../config/fleet.js';
import type { ProbeConfig } from '../config/service.js';

export type TemplateVars = Record<string, string | number>;

/** Most of a body a probe reads (and matches against). */
export const PROBE_BODY_LIMIT = 1 << 20;

/**
 * Replaces every `{name}` in `template` with `vars[name]`. A name with no value is a config mistake:
 * throws EtapeError('config.invalid') naming it and the names that exist. Values are inserted as they are
 * (not URL-encoded), so a var can hold a host and port.
 */
export function expandTemplate(template: string, vars: TemplateVars): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    if (!Object.hasOwn(vars, name)) {
      throw new EtapeError(
        'config.invalid',
        `the template "${template}" uses {${name}}, which has no value here; known: ${Object.keys(vars).sort().join(', ')}. Add it to the region's or cell's vars in the fleet`,
      );
    }
    return String(vars[name]);
  });
}

/**
 * The template values of a target: the region's `vars`, then the cell's (the cell wins), then `service`,
 * `region` and `cell` themselves (these always win).
 */
export function targetVars(fleet: FleetConfig | undefined, target: Target): TemplateVars {
  const region = fleet?.regions.find((r) => r.id === target.region);
  const cell = region?.cells.find((c) => c.id === target.cell);
  return { ...(region?.vars ?? {}), ...(cell?.vars ?? {}), service: target.service, region: target.region, cell: target.cell };
}

/** Is `status` one the probe expects? */
export function statusExpected(probe: Pick<ProbeConfig, 'expectStatus'>, status: number): boolean {
  const want = Array.isArray(probe.expectStatus) ? probe.expectStatus : [probe.expectStatus];
  return want.includes(status);
}

/** `bodyMatch` as a test: `/re/flags` is a regular expression, anything else a substring. Throws on a bad regex. */
export function bodyMatcher(bodyMatch: string): (body: string) => boolean {
  const m = /^\/(.*)\/([dgimsuvy]*)$/s.exec(bodyMatch);
  if (m) {
    let re: RegExp;
    try {
      re = new RegExp(m[1], m[2].replace(/[gy]/g, ''));
    } catch (e) {
      throw new EtapeError('config.invalid', `bodyMatch ${bodyMatch} is not a valid regular expression: ${(e as Error).message}`);
    }
    return (b) => re.test(b);
  }
  return (b) => b.includes(bodyMatch);
}

// Socket-level errors that mean the target (or the path to it) misbehaves: verdict `fail`.
const TARGET_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'HPE_INVALID_CONSTANT',
  'HPE_INVALID_STATUS',
  'HPE_INVALID_HEADER_TOKEN',
  'HPE_HEADER_OVERFLOW',
  'HPE_INVALID_CHUNK_SIZE',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_VERSION',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

// Of those, the ones where the target did not answer in time: a hang, not a refusal.
const CONNECT_TIMEOUTS = new Set(['ETIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

class ProbeAbort extends Error {}

function request(url: URL, method: string, signal: AbortSignal, readBody: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    let settled = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      f();
    };
    const req = lib.request(url, {
      method,
      agent: false,
      headers: { 'user-agent': 'etape-probe', accept: '*/*', 'cache-control': 'no-cache', connection: 'close' },
    });
    const onAbort = () => {
      req.destroy();
      done(() => reject(new ProbeAbort('aborted')));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => done(() => reject(e)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (!readBody || size >= PROBE_BODY_LIMIT) return;
        chunks.push(c);
        size += c.length;
      });
      res.on('error', (e) => done(() => reject(e)));
      res.on('end', () =>
        done(() => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8').slice(0, PROBE_BODY_LIMIT),
          });
          req.destroy();
        }),
      );
      res.on('close', () => {
        // closed before the end of the body: the target broke off mid-answer
        if (!res.complete) done(() => reject(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' })));
      });
    });
    req.end();
  });
}

export interface RunProbeOptions {
  /** Aborting (say, the prober stopping) ends the probe; the result is `error` with detail "probe aborted". */
  signal?: AbortSignal;
}

/**
 * Runs `probe` against `target` once and returns what was seen. Never throws. `vars` fills the URL template
 * (see targetVars). `at` is `clock.now()` when the probe started; latency is measured in real time.
 */
export async function runProbe(
  probe: ProbeConfig,
  target: Target,
  vars: TemplateVars,
  clock: Clock,
  opts: RunProbeOptions = {},
): Promise<Observation> {
  const at = clock.now();
  const base: Observation = { service: target.service, region: target.region, cell: target.cell, source: probe.name, at, verdict: 'error' };
  const error = (detail: string): Observation => ({ ...base, verdict: 'error', detail });

  let url: URL;
  let match: ((b: string) => boolean) | undefined;
  let timeoutMs: number;
  try {
    timeoutMs = ms(probe.timeout);
    const text = expandTemplate(probe.url, { ...vars, service: target.service, region: target.region, cell: target.cell });
    try {
      url = new URL(text);
    } catch {
      return error(`bad URL ${text}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return error(`unsupported URL scheme ${url.protocol} in ${text}`);
    if (probe.bodyMatch !== undefined) {
      if (probe.method === 'HEAD') return error('bodyMatch needs a method that returns a body, not HEAD');
      match = bodyMatcher(probe.bodyMatch);
    }
  } catch (e) {
    return error((e as Error).message);
  }

  const timeout = attentiveTimeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout.signal, opts.signal]) : timeout.signal;
  const t0 = performance.now();
  let answer: Answer;
  try {
    answer = await request(url, probe.method, signal, match !== undefined || probe.versionField !== undefined);
  } catch (e) {
    timeout.clear();
    const latencyMs = round(performance.now() - t0);
    if (opts.signal?.aborted) return { ...error('probe aborted'), latencyMs };
    if (timeout.signal.aborted)
      return { ...base, verdict: 'fail', latencyMs: timeoutMs, timedOut: true, detail: `timeout after ${formatDuration(timeoutMs)}` };
    const code = (e as { code?: string }).code ?? '';
    const msg = (e as Error).message;
    if (TARGET_FAILURES.has(code) || code.startsWith('HPE_'))
      return {
        ...base,
        verdict: 'fail',
        latencyMs,
        ...(CONNECT_TIMEOUTS.has(code) ? { timedOut: true } : {}),
        detail: describeNetError(code, msg),
      };
    return { ...base, verdict: 'error', latencyMs, detail: `could not probe: ${code ? `${code} ` : ''}${msg}` };
  }
  timeout.clear();
  const latencyMs = round(performance.now() - t0);
  const version = answerVersion(probe, answer);
  const obs: Observation = { ...base, latencyMs, ...(version ? { version } : {}) };
  if (!statusExpected(probe, answer.status)) {
    const want = Array.isArray(probe.expectStatus) ? probe.expectStatus.join('/') : String(probe.expectStatus);
    return { ...obs, verdict: 'fail', detail: `HTTP ${answer.status} (expected ${want})` };
  }
  if (match && !match(answer.body))
    return { ...obs, verdict: 'fail', detail: `HTTP ${answer.status}, body does not match ${probe.bodyMatch}` };
  return { ...obs, verdict: 'pass', detail: `HTTP ${answer.status}` };
}

// A timer that fires this much later than it was due means this process, not the target, was stalled.
const STALL_MS = 25;

/**
 * A timeout counted in time this process could attend to the answer. When the event loop was blocked or
 * starved of CPU (a timer firing late says so), an answer may be waiting unread on the socket; the deadline
 * moves by the stall, up to one more `timeoutMs` in all, so a busy controller does not report a healthy
 * target as hung. A target that really hangs still times out, after at most twice `timeoutMs`.
 */
function attentiveTimeout(timeoutMs: number): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  let due = performance.now() + timeoutMs;
  let extended = 0;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    const late = performance.now() - due;
    if (late > STALL_MS && extended < timeoutMs) {
      const more = Math.min(late, timeoutMs - extended);
      extended += more;
      due = performance.now() + more;
      timer = setTimeout(fire, more);
      return;
    }
    // Let I/O that arrived while the timer waited be read before calling it a timeout.
    timer = undefined;
    setImmediate(() => ac.abort());
  };
  timer = setTimeout(fire, timeoutMs);
  return {
    signal: ac.signal,
    clear: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The version an answer says it comes from (I9): the probe's JSON field, else its header, else X-Etape-Version / X-Version. */
export function answerVersion(
  probe: { versionHeader?: string; versionField?: string },
  answer: { headers: Record<string, string | string[] | undefined>; body: string },
): string | undefined {
  if (probe.versionField !== undefined) {
    try {
      let v: unknown = JSON.parse(answer.body);
      for (const k of probe.versionField.split('.'))
        v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
      if ((typeof v === 'string' && v.trim() !== '') || typeof v === 'number') return String(v).trim().slice(0, 100);
    } catch {
      // not JSON: no version from the body
    }
    return undefined;
  }
  if (probe.versionHeader !== undefined) return headerValue(answer.headers[probe.versionHeader.toLowerCase()]);
  return headerValue(answer.headers['x-etape-version']) ?? headerValue(answer.headers['x-version']);
}

function headerValue(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v && v.trim() !== '' ? v.trim().slice(0, 100) : undefined;
}

function describeNetError(code: string, msg: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'ERR_SOCKET_CONNECTION_TIMEOUT':
      return 'connect timed out';
    default:
      return `${code}: ${msg}`;
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

// Shared pieces of the etape.yaml schema.
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

export const ID_RE = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;

export const id = () =>
  z.string().regex(ID_RE, { message: 'ids use lower-case letters, digits, ".", "_" and "-", and start and end with a letter or digit' });

/**
 * A duration as written in etape.yaml (`90s`, `30m`, `2h`, `1h30m`); read it with `ms()`. With `min`, shorter
 * ones are refused and `why` says what they would do (a probe every 0s floods its targets).
 */
export const duration = (bound?: { min: string; why: string }) => {
  const base = z.string().refine((s) => parseDuration(s) !== undefined, {
    message: 'not a duration: write a number and a unit, like 90s, 30m, 2h or 1h30m',
  });
  if (!bound) return base;
  const min = parseDuration(bound.min)!;
  return base.refine((s) => (parseDuration(s) ?? min) >= min, { message: `must be at least ${bound.min}: ${bound.why}` });
};

/** A point in time as written in etape.yaml: an ISO date (`2026-12-01`, midnight UTC) or date-time with a zone. */
export const instant = () =>
  z.string().refine((s) => parseInstant(s) !== undefined, {
    message: 'not a date: write an ISO date like 2026-12-01 (midnight UTC) or a date-time with its zone, like 2026-12-01T09:30:00Z',
  });

/** Milliseconds since the epoch of an `instant()`; undefined when it is not one. */
export function parseInstant(s: string): number | undefined {
  const t = s.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(t)) return undefined;
  const v = Date.parse(t.length === 10 ? `${t}T00:00:00Z` : t);
  return Number.isFinite(v) ? v : undefined;
}

/** Milliseconds of a duration that the schema has already checked. */
export function ms(d: string): number {
  const v = parseDuration(d);
  if (v === undefined) throw new Error(`unchecked duration ${d}`);
  return v;
}

/** A secret given inline or, better, by the name of an environment variable holding it. */
export const secretRef = () => z.union([z.string().min(1), z.strictObject({ env: z.string().min(1) })]);

export function resolveSecret(s: z.infer<ReturnType<typeof secretRef>> | undefined, env = process.env): string | undefined {
  if (s === undefined) return undefined;
  if (typeof s === 'string') return s;
  return env[s.env];
}

/** Lower bounds of the durations that set how often etape acts: below them it floods targets or itself. */
export const FLOORS = {
  driverTimeout: { min: '100ms', why: 'a call needs time to start at all' },
  probeInterval: { min: '100ms', why: 'probing more often floods the targets (at most 10 probes a second per cell)' },
  probeTimeout: { min: '10ms', why: 'no answer comes back that fast' },
  probeConfirmEvery: { min: '50ms', why: 'closer follow-ups would flood a target that is already failing' },
  queryInterval: { min: '100ms', why: 'querying more often floods Prometheus' },
  judgeStep: { min: '1s', why: "Prometheus's resolution is coarser than that" },
  reconcileEvery: { min: '50ms', why: 'reconciling more often only loads the store' },
  buildEvery: { min: '100ms', why: 'rebuilding the status page more often would be all the server does' },
  webhookTimeout: { min: '100ms', why: 'a webhook needs time to answer' },
} as const;

// Shared pieces of the etape.yaml schema.
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

export const ID_RE = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;

export const id = () =>
  z
    .string()
    .regex(ID_RE, { message: 'ids use lower-case letters, digits, ".", "_" and "-", and start and end with a letter or digit' });

/** A duration as written in etape.yaml (`90s`, `30m`, `2h`, `1h30m`); read it with `ms()`. */
export const duration = () =>
  z.string().refine((s) => parseDuration(s) !== undefined, {
    message: 'not a duration: write a number and a unit, like 90s, 30m, 2h or 1h30m',
  });

/** Milliseconds of a duration that the schema has already checked. */
export function ms(d: string): number {
  const v = parseDuration(d);
  if (v === undefined) throw new Error(`unchecked duration ${d}`);
  return v;
}

/** A secret given inline or, better, by the name of an environment variable holding it. */
export const secretRef = () =>
  z.union([z.string().min(1), z.strictObject({ env: z.string().min(1) })]);

export function resolveSecret(s: z.infer<ReturnType<typeof secretRef>> | undefined, env = process.env): string | undefined {
  if (s === undefined) return undefined;
  if (typeof s === 'string') return s;
  return env[s.env];
}

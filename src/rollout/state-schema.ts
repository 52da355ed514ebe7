// A rollout's stored state is read through here: validated against the shape this etape writes, and first
// upgraded, one numbered step at a time, when an older etape wrote it (its `schema` is lower). A state that
// does not fit gives an error naming the rollout and the field, never a cast that breaks later. Fields this
// etape does not know are kept as they are (nothing stored is lost).
import { z } from 'zod';
import { EtapeError } from '../core/errors.js';
import { PHASES, TARGET_STATUSES, WAVE_STATUSES } from './phases.js';
import type { RolloutState } from './state.js';

/** The state schema this etape writes. Raise it with a new step in UPGRADES whenever the stored shape changes. */
export const STATE_SCHEMA = 2;

type Doc = Record<string, unknown>;

/**
 * Upgrade steps by the schema they start from: `UPGRADES[n]` turns a schema-n state into a schema-(n+1) one.
 * Each is pure and total on the shape its schema had. A state with no `schema` is schema 1 (etape before 0.1
 * wrote `schema: 1`, or nothing).
 */
const UPGRADES: Record<number, (s: Doc) => Doc> = {
  // 1 → 2: lists and counters that later etapes always write were optional then; fill their empty values.
  1: (s) => ({
    ...s,
    freeze: s.freeze ?? [],
    rollbackOnHalt: s.rollbackOnHalt ?? true,
    pairs: s.pairs ?? [],
    waves: Array.isArray(s.waves)
      ? s.waves.map((w: Doc) =>
          isDoc(w)
            ? {
                ...w,
                gates: w.gates ?? [],
                verdicts: w.verdicts ?? [],
                bakeAccruedMs: w.bakeAccruedMs ?? 0,
                lastAccrualAt: w.lastAccrualAt ?? null,
              }
            : w,
        )
      : s.waves,
    targets: isDoc(s.targets)
      ? Object.fromEntries(Object.entries(s.targets).map(([k, t]) => [k, isDoc(t) ? { ...t, id: t.id ?? k, attempt: t.attempt ?? 0 } : t]))
      : s.targets,
    schema: 2,
  }),
};

function isDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const enumOf = <T extends Record<string, string>>(o: T) => z.enum(Object.values(o) as [T[keyof T], ...T[keyof T][]]);
const verdict = z.enum(['pass', 'fail', 'inconclusive', 'error']);
const time = z.number().finite();
const step = z.enum(['deploy', 'rollback', 'force', 'drain', 'restore']);
const attempts = z.looseObject({ deploy: z.number().optional(), rollback: z.number().optional(), force: z.number().optional() });

const targetSchema = z.looseObject({
  id: z.string(),
  region: z.string(),
  cell: z.string(),
  wave: z.number().int().min(1),
  status: enumOf(TARGET_STATUSES),
  fromVersion: z.string().optional(),
  step: step.optional(),
  attempt: z.number().int().min(0),
  key: z.string().optional(),
  attempts: attempts.optional(),
  attemptBase: attempts.optional(),
  deployedAt: time.optional(),
  calledAt: time.optional(),
  backAt: time.optional(),
  provenBackAt: time.optional(),
  returnedAt: time.optional(),
  deployStartedAt: time.optional(),
  drainTried: z.boolean().optional(),
  drained: z.boolean().optional(),
  afterDrain: z.enum(['rollback', 'force']).optional(),
  afterDrainReason: z.string().optional(),
});

const waveSchema = z.looseObject({
  index: z.number().int().min(1),
  status: enumOf(WAVE_STATUSES),
  targets: z.array(z.string()),
  regions: z.array(z.string()),
  weight: z.number(),
  bakeMs: z.number().min(0),
  gates: z.array(z.string()),
  approval: z.boolean(),
  startedAt: time.optional(),
  bakeStartedAt: time.optional(),
  bakeAccruedMs: z.number().min(0),
  lastAccrualAt: time.nullable(),
  verifiedAt: time.optional(),
  verdicts: z.array(z.looseObject({ gate: z.string(), kind: z.string(), verdict, reason: z.string(), at: time })),
});

const gateSchema = z.looseObject({
  name: z.string(),
  kind: z.string(),
  sources: z.array(z.string()),
  intervalMs: z.number(),
  freshForMs: z.number(),
  failureLimit: z.number(),
  consecutiveErrorLimit: z.number(),
  inconclusiveLimit: z.number(),
  config: z.looseObject({}),
});

const stateSchema = z.looseObject({
  schema: z.literal(STATE_SCHEMA),
  id: z.string(),
  service: z.string(),
  version: z.string(),
  fromVersion: z.string().optional(),
  phase: enumOf(PHASES),
  createdAt: time,
  updatedAt: time,
  createdBy: z.string(),
  waves: z.array(waveSchema),
  targets: z.record(z.string(), targetSchema),
  gates: z.record(z.string(), gateSchema),
  freeze: z.array(z.looseObject({ start: time, end: time, reason: z.string().optional() })),
  rollbackOnHalt: z.boolean(),
  pairs: z.array(z.tuple([z.string(), z.string()])).optional(),
  versionCheck: z
    .looseObject({ timeoutMs: z.number(), everyMs: z.number(), observe: z.boolean(), sources: z.array(z.string()).nullable() })
    .optional(),
  force: z.boolean().optional(),
  drain: z.boolean().optional(),
  rollback: z.looseObject({ startedAt: time, order: z.array(z.string()), round: z.number() }).optional(),
  drift: z.looseObject({ version: z.string(), expected: z.string() }).optional(),
  pausedBy: z.string().optional(),
  stop: z.looseObject({ kind: z.enum(['halt', 'abort']), by: z.string(), reason: z.string(), at: time }).optional(),
  completedAt: time.optional(),
  endedAt: time.optional(),
});

/** `waves[0].status`, `targets["eu-west/c1"].attempt`: a zod issue path as a person reads it. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += (out ? '.' : '') + p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out || '(the whole state)';
}

/**
 * The stored state of rollout `id`, upgraded to STATE_SCHEMA and validated. Throws EtapeError
 * ('store.invalid_state') naming the rollout and each field that does not fit, or the schema when a newer
 * etape wrote it.
 */
export function loadRolloutState(raw: unknown, id: string): RolloutState {
  if (!isDoc(raw))
    throw invalid(id, [{ path: '(the whole state)', message: `expected an object, got ${raw === null ? 'null' : typeof raw}` }]);
  const from = raw.schema === undefined ? 1 : raw.schema;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 1) {
    throw invalid(id, [{ path: 'schema', message: `expected a whole number from 1 to ${STATE_SCHEMA}, got ${JSON.stringify(from)}` }]);
  }
  if (from > STATE_SCHEMA) {
    throw new EtapeError(
      'store.invalid_state',
      `rollout ${id} was written by a newer etape (state schema ${from}; this etape reads up to ${STATE_SCHEMA}): run that etape or a newer one against this store`,
      { problems: [{ path: 'schema', message: `state schema ${from} is newer than ${STATE_SCHEMA}` }] },
    );
  }
  let doc: Doc = raw;
  for (let n = from; n < STATE_SCHEMA; n++) doc = UPGRADES[n](doc);
  const r = stateSchema.safeParse(doc);
  if (!r.success)
    throw invalid(
      id,
      r.error.issues.map((i) => ({ path: fieldPath(i.path), message: i.message })),
    );
  return r.data as unknown as RolloutState;
}

function invalid(id: string, problems: { path: string; message: string }[]): EtapeError {
  const shown = problems.slice(0, 5).map((p) => `${p.path}: ${p.message}`);
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  return new EtapeError(
    'store.invalid_state',
    `the stored state of rollout ${id} is not valid: ${shown.join('; ')}${more}. It is left as stored and not driven (see docs/store.md, upgrades)`,
    { problems: problems.map((p) => ({ path: p.path, message: p.message })) },
  );
}

/** The state, or undefined when it does not load: for lists that show every other rollout (the error is the single rollout's to show). */
export function stateIfValid(raw: unknown, id: string): RolloutState | undefined {
  try {
    return loadRolloutState(raw, id);
  } catch (e) {
    if (e instanceof EtapeError && e.code === 'store.invalid_state') return undefined;
    throw e;
  }
}

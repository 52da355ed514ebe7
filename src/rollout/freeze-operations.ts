// Freezes set by people: `etape freeze` and /api/freezes. A freeze is two events in the store (`freeze.set`,
// `freeze.lifted`), so it is audited and survives restarts; setting one pauses every rollout in its scope at
// once, lifting it resumes those it paused (the line-stop supervisor of `etape serve` keeps both true).
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { EtapeError } from '../core/errors.js';
import type { EtapeConfig } from '../config/schema.js';
import { didYouMean } from '../core/suggest.js';
import type { Store } from '../store/store.js';
import { FREEZE_ACTOR_PREFIX, holdCovers, type Freeze, type FreezeScope } from '../linestop/line.js';
import { ACTIVE_PHASES } from './phases.js';
import { command, stateOf } from './operations.js';
import type { RolloutState } from './state.js';

export interface FreezeContext {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
}

export const FREEZE_EVENTS = ['freeze.set', 'freeze.lifted'] as const;

function bad(field: string, message: string): EtapeError {
  return new EtapeError('bad_request', `${field}: ${message}`, { problems: [{ path: field, message }] });
}

/** The freezes in force: every `freeze.set` without a later `freeze.lifted`. */
export async function activeFreezes(store: Pick<Store, 'listEvents'>): Promise<Freeze[]> {
  const events = await store.listEvents({ types: [...FREEZE_EVENTS] });
  const open = new Map<string, Freeze>();
  for (const e of events) {
    const d = e.data as { id?: string; scope?: FreezeScope; value?: string; reason?: string };
    if (!d?.id) continue;
    if (e.type === 'freeze.set' && d.scope)
      open.set(d.id, {
        id: d.id,
        scope: d.scope,
        ...(d.value !== undefined ? { value: d.value } : {}),
        reason: d.reason ?? '',
        by: e.actor,
        at: e.at,
      });
    else if (e.type === 'freeze.lifted') open.delete(d.id);
  }
  return [...open.values()];
}

/** Regions a rollout's plan touches. */
export function rolloutRegions(s: RolloutState): string[] {
  return [...new Set(s.waves.flatMap((w) => w.regions))];
}

export async function setFreeze(
  ctx: FreezeContext,
  input: { scope: unknown; value?: unknown; reason: unknown; actor: string },
): Promise<{ freeze: Freeze; paused: string[] }> {
  const scope = input.scope;
  if (scope !== 'global' && scope !== 'region' && scope !== 'service') throw bad('scope', 'must be global, region or service');
  if (typeof input.reason !== 'string' || input.reason.trim() === '' || input.reason.length > 500)
    throw bad('reason', 'say why, in 1 to 500 characters: people see it on every paused rollout');
  let value: string | undefined;
  if (scope !== 'global') {
    const known = scope === 'region' ? ctx.config.fleet.regions.map((r) => r.id) : ctx.config.services.map((s) => s.name);
    if (typeof input.value !== 'string' || !known.includes(input.value))
      throw bad(
        scope,
        `give a ${scope} from the config${typeof input.value === 'string' ? `: no ${scope} "${input.value}"${didYouMean(input.value, known)}` : ''} (known: ${known.join(', ')})`,
      );
    value = input.value;
  } else if (input.value !== undefined && input.value !== null) throw bad('value', 'a global freeze names no region or service');
  const now = ctx.clock.now();
  const freeze: Freeze = {
    id: `fz-${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(3).toString('hex')}`,
    scope,
    ...(value !== undefined ? { value } : {}),
    reason: input.reason.trim(),
    by: input.actor,
    at: now,
  };
  await ctx.store.appendEvents([
    {
      rolloutId: null,
      at: now,
      actor: input.actor,
      type: 'freeze.set',
      data: { id: freeze.id, scope, value: value ?? null, reason: freeze.reason },
    },
  ]);
  const paused: string[] = [];
  for (const r of await ctx.store.listRollouts({ phases: ['pending', 'running'] })) {
    const s = stateOf(r);
    if (!holdCovers(freeze, r.service, rolloutRegions(s))) continue;
    await command(
      ctx,
      r.id,
      { kind: 'pause', reason: `freeze ${freeze.id}: ${freeze.reason}` },
      `${FREEZE_ACTOR_PREFIX}${freeze.id}`,
    ).catch(() => undefined);
    paused.push(r.id);
  }
  return { freeze, paused };
}

export async function liftFreeze(ctx: FreezeContext, id: unknown, actor: string): Promise<{ freeze: Freeze; resumed: string[] }> {
  if (typeof id !== 'string' || id === '') throw bad('id', 'give a freeze id (`etape freeze list`)');
  const active = await activeFreezes(ctx.store);
  const freeze = active.find((f) => f.id === id);
  if (!freeze) throw new EtapeError('not_found', `no freeze ${id} in force: list them with \`etape freeze list\``);
  const now = ctx.clock.now();
  await ctx.store.appendEvents([{ rolloutId: null, at: now, actor, type: 'freeze.lifted', data: { id } }]);
  const rest = active.filter((f) => f.id !== id);
  const resumed: string[] = [];
  for (const r of await ctx.store.listRollouts({ phases: [...ACTIVE_PHASES] })) {
    const s = stateOf(r);
    if (r.phase !== 'paused' || s.pausedBy !== `${FREEZE_ACTOR_PREFIX}${id}`) continue;
    // Still inside another freeze: it stays paused; the line-stop supervisor resumes it when that one lifts.
    if (rest.some((f) => holdCovers(f, r.service, rolloutRegions(s)))) continue;
    await command(ctx, r.id, { kind: 'resume' }, `${FREEZE_ACTOR_PREFIX}${id}`).catch(() => undefined);
    resumed.push(r.id);
  }
  return { freeze, resumed };
}

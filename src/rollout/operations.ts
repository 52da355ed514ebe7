// Store-level operations on rollouts, shared by the CLI and the HTTP API: start, pause, resume, abort,
// approve, retry, force a target, and the reads behind `status` and `history`. Input is checked here; bad input is an EtapeError
// naming the field, an unknown id is EtapeError('not_found').
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { EtapeError } from '../core/errors.js';
import type { EtapeConfig } from '../config/schema.js';
import type { ServiceConfig } from '../config/service.js';
import { didYouMean } from '../core/suggest.js';
import type { Plan } from '../plan/types.js';
import type { EventRecord, RolloutRecord, Store } from '../store/store.js';
import { compileGate } from '../gates/index.js';
import { buildFleet, pairEdges } from '../fleet/fleet.js';
import { ms } from '../config/common.js';
import { OBSERVE_SOURCE } from '../core/types.js';
import type { GateKind } from '../gates/gate.js';
import { applyCommand, type Command } from './commands.js';
import { ACTIVE_PHASES } from './phases.js';
import { newRolloutState, type RolloutState } from './state.js';
import { loadRolloutState } from './state-schema.js';

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+:@/-]{0,127}$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface StartInput {
  service: string;
  version: string;
  /** Who asks: `cli:<user>`, `api:<token name>`. */
  actor: string;
  /** A plan to use instead of planning from the config (already checked against I1–I2 by the caller). */
  plan?: Plan;
  id?: string;
  /** Roll back after a halt (default true). */
  rollbackOnHalt?: boolean;
}

export interface OperationsContext {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
  /** Makes the plan of a service; the wave planner by default. */
  planner?: (config: EtapeConfig, service: string) => Plan | Promise<Plan>;
  gateKinds?: ReadonlyMap<string, GateKind>;
}

function bad(field: string, message: string): EtapeError {
  return new EtapeError('bad_request', `${field}: ${message}`, { problems: [{ path: field, message }] });
}

export function findService(config: EtapeConfig, name: unknown): ServiceConfig {
  if (typeof name !== 'string' || name.trim() === '') throw bad('service', 'give the name of a service from the config');
  const s = config.services.find((x) => x.name === name);
  if (!s) {
    const known = config.services.map((x) => x.name);
    throw bad(
      'service',
      `no service "${name}" in the config${didYouMean(name, known)}${known.length ? ` (known: ${known.join(', ')})` : ''}`,
    );
  }
  return s;
}

async function defaultPlanner(config: EtapeConfig, service: string): Promise<Plan> {
  const { planRollout } = await import('../config/plan.js');
  return planRollout(config, service);
}

const isForce = (r: RolloutRecord): boolean => (r.state as RolloutState).force === true;

/** The version the service last completed a rollout to, else the config's `initialVersion` (a force is no release). */
export async function lastVerifiedVersion(store: Store, service: ServiceConfig): Promise<string | undefined> {
  return (await verifiedVersions(store, service)).version;
}

/**
 * The service's last verified version, and the targets forced (`etape target force`) since its last completed
 * rollout, each with the version it was forced to and proven on: their last verified version.
 */
export async function verifiedVersions(
  store: Store,
  service: ServiceConfig,
): Promise<{ version: string | undefined; targets: Record<string, string> }> {
  const done = await store.listRollouts({ service: service.name, phases: ['completed'] });
  done.sort((a, b) => a.updatedAt - b.updatedAt);
  let version = service.initialVersion;
  let targets: Record<string, string> = {};
  for (const r of done) {
    if (!isForce(r)) {
      version = r.version;
      targets = {};
      continue;
    }
    for (const id of Object.keys((r.state as RolloutState).targets)) targets[id] = r.version;
  }
  return { version, targets };
}

export function newRolloutId(service: string, now: number): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${service}-${t}-${randomBytes(3).toString('hex')}`;
}

/** Whether the service's driver can report what a target runs (exec with an `observe` command, http, fleet). */
export function driverObserves(service: ServiceConfig): boolean {
  const d = service.driver;
  if (!d) return false;
  return d.kind === 'exec' ? d.observe !== undefined : true;
}

/** Whether the service's driver can take a target out of rotation and put it back (exec drain/restore, http or fleet `drain`). */
function driverDrains(service: ServiceConfig): boolean {
  const d = service.driver;
  if (!d) return false;
  return d.kind === 'exec' ? d.drain !== undefined && d.restore !== undefined : d.drain;
}

/** How targets of the service prove the version they run (I9), from `services[].version`. */
export function versionCheckOf(service: ServiceConfig): NonNullable<RolloutState['versionCheck']> {
  const v = service.version ?? { from: 'auto' as const, timeout: '1m', every: '30s' };
  const observe = v.from !== 'probe' && driverObserves(service);
  const sources = v.from === 'observe' ? [OBSERVE_SOURCE] : v.from === 'probe' ? service.probes.map((p) => p.name) : null;
  return { timeoutMs: ms(v.timeout), everyMs: ms(v.every), observe, sources };
}

/** Plans and creates a rollout (phase `pending`); a controller picks it up. */
export async function startRollout(ctx: OperationsContext, input: StartInput): Promise<RolloutRecord> {
  const service = findService(ctx.config, input.service);
  if (typeof input.version !== 'string' || !VERSION_RE.test(input.version)) {
    throw bad('version', 'give a version of 1 to 128 letters, digits and . _ + : @ / -, starting with a letter or digit');
  }
  if (input.id !== undefined && (typeof input.id !== 'string' || !ID_RE.test(input.id))) {
    throw bad('id', 'an id is 1 to 128 letters, digits, ".", "_" or "-"');
  }
  const active = await ctx.store.listRollouts({ service: service.name, phases: [...ACTIVE_PHASES] });
  if (active.length > 0) {
    throw new EtapeError(
      'conflict',
      `service ${service.name} already has rollout ${active[0].id} (${active[0].phase}); wait for it to end or abort it with \`etape rollout abort ${active[0].id}\``,
    );
  }
  const verified = await verifiedVersions(ctx.store, service);
  const fromVersion = verified.version;
  if (fromVersion === undefined && !driverObserves(service)) {
    // Nothing to roll back to and no way to learn it: a bad version would be stuck where it landed.
    throw new EtapeError(
      'config.invalid',
      `service ${service.name}: etape does not know which version runs now, and cannot find out: set services[].initialVersion (the version running everywhere now), or give the driver a way to observe it (exec: an \`observe\` command that prints the version)`,
      { problems: [{ path: `services.${service.name}.initialVersion`, message: 'unknown, and the driver cannot observe it' }] },
    );
  }
  if (fromVersion === input.version) {
    throw new EtapeError('conflict', `service ${service.name} is already on version ${input.version}: nothing to roll out`);
  }
  const plan = input.plan ?? (await (ctx.planner ?? defaultPlanner)(ctx.config, service.name));
  const gates = service.gates.map((g) => compileGate(g, service, ctx.gateKinds));
  const now = ctx.clock.now();
  const id = input.id ?? newRolloutId(service.name, now);
  const state = newRolloutState({
    id,
    plan,
    version: input.version,
    fromVersion,
    fromVersions: verified.targets,
    gates,
    createdAt: now,
    createdBy: input.actor,
    freeze: ctx.config.policy.freeze.map((f) => ({ start: Date.parse(f.start), end: Date.parse(f.end), reason: f.reason })),
    rollbackOnHalt: input.rollbackOnHalt,
    pairs: pairEdges(buildFleet(ctx.config.fleet)),
    versionCheck: versionCheckOf(service),
    drain: driverDrains(service),
  });
  if (await ctx.store.getRollout(id)) throw new EtapeError('conflict', `a rollout with id ${id} exists already`);
  return ctx.store.createRollout(
    { id, service: service.name, version: input.version, phase: state.phase, state, createdAt: now, updatedAt: now },
    [
      {
        rolloutId: id,
        at: now,
        actor: input.actor,
        type: 'rollout.created',
        data: {
          service: service.name,
          version: input.version,
          fromVersion: fromVersion ?? null,
          waves: plan.waves.map((w) => ({
            wave: w.index,
            regions: w.regions,
            targets: w.targets.length,
            bakeMs: w.bakeMs,
            gates: w.gates,
            approval: w.approval,
          })),
        },
      },
    ],
  );
}

export async function getRollout(store: Store, id: unknown): Promise<RolloutRecord> {
  if (typeof id !== 'string' || id === '') throw bad('id', 'give a rollout id');
  const r = await store.getRollout(id);
  if (!r) throw new EtapeError('not_found', `no rollout ${id}: list them with \`etape rollout status\``);
  return r;
}

export function stateOf(r: RolloutRecord): RolloutState {
  return loadRolloutState(r.state, r.id);
}

/** Applies a person's command with the store's revision check, retrying when the controller saved in between. */
export async function command(
  ctx: Pick<OperationsContext, 'store' | 'clock'>,
  id: string,
  cmd: Command,
  actor: string,
): Promise<RolloutRecord> {
  for (let attempt = 0; ; attempt++) {
    const rec = await getRollout(ctx.store, id);
    const { nextState, events } = applyCommand(stateOf(rec), cmd, ctx.clock.now(), actor);
    if (events.length === 0) return rec;
    try {
      const revision = await ctx.store.saveRollout(
        id,
        rec.revision,
        { phase: nextState.phase, state: nextState, updatedAt: nextState.updatedAt },
        events,
      );
      return { ...rec, phase: nextState.phase, state: nextState, revision, updatedAt: nextState.updatedAt };
    } catch (e) {
      if (e instanceof EtapeError && e.code === 'store.conflict' && attempt < 20) continue;
      throw e;
    }
  }
}

export const pauseRollout = (ctx: Pick<OperationsContext, 'store' | 'clock'>, id: string, actor: string, reason?: string) =>
  command(ctx, id, { kind: 'pause', reason }, actor);
export const resumeRollout = (ctx: Pick<OperationsContext, 'store' | 'clock'>, id: string, actor: string) =>
  command(ctx, id, { kind: 'resume' }, actor);
export const abortRollout = (ctx: Pick<OperationsContext, 'store' | 'clock'>, id: string, actor: string, reason?: string) =>
  command(ctx, id, { kind: 'abort', reason }, actor);

/** Rolls back again whatever a failed rollback did not bring back (operator; the event records who). */
export const retryRollout = (ctx: Pick<OperationsContext, 'store' | 'clock'>, id: string, actor: string) =>
  command(ctx, id, { kind: 'retry' }, actor);

export async function approveWave(ctx: Pick<OperationsContext, 'store' | 'clock'>, id: string, actor: string, wave?: unknown) {
  if (wave !== undefined && (typeof wave !== 'number' || !Number.isInteger(wave) || wave < 1)) {
    throw bad('wave', 'give a wave number, 1 or more');
  }
  return command(ctx, id, { kind: 'approve', wave: wave as number | undefined }, actor);
}

export async function listRollouts(
  store: Store,
  filter: { service?: string; active?: boolean; limit?: number } = {},
): Promise<RolloutRecord[]> {
  const rs = await store.listRollouts({
    service: filter.service,
    phases: filter.active ? [...ACTIVE_PHASES] : undefined,
    limit: filter.limit,
  });
  return rs.sort((a, b) => b.createdAt - a.createdAt);
}

export async function rolloutHistory(store: Store, id: string, opts: { afterSeq?: number; limit?: number } = {}): Promise<EventRecord[]> {
  await getRollout(store, id);
  return store.listEvents({ rolloutId: id, afterSeq: opts.afterSeq, limit: opts.limit });
}

export interface ForceInput {
  service: string;
  /** `region/cell`. */
  target: string;
  version: string;
  actor: string;
  reason?: string;
}

/** What `forceTarget` did: forced the target inside a rollout whose rollback failed on it, or started a force. */
export interface ForceResult {
  rollout: RolloutRecord;
  /** `rollback`: inside the rollout that could not put it back; `force`: a new force rollout. */
  via: 'rollback' | 'force';
}

/** Versions etape knows the service ran or was verified on: a force goes back to one of them, never to a new one. */
async function knownVersions(store: Store, service: ServiceConfig): Promise<Set<string>> {
  const out = new Set<string>();
  if (service.initialVersion) out.add(service.initialVersion);
  for (const r of await store.listRollouts({ service: service.name })) {
    const st = r.state as RolloutState;
    if (r.phase === 'completed') out.add(r.version);
    if (st.fromVersion) out.add(st.fromVersion);
    for (const t of Object.values(st.targets)) if (t.fromVersion) out.add(t.fromVersion);
  }
  return out;
}

function parseTarget(ctx: Pick<OperationsContext, 'config'>, service: ServiceConfig, target: unknown): { region: string; cell: string } {
  if (typeof target !== 'string' || !/^[^/]+\/[^/]+$/.test(target)) throw bad('target', 'give the target as region/cell, e.g. eu-west/c1');
  const [region, cell] = target.split('/');
  const inService = ctx.config.fleet.regions.filter((r) => service.regions === 'all' || service.regions.includes(r.id));
  const r = inService.find((x) => x.id === region);
  if (!r) {
    const known = inService.map((x) => x.id);
    throw bad(
      'target',
      `service ${service.name} runs in no region "${region}"${didYouMean(region, known)} (its regions: ${known.join(', ')})`,
    );
  }
  if (!r.cells.some((c) => c.id === cell)) {
    const known = r.cells.map((c) => c.id);
    throw bad('target', `region ${region} has no cell "${cell}"${didYouMean(cell, known)} (its cells: ${known.join(', ')})`);
  }
  return { region, cell };
}

/**
 * `etape target force <service> <region/cell> <version>` (operator): kills and restarts one target on a
 * version it ran before, as a way out of a stuck target. When the service's rollout could not put that target
 * back (its rollback failed on it) and the version is where it should go, the target is forced inside that
 * rollout, along its pair-safe rollback. Otherwise a force rollout of the one target starts; the controller
 * runs the driver's force with an idempotency key and proves the version like any deploy (I5, I9). One
 * active rollout per service means nothing else changes the service meanwhile (I2).
 */
export async function forceTarget(ctx: OperationsContext, input: ForceInput): Promise<ForceResult> {
  const service = findService(ctx.config, input.service);
  const { region, cell } = parseTarget(ctx, service, input.target);
  const id = `${region}/${cell}`;
  if (typeof input.version !== 'string' || !VERSION_RE.test(input.version)) {
    throw bad('version', 'give a version of 1 to 128 letters, digits and . _ + : @ / -, starting with a letter or digit');
  }
  const known = await knownVersions(ctx.store, service);
  if (!known.has(input.version)) {
    throw bad(
      'version',
      `etape knows no version "${input.version}" of service ${service.name}${didYouMean(input.version, [...known])}: a force puts back a version that ran before (known: ${[...known].join(', ') || 'none'}); roll out a new one with \`etape rollout start\``,
    );
  }
  const latest = (await listRollouts(ctx.store, { service: service.name }))[0];
  const active = latest && (ACTIVE_PHASES as readonly string[]).includes(latest.phase) ? latest : undefined;
  const stuck = latest && (latest.phase === 'failed' || latest.phase === 'rolling_back') ? stateOf(latest).targets[id] : undefined;
  if (latest && stuck?.status === 'failed' && stuck.fromVersion === input.version) {
    const rec = await command(ctx, latest.id, { kind: 'force', target: id, reason: input.reason }, input.actor);
    return { rollout: rec, via: 'rollback' };
  }
  if (active) {
    throw new EtapeError(
      'conflict',
      `service ${service.name} has rollout ${active.id} (${active.phase}): nothing else changes the service until it ends; wait for it or abort it with \`etape rollout abort ${active.id}\`${stuck?.status === 'failed' ? ` (${id} can be forced inside it to ${stuck.fromVersion})` : ''}`,
    );
  }
  const verified = await verifiedVersions(ctx.store, service);
  const fromVersion = verified.targets[id] ?? verified.version;
  const now = ctx.clock.now();
  const rid = `${service.name}-force-${newRolloutId(`${region}-${cell}`, now)}`.slice(0, 128);
  const plan: Plan = {
    service: service.name,
    waves: [
      {
        index: 1,
        kind: 'canary',
        targets: [{ region, cell, weight: 0 }],
        regions: [region],
        weight: 0,
        bakeMs: 0,
        gates: [],
        approval: false,
      },
    ],
    totalWeight: 0,
    minDurationMs: 0,
    growth: 1,
  };
  const state = newRolloutState({
    id: rid,
    plan,
    version: input.version,
    fromVersion,
    gates: [],
    createdAt: now,
    createdBy: input.actor,
    pairs: pairEdges(buildFleet(ctx.config.fleet)),
    versionCheck: versionCheckOf(service),
    force: true,
  });
  const rec = await ctx.store.createRollout(
    { id: rid, service: service.name, version: input.version, phase: state.phase, state, createdAt: now, updatedAt: now },
    [
      {
        rolloutId: rid,
        at: now,
        actor: input.actor,
        type: 'rollout.created',
        data: { service: service.name, version: input.version, fromVersion: fromVersion ?? null, force: true, target: id },
      },
      {
        rolloutId: rid,
        at: now,
        actor: input.actor,
        type: 'target.force_requested',
        data: { target: id, version: input.version, ...(input.reason ? { reason: input.reason } : {}) },
      },
    ],
  );
  return { rollout: rec, via: 'force' };
}

/** The rollout-scoped force (the dashboard's button): a target of `id` whose rollback failed, to its last verified version. */
export const forceRolloutTarget = (
  ctx: Pick<OperationsContext, 'store' | 'clock'>,
  id: string,
  target: string,
  actor: string,
  reason?: string,
) => command(ctx, id, { kind: 'force', target, reason }, actor);

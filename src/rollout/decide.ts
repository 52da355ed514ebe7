// The rollout core: state + evidence + now → actions, events, next state and when to look again.
// Pure: no I/O, no clock, no randomness. The controller performs the driver actions and hands their
// outcomes back in the next call's evidence, keyed by idempotency key (I5).
import { idempotencyKey, OBSERVE_SOURCE, type Observation, type Target } from '../core/types.js';
import type { NewEvent } from '../store/store.js';
import type { GateKind, GateResult, GateTarget } from '../gates/gate.js';
import { evaluateGate } from '../gates/index.js';
import { transition, waveTransition, type Phase } from './phases.js';
import { bakeLeft, currentWave, touchedTargets, type DriverStep, type RolloutState, type TargetState, type WaveState } from './state.js';
import { failingTargets, holdReason, partnersOf, proofOfBack, proofSources, rollbackOrder, stageOf } from './rollback.js';
import { holdCovers, type Hold } from '../linestop/line.js';

/** What came back from a driver call. */
export interface DriverOutcome {
  ok: boolean;
  detail: string;
  timedOut?: boolean;
}

export interface Evidence {
  /** Recent observations of the service (the core filters by source, target and time). */
  observations: Observation[];
  /** Outcomes of finished driver calls, by idempotency key. */
  outcomes: ReadonlyMap<string, DriverOutcome> | Record<string, DriverOutcome>;
  /** Freezes and failing regions (stop the line): no wave starts where one applies. */
  holds?: readonly Hold[];
}

export interface Limits {
  /** Deploy attempts per target (each with its own key) before the rollout halts. */
  deployAttempts: number;
  /** Graceful rollback attempts per target before it is forced. */
  rollbackAttempts: number;
  /** Force attempts per target before the rollout is `failed`. */
  forceAttempts: number;
  /** Restore attempts per drained target before it is left out of rotation for a person (default 2). */
  restoreAttempts?: number;
  /** Most targets with a driver call in flight at once (per rollout). */
  maxParallel: number;
  /** How long a target put back by the driver may take to pass a probe on the old version (at least 3 probe intervals). */
  proveBackMs?: number;
  /** Gate kinds beyond the built-in ones (probe, metric, judge), by kind name. */
  gateKinds?: ReadonlyMap<string, GateKind>;
}

export const DEFAULT_LIMITS: Limits = {
  deployAttempts: 2,
  rollbackAttempts: 1,
  forceAttempts: 3,
  restoreAttempts: 2,
  maxParallel: Infinity,
  proveBackMs: 120_000,
};

export type Action =
  | {
      kind: 'deploy' | 'rollback' | 'force' | 'drain' | 'restore';
      key: string;
      rolloutId: string;
      target: Target;
      version: string;
      fromVersion?: string;
    }
  | { kind: 'start_bake'; wave: number }
  | { kind: 'mark_verified'; wave: number }
  | { kind: 'halt'; reason: string }
  | { kind: 'complete' }
  | { kind: 'observe'; target: Target }
  | { kind: 'wake'; at: number };

export type DriverAction = Extract<Action, { kind: 'deploy' | 'rollback' | 'force' | 'drain' | 'restore' }>;

export function isDriverAction(a: Action): a is DriverAction {
  return a.kind === 'deploy' || a.kind === 'rollback' || a.kind === 'force' || a.kind === 'drain' || a.kind === 'restore';
}

export interface Decision {
  actions: Action[];
  events: NewEvent[];
  nextState: RolloutState;
  /** When the core wants to be asked again even if nothing else happens (undefined: only on news). */
  wakeAt?: number;
  /** The gates as judged in this call (empty when none were judged). */
  verdicts: GateResult[];
  /** The state differs from the input (bake accrued, verdicts refreshed, …): save it even without events. */
  changed: boolean;
}

const ACTOR = 'controller';
/** A held wave looks again this often even if nobody nudges the controller. */
const HOLD_RECHECK_MS = 5_000;
/** Gate kinds that compare the new version with targets still on the old one (the canary judge). */
const COMPARES_WITH_BASELINE: ReadonlySet<string> = new Set(['judge']);

export function decide(state: RolloutState, evidence: Evidence, now: number, limits: Limits = DEFAULT_LIMITS): Decision {
  // The state is JSON by contract: copying through JSON also gives the text to tell whether anything changed.
  const before = JSON.stringify(state);
  const s = JSON.parse(before) as RolloutState;
  const ctx: Ctx = { s, now, limits, events: [], actions: [], wake: [], verdicts: [], holds: evidence.holds ?? [] };
  const outcome = (key: string): DriverOutcome | undefined =>
    evidence.outcomes instanceof Map ? evidence.outcomes.get(key) : (evidence.outcomes as Record<string, DriverOutcome>)[key];

  // 1. Outcomes of driver calls in flight.
  for (const t of Object.values(s.targets)) {
    if (!t.key) continue;
    const o = outcome(t.key);
    if (o) applyOutcome(ctx, t, o);
  }

  // 2. The phase's own work. A few passes, so that one call goes as far as it can (start → deploy, verified → next wave).
  const where = () => `${s.phase}:${currentWave(s)?.index}:${currentWave(s)?.status}`;
  for (let pass = 0; pass < 8; pass++) {
    const before = where();
    step(ctx, evidence.observations);
    if (where() === before) break;
  }

  // 3. Every driver call that is still wanted. The controller skips those already running in-process and
  //    answers those the store already finished; repeated ones carry the same key (I5).
  for (const t of Object.values(s.targets)) {
    if (!t.key || !t.step) continue;
    const version = t.step === 'deploy' ? s.version : t.fromVersion;
    if (version === undefined) continue;
    ctx.actions.push({
      // A force rollout deploys by the driver's force action (kill and restart).
      kind: t.step === 'deploy' && s.force ? 'force' : t.step,
      key: t.key,
      rolloutId: s.id,
      target: { service: s.service, region: t.region, cell: t.cell },
      version,
      fromVersion: t.step === 'deploy' ? t.fromVersion : s.version,
    });
  }

  if (ctx.events.length > 0) s.updatedAt = now;
  const changed = ctx.events.length > 0 || JSON.stringify(s) !== before;
  const wakeAt = ctx.wake.length ? Math.max(now, Math.min(...ctx.wake)) : undefined;
  if (wakeAt !== undefined) ctx.actions.push({ kind: 'wake', at: wakeAt });
  return { actions: ctx.actions, events: ctx.events, nextState: s, wakeAt, verdicts: ctx.verdicts, changed };
}

interface Ctx {
  s: RolloutState;
  now: number;
  limits: Limits;
  events: NewEvent[];
  actions: Action[];
  wake: number[];
  verdicts: GateResult[];
  holds: readonly Hold[];
}

function emit(ctx: Ctx, type: string, data: Record<string, unknown>, actor = ACTOR): void {
  ctx.events.push({ rolloutId: ctx.s.id, at: ctx.now, actor, type, data });
}

function go(ctx: Ctx, to: Phase, data: Record<string, unknown> = {}): void {
  const r = transition(ctx.s, to, ctx.now, ACTOR, data);
  ctx.s.phase = r.state.phase;
  ctx.events.push(r.event);
}

function setWave(ctx: Ctx, w: WaveState, to: WaveState['status'], data: Record<string, unknown> = {}): void {
  const r = waveTransition(ctx.s.id, w, to, ctx.now, ACTOR, data);
  w.status = r.wave.status;
  ctx.events.push(r.event);
}

const STEP_STATUS: Readonly<Record<DriverStep, TargetState['status']>> = {
  deploy: 'deploying',
  rollback: 'rolling_back',
  force: 'forcing',
  drain: 'draining',
  restore: 'restoring',
};

function startStep(ctx: Ctx, t: TargetState, step: DriverStep, attempt: number, reason?: string): void {
  t.step = step;
  t.attempt = attempt;
  t.attempts = { ...t.attempts, [step]: attempt };
  t.key = idempotencyKey(ctx.s.id, t, step === 'deploy' && ctx.s.force ? 'force' : step, attempt);
  t.status = STEP_STATUS[step];
  if (step === 'deploy') t.deployStartedAt = ctx.now;
  emit(ctx, `target.${t.status}`, {
    target: t.id,
    wave: t.wave,
    attempt,
    key: t.key,
    version: step === 'deploy' ? ctx.s.version : t.fromVersion,
    ...(reason ? { reason } : {}),
  });
}

function endStep(t: TargetState): void {
  t.step = undefined;
  t.key = undefined;
}

function halt(ctx: Ctx, reason: string, data: Record<string, unknown> = {}): void {
  if (ctx.s.phase !== 'running' && ctx.s.phase !== 'paused' && ctx.s.phase !== 'pending') return;
  ctx.s.stop = { kind: 'halt', by: ACTOR, reason, at: ctx.now };
  ctx.s.pausedBy = undefined;
  go(ctx, 'halted', { reason, ...data });
  ctx.actions.push({ kind: 'halt', reason });
}

function applyOutcome(ctx: Ctx, t: TargetState, o: DriverOutcome): void {
  const { s, limits } = ctx;
  const base = { target: t.id, wave: t.wave, attempt: t.attempt, key: t.key, detail: o.detail };
  switch (t.step) {
    case 'deploy': {
      if (s.phase === 'rolling_back' || s.phase === 'halted' || s.phase === 'aborted') {
        // The rollout stopped while this deploy was in flight; whatever it did, the rollback covers it.
        endStep(t);
        return;
      }
      if (o.ok && s.versionCheck) {
        // The driver says done; the target has to say so too (I9): it stays deploying until it reports the new version.
        endStep(t);
        t.calledAt = ctx.now;
        t.observeAskedAt = undefined;
        t.lastError = undefined;
        emit(ctx, 'target.deploy_returned', { ...base, version: s.version });
        return;
      }
      if (o.ok) {
        endStep(t);
        t.status = 'deployed';
        t.deployedAt = ctx.now;
        t.lastError = undefined;
        emit(ctx, 'target.deployed', { ...base, version: s.version });
        return;
      }
      t.lastError = o.detail;
      if (t.attempt < limits.deployAttempts) {
        emit(ctx, 'target.deploy_failed', { ...base, timedOut: o.timedOut ?? false, retrying: true });
        startStep(ctx, t, 'deploy', t.attempt + 1);
      } else {
        emit(ctx, 'target.deploy_failed', { ...base, timedOut: o.timedOut ?? false, retrying: false });
        endStep(t);
        halt(ctx, `could not deploy ${t.id} after ${t.attempt} attempt(s): ${o.detail}`, { target: t.id });
      }
      return;
    }
    case 'rollback':
    case 'force': {
      if (o.ok) {
        endStep(t);
        t.status = 'rolled_back';
        t.backAt = ctx.now;
        t.lastError = undefined;
        emit(ctx, 'target.rolled_back', { ...base, version: t.fromVersion, by: t.step });
        return;
      }
      t.lastError = o.detail;
      emit(ctx, `target.${t.step}_failed`, { ...base, timedOut: o.timedOut ?? false });
      const inRound = t.attempt - (t.attemptBase?.[t.step] ?? 0);
      if (t.step === 'rollback' && inRound < limits.rollbackAttempts) startStep(ctx, t, 'rollback', t.attempt + 1);
      else if (t.step === 'rollback') {
        // It did not take a graceful rollback: it is down, so it is drained (if it was not) before the force.
        endStep(t);
        goBack(ctx, t, 'force', { down: true, reason: `rollback failed: ${o.detail}` });
      } else if (inRound < limits.forceAttempts) startStep(ctx, t, 'force', t.attempt + 1);
      else {
        endStep(t);
        t.status = 'failed';
        emit(ctx, 'target.failed', { ...base, version: t.fromVersion });
      }
      return;
    }
    case 'drain': {
      // Out of rotation or not, the way back goes on at once: a drain never holds a failing target on the
      // bad version. The pair rule was checked when the drain began; the target stays in flight throughout.
      const next = t.afterDrain ?? (t.hung ? 'force' : 'rollback');
      const reason = t.afterDrainReason;
      endStep(t);
      t.afterDrain = undefined;
      t.afterDrainReason = undefined;
      if (o.ok) {
        t.drained = true;
        emit(ctx, 'target.drained', base);
      } else {
        t.lastError = o.detail;
        emit(ctx, 'target.drain_failed', { ...base, timedOut: o.timedOut ?? false, then: next });
      }
      if (s.phase === 'rolling_back') goBack(ctx, t, next, { reason });
      return;
    }
    case 'restore': {
      endStep(t);
      t.status = 'rolled_back';
      if (o.ok) {
        t.drained = false;
        emit(ctx, 'target.restored', { ...base, version: t.fromVersion });
        return;
      }
      const retrying = t.attempt - (t.attemptBase?.restore ?? 0) < (limits.restoreAttempts ?? DEFAULT_LIMITS.restoreAttempts!);
      emit(ctx, 'target.restore_failed', {
        ...base,
        timedOut: o.timedOut ?? false,
        retrying,
        ...(retrying ? {} : { reason: 'it runs the old version but is out of rotation: put it back by hand' }),
      });
      if (retrying) startStep(ctx, t, 'restore', t.attempt + 1);
      else t.lastError = `restore failed: ${o.detail}; it is out of rotation`;
      return;
    }
    default:
      endStep(t);
  }
}

function step(ctx: Ctx, observations: Observation[]): void {
  const { s } = ctx;
  switch (s.phase) {
    case 'pending':
      go(ctx, 'running');
      return;
    case 'running':
    case 'paused':
      return advance(ctx, observations);
    case 'halted':
      if (s.rollbackOnHalt) return beginRollback(ctx, observations);
      return;
    case 'aborted':
      return beginRollback(ctx, observations);
    case 'rolling_back':
      return continueRollback(ctx, observations);
    default:
      return; // terminal
  }
}

/**
 * The verdicts of the wave's evidence gates over every target deployed so far, and the gates that cannot
 * judge now (a canary judge with no target left on the old version). Emits nothing.
 */
function evaluateGates(ctx: Ctx, w: WaveState, observations: Observation[]): { results: GateResult[]; cannotJudge: string[] } {
  const { s, now } = ctx;
  const targets: GateTarget[] = Object.values(s.targets)
    .filter((t) => (t.status === 'deployed' || (t.status === 'deploying' && t.calledAt !== undefined)) && t.wave <= w.index)
    // A target still proving its version is judged too: a new version that hangs never gets to report itself.
    .map((t) => ({ id: t.id, region: t.region, cell: t.cell, since: t.deployedAt ?? t.calledAt ?? 0 }));
  const results: GateResult[] = [];
  const cannotJudge: string[] = [];
  if (targets.length === 0) return { results, cannotJudge };
  for (const name of w.gates) {
    const spec = s.gates[name];
    if (!spec) {
      results.push({ gate: name, kind: 'unknown', verdict: 'error', reason: `gate "${name}" is not defined`, halt: true, targets: [] });
      continue;
    }
    if (spec.kind === 'approval') continue;
    if (COMPARES_WITH_BASELINE.has(spec.kind) && !Object.values(s.targets).some((t) => t.status === 'pending')) {
      cannotJudge.push(name);
      continue;
    }
    results.push(evaluateGate({ spec, targets, observations: fromNewVersion(s, observations), now }, ctx.limits.gateKinds));
  }
  return { results, cannotJudge };
}

/** Judges the gates of the wave in progress over every target deployed so far, and records what changed. */
function judge(ctx: Ctx, w: WaveState, observations: Observation[]): GateResult[] {
  const { results, cannotJudge } = evaluateGates(ctx, w, observations);
  for (const name of cannotJudge) {
    // No cell is left on the old version to compare with (the last wave): the judge cannot judge, so the
    // wave's other gates decide. Said once per wave.
    if ((w.skippedGates ?? []).includes(name)) continue;
    w.skippedGates = [...(w.skippedGates ?? []), name];
    emit(ctx, 'gate.skipped', {
      wave: w.index,
      gate: name,
      kind: ctx.s.gates[name].kind,
      reason: 'no target is left on the old version to compare with',
    });
  }
  if (results.length === 0 && cannotJudge.length === 0) return [];
  const { now } = ctx;
  // Record changes of verdict only, so a long bake does not flood the log.
  for (const r of results) {
    const prev = w.verdicts.find((v) => v.gate === r.gate);
    if (!prev || prev.verdict !== r.verdict) {
      emit(ctx, 'gate.verdict', {
        wave: w.index,
        gate: r.gate,
        kind: r.kind,
        verdict: r.verdict,
        reason: r.reason,
        from: prev?.verdict ?? null,
      });
    }
  }
  w.verdicts = results.map((r) => {
    const fraction = evidenceFractionOf(r);
    return {
      gate: r.gate,
      kind: r.kind,
      verdict: r.verdict,
      reason: r.reason,
      at: now,
      ...(fraction !== undefined ? { evidenceFraction: fraction } : {}),
    };
  });
  ctx.verdicts = results;
  return results;
}

/** How complete a gate's evidence is (0..1), for kinds that say (the canary judge); undefined for the others. */
function evidenceFractionOf(r: GateResult): number | undefined {
  const f = (r as GateResult & { evidenceFraction?: unknown }).evidenceFraction;
  return typeof f === 'number' && Number.isFinite(f) ? f : undefined;
}

function evidenceGates(ctx: Ctx, w: WaveState) {
  return w.gates.map((g) => ctx.s.gates[g]).filter((g) => g && g.kind !== 'approval');
}

function advance(ctx: Ctx, observations: Observation[]): void {
  const { s, now, limits } = ctx;
  const w = currentWave(s);
  if (!w) {
    s.completedAt = now;
    s.endedAt = now;
    go(ctx, 'completed');
    ctx.actions.push({ kind: 'complete' });
    return;
  }
  const paused = s.phase === 'paused';
  const gates = evidenceGates(ctx, w);
  const every = gates.length ? Math.min(...gates.map((g) => g.intervalMs)) : undefined;

  if (w.status === 'deploying' || w.status === 'baking') {
    const results = judge(ctx, w, observations);
    if (haltOnFailingGate(ctx, w, results)) return;
    if (w.status === 'deploying') {
      if (every !== undefined && results.length) ctx.wake.push(now + every);
      // The wave's targets go out, a bounded number at a time; a pause lets calls in flight finish.
      const inFlight = Object.values(s.targets).filter((t) => t.key).length;
      let room = limits.maxParallel - inFlight;
      for (const id of w.targets) {
        const t = s.targets[id];
        if (t.status !== 'pending' || paused || room <= 0) continue;
        if (t.fromVersion === undefined && !learnVersion(ctx, w, t, observations)) continue;
        startStep(ctx, t, 'deploy', 1);
        room--;
      }
      for (const id of w.targets)
        if (s.targets[id].calledAt !== undefined && s.targets[id].status === 'deploying') confirmDeploy(ctx, s.targets[id], observations);
      if (s.phase !== 'running' && s.phase !== 'paused') return;
      if (w.targets.every((id) => s.targets[id].status === 'deployed')) {
        w.bakeStartedAt = now;
        w.lastAccrualAt = null;
        setWave(ctx, w, 'baking', { bakeMs: w.bakeMs });
        ctx.actions.push({ kind: 'start_bake', wave: w.index });
        return bake(ctx, w, observations, true);
      }
      return;
    }
    return bake(ctx, w, observations, false, results);
  }

  // The wave has not started: I1/I2 again at runtime — every earlier wave must be verified.
  const earlier = s.waves.filter((x) => x.index < w.index);
  if (earlier.some((x) => x.status !== 'verified'))
    throw new Error(`core bug: wave ${w.index} would start before an earlier wave is verified`);
  if (paused) return;
  const freeze = s.freeze.find((f) => f.start <= now && now < f.end);
  if (freeze) {
    ctx.wake.push(freeze.end);
    return;
  }
  // A force is a way out: a freeze or a failing region does not hold it.
  const hold = s.force ? undefined : ctx.holds.find((h) => holdCovers(h, s.service, w.regions));
  if (hold) {
    // A freeze or a failing region (stop the line): the wave waits; the supervisor nudges when it lifts.
    if (w.heldBy !== hold.reason) {
      w.heldBy = hold.reason;
      emit(ctx, 'wave.held', { wave: w.index, regions: w.regions, by: hold.by, reason: hold.reason });
    }
    ctx.wake.push(now + HOLD_RECHECK_MS);
    return;
  }
  if (w.heldBy !== undefined) {
    w.heldBy = undefined;
    emit(ctx, 'wave.hold_lifted', { wave: w.index });
  }
  if (w.approval && !w.approvedBy) {
    if (w.status === 'waiting') setWave(ctx, w, 'awaiting_approval');
    return;
  }
  w.startedAt = now;
  setWave(ctx, w, 'deploying', { targets: w.targets.length, regions: w.regions });
}

/**
 * Evidence that can bake the new version: an observation of a deployed target that says it came from another
 * version is left out (I9). The judge's baseline (targets still on the old version) keeps its evidence.
 */
function fromNewVersion(s: RolloutState, observations: Observation[]): Observation[] {
  return observations.filter((o) => {
    if (o.source === OBSERVE_SOURCE) return false;
    if (o.version === undefined || o.version === s.version || o.cell === null) return true;
    const t = s.targets[`${o.region}/${o.cell}`];
    return !t || (t.status !== 'deployed' && t.calledAt === undefined);
  });
}

/** The newest observation of a target after `since` that says which version it runs. */
function reportedVersion(
  s: RolloutState,
  t: TargetState,
  observations: Observation[],
  since: number,
  want?: string,
): Observation | undefined {
  const sources = s.versionCheck?.sources;
  let best: Observation | undefined;
  for (const o of observations) {
    if (o.region !== t.region || o.cell !== t.cell || o.version === undefined || o.at <= since) continue;
    if (sources && !sources.includes(o.source)) continue;
    if (want !== undefined && o.version !== want) continue;
    if (want !== undefined ? !best || o.at < best.at : !best || o.at > best.at) best = o;
  }
  return best;
}

/**
 * A target whose last verified version nobody knows (no completed rollout, no `initialVersion`) learns it
 * through the driver's observe before it is deployed, so a rollback has somewhere to go. True once known.
 */
function learnVersion(ctx: Ctx, w: WaveState, t: TargetState, observations: Observation[]): boolean {
  const { s, now } = ctx;
  const seen = reportedVersion(s, t, observations, (w.startedAt ?? now) - 1);
  if (seen && seen.version !== s.version) {
    t.fromVersion = seen.version;
    emit(ctx, 'target.version_learned', { target: t.id, wave: t.wave, version: seen.version, reportedBy: seen.source });
    return true;
  }
  const vc = s.versionCheck;
  if (vc?.observe && now < (w.startedAt ?? now) + vc.timeoutMs) {
    askObserve(ctx, t);
    ctx.wake.push((w.startedAt ?? now) + vc.timeoutMs);
    return false;
  }
  const why = seen ? `it already reports ${seen.version}` : 'it reported no version';
  halt(ctx, `cannot learn the version ${t.id} runs before deploying it (${why}): set services[].initialVersion`, { target: t.id });
  return false;
}

/** Asks the driver to observe a target that has a version to prove, at most every `everyMs` (I9). */
function askObserve(ctx: Ctx, t: TargetState): void {
  const vc = ctx.s.versionCheck;
  if (!vc) return;
  const every = Math.max(1, Math.min(vc.everyMs, 2000));
  if (vc.observe && (t.observeAskedAt === undefined || ctx.now - t.observeAskedAt >= every)) {
    t.observeAskedAt = ctx.now;
    ctx.actions.push({ kind: 'observe', target: { service: ctx.s.service, region: t.region, cell: t.cell } });
  }
  ctx.wake.push(ctx.now + every);
}

/**
 * A deploy counts once the target reports the new version (I9); evidence from before that is about the old
 * one. A target that still reports another version when the timeout runs out is a failed deploy: retried,
 * then the rollout halts naming the target and what it runs.
 */
function confirmDeploy(ctx: Ctx, t: TargetState, observations: Observation[]): void {
  const { s, now, limits } = ctx;
  const vc = s.versionCheck!;
  const since = t.calledAt!;
  const proof = reportedVersion(s, t, observations, since, s.version);
  if (proof) {
    t.status = 'deployed';
    t.deployedAt = proof.at;
    // Kept: a target that hangs between its deploy returning and its proof is failing since then.
    t.returnedAt = since;
    t.calledAt = undefined;
    emit(ctx, 'target.deployed', { target: t.id, wave: t.wave, attempt: t.attempt, version: s.version, reportedBy: proof.source });
    return;
  }
  if (now < since + vc.timeoutMs) {
    askObserve(ctx, t);
    ctx.wake.push(since + vc.timeoutMs);
    return;
  }
  const seen = reportedVersion(s, t, observations, since);
  const runs = seen ? `it still runs ${seen.version}` : 'it reported no version';
  const detail = `${runs} ${Math.round(vc.timeoutMs / 1000)}s after the deploy of ${s.version} returned`;
  t.calledAt = undefined;
  t.lastError = detail;
  const retrying = t.attempt < limits.deployAttempts;
  emit(ctx, 'target.deploy_failed', { target: t.id, wave: t.wave, attempt: t.attempt, detail, running: seen?.version ?? null, retrying });
  if (retrying) startStep(ctx, t, 'deploy', t.attempt + 1);
  else
    halt(
      ctx,
      `could not deploy ${s.version} to ${t.id}: ${runs}${seen ? '' : ' (set services[].version: an observe command, or a probe versionHeader/versionField)'}`,
      { target: t.id, running: seen?.version ?? null },
    );
}

/**
 * A judge gate whose end-of-bake look (one taken once the wave's bake time is over, when the judge answers
 * pass or fail unless data are missing or too few) is still inconclusive, with the gate's
 * `inconclusive: pause`, pauses the rollout for a person, as Argo Rollouts does: `resume` accepts the wave
 * without the verdict, `abort` rolls it back. (`inconclusive: fail` is a failed gate, recorded so by the
 * evidence side.) Should the judge still decide while paused, a fail halts as ever and a pass resumes the
 * rollout by itself: nobody is needed any more. Says whether the rollout is (still) paused for a person.
 */
function pauseForPerson(ctx: Ctx, w: WaveState, results: GateResult[], observations: Observation[]): boolean {
  const { s } = ctx;
  if (w.inconclusiveAcceptedBy !== undefined || w.bakeStartedAt === undefined) return false;
  if (s.phase === 'paused' && w.waitingForPerson?.length && s.pausedBy === pausedByGates(w.waitingForPerson)) {
    const waiting = w.waitingForPerson;
    if (!waiting.every((g) => results.find((r) => r.gate === g)?.verdict === 'pass')) return true;
    w.waitingForPerson = undefined;
    s.pausedBy = undefined;
    go(ctx, 'running', { wave: w.index, gates: waiting, reason: `gate ${waiting.join(', ')} decided pass after the bake` });
    return false;
  }
  if (s.phase !== 'running') return false;
  const bakeEnd = w.bakeStartedAt + w.bakeMs;
  const waiting = results.filter((r) => {
    const spec = s.gates[r.gate];
    if (r.verdict !== 'inconclusive' || spec?.config?.kind !== 'judge' || spec.config.inconclusive !== 'pause') return false;
    // The newest look of the judge on the wave's canary targets: it must be an end-of-bake look, and undecided.
    let newest: Observation | undefined;
    for (const o of observations) {
      if (!spec.sources.includes(o.source)) continue;
      const t = s.targets[`${o.region}/${o.cell}`];
      if (!t || t.wave > w.index) continue;
      if (!newest || o.at > newest.at) newest = o;
    }
    return newest !== undefined && newest.at >= bakeEnd && newest.verdict === 'inconclusive';
  });
  if (waiting.length === 0) return false;
  const gates = waiting.map((r) => r.gate);
  w.waitingForPerson = gates;
  w.lastAccrualAt = null;
  s.pausedBy = pausedByGates(gates);
  go(ctx, 'paused', {
    wave: w.index,
    gates,
    reason: `${waiting.map((r) => `gate ${r.gate} is still inconclusive at the end of wave ${w.index}'s bake (${r.reason})`).join('; ')}: resume to accept the wave without its verdict, or abort to roll back`,
  });
  return true;
}

const pausedByGates = (gates: string[]) => `gate ${gates.join(', ')}`;

/** Halts the rollout when a gate failed or kept erroring past its limit (I3, I4); says whether it did. */
function haltOnFailingGate(ctx: Ctx, w: WaveState, results: GateResult[]): boolean {
  const failing = results.find((r) => r.halt);
  if (!failing) return false;
  halt(ctx, `gate ${failing.gate} ${failing.verdict === 'fail' ? 'failed' : 'kept erroring'} in wave ${w.index}: ${failing.reason}`, {
    wave: w.index,
    gate: failing.gate,
    kind: failing.kind,
    verdict: failing.verdict,
  });
  return true;
}

function bake(ctx: Ctx, w: WaveState, observations: Observation[], justStarted: boolean, judged?: GateResult[]): void {
  const { s, now } = ctx;
  const judgedNow = judged ?? judge(ctx, w, observations);
  if (haltOnFailingGate(ctx, w, judgedNow)) return;
  if (pauseForPerson(ctx, w, judgedNow, observations)) return;
  // Gates a person accepted after such a pause no longer hold the wave.
  const accepted = new Set(w.inconclusiveAcceptedBy !== undefined ? (w.waitingForPerson ?? []) : []);
  const results = judgedNow.map((r) =>
    accepted.has(r.gate) && r.verdict === 'inconclusive' ? { ...r, verdict: 'pass' as const, evidenceFraction: 1 } : r,
  );
  const gates = evidenceGates(ctx, w);
  const allPass = results.every((r) => r.verdict === 'pass');
  const accruing = s.phase === 'running' && allPass;
  if (accruing) {
    if (w.lastAccrualAt !== null && !justStarted) {
      // Evidence vouches for at most its freshness window: a long gap (controller down) does not count whole.
      const cap = gates.length ? Math.min(...gates.map((g) => g.freshForMs)) : Infinity;
      w.bakeAccruedMs = Math.min(w.bakeMs, w.bakeAccruedMs + Math.min(now - w.lastAccrualAt, cap));
    }
    w.lastAccrualAt = now;
  } else if (w.lastAccrualAt !== null) {
    w.lastAccrualAt = null;
    emit(ctx, 'wave.bake_held', {
      wave: w.index,
      accruedMs: w.bakeAccruedMs,
      reason:
        s.phase === 'paused'
          ? 'paused'
          : results
              .filter((r) => r.verdict !== 'pass')
              .map((r) => `${r.gate}: ${r.verdict} (${r.reason})`)
              .join('; '),
    });
  }

  const left = bakeLeft(w);
  // Bake accrues with data volume as well as time: a gate that reports how complete its evidence is (the
  // canary judge's evidenceFraction) must reach 1 before the wave can be verified, however long it baked.
  const short = results.filter((r) => (evidenceFractionOf(r) ?? 1) < 1);
  if (left === 0 && short.length > 0) {
    const key = short.map((r) => r.gate).join(',');
    if (w.waitingForData !== key) {
      w.waitingForData = key;
      emit(ctx, 'wave.bake_waiting_for_data', {
        wave: w.index,
        accruedMs: w.bakeAccruedMs,
        gates: short.map((r) => ({ gate: r.gate, evidenceFraction: evidenceFractionOf(r) })),
      });
    }
    const every = gates.length ? Math.min(...gates.map((g) => g.intervalMs)) : 1000;
    ctx.wake.push(now + Math.max(1, every));
    return;
  }
  if (w.waitingForData !== undefined) w.waitingForData = undefined;
  const approvalGates = w.gates.filter((g) => s.gates[g]?.kind === 'approval');
  if (left === 0 && (approvalGates.length === 0 || w.approvedBy)) {
    w.verifiedAt = now;
    w.lastAccrualAt = null;
    setWave(ctx, w, 'verified', { bakedMs: w.bakeAccruedMs, ...(w.approvedBy ? { approvedBy: w.approvedBy } : {}) });
    ctx.actions.push({ kind: 'mark_verified', wave: w.index });
    return;
  }
  if (left === 0) return; // baked; waits for approval
  const every = gates.length ? Math.min(...gates.map((g) => g.intervalMs)) : left;
  ctx.wake.push(now + Math.max(1, Math.min(left, every)));
}

function beginRollback(ctx: Ctx, observations: Observation[]): void {
  const { s, now } = ctx;
  const down = failingTargets(s, observations, hungTargets(ctx, observations));
  const touched = touchedTargets(s);
  for (const t of touched) {
    t.failing = down.has(t.id);
    const hung = down.get(t.id)?.hung;
    t.hung = hung !== undefined;
    t.hungReason = hung ? `gate ${hung.gate}: ${hung.reason}` : undefined;
    t.backAt = undefined;
    t.calledAt = undefined;
    t.provenBackAt = undefined;
    t.waitReason = undefined;
    t.held = undefined;
  }
  const order = rollbackOrder(touched).map((t) => t.id);
  s.rollback = { startedAt: now, order, round: 1 };
  go(ctx, 'rolling_back', {
    targets: order,
    failing: order.filter((id) => s.targets[id].failing),
  });
  for (const t of touched) {
    if (t.fromVersion === undefined) {
      endStep(t);
      t.status = 'failed';
      t.lastError = 'no last verified version known; set services[].initialVersion';
      emit(ctx, 'target.failed', { target: t.id, wave: t.wave, detail: t.lastError });
      continue;
    }
    // A deploy in flight is replaced by the way back at once: the target is being changed already, and I2
    // kept its partner idle while it deployed.
    if (t.key && t.step === 'deploy') beginBack(ctx, t);
  }
  continueRollback(ctx, observations);
}

function beginBack(ctx: Ctx, t: TargetState): void {
  t.waitReason = undefined;
  goBack(ctx, t, t.hung ? 'force' : 'rollback');
}

/**
 * Starts a target's way back by `step` (rollback, or force for one that does not answer). A target that is
 * failing is first drained, when the driver can (taken out of rotation, so customers stop being sent to it),
 * once per round; the way back follows when the drain returns, whether it worked or not.
 */
function goBack(ctx: Ctx, t: TargetState, step: 'rollback' | 'force', o: { down?: boolean; reason?: string } = {}): void {
  if (ctx.s.drain && (t.failing || o.down) && !t.drainTried && !t.drained) {
    t.drainTried = true;
    t.afterDrain = step;
    t.afterDrainReason = o.reason;
    startStep(ctx, t, 'drain', nextAttempt(t, 'drain'), `out of rotation before its ${step}`);
    return;
  }
  if (step === 'force')
    startStep(ctx, t, 'force', nextAttempt(t, 'force'), o.reason ?? `target does not answer: ${t.hungReason ?? 'its probes time out'}`);
  else startStep(ctx, t, 'rollback', nextAttempt(t, 'rollback'));
}

/** Attempts count on across rounds (`rollout retry`), so every call keeps a key of its own (I5). */
function nextAttempt(t: TargetState, step: DriverStep): number {
  return (t.attempts?.[step] ?? 0) + 1;
}

function continueRollback(ctx: Ctx, observations: Observation[] = []): void {
  const { s, now, limits } = ctx;
  const touched = touchedTargets(s);
  // Targets the driver put back must pass a probe on the old version before their partner may go (I2).
  const sources = proofSources(s);
  const probeEvery = Object.values(s.gates)
    .filter((g) => g.kind === 'probe')
    .map((g) => g.intervalMs);
  const vc = s.versionCheck;
  const proveMs = Math.max(limits.proveBackMs ?? DEFAULT_LIMITS.proveBackMs!, 3 * Math.max(0, ...probeEvery), vc?.timeoutMs ?? 0);
  for (const t of touched) {
    if (t.status !== 'rolled_back' || t.provenBackAt !== undefined || t.backAt === undefined) continue;
    const probe = sources.size === 0 ? undefined : proofOfBack(t, observations, sources);
    // I9: the target must also say it runs the old version again.
    const reported = vc ? reportedVersion(s, t, observations, t.backAt, t.fromVersion) : undefined;
    if ((sources.size === 0 || probe) && (!vc || reported)) {
      t.provenBackAt = Math.max(probe?.at ?? t.backAt, reported?.at ?? t.backAt);
      emit(ctx, 'target.proven_back', {
        target: t.id,
        wave: t.wave,
        version: t.fromVersion,
        by: [
          probe ? `probe ${probe.source}` : '',
          reported ? `reported by ${reported.source}` : '',
          !probe && !reported ? 'driver (nothing else to prove it)' : '',
        ]
          .filter(Boolean)
          .join(', '),
      });
      // Passing on the old version: back into rotation (I2 holds its partner while the restore runs).
      if (t.drained) startStep(ctx, t, 'restore', nextAttempt(t, 'restore'));
    } else if (now >= t.backAt + proveMs) {
      const seen = vc && !reported ? reportedVersion(s, t, observations, t.backAt) : undefined;
      t.status = 'failed';
      t.lastError =
        vc && !reported
          ? `back on ${t.fromVersion} by the driver, but ${seen ? `it still runs ${seen.version}` : 'it reported no version'} after ${Math.round(proveMs / 1000)}s`
          : `back on ${t.fromVersion} by the driver, but no probe passed on it within ${Math.round(proveMs / 1000)}s`;
      emit(ctx, 'target.failed', { target: t.id, wave: t.wave, version: t.fromVersion, detail: t.lastError });
    } else {
      if (vc && !reported) askObserve(ctx, t);
      ctx.wake.push(Math.min(t.backAt + proveMs, now + Math.max(1, Math.min(...probeEvery, vc?.everyMs ?? Infinity))));
    }
  }

  // A target that starts failing while it waits for its turn is failing from now on: it goes back with the
  // failing ones (drained first, forced if a gate calls it hung), not after them.
  const quiet = touched.filter((t) => stageOf(t) === 'waiting' && !t.failing);
  if (quiet.length) {
    const down = failingTargets(s, observations, hungTargets(ctx, observations));
    for (const t of quiet) {
      const d = down.get(t.id);
      if (!d) continue;
      t.failing = true;
      t.hung = d.hung !== undefined;
      t.hungReason = d.hung ? `gate ${d.hung.gate}: ${d.hung.reason}` : undefined;
      emit(ctx, 'target.failing', { target: t.id, wave: t.wave, hung: t.hung, ...(t.hungReason ? { reason: t.hungReason } : {}) });
    }
  }

  // Start whatever the pair rule and the failing-first order allow, in the rollback's order.
  const partners = partnersOf(s);
  const order = s.rollback?.order ?? rollbackOrder(touched).map((t) => t.id);
  let room = limits.maxParallel - Object.values(s.targets).filter((t) => t.key).length;
  for (const id of order) {
    const t = s.targets[id];
    if (!t || stageOf(t) !== 'waiting') continue;
    const reason = room <= 0 ? `at most ${limits.maxParallel} driver calls at once` : holdReason(t, touched, partners);
    if (reason === undefined) {
      beginBack(ctx, t);
      room--;
    } else if (reason !== t.waitReason) {
      t.waitReason = reason;
      emit(ctx, 'target.rollback_waiting', { target: t.id, wave: t.wave, reason });
    }
  }

  if (touched.some((t) => ['in_flight', 'proving'].includes(stageOf(t)))) return;
  // Nothing is moving: whatever still waits is held by a partner region that could not be brought back.
  for (const t of touched) {
    if (stageOf(t) !== 'waiting') continue;
    t.held = true;
    emit(ctx, 'target.rollback_held', { target: t.id, wave: t.wave, reason: t.waitReason ?? 'its partner region is down' });
  }
  const failed = touched.filter((t) => t.status === 'failed');
  const held = touched.filter((t) => t.held);
  s.endedAt = now;
  if (failed.length || held.length)
    go(ctx, 'failed', {
      targets: failed.map((t) => t.id),
      held: held.map((t) => t.id),
      reason: 'rollback failed: a person must act (`etape rollout retry`)',
    });
  else go(ctx, 'rolled_back', { targets: touched.map((t) => t.id) });
}

/**
 * Targets that one of the wave's gates judges hung (its newest evidence of the target timed out,
 * `TargetVerdict.hung`): a graceful rollback would hang too, so they are forced (I4). Any other failure,
 * whatever its text says, is rolled back gracefully.
 */
function hungTargets(ctx: Ctx, observations: Observation[]): Map<string, { gate: string; reason: string }> {
  const out = new Map<string, { gate: string; reason: string }>();
  const w = currentWave(ctx.s);
  if (!w) return out;
  for (const r of evaluateGates(ctx, w, observations).results)
    for (const t of r.targets) if (t.hung && !out.has(t.target)) out.set(t.target, { gate: r.gate, reason: t.reason });
  return out;
}

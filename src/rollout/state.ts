// A rollout's state as the store keeps it (JSON): the plan's waves and targets with their progress, the
// gates resolved at start, and what a person asked for. Waits are stored as facts (bake accrued so far and
// when it last accrued), never as timers: each decision computes what is left.
import type { Plan } from '../plan/types.js';
import type { GateSpec } from '../gates/gate.js';
import type { Verdict } from '../core/types.js';
import { targetId } from '../core/types.js';
import { STATE_SCHEMA } from './state-schema.js';
import type { Phase, TargetStatus, WaveStatus } from './phases.js';

/**
 * The driver calls a target goes through. `drain` takes a failing target out of rotation before its way back
 * (rollback or force), and `restore` puts it back once it passes on the old version; both only when the
 * driver offers them (`RolloutState.drain`).
 */
export type DriverStep = 'deploy' | 'rollback' | 'force' | 'drain' | 'restore';

export interface TargetState {
  id: string;
  region: string;
  cell: string;
  /** 1-based wave the target belongs to. */
  wave: number;
  status: TargetStatus;
  /** The version it ran before this rollout: its last verified version, where a rollback takes it. */
  fromVersion?: string;
  /** The driver call in flight (deploying, rolling_back, forcing): step, attempt and idempotency key. */
  step?: DriverStep;
  attempt: number;
  key?: string;
  /** The last attempt of each step so far: attempts count on across rollback rounds, so keys never repeat. */
  attempts?: Partial<Record<DriverStep, number>>;
  /** Attempts of each step before the current rollback round (`rollout retry`); limits count from here. */
  attemptBase?: Partial<Record<DriverStep, number>>;
  /** When the deploy call in flight (or the last one) began. */
  deployStartedAt?: number;
  /** When the deploy call returned, before the target proved the new version (I9): failing evidence since then counts for the way back. */
  returnedAt?: number;
  /** When the deploy call came back successful; evidence older than this is about the old version. */
  deployedAt?: number;
  /** The last driver failure, for people. */
  lastError?: string;
  /** Deploy or rollback call returned; the target has not yet reported the version it should run (I9). */
  calledAt?: number;
  /** When the core last asked the driver to observe the target. */
  observeAskedAt?: number;
  /** Rollback: its newest evidence was not a pass when the rollback began (it was down already). */
  failing?: boolean;
  /** Rollback: that evidence was a timeout, so it is forced straight away (I4). */
  hung?: boolean;
  /** Rollback: the gate that judged it hung, and why. */
  hungReason?: string;
  /** Rollback: when the driver said it is back on `fromVersion`. */
  backAt?: number;
  /** Rollback: when a probe first passed on it, on `fromVersion`, after `backAt`. */
  provenBackAt?: number;
  /** Rollback: why it is not going back yet (the pair rule, failing targets first). */
  waitReason?: string;
  /** Rollback: left on the new version because its partner region could not be brought back (I2). */
  held?: boolean;
  /** Rollback: a drain was tried in this round (it succeeded or failed); the way back goes on either way. */
  drainTried?: boolean;
  /** Out of rotation: the driver drained it and has not restored it yet. */
  drained?: boolean;
  /** The way back that follows the drain in flight. */
  afterDrain?: 'rollback' | 'force';
  /** Why that way back was chosen, for its event. */
  afterDrainReason?: string;
}

export interface GateSummary {
  gate: string;
  kind: string;
  verdict: Verdict;
  reason: string;
  at: number;
  /** How complete the gate's evidence is (0..1), for kinds that report it (the canary judge). */
  evidenceFraction?: number;
}

export interface WaveState {
  index: number;
  status: WaveStatus;
  /** Target ids, `region/cell`. */
  targets: string[];
  regions: string[];
  weight: number;
  bakeMs: number;
  /** Names of the gates judged during this wave's bake. */
  gates: string[];
  /** The wave waits for an approval before it starts. */
  approval: boolean;
  /** A person approved the wave (its start, and any approval gate of its bake). */
  approvedBy?: string;
  startedAt?: number;
  bakeStartedAt?: number;
  /** Bake time accrued so far, only while every gate had fresh passing evidence (I3). */
  bakeAccruedMs: number;
  /** When the bake last accrued (the start of the interval the next decision may add), or null when it did not. */
  lastAccrualAt: number | null;
  verifiedAt?: number;
  /** Gates whose evidence is not complete yet (evidenceFraction < 1) although the bake time has accrued. */
  waitingForData?: string;
  /** Gates not judged in this wave: a judge gate when no target is left on the old version to compare with. */
  skippedGates?: string[];
  /**
   * Judge gates whose `inconclusive` action is `pause` and that were still inconclusive when the bake time was
   * over (data missing or too few): the rollout paused for a person.
   */
  waitingForPerson?: string[];
  /** The person who resumed the rollout after it paused for those gates: they no longer hold this wave. */
  inconclusiveAcceptedBy?: string;
  /** Why the wave may not start now (a freeze, or a region failing its health signals), while it waits. */
  heldBy?: string;
  /** The latest verdict of each gate, for people and for change detection. */
  verdicts: GateSummary[];
}

export interface StopReason {
  kind: 'halt' | 'abort';
  by: string;
  reason: string;
  at: number;
}

export interface RolloutState {
  /** The shape's version (STATE_SCHEMA in state-schema.ts); older ones are upgraded on load. */
  schema?: number;
  id: string;
  service: string;
  version: string;
  /** The service's last verified version when the rollout started (the default rollback target). */
  fromVersion?: string;
  phase: Phase;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  waves: WaveState[];
  targets: Record<string, TargetState>;
  gates: Record<string, GateSpec>;
  /** No wave starts inside these windows. */
  freeze: { start: number; end: number; reason?: string }[];
  /** Roll back by default after a halt; when false a halted rollout waits for a person to abort it. */
  rollbackOnHalt: boolean;
  /** Pair edges between the plan's regions (undirected, each once): no driver action changes both at once (I2). */
  pairs?: [string, string][];
  /**
   * How a target proves the version it runs (I9): a deploy counts once an observation of the target says the
   * new version within `timeoutMs` of the call returning; a rollback once one says the old one. `sources`
   * null: any observation with a version. `observe`: the core asks the driver to observe every `everyMs`.
   */
  versionCheck?: { timeoutMs: number; everyMs: number; observe: boolean; sources: string[] | null };
  /**
   * A force (`etape target force`): one wave of one target, put on `version` by the driver's force action
   * (kill and restart) and proven like a deploy; no gates, no bake, no freeze or line-stop hold (it is a way
   * out). A force that cannot be proven halts and goes back like any rollout. Not a release of the service:
   * its last verified version stays, and the target's own is the forced version.
   */
  force?: boolean;
  /**
   * The service's driver can take a target out of rotation and put it back (`drain`, `restore`): a target
   * that is failing when its way back begins is drained first, and restored once it passes on the old version.
   */
  drain?: boolean;
  /** The rollback in progress or done: when it began and the order targets go back in. */
  rollback?: { startedAt: number; order: string[]; round: number };
  /** Set on a rollout etape started itself to revert drift (`drift: revert`): the drifted version and the verified one. */
  drift?: { version: string; expected: string };
  pausedBy?: string;
  stop?: StopReason;
  completedAt?: number;
  endedAt?: number;
}

export interface NewRolloutInput {
  id: string;
  plan: Plan;
  version: string;
  fromVersion?: string;
  /** Per-target last verified version, when it differs from `fromVersion`. */
  fromVersions?: Record<string, string>;
  gates: GateSpec[];
  createdAt: number;
  createdBy: string;
  freeze?: { start: number; end: number; reason?: string }[];
  rollbackOnHalt?: boolean;
  /** Pair edges of the fleet; edges with a region outside the plan are dropped. */
  pairs?: [string, string][];
  versionCheck?: RolloutState['versionCheck'];
  force?: boolean;
  drain?: boolean;
}

export function newRolloutState(input: NewRolloutInput): RolloutState {
  const targets: Record<string, TargetState> = {};
  for (const w of input.plan.waves) {
    for (const t of w.targets) {
      const id = targetId(t);
      targets[id] = {
        id,
        region: t.region,
        cell: t.cell,
        wave: w.index,
        status: 'pending',
        fromVersion: input.fromVersions?.[id] ?? input.fromVersion,
        attempt: 0,
      };
    }
  }
  return {
    schema: STATE_SCHEMA,
    id: input.id,
    service: input.plan.service,
    version: input.version,
    fromVersion: input.fromVersion,
    phase: 'pending',
    createdAt: input.createdAt,
    updatedAt: input.createdAt,
    createdBy: input.createdBy,
    waves: input.plan.waves.map((w) => ({
      index: w.index,
      status: 'waiting',
      targets: w.targets.map((t) => targetId(t)),
      regions: [...w.regions],
      weight: w.weight,
      bakeMs: w.bakeMs,
      gates: [...w.gates],
      approval: w.approval,
      bakeAccruedMs: 0,
      lastAccrualAt: null,
      verdicts: [],
    })),
    targets,
    gates: Object.fromEntries(input.gates.map((g) => [g.name, g])),
    freeze: input.freeze ?? [],
    rollbackOnHalt: input.rollbackOnHalt ?? true,
    ...(input.versionCheck ? { versionCheck: input.versionCheck } : {}),
    ...(input.force ? { force: true } : {}),
    ...(input.drain ? { drain: true } : {}),
    pairs: pairsWithin(input.pairs ?? [], new Set(input.plan.waves.flatMap((w) => w.regions))),
  };
}

function pairsWithin(pairs: [string, string][], regions: Set<string>): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const [a, b] of pairs) {
    if (a === b || !regions.has(a) || !regions.has(b)) continue;
    const [x, y] = a < b ? [a, b] : [b, a];
    if (seen.has(`${x}|${y}`)) continue;
    seen.add(`${x}|${y}`);
    out.push([x, y]);
  }
  return out;
}

/** The wave in progress: the first that is not verified (undefined once all are). */
export function currentWave(s: RolloutState): WaveState | undefined {
  return s.waves.find((w) => w.status !== 'verified');
}

/** Bake time still to accrue for a wave. */
export function bakeLeft(w: WaveState): number {
  return Math.max(0, w.bakeMs - w.bakeAccruedMs);
}

/** Targets the rollout touched: a deploy was attempted on them. Exactly these are rolled back (I4). */
export function touchedTargets(s: RolloutState): TargetState[] {
  return Object.values(s.targets).filter((t) => t.status !== 'pending');
}

/** Deep copy through JSON: the state is JSON by contract, and the core never mutates its input. */
export function cloneState(s: RolloutState): RolloutState {
  return structuredClone(s);
}

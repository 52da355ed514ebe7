// Drift (I9): a target that runs a version etape did not verify for it, outside a rollout that is changing
// it. Pure: the drift marks folded from the stored drift events, what one look at a service finds (events to
// append, the revert to start), and the revert itself as a rollout that only rolls back, so it goes back
// along the same pair-safe order as every rollback (src/rollout/rollback.ts) under the same lease, keys
// and one-active-rollout rule. The watcher in src/controller/drift.ts does the I/O.
import type { Observation } from '../core/types.js';
import { targetId } from '../core/types.js';
import type { NewEvent } from '../store/store.js';
import type { GateSpec } from '../gates/gate.js';
import type { Plan } from '../plan/types.js';
import { newRolloutState, type RolloutState } from '../rollout/state.js';

/** Who drift events and revert rollouts are by. */
export const DRIFT_ACTOR = 'etape:drift';

/** The stored event kinds of drift, each about one service and the targets it lists. */
export const DRIFT_EVENTS = ['drift.detected', 'drift.cleared', 'drift.revert_started'] as const;

export type DriftMode = 'alert' | 'revert';

/** One target in drift: what it runs, what etape last verified for it, since when. */
export interface DriftMark {
  service: string;
  /** `region/cell`. */
  target: string;
  region: string;
  cell: string;
  /** The version it reports. */
  version: string;
  /** The version etape last verified for it (the last completed rollout's, else `initialVersion`). */
  expected: string;
  /** When it was first seen on `version`. */
  since: number;
  /** The observation source that reported it (`etape:observe`, or a probe's name). */
  reportedBy: string;
  /** The automatic revert started for this drift (`drift: revert`), at most one per drift. */
  revert?: { rolloutId: string; at: number };
}

/** What a drift event carries for each target it names. */
interface DriftEventTarget {
  target: string;
  region: string;
  cell: string;
  version: string;
  /** What etape verified for this target, when it differs from the service's (a target forced since). */
  expected?: string;
  reportedBy?: string;
  since?: number;
}

interface DriftEventData {
  service: string;
  expected?: string;
  targets: DriftEventTarget[];
}

const markKey = (service: string, target: string) => `${service}|${target}`;

/**
 * Applies drift events, oldest first, to the marks (keyed `service|region/cell`): detected sets a mark,
 * cleared removes it, revert_started notes the revert on the marks it covers. Other events are ignored.
 */
export function foldDriftEvents(
  marks: Map<string, DriftMark>,
  events: readonly Pick<NewEvent, 'type' | 'data' | 'at' | 'rolloutId'>[],
): Map<string, DriftMark> {
  for (const e of events) {
    if (!(DRIFT_EVENTS as readonly string[]).includes(e.type)) continue;
    const d = e.data as DriftEventData;
    if (!d || typeof d.service !== 'string' || !Array.isArray(d.targets)) continue;
    for (const t of d.targets) {
      const k = markKey(d.service, t.target);
      if (e.type === 'drift.detected') {
        marks.set(k, {
          service: d.service,
          target: t.target,
          region: t.region,
          cell: t.cell,
          version: t.version,
          expected: t.expected ?? d.expected ?? '',
          since: t.since ?? e.at,
          reportedBy: t.reportedBy ?? '',
        });
      } else if (e.type === 'drift.cleared') {
        marks.delete(k);
      } else {
        const m = marks.get(k);
        if (m && m.version === t.version && e.rolloutId) m.revert = { rolloutId: e.rolloutId, at: e.at };
      }
    }
  }
  return marks;
}

/** The marks of one service, by target id. */
export function marksOf(marks: ReadonlyMap<string, DriftMark>, service: string): Map<string, DriftMark> {
  const out = new Map<string, DriftMark>();
  for (const m of marks.values()) if (m.service === service) out.set(m.target, m);
  return out;
}

export interface DriftInput {
  service: string;
  mode: DriftMode;
  /** Every target the service runs on. */
  targets: readonly { region: string; cell: string }[];
  /** What etape last verified for the service; undefined: nothing to compare with, nothing is judged. */
  verified: string | undefined;
  /** Targets whose own verified version differs (forced since the last release: `etape target force`). */
  verifiedFor?: Readonly<Record<string, string>>;
  /** Recent observations of the service; the core keeps those that say which version answered. */
  observations: readonly Observation[];
  /** Sources whose versions count (`services[].version.from`); null: any observation with a version. */
  sources: readonly string[] | null;
  /** Observations at or before this are ignored: taken before the last rollout of the service ended. */
  since: number;
  /** The service's active rollout, if any: the targets it touched are its business, not drift. */
  active?: { id: string; touched: readonly string[] };
  /** A failed rollout's targets it could not bring back: drift, but its own `etape rollout retry` puts them back. */
  left?: { id: string; targets: readonly string[] };
  /** The service's current marks, by target id. */
  marks: ReadonlyMap<string, DriftMark>;
  now: number;
}

export interface DriftDecision {
  /** drift.detected and drift.cleared, one event each for all the targets they concern. */
  events: NewEvent[];
  /** The service's marks after these events, by target id. */
  marks: Map<string, DriftMark>;
  /** `drift: revert`: put these targets, all on `version`, back on `expected`. */
  revert?: { version: string; expected: string; targets: DriftMark[] };
  /** Why drift is not reverted now, for people (a rollout is active, the last revert did not bring it back). */
  revertWaits?: string;
}

/** The newest observation per target that says which version answered, after `since`, from an allowed source. */
export function newestVersions(
  observations: readonly Observation[],
  sources: readonly string[] | null,
  since: number,
): Map<string, Observation> {
  const out = new Map<string, Observation>();
  for (const o of observations) {
    if (o.cell === null || o.version === undefined || o.at <= since) continue;
    if (sources && !sources.includes(o.source)) continue;
    const id = targetId({ region: o.region, cell: o.cell });
    const cur = out.get(id);
    if (!cur || o.at > cur.at) out.set(id, o);
  }
  return out;
}

/** One look at a service: which targets drifted, which came back, and what to revert. */
export function decideDrift(input: DriftInput): DriftDecision {
  const { service, verified, now } = input;
  const marks = new Map(input.marks);
  const events: NewEvent[] = [];
  const expectedOf = (id: string): string | undefined => input.verifiedFor?.[id] ?? verified;
  const exempt = new Set(input.active?.touched ?? []);
  const seen = newestVersions(input.observations, input.sources, input.since);
  const detected: DriftEventTarget[] = [];
  const cleared: DriftEventTarget[] = [];
  for (const t of input.targets) {
    const id = targetId(t);
    if (exempt.has(id)) continue; // a rollout is changing it: its own proof covers it
    const o = seen.get(id);
    const expected = expectedOf(id);
    if (!o || expected === undefined) continue; // nothing new said, or nothing to compare with: the mark, if any, stands
    const mark = marks.get(id);
    if (o.version === expected) {
      if (mark) {
        cleared.push({ target: id, region: t.region, cell: t.cell, version: o.version, reportedBy: o.source, since: mark.since });
        marks.delete(id);
      }
      continue;
    }
    if (mark && mark.version === o.version && mark.expected === expected) continue;
    detected.push({
      target: id,
      region: t.region,
      cell: t.cell,
      version: o.version!,
      ...(expected !== verified ? { expected } : {}),
      reportedBy: o.source,
      since: o.at,
    });
    marks.set(id, {
      service,
      target: id,
      region: t.region,
      cell: t.cell,
      version: o.version!,
      expected,
      since: o.at,
      reportedBy: o.source,
    });
  }
  const list = (ts: DriftEventTarget[]) =>
    ts.map((t) => `${t.target} ${t.version}${t.expected !== undefined ? ` where ${t.expected} was verified` : ''}`).join(', ');
  if (detected.length)
    events.push({
      rolloutId: null,
      at: now,
      actor: DRIFT_ACTOR,
      type: 'drift.detected',
      data: {
        service,
        expected: verified,
        targets: detected,
        reason: `${detected.length} target(s) run a version etape did not verify (${list(detected)}); etape last verified ${verified ?? 'nothing'} for the service`,
      },
    });
  if (cleared.length)
    events.push({
      rolloutId: null,
      at: now,
      actor: DRIFT_ACTOR,
      type: 'drift.cleared',
      data: {
        service,
        expected: verified,
        targets: cleared,
        reason: `${cleared.length} target(s) run their verified version again (${cleared.map((t) => `${t.target} ${t.version}`).join(', ')})`,
      },
    });
  const out: DriftDecision = { events, marks };
  if (input.mode !== 'revert') return out;
  const leftOver = new Set(input.left?.targets ?? []);
  const open = [...marks.values()].filter((m) => m.expected === expectedOf(m.target) && !exempt.has(m.target));
  if (input.left && open.some((m) => leftOver.has(m.target)))
    out.revertWaits = `rollout ${input.left.id} could not bring some back: \`etape rollout retry ${input.left.id}\``;
  const due = open.filter((m) => !leftOver.has(m.target));
  const fresh = due.filter((m) => m.revert === undefined);
  const reverted = due.find((m) => m.revert !== undefined);
  if (reverted) out.revertWaits = `revert ${reverted.revert!.rolloutId} ran for this drift already: no second automatic revert`;
  if (fresh.length === 0) return out;
  if (input.active) {
    out.revertWaits = `rollout ${input.active.id} is active: the revert waits for it to end`;
    return out;
  }
  // One revert at a time (one active rollout per service), from one drifted version to one verified version:
  // the most common pair, then by name.
  const byPair = new Map<string, DriftMark[]>();
  for (const m of fresh) byPair.set(`${m.version}\n${m.expected}`, [...(byPair.get(`${m.version}\n${m.expected}`) ?? []), m]);
  const [, targets] = [...byPair].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))[0];
  out.revert = {
    version: targets[0].version,
    expected: targets[0].expected,
    targets: targets.sort((a, b) => (a.target < b.target ? -1 : 1)),
  };
  return out;
}

export interface RevertInput {
  id: string;
  service: string;
  /** The drifted version the targets run now. */
  version: string;
  /** The verified version they go back to. */
  expected: string;
  targets: readonly Pick<DriftMark, 'region' | 'cell' | 'since'>[];
  /** The service's probe gates: they say which targets are down (those go first, hung ones are forced) and prove each back. */
  gates: GateSpec[];
  pairs: [string, string][];
  versionCheck?: RolloutState['versionCheck'];
  now: number;
}

/**
 * A rollout that only rolls back: its one wave holds the drifted targets as if the drifted version had been
 * deployed on them when the drift was seen, and it starts halted, so the core's rollback takes them back to
 * the verified version — failing ones first, never a region with its partner unless both are down (I2),
 * each proven back by its probes and its reported version (I9).
 */
export function revertRolloutState(input: RevertInput): RolloutState {
  const regions = [...new Set(input.targets.map((t) => t.region))];
  const gates = input.gates.filter((g) => g.kind === 'probe');
  const plan: Plan = {
    service: input.service,
    waves: [
      {
        index: 1,
        kind: 'canary',
        targets: input.targets.map((t) => ({ region: t.region, cell: t.cell, weight: 1 })),
        regions,
        weight: input.targets.length,
        bakeMs: 0,
        gates: gates.map((g) => g.name),
        approval: false,
      },
    ],
    totalWeight: input.targets.length,
    minDurationMs: 0,
    growth: 1,
  };
  const reason = `drift: ${input.targets.length} target(s) run ${input.version}, not the verified ${input.expected}; putting ${input.expected} back`;
  const s = newRolloutState({
    id: input.id,
    plan,
    version: input.version,
    fromVersion: input.expected,
    gates,
    createdAt: input.now,
    createdBy: DRIFT_ACTOR,
    rollbackOnHalt: true,
    pairs: input.pairs,
    ...(input.versionCheck ? { versionCheck: input.versionCheck } : {}),
  });
  const w = s.waves[0];
  w.status = 'deploying';
  w.startedAt = input.now;
  for (const t of input.targets) {
    const st = s.targets[targetId(t)];
    st.status = 'deployed';
    // Evidence from before the drift was seen is about the verified version: it does not make the target failing.
    st.deployedAt = t.since;
  }
  s.phase = 'halted';
  s.stop = { kind: 'halt', by: DRIFT_ACTOR, reason, at: input.now };
  s.drift = { version: input.version, expected: input.expected };
  return s;
}

// The automatic incident rules stepped through time: from the component status changes the stored evidence
// shows (src/status/timeline.ts) and the gate failures the events record, the rules are applied at every
// moment something changed or one of their own deadlines fell due (openAfter after a component went bad,
// resolveAfter after it passed again, a maintenance window's start or end). So incidents open and resolve
// at the times the evidence gives, however late or seldom a status build runs, and the same evidence always
// gives the same incidents. Pure: state, changes and times in; actions (each with its time) out.
import type { IncidentRecord } from '../store/store.js';
import type { ComponentState } from '../status/status.js';
import type { StatusChange } from '../status/timeline.js';
import { isClosedStatus } from './lifecycle.js';
import {
  decideIncidents,
  type ComponentChange,
  type ComponentTrack,
  type GateFailure,
  type IncidentAction,
  type IncidentRuleState,
  type IncidentRules,
} from './rules.js';

export type TimedIncidentAction = IncidentAction & { at: number };

export interface IncidentDerivation {
  /** Oldest first; one incident may be changed several times. */
  actions: TimedIncidentAction[];
  components: Record<string, ComponentTrack>;
  componentChanges: ComponentChange[];
  /** Every incident of the state, as the actions left it. */
  incidents: IncidentRecord[];
}

export interface DeriveInput {
  state: IncidentRuleState;
  /** Every component's status at fromMs. */
  initial: ComponentState[];
  /** Status changes in [fromMs, toMs], oldest first. */
  changes: StatusChange[];
  gateFailures: GateFailure[];
  fromMs: number;
  toMs: number;
  rules: IncidentRules;
}

export function deriveIncidents(input: DeriveInput): IncidentDerivation {
  const { rules, fromMs, toMs } = input;
  const order = input.initial.map((c) => c.id);
  const states = new Map(input.initial.map((c) => [c.id, c]));
  const changes = [...input.changes].sort((a, b) => a.at - b.at);
  const gates = [...input.gateFailures].sort((a, b) => a.at - b.at);
  let state: IncidentRuleState = input.state;
  const actions: TimedIncidentAction[] = [];
  const componentChanges: ComponentChange[] = [];
  let ci = 0;
  let gi = 0;

  const step = (t: number) => {
    while (ci < changes.length && changes[ci].at <= t) {
      const c = changes[ci++];
      states.set(c.state.id, c.state);
    }
    const due: GateFailure[] = [];
    while (gi < gates.length && gates[gi].at <= t) due.push(gates[gi++]);
    const d = decideIncidents(
      state,
      order.map((id) => states.get(id)!),
      due,
      t,
      rules,
    );
    const by = new Map(state.incidents.map((i) => [i.id, i]));
    for (const a of d.actions) {
      by.set(a.incident.id, a.incident);
      actions.push({ ...a, at: t });
    }
    componentChanges.push(...d.componentChanges);
    state = { incidents: [...by.values()], components: d.components };
  };

  // The start: only when the rules have not seen these statuses yet (a first build, or evidence they missed).
  const unseen = input.initial.some((c) => state.components[c.id]?.status !== c.status);
  if (unseen || gates.some((g) => g.at <= fromMs)) step(fromMs);
  let t = fromMs;
  while (t < toMs) {
    let next = toMs;
    if (ci < changes.length) next = Math.min(next, changes[ci].at);
    if (gi < gates.length) next = Math.min(next, Math.max(gates[gi].at, t + 1));
    next = Math.min(next, nextDeadline(state, t, rules));
    step(next);
    t = next;
  }
  return { actions, components: state.components, componentChanges, incidents: state.incidents };
}

/** The next moment after `t` at which the rules would act with no new evidence. */
function nextDeadline(state: IncidentRuleState, t: number, rules: IncidentRules): number {
  let next = Infinity;
  const consider = (d: number) => {
    if (d > t && d < next) next = d;
  };
  for (const tr of Object.values(state.components)) if (tr.health === 'bad') consider(tr.healthSince + rules.openAfterMs);
  for (const i of state.incidents) {
    if (isClosedStatus(i.status)) continue;
    if (i.kind === 'maintenance') {
      if (i.scheduledFor !== null) consider(i.scheduledFor);
      if (i.scheduledUntil !== null) consider(i.scheduledUntil);
      continue;
    }
    if (!i.source.startsWith('auto:')) continue;
    const ts = i.components.map((c) => state.components[c]);
    if (ts.length === 0 || ts.some((x) => !x || x.health !== 'ok')) continue;
    // Passing again: monitoring at the next moment (not in the one it was changed in), resolved after resolveAfter.
    if (i.status !== 'monitoring') consider(t + 1);
    const lastGateAt = typeof i.data.lastGateAt === 'number' ? i.data.lastGateAt : i.createdAt;
    consider(Math.max(i.createdAt, lastGateAt, ...ts.map((x) => x.healthSince)) + rules.resolveAfterMs);
  }
  return next;
}

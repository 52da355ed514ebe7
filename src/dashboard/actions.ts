// What an operator can do to a rollout from the dashboard, each with the words its confirmation shows.
// An action is offered only when its API route exists (the OpenAPI document names it) and the rollout's
// state lets it apply; the API checks the role and the state again when it is asked.
import type { RolloutState } from '../rollout/state.js';
import { currentWave } from '../rollout/state.js';

export interface ActionOffer {
  /** `pause`, `resume`, `abort`, `approve`, `retry`, `force`. */
  name: string;
  /** Button text. */
  label: string;
  /** What will happen, for the confirmation. */
  consequence: string;
  /** The API path (`{id}` filled in) and JSON body it posts. */
  path: string;
  body: Record<string, unknown>;
  /** A free-text reason is asked for. */
  reason: boolean;
  /** Dangerous: shown as such. */
  danger: boolean;
  /** The target it acts on, for per-target actions. */
  target?: string;
}

export interface ActionCatalogue {
  /** API paths the running API serves (from its OpenAPI document), e.g. `/api/rollouts/{id}/pause`. */
  paths: ReadonlySet<string>;
}

const enc = encodeURIComponent;

/** The actions that apply to a rollout in its current state. */
export function rolloutActions(s: RolloutState, cat: ActionCatalogue): ActionOffer[] {
  const has = (p: string) => cat.paths.has(p);
  const out: ActionOffer[] = [];
  const base = `/api/rollouts/${enc(s.id)}`;
  const cur = currentWave(s);
  if ((s.phase === 'running' || s.phase === 'pending') && has('/api/rollouts/{id}/pause')) {
    out.push({
      name: 'pause',
      label: 'Pause',
      consequence: `Pause rollout ${s.id}: no new wave starts and the bake of wave ${cur?.index ?? '-'} stops accruing; deploys in flight finish and the gates keep watching (a failing gate still halts it).`,
      path: `${base}/pause`,
      body: {},
      reason: true,
      danger: false,
    });
  }
  if (s.phase === 'paused' && has('/api/rollouts/{id}/resume')) {
    out.push({
      name: 'resume',
      label: 'Resume',
      consequence: `Resume rollout ${s.id}: waves start again in order and wave ${cur?.index ?? '-'}'s bake accrues while its gates pass.`,
      path: `${base}/resume`,
      body: {},
      reason: false,
      danger: false,
    });
  }
  if (cur && ['pending', 'running', 'paused'].includes(s.phase) && has('/api/rollouts/{id}/approve')) {
    const needs = (cur.approval || cur.gates.some((g) => s.gates[g]?.kind === 'approval')) && !cur.approvedBy;
    if (needs) {
      out.push({
        name: 'approve',
        label: `Approve wave ${cur.index}`,
        consequence: `Approve wave ${cur.index} of rollout ${s.id} (${cur.regions.join(', ')}, ${cur.targets.length} target${cur.targets.length === 1 ? '' : 's'}): it starts deploying ${s.version} as soon as the waves before it are verified.`,
        path: `${base}/approve`,
        body: { wave: cur.index },
        reason: false,
        danger: false,
      });
    }
  }
  if (['pending', 'running', 'paused', 'halted'].includes(s.phase) && has('/api/rollouts/{id}/abort')) {
    const touched = Object.values(s.targets).filter((t) => t.status !== 'pending').length;
    out.push({
      name: 'abort',
      label: 'Abort',
      consequence: `Abort rollout ${s.id}: it stops for good and rolls back the ${touched} target${touched === 1 ? '' : 's'} it touched to their last verified version${s.fromVersion ? ` (${s.fromVersion})` : ''}. This cannot be undone.`,
      path: `${base}/abort`,
      body: {},
      reason: true,
      danger: true,
    });
  }
  if ((s.phase === 'failed' || s.phase === 'halted') && has('/api/rollouts/{id}/retry')) {
    out.push({
      name: 'retry',
      label: 'Retry',
      consequence:
        s.phase === 'failed'
          ? `Retry the rollback of rollout ${s.id}: the targets whose rollback failed are asked again to go back to their last verified version.`
          : `Retry rollout ${s.id}: the controller takes it up again from the step that stopped it.`,
      path: `${base}/retry`,
      body: {},
      reason: false,
      danger: false,
    });
  }
  return out;
}

/** Per-target actions (forcing a target to a version), when the API serves them. */
export function targetActions(s: RolloutState, target: string, cat: ActionCatalogue): ActionOffer[] {
  const t = s.targets[target];
  if (!t || !cat.paths.has('/api/rollouts/{id}/targets/{target}/force')) return [];
  if (t.status !== 'failed') return [];
  const version = t.fromVersion;
  if (!version) return [];
  return [
    {
      name: 'force',
      label: `Force ${target}`,
      consequence: `Force target ${target} of rollout ${s.id} to ${version}: the driver kills and restarts it on ${version}, dropping every connection it holds.`,
      path: `/api/rollouts/${enc(s.id)}/targets/${enc(target)}/force`,
      body: {},
      reason: false,
      danger: true,
      target,
    },
  ];
}

export function findAction(s: RolloutState, name: string, target: string | undefined, cat: ActionCatalogue): ActionOffer | undefined {
  const all = target ? targetActions(s, target, cat) : rolloutActions(s, cat);
  return all.find((a) => a.name === name);
}

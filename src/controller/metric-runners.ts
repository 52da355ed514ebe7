// Evidence for metric and judge gates while the controller runs: a PrometheusGateRunner over every metric
// and judge gate of the config's services, fed from rollout state in the store. The judge compares the
// baking wave's targets on the new version (canary) with the service's cells still on the old version
// (baseline), since the wave's deploy finished; metric gates fill `{version}` with what each target runs.
// Nothing here decides: observations go to the store (source = the gate name) and the gates read them.
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Observation } from '../core/types.js';
import type { EtapeConfig } from '../config/schema.js';
import type { FleetConfig } from '../config/fleet.js';
import type { Store } from '../store/store.js';
import { ms } from '../config/common.js';
import { ACTIVE_PHASES } from '../rollout/phases.js';
import { currentWave, type RolloutState } from '../rollout/state.js';
import { stateIfValid } from '../rollout/state-schema.js';
import { lastVerifiedVersion } from '../rollout/operations.js';
import { PrometheusGateRunner, type JudgeTargets, type QueryTarget } from '../evidence/prometheus.js';
import type { EvidenceRunner } from './controller.js';

/** Services and gates that read Prometheus. */
export function metricGatesOf(config: Pick<EtapeConfig, 'services'>): Array<{ service: string; gate: string; kind: 'metric' | 'judge' }> {
  const out: Array<{ service: string; gate: string; kind: 'metric' | 'judge' }> = [];
  for (const s of config.services)
    for (const g of s.gates) if (g.kind === 'metric' || g.kind === 'judge') out.push({ service: s.name, gate: g.name, kind: g.kind });
  return out;
}

/**
 * What a judge gate compares for a rollout, from its state alone (pure): canary = every target the rollout
 * has deployed so far (the targets the core judges the wave's gates over) on the new version; baseline =
 * the rollout's targets not touched yet, on their last verified version (same regions as the canary
 * first); since = when the wave in progress finished deploying (else when its newest target came up).
 * Undefined when the rollout is not running or paused, no target is deployed yet, or the gate is not one
 * of the wave's gates.
 */
export function judgeTargetsFromState(s: RolloutState, gate: string, fleet?: FleetConfig): JudgeTargets | undefined {
  if (s.phase !== 'running' && s.phase !== 'paused') return undefined;
  const w = currentWave(s);
  if (!w || (w.status !== 'deploying' && w.status !== 'baking') || !w.gates.includes(gate)) return undefined;
  const vars = fleet ? varsByTarget(fleet) : new Map<string, Record<string, string>>();
  const all = Object.values(s.targets);
  const deployed = all.filter((t) => t.status === 'deployed' && t.wave <= w.index);
  if (deployed.length === 0) return undefined;
  const canary: QueryTarget[] = deployed.map((t) => ({ region: t.region, cell: t.cell, version: s.version, vars: vars.get(t.id) ?? {} }));
  const regions = new Set(canary.map((t) => t.region));
  const baseline: QueryTarget[] = all
    .filter((t) => t.status === 'pending' && t.fromVersion !== undefined)
    .sort((a, b) => Number(regions.has(b.region)) - Number(regions.has(a.region)) || a.id.localeCompare(b.id))
    .map((t) => ({ region: t.region, cell: t.cell, version: t.fromVersion, vars: vars.get(t.id) ?? {} }));
  const deployedAt = deployed.filter((t) => t.wave === w.index).map((t) => t.deployedAt ?? 0);
  const since = w.bakeStartedAt ?? (deployedAt.length ? Math.max(...deployedAt) : Math.max(...deployed.map((t) => t.deployedAt ?? 0)));
  return { canary, baseline, since, bakeEndsAt: since + w.bakeMs };
}

/** The version a target of a rollout runs, by the rollout's state (undefined: not the rollout's to say). */
export function versionInState(s: RolloutState, id: string): string | undefined {
  const t = s.targets[id];
  if (!t) return undefined;
  if (t.status === 'deployed') return s.version;
  if (t.status === 'pending' || t.status === 'rolled_back') return t.fromVersion;
  return undefined; // in between: deploying, rolling back, forcing, failed
}

function varsByTarget(fleet: FleetConfig): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const r of fleet.regions) {
    for (const c of r.cells) {
      const vars: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...(r.vars ?? {}), ...(c.vars ?? {}) })) vars[k] = String(v);
      out.set(`${r.id}/${c.id}`, vars);
    }
  }
  return out;
}

export interface MetricRunnersOptions {
  config: EtapeConfig;
  store: Pick<Store, 'listRollouts' | 'recordObservations'>;
  clock?: Clock;
  log?: Logger;
  /** Where observations go (default: the store). `Controller.evidenceSink()` wakes the controller on bad news. */
  sink?: () => Pick<Store, 'recordObservations'>;
  /** Which targets a judge gate compares (default: from the active rollouts in the store, `judgeTargetsFromState`). */
  judgeTargets?: (service: string, gate: string) => JudgeTargets | undefined;
  /** How often the rollout state is read from the store (default: half the shortest gate interval, 250 ms…5 s). */
  refreshEveryMs?: number;
  fetch?: typeof fetch;
  onObservation?: (o: Observation) => void;
}

/**
 * The evidence runner of every metric and judge gate of the config's services, for `Controller({ runners })`.
 * Empty when no service has such a gate. The judge's targets come from a snapshot of the active rollouts
 * that the runner refreshes from the store on its own clock (so they are at most one refresh old).
 */
export function metricRunners(opts: MetricRunnersOptions): EvidenceRunner[] {
  if (metricGatesOf(opts.config).length === 0) return [];
  return [new MetricEvidence(opts)];
}

class MetricEvidence implements EvidenceRunner {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly runner: PrometheusGateRunner;
  /** Active rollouts by service (newest first), as last read. */
  private rollouts = new Map<string, RolloutState[]>();
  /** Each service's last verified version, as last read (for `{version}` of targets no rollout holds). */
  private verified = new Map<string, string | undefined>();
  private stopper: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly everyMs: number;

  constructor(private readonly opts: MetricRunnersOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    const intervals = opts.config.services
      .flatMap((s) => s.gates)
      .flatMap((g) => (g.kind === 'metric' || g.kind === 'judge' ? [ms(g.interval)] : []));
    this.everyMs = opts.refreshEveryMs ?? Math.min(5000, Math.max(250, Math.min(...intervals) / 2));
    const fleet = opts.config.fleet;
    this.runner = new PrometheusGateRunner({
      store: { recordObservations: (obs) => (opts.sink?.() ?? opts.store).recordObservations(obs) },
      clock: this.clock,
      services: opts.config.services,
      fleet,
      fetch: opts.fetch,
      onObservation: opts.onObservation,
      judgeTargets:
        opts.judgeTargets ??
        ((service, gate) => {
          for (const s of this.rollouts.get(service) ?? []) {
            const jt = judgeTargetsFromState(s, gate, fleet);
            if (jt) return jt;
          }
          return undefined;
        }),
      versionOf: (t) => {
        const id = `${t.region}/${t.cell}`;
        for (const s of this.rollouts.get(t.service) ?? []) {
          const v = versionInState(s, id);
          if (v !== undefined) return v;
        }
        return this.verified.get(t.service);
      },
    });
  }

  /** Reads the active rollouts (and last verified versions) from the store once. */
  async refresh(): Promise<void> {
    const services = new Set(metricGatesOf(this.opts.config).map((g) => g.service));
    const active = await this.opts.store.listRollouts({ phases: [...ACTIVE_PHASES] });
    const next = new Map<string, RolloutState[]>();
    for (const r of active.sort((a, b) => b.createdAt - a.createdAt)) {
      if (!services.has(r.service)) continue;
      const state = stateIfValid(r.state, r.id);
      if (!state) continue;
      const list = next.get(r.service) ?? [];
      list.push(state);
      next.set(r.service, list);
    }
    this.rollouts = next;
    for (const svc of this.opts.config.services) {
      if (!services.has(svc.name)) continue;
      // lastVerifiedVersion only lists rollouts.
      this.verified.set(svc.name, await lastVerifiedVersion(this.opts.store as Store, svc).catch(() => svc.initialVersion));
    }
  }

  start(): void {
    if (this.stopper) return;
    const stop = (this.stopper = new AbortController());
    this.loop = (async () => {
      let started = false;
      while (!stop.signal.aborted) {
        try {
          await this.refresh();
        } catch (e) {
          this.log.warn({ err: e }, 'metric gates: could not read the active rollouts');
        }
        // The first measurements wait for the first snapshot, so no judge look is wasted on "no rollout".
        if (!started && !stop.signal.aborted) {
          started = true;
          this.runner.start();
        }
        await this.clock.sleep(this.everyMs, stop.signal).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper?.abort();
    await this.loop;
    await this.runner.stop();
    this.stopper = undefined;
    this.loop = undefined;
  }
}

// The demo's staged run through the real parts of etape: the planner, the SQLite Store, and the runtime
// `etape serve` runs (src/controller/runtime.ts: the Controller with its reconcile loop, the probe runner,
// the judge's runner) with the same settings, driving the fleet driver. Nothing here decides: this file
// starts them and reads the store for the progress view.
import { systemClock } from '../core/clock.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Driver } from '../drivers/driver.js';
import type { ServiceConfig } from '../config/service.js';
import type { Plan } from '../plan/types.js';
import { planRollout } from '../config/plan.js';
import type { EventRecord, Store } from '../store/store.js';
import { openStore } from '../store/open.js';
import { composeRuntime, type Runtime, type RuntimeListener } from '../controller/runtime.js';
import { startRollout } from '../rollout/operations.js';
import { isTerminal } from '../rollout/phases.js';
import type { RolloutState } from '../rollout/state.js';
import { formatDuration } from '../core/duration.js';
import { startDemoJudge } from './judge.js';

export interface StagedOptions {
  config: EtapeConfig;
  storePath: string;
  /** The driver of the service (the demo passes the fleet driver, built from the config by createDriver). */
  driverFor: (service: ServiceConfig) => Driver;
  version: string;
  service?: string;
  /** Told what the runtime records (the status publisher publishes a change at once). */
  listener?: RuntimeListener;
  /** Every event the store records for the rollout, in order, shortly after it is written. */
  onEvent?: (e: EventRecord) => void;
  /** The Prometheus binary for the canary judge (default /usr/bin/prometheus if present); false: probes alone. */
  prometheus?: string | false;
  /** Ctrl-C: stops the judge's Prometheus at once. */
  signal?: AbortSignal;
}

export interface StagedHandle {
  rolloutId: string;
  plan: Plan;
  store: Store;
  config: EtapeConfig;
  /** Resolves with the rollout's terminal phase, or its phase at the timeout or abort. */
  waitForEnd(timeoutMs: number, signal?: AbortSignal): Promise<string>;
  events(): Promise<EventRecord[]>;
  /** Lines for the progress view: phase, current wave, bake, gate verdicts. */
  statusLines(): string[];
  /** The rollout's view of one target: deploying, baking, verified, rolling back, forcing, rolled back. */
  targetStage(id: string): string | undefined;
  /** Stops the controller and the probes (driver calls in flight are aborted). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startStagedRollout(opts: StagedOptions): Promise<StagedHandle> {
  const service = opts.service ?? opts.config.services[0].name;
  const store = await openStore(opts.storePath);
  let rolloutId = '';
  // The canary judge (src/demo/judge.ts): a local Prometheus and the judge gate, when Prometheus is here.
  const judge = await startDemoJudge({ config: opts.config, service, binary: opts.prometheus, signal: opts.signal });
  const config = judge.config;
  const plan = planRollout(config, service);
  const runtime: Runtime = composeRuntime({
    store,
    config,
    clock: systemClock,
    driverFor: (_name, svc) => opts.driverFor(svc),
    ...(opts.listener ? { listener: opts.listener } : {}),
  });
  const rec = await startRollout({ store, config, clock: systemClock }, { service, version: opts.version, actor: 'demo', plan }).catch(
    async (e: unknown) => {
      await judge.stop();
      throw e;
    },
  );
  rolloutId = rec.id;
  await store.appendEvents([
    { rolloutId, at: Date.now(), actor: 'demo', type: 'demo.judge', data: { text: judge.note, prometheus: judge.prometheus?.url ?? null } },
  ]);
  let state = rec.state as RolloutState;
  let phase = rec.phase;
  let afterSeq = 0;
  const seen: EventRecord[] = [];
  runtime.start();

  // Follow the store: the state for the view, the events for the log and the live lines.
  let following = true;
  const follow = (async () => {
    while (following) {
      try {
        const r = await store.getRollout(rolloutId);
        if (r) {
          state = r.state as RolloutState;
          phase = r.phase;
        }
        const evs = await store.listEvents({ rolloutId, afterSeq });
        for (const e of evs) {
          afterSeq = e.seq;
          seen.push(e);
          opts.onEvent?.(e);
        }
      } catch {
        /* the store is closing */
      }
      await systemClock.sleep(100);
    }
  })();

  let stopped = false;
  const handle: StagedHandle = {
    rolloutId,
    plan,
    store,
    config,
    async waitForEnd(timeoutMs, signal) {
      const until = Date.now() + timeoutMs;
      while (!isTerminal(phase) && Date.now() < until && !signal?.aborted) await systemClock.sleep(100, signal);
      return phase;
    },
    async events() {
      return store.listEvents({ rolloutId });
    },
    statusLines() {
      const s = state;
      const cur = s.waves.find((w) => w.status !== 'verified');
      const lines = [`rollout ${rolloutId} · ${phase}${s.stop ? ` · ${s.stop.kind}: ${s.stop.reason}` : ''}`];
      if (cur && !isTerminal(phase) && phase !== 'rolling_back') {
        const kind = plan.waves[cur.index - 1]?.kind ?? '';
        const bake = cur.status === 'baking' ? ` · bake ${formatDuration(cur.bakeAccruedMs)} of ${formatDuration(cur.bakeMs)}` : '';
        const gates = cur.verdicts.length
          ? ` · gates: ${cur.verdicts.map((g) => `${g.gate} ${g.verdict}${g.evidenceFraction !== undefined && g.evidenceFraction < 1 ? ` (data ${Math.round(g.evidenceFraction * 100)}%)` : ''}`).join(', ')}`
          : '';
        lines.push(`wave ${cur.index} of ${s.waves.length} (${kind}: ${cur.regions.join(', ')}) ${cur.status}${bake}${gates}`);
      }
      return lines;
    },
    targetStage(id) {
      const t = state.targets[id];
      if (!t) return undefined;
      const w = state.waves[t.wave - 1];
      switch (t.status) {
        case 'pending':
          return '';
        case 'deploying':
          return 'deploying';
        case 'deployed':
          return w?.status === 'verified' ? 'verified' : w?.status === 'baking' ? 'baking' : 'deployed';
        case 'rolling_back':
          return 'rolling back';
        case 'forcing':
          return 'forcing';
        case 'rolled_back':
          return 'rolled back';
        case 'failed':
          return 'failed';
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await runtime.stop({ abortCalls: true });
      await judge.stop();
      following = false;
      await follow;
      // Events written after the follower's last look.
      for (const e of await store.listEvents({ rolloutId, afterSeq }).catch(() => [] as EventRecord[])) {
        seen.push(e);
        opts.onEvent?.(e);
      }
    },
    async close() {
      await handle.stop();
      await store.close();
    },
  };
  return handle;
}

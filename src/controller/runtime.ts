// The composition root: the one place the running parts are put together over one store and one clock —
// the Controller, the probe runner over every probe of every target, and the runners of metric and judge
// gates. `etape serve`, `etape rollout follow` (when no server runs) and the demo all start them here, with
// the same settings unless a user sets others, so the demo's figures describe what `etape serve` does.
// Evidence goes through the controller's sink: a failing observation wakes it at once. With `drift`, the drift
// watcher looks at every target on a schedule through the controller's observe (`etape serve`).
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { EtapeConfig } from '../config/schema.js';
import type { NewEvent, Store } from '../store/store.js';
import type { Observation } from '../core/types.js';
import { Prober, probeChecks } from '../evidence/prober.js';
import { Controller, type ControllerOptions } from './controller.js';
import { metricRunners } from './metric-runners.js';
import { healthProbeChecks, LineStop } from './line-stop.js';
import { Membership, ownerOf } from './membership.js';
import { DriftWatcher } from './drift.js';

export interface RuntimeSettings {
  /** The probe runner writes to the store once this many observations wait… */
  probeBatchSize: number;
  /** …or at least this often (ms). A failing observation is written at once either way. */
  probeFlushEveryMs: number;
  /** How long a rollout stays with this process without renewal (ms). */
  leaseMs: number;
  /** Longest sleep between reconciles (ms); default: the config's `server.reconcileEvery`. */
  reconcileEveryMs?: number;
}

export const DEFAULT_RUNTIME_SETTINGS: Readonly<RuntimeSettings> = { probeBatchSize: 50, probeFlushEveryMs: 200, leaseMs: 15_000 };

export interface RuntimeOptions {
  store: Store;
  config: EtapeConfig;
  clock?: Clock;
  log?: Logger;
  /** Run the HTTP probes (default true); without them evidence comes from elsewhere. */
  probes?: boolean;
  /** Drive only these rollouts (the CLI following one rollout). */
  only?: string[];
  /** The driver of a service; default: the one its config describes. */
  driverFor?: ControllerOptions['driverFor'];
  /** Settings a user chose; the rest are DEFAULT_RUNTIME_SETTINGS. */
  settings?: Partial<RuntimeSettings>;
  /**
   * Share the probes with the other servers on this store (`etape serve`): each target is probed by the one
   * live member that rendezvous hashing gives it. Default false: this process probes every target.
   */
  shareProbes?: boolean;
  /** Watch every target for drift (`etape serve`; default false: a follower drives its one rollout only). */
  drift?: boolean;
  /** Hooks the controller calls (the store's health, metrics). */
  hooks?: Pick<ControllerOptions, 'onError' | 'onLease' | 'onDriverCall' | 'onReconcile'>;
  /**
   * Told what this runtime records, after it is stored: the status publisher (StatusPublisher) rebuilds the
   * page at once when evidence changes a component's status, or a halt lets the incident rules act.
   */
  listener?: RuntimeListener;
}

export interface RuntimeListener {
  /** Observations the probe and metric runners recorded. */
  evidence(obs: readonly Observation[]): void;
  /** Events of a reconcile (a halt, a failed gate, …). */
  events(evs: readonly Pick<NewEvent, 'type'>[]): void;
}

export interface Runtime {
  controller: Controller;
  /** Stop the line: health signals, freezes, blame (docs/stop-the-line.md). */
  lineStop: LineStop;
  /** The probe runner (undefined with `probes: false`). */
  prober?: Prober;
  /** The live servers the probes are shared with (with `shareProbes`). */
  membership?: Membership;
  /** The drift watcher (with `drift: true`). */
  drift?: DriftWatcher;
  settings: RuntimeSettings;
  /** Starts the controller with its probe and metric runners. */
  start(): void;
  /** Stops them (driver calls in flight finish, or are aborted with `abortCalls`, and are repeated after a restart). */
  stop(opts?: { abortCalls?: boolean }): Promise<void>;
}

/** The probe runner over every probe of every target of `config`, with the runtime's batching. */
export function newProber(
  config: EtapeConfig,
  sink: Pick<Store, 'recordObservations'>,
  opts: { clock?: Clock; log?: Logger; settings?: Partial<RuntimeSettings> } = {},
): Prober {
  const settings = { ...DEFAULT_RUNTIME_SETTINGS, ...opts.settings };
  return new Prober({
    store: sink,
    clock: opts.clock,
    log: opts.log,
    checks: [...probeChecks(config), ...healthProbeChecks(config)],
    batchSize: settings.probeBatchSize,
    flushEveryMs: settings.probeFlushEveryMs,
  });
}

/** Puts the controller, the probe runner and the metric/judge runners together (not started). */
export function composeRuntime(opts: RuntimeOptions): Runtime {
  const { store, config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const settings: RuntimeSettings = { ...DEFAULT_RUNTIME_SETTINGS, ...opts.settings };
  // The runners are built before the controller whose sink they write to.
  let sink: Pick<Store, 'recordObservations'> = store;
  const toSink: Pick<Store, 'recordObservations'> = { recordObservations: (o) => sink.recordObservations(o) };
  const prober = opts.probes === false ? undefined : newProber(config, toSink, { clock, log, settings });
  const allChecks = [...probeChecks(config), ...healthProbeChecks(config)];
  const runners = metricRunners({ config, store, clock, log, sink: () => sink });
  // The line-stop nudges the controller when holds or rollouts change; the controller asks it for holds.
  let nudge: () => void = () => undefined;
  const lineStop = new LineStop({ store, config, clock, log, onChange: () => nudge() });
  const controller = new Controller({
    holds: () => lineStop.holds(),
    store,
    config,
    clock,
    log,
    prober,
    runners,
    leaseMs: settings.leaseMs,
    ...(settings.reconcileEveryMs !== undefined ? { reconcileEveryMs: settings.reconcileEveryMs } : {}),
    ...(opts.only ? { only: opts.only } : {}),
    ...(opts.driverFor ? { driverFor: opts.driverFor } : {}),
    ...opts.hooks,
    ...(opts.listener
      ? {
          onReconcile: (id, took, d) => {
            opts.hooks?.onReconcile?.(id, took, d);
            if (d?.events.length) opts.listener!.events(d.events);
          },
        }
      : {}),
  });
  const recorded = controller.evidenceSink();
  const listener = opts.listener;
  sink = listener
    ? {
        recordObservations: async (obs) => {
          await recorded.recordObservations(obs);
          listener.evidence(obs);
        },
      }
    : recorded;
  nudge = () => controller.nudge({ relist: true });
  // Every probe of one target goes to the same member, so a target is probed once between the servers.
  const membership =
    prober && opts.shareProbes
      ? new Membership({
          store,
          holder: controller.holder,
          leaseMs: settings.leaseMs,
          log,
          onChange: (members) => {
            const mine = allChecks.filter(
              (c) => ownerOf(`${c.target.service}/${c.target.region}/${c.target.cell}`, members) === controller.holder,
            );
            log.info({ members: members.length, checks: mine.length, of: allChecks.length }, 'probes shared among the live servers');
            prober.setChecks(mine);
          },
        })
      : undefined;
  if (membership) prober!.setChecks([]);
  const drift = opts.drift
    ? new DriftWatcher({
        store,
        config,
        clock,
        log,
        holder: controller.holder,
        observe: (t) => controller.observeTarget(t),
        onRevert: () => controller.nudge({ relist: true }),
      })
    : undefined;
  return {
    controller,
    lineStop,
    prober,
    membership,
    ...(drift ? { drift } : {}),
    settings,
    start: () => {
      controller.start();
      lineStop.start();
      void membership?.start();
      drift?.start();
    },
    stop: async (o) => {
      await drift?.stop();
      await membership?.stop();
      await lineStop.stop();
      await controller.stop(o);
    },
  };
}

// /metrics in the Prometheus text format (prom-client): what etape does, so that a stuck controller, a
// store that fails or a lease that keeps moving can be alerted on. Counters and histograms are fed by the
// controller's hooks and the store's health; the rollouts by phase are read from the store at each scrape.
import client from 'prom-client';
import type { Store } from '../store/store.js';
import type { DriverResult } from '../drivers/driver.js';
import { isActive, PHASES, WAVE_STATUSES } from '../rollout/phases.js';
import { stateIfValid } from '../rollout/state-schema.js';
import { OBSERVE_SOURCE, type Observation } from '../core/types.js';

export class EtapeMetrics {
  readonly registry = new client.Registry();
  readonly reconcileSeconds = new client.Histogram({
    name: 'etape_reconcile_duration_seconds',
    help: 'Time one reconcile of one rollout took.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly driverSeconds = new client.Histogram({
    name: 'etape_driver_call_duration_seconds',
    help: 'Time a driver call took, by kind (deploy, rollback, force) and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly driverFailures = new client.Counter({
    name: 'etape_driver_call_failures_total',
    help: 'Driver calls that failed (timeouts included), by kind.',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly leases = new client.Counter({
    name: 'etape_rollout_leases_total',
    help: 'Rollout leases this process took (acquired) or lost (lost: another controller may take over).',
    labelNames: ['event'],
    registers: [this.registry],
  });
  readonly held = new client.Gauge({
    name: 'etape_rollout_leases_held',
    help: 'Rollouts whose lease this process holds now.',
    registers: [this.registry],
  });
  readonly storeErrors = new client.Counter({
    name: 'etape_store_errors_total',
    help: 'Failed store operations seen by the reconcile loop and the health check.',
    registers: [this.registry],
  });
  readonly storeUp = new client.Gauge({
    name: 'etape_store_up',
    help: '1 while the store can be written, else 0 (/healthz answers 503).',
    registers: [this.registry],
  });

  readonly takeovers = new client.Counter({
    name: 'etape_rollout_lease_takeovers_total',
    help: 'Rollout leases this process took that another holding had before (a controller died, stopped or stalled).',
    registers: [this.registry],
  });
  readonly probeSeconds = new client.Histogram({
    name: 'etape_probe_latency_seconds',
    help: 'Time a probe took to answer, by service and probe.',
    labelNames: ['service', 'probe'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly probeResults = new client.Counter({
    name: 'etape_probe_results_total',
    help: 'Probe and metric results recorded, by service, source and verdict (pass, fail, inconclusive, error).',
    labelNames: ['service', 'source', 'verdict'],
    registers: [this.registry],
  });
  readonly probeErrors = new client.Counter({
    name: 'etape_probe_errors_total',
    help: 'Probes that errored or timed out (no usable answer), by service and probe.',
    labelNames: ['service', 'probe'],
    registers: [this.registry],
  });

  constructor(opts: { store: Store; heldRollouts?: () => number; backlog?: () => number }) {
    this.storeUp.set(1);
    // Rollouts by phase, and the waves and latest gate verdicts of the active ones, read at each scrape.
    let scan: Promise<{ phases: Map<string, number>; waves: Map<string, number>; verdicts: Map<string, number> }> | undefined;
    const read = () =>
      (scan ??= (async () => {
        const all = await opts.store.listRollouts({});
        const phases = new Map<string, number>();
        const waves = new Map<string, number>(Object.values(WAVE_STATUSES).map((s) => [s, 0]));
        const verdicts = new Map<string, number>();
        for (const r of all) {
          phases.set(r.phase, (phases.get(r.phase) ?? 0) + 1);
          if (!isActive(r.phase)) continue;
          const s = stateIfValid(r.state, r.id);
          if (!s) continue;
          for (const w of s.waves) waves.set(w.status, (waves.get(w.status) ?? 0) + 1);
          const cur = s.waves.find((w) => w.status !== 'verified');
          for (const v of cur?.verdicts ?? []) {
            const k = JSON.stringify([s.service, v.gate, v.verdict]);
            verdicts.set(k, (verdicts.get(k) ?? 0) + 1);
          }
        }
        return { phases, waves, verdicts };
      })().finally(() => setTimeout(() => (scan = undefined), 0)));
    new client.Gauge({
      name: 'etape_rollouts',
      help: 'Rollouts in the store by phase.',
      labelNames: ['phase'],
      registers: [this.registry],
      async collect() {
        const { phases } = await read();
        for (const p of Object.values(PHASES)) this.set({ phase: p }, phases.get(p) ?? 0);
      },
    });
    new client.Gauge({
      name: 'etape_waves',
      help: 'Waves of the active rollouts by status (waiting, awaiting_approval, deploying, baking, verified).',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        const { waves } = await read();
        for (const [status, n] of waves) this.set({ status }, n);
      },
    });
    new client.Gauge({
      name: 'etape_gate_verdicts',
      help: "Gates of the active rollouts' current waves by their latest verdict (pass, fail, inconclusive, error).",
      labelNames: ['service', 'gate', 'verdict'],
      registers: [this.registry],
      async collect() {
        const { verdicts } = await read();
        this.reset();
        for (const [k, n] of verdicts) {
          const [service, gate, verdict] = JSON.parse(k) as string[];
          this.set({ service, gate, verdict }, n);
        }
      },
    });
    new client.Gauge({
      name: 'etape_observation_backlog',
      help: 'Observations measured by this process and not yet stored (waiting for a flush or for the store).',
      registers: [this.registry],
      collect() {
        this.set(opts.backlog?.() ?? 0);
      },
    });
    const held = this.held;
    new client.Gauge({
      name: 'etape_up',
      help: 'Always 1: this etape serve answers scrapes.',
      registers: [this.registry],
      collect() {
        this.set(1);
        held.set(opts.heldRollouts?.() ?? 0);
      },
    });
  }

  onLease(what: 'acquired' | 'lost', token?: number): void {
    this.leases.inc({ event: what });
    if (what === 'acquired' && token !== undefined && token > 1) this.takeovers.inc();
  }

  /** Every observation this process records: probe latency, verdicts, and errors (timeouts included). */
  onObservations(obs: readonly Observation[]): void {
    for (const o of obs) {
      this.probeResults.inc({ service: o.service, source: o.source, verdict: o.verdict });
      if (o.source === OBSERVE_SOURCE || o.evidenceFraction !== undefined) continue;
      if (o.latencyMs !== undefined) this.probeSeconds.observe({ service: o.service, probe: o.source }, o.latencyMs / 1000);
      if (o.verdict === 'error' || o.timedOut) this.probeErrors.inc({ service: o.service, probe: o.source });
    }
  }

  onDriverCall(kind: string, r: DriverResult, ms: number): void {
    if (r.fenced) return;
    this.driverSeconds.observe({ kind, outcome: r.ok ? 'succeeded' : 'failed' }, ms / 1000);
    if (!r.ok) this.driverFailures.inc({ kind });
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

// /metrics in the Prometheus text format (prom-client): what etape does, so that a stuck controller, a
// store that fails or a lease that keeps moving can be alerted on. Counters and histograms are fed by the
// controller's hooks and the store's health; the rollouts by phase are read from the store at each scrape.
import client from 'prom-client';
import type { Store } from '../store/store.js';
import type { DriverResult } from '../drivers/driver.js';
import { PHASES } from '../rollout/phases.js';

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

  constructor(opts: { store: Store; heldRollouts?: () => number }) {
    this.storeUp.set(1);
    new client.Gauge({
      name: 'etape_rollouts',
      help: 'Rollouts in the store by phase.',
      labelNames: ['phase'],
      registers: [this.registry],
      async collect() {
        const all = await opts.store.listRollouts({});
        for (const p of Object.values(PHASES)) this.set({ phase: p }, all.filter((r) => r.phase === p).length);
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

  onDriverCall(kind: string, r: DriverResult, ms: number): void {
    if (r.fenced) return;
    this.driverSeconds.observe({ kind, outcome: r.ok ? 'succeeded' : 'failed' }, ms / 1000);
    if (!r.ok) this.driverFailures.inc({ kind });
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

// The `fleet` driver: deploys to the demo's local fleet of real processes (it lives with the demo and reaches
// etape through createDriver's extra makers). Deploy and rollback are a
// graceful restart that the cell is asked for (a hung cell never answers: the call fails with timedOut);
// force kills the process without asking and starts it on the given version (I4).
import type { Target } from '../core/types.js';
import { ms } from '../config/common.js';
import type { Driver, DriverCall, DriverResult, Observed } from '../drivers/driver.js';
import type { DriverMaker } from '../drivers/index.js';
import type { Fleet, RestartResult } from './fleet.js';

export interface FleetDriverOptions {
  /** How long a cell has to answer a graceful restart request before the call fails with timedOut. */
  askTimeoutMs?: number;
  /** How long a new process has to start and answer /health. */
  startTimeoutMs?: number;
  /** Timeout of the /health check of observe(). */
  healthTimeoutMs?: number;
  /** Offer drain and restore: the fleet's front door stops sending customers to a drained cell. */
  drain?: boolean;
}

/** The subset of Fleet the driver needs (a test may hand in its own). */
export type FleetLike = Pick<Fleet, 'gracefulRestart' | 'forceRestart' | 'health' | 'get'> & Partial<Pick<Fleet, 'drain' | 'restore'>>;

export function createFleetDriver(fleet: FleetLike, opts: FleetDriverOptions = {}): Driver {
  const askTimeoutMs = opts.askTimeoutMs ?? 2000;
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  const healthTimeoutMs = opts.healthTimeoutMs ?? 1000;
  // One result per idempotency key: a repeated call joins the first one or returns its result.
  const calls = new Map<string, Promise<DriverResult>>();

  function once(call: DriverCall, run: () => Promise<DriverResult>): Promise<DriverResult> {
    const prior = calls.get(call.key);
    if (prior) return prior;
    const p = run().catch((e): DriverResult => ({
      ok: false,
      detail: `fleet driver error: ${e instanceof Error ? e.message : String(e)}`,
      durationMs: 0,
      attempts: 1,
    }));
    calls.set(call.key, p);
    // A failed call may be retried under the same key once it has finished (it changed nothing).
    void p.then((r) => {
      if (!r.ok) calls.delete(call.key);
    });
    return p;
  }

  function result(r: RestartResult): DriverResult {
    return { ok: r.ok, detail: r.detail, timedOut: r.timedOut || undefined, durationMs: r.durationMs, attempts: 1 };
  }

  async function alreadyThere(t: Target, version: string): Promise<DriverResult | undefined> {
    const s = fleet.get(t.region, t.cell);
    if (!s || s.version !== version || s.state !== 'up') return undefined;
    const h = await fleet.health(t.region, t.cell, healthTimeoutMs);
    if (!h.ok || h.version !== version) return undefined;
    return { ok: true, detail: `already running ${version}`, durationMs: 0, attempts: 0 };
  }

  function exists(t: Target): DriverResult | undefined {
    if (fleet.get(t.region, t.cell)) return undefined;
    return { ok: false, detail: `no cell ${t.region}/${t.cell} in the local fleet`, durationMs: 0, attempts: 0 };
  }

  /** The front door's rotation: answers at once, even for a cell that hangs (nothing asks the cell). */
  const rotation = (call: DriverCall, what: 'drain' | 'restore') =>
    once(call, async () => {
      const missing = exists(call.target);
      if (missing) return missing;
      fleet[what]!(call.target.region, call.target.cell);
      return { ok: true, detail: what === 'drain' ? 'out of rotation at the front door' : 'back in rotation', durationMs: 0, attempts: 1 };
    });

  const graceful = (call: DriverCall, signal?: AbortSignal) =>
    once(call, async () => {
      const missing = exists(call.target);
      if (missing) return missing;
      const there = await alreadyThere(call.target, call.version);
      if (there) return there;
      return result(
        await fleet.gracefulRestart(call.target.region, call.target.cell, call.version, {
          askTimeoutMs,
          timeoutMs: startTimeoutMs,
          signal,
        }),
      );
    });

  return {
    deploy: graceful,
    rollback: graceful,
    force: (call, signal) =>
      once(call, async () => {
        const missing = exists(call.target);
        if (missing) return missing;
        return result(await fleet.forceRestart(call.target.region, call.target.cell, call.version, { timeoutMs: startTimeoutMs, signal }));
      }),
    ...(opts.drain && fleet.drain && fleet.restore
      ? {
          drain: (call: DriverCall) => rotation(call, 'drain'),
          restore: (call: DriverCall) => rotation(call, 'restore'),
        }
      : {}),
    async observe(target: Target): Promise<Observed> {
      const s = fleet.get(target.region, target.cell);
      if (!s) return { detail: `no cell ${target.region}/${target.cell} in the local fleet` };
      const h = await fleet.health(target.region, target.cell, healthTimeoutMs);
      return {
        version: s.version,
        healthy: h.ok,
        detail: `${s.state}, ${s.version}, pid ${s.pid ?? '-'}, port ${s.port}: ${h.ok ? 'healthy' : h.detail}`,
      };
    },
  };
}

/**
 * For `createDriver(service, { extra: { fleet: fleetDriverMaker(fleet) } })`: the config's `timeout` is how
 * long a cell has to answer a graceful restart request.
 */
export function fleetDriverMaker(fleet: FleetLike, opts: Omit<FleetDriverOptions, 'askTimeoutMs'> = {}): DriverMaker {
  return (cfg) => {
    if (cfg.kind !== 'fleet') throw new Error(`the fleet driver was given a ${cfg.kind} driver config`);
    return createFleetDriver(fleet, { ...opts, askTimeoutMs: ms(cfg.timeout), drain: cfg.drain });
  };
}

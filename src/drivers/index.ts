// Builds the driver a service's config names. The `fleet` driver (the local demo fleet) is injected by
// whoever has it through `extra`, so this file does not depend on the demo.
import type { Clock } from '../core/clock.js';
import { EtapeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Target } from '../core/types.js';
import type { DriverConfig, ServiceConfig } from '../config/service.js';
import type { FleetConfig } from '../config/fleet.js';
import { redactSecrets } from '../config/secrets.js';
import type { Driver, DriverCall, DriverResult } from './driver.js';
import { createExecDriver } from './exec.js';
import { createHttpDriver } from './http.js';

export interface DriverFactoryOptions {
  clock?: Clock;
  log?: Logger;
  /** The fleet, for `{var}` template values from region and cell `vars` (exec commands). */
  fleet?: FleetConfig;
  /** Environment for secrets and commands. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Retry backoff base (ms), mainly for tests. */
  backoffMs?: number;
  /**
   * Drivers of other kinds, by `kind`: the demo passes `{ fleet: (cfg, service, opts) => createFleetDriver(…) }`.
   * An entry here also overrides a built-in kind.
   */
  extra?: Partial<Record<DriverConfig['kind'] | string, DriverMaker>>;
  /** Known secret values (see knownSecrets): replaced by [redacted] in what a call reports, before it is stored. */
  secrets?: readonly string[];
}

export type DriverMaker = (cfg: DriverConfig, service: ServiceConfig, opts: DriverFactoryOptions) => Driver;

/**
 * Template values for a target from the fleet config: the region's `vars`, then the cell's (a cell's value
 * wins). Unknown regions or cells give no values.
 */
export function fleetVars(fleet: FleetConfig | undefined, target: { region: string; cell: string }): Record<string, string | number> {
  if (!fleet) return {};
  const region = fleet.regions.find((r) => r.id === target.region);
  if (!region) return {};
  const cell = region.cells.find((c) => c.id === target.cell);
  return { ...region.vars, ...(cell?.vars ?? {}) };
}

/**
 * `driver` whose results never repeat a secret: a deploy script that prints its environment or a webhook that
 * echoes its request must not put a token into the event log that every viewer reads.
 */
export function redactingDriver(driver: Driver, secrets: readonly string[]): Driver {
  if (secrets.length === 0) return driver;
  const clean = (r: DriverResult): DriverResult => ({
    ...r,
    detail: redactSecrets(r.detail, secrets),
    ...(r.output !== undefined ? { output: redactSecrets(r.output, secrets) } : {}),
  });
  return {
    ...(driver.armsAttempts ? { armsAttempts: true } : {}),
    ...(driver.callMs !== undefined ? { callMs: driver.callMs } : {}),
    deploy: async (call, signal) => clean(await driver.deploy(call, signal)),
    rollback: async (call, signal) => clean(await driver.rollback(call, signal)),
    force: async (call, signal) => clean(await driver.force(call, signal)),
    ...(driver.drain ? { drain: async (call: DriverCall, signal?: AbortSignal) => clean(await driver.drain!(call, signal)) } : {}),
    ...(driver.restore ? { restore: async (call: DriverCall, signal?: AbortSignal) => clean(await driver.restore!(call, signal)) } : {}),
    async observe(target, signal) {
      const o = await driver.observe(target, signal);
      return {
        ...o,
        detail: redactSecrets(o.detail, secrets),
        ...(o.version !== undefined ? { version: redactSecrets(o.version, secrets) } : {}),
      };
    },
    ...(driver.close ? { close: () => driver.close!() } : {}),
  };
}

/** The driver for `service`. Throws EtapeError('config.invalid') when the service cannot have one. */
export function createDriver(service: ServiceConfig, opts: DriverFactoryOptions = {}): Driver {
  return redactingDriver(createBareDriver(service, opts), opts.secrets ?? []);
}

function createBareDriver(service: ServiceConfig, opts: DriverFactoryOptions): Driver {
  const cfg = service.driver;
  if (!cfg) {
    throw new EtapeError(
      'config.invalid',
      `service ${service.name} has no driver: add a driver (kind exec, http or fleet) to it in etape.yaml`,
      {
        problems: [{ message: 'missing driver', path: `services.${service.name}.driver` }],
      },
    );
  }
  const made = opts.extra?.[cfg.kind];
  if (made) return made(cfg, service, opts);
  switch (cfg.kind) {
    case 'exec':
      return createExecDriver(cfg, {
        clock: opts.clock,
        log: opts.log,
        env: opts.env,
        backoffMs: opts.backoffMs,
        vars: (t: Target) => fleetVars(opts.fleet, t),
      });
    case 'http':
      return createHttpDriver(cfg, { clock: opts.clock, log: opts.log, env: opts.env, backoffMs: opts.backoffMs });
    case 'fleet':
      // The local demo fleet's driver lives with the demo (src/demo/fleet-driver.ts) and is passed in `extra`.
      throw new EtapeError(
        'config.invalid',
        `service ${service.name} uses the fleet driver, which only works with the local demo fleet: run it through \`etape demo\`, or use an exec or http driver`,
      );
  }
}

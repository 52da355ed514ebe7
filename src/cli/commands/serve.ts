// `etape serve`: the controller, the probes and the HTTP API in one long-running process. SIGTERM or SIGINT
// stops it cleanly: no new work, driver calls in flight finish (or are repeated after a restart), leases released.
import { Deliverer } from '../../notify/deliverer.js';
import { OperatorNotifier } from '../../notify/operators.js';
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { EtapeError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { systemClock } from '../../core/clock.js';
import { loadConfigFromProgram, requireSecrets } from '../context.js';
import { listenProblem } from '../../config/checks.js';
import { storeFromProgram } from '../store-context.js';
import { holdServeLease } from '../../controller/presence.js';
import { composeRuntime } from '../../controller/runtime.js';
import { createApi } from '../../api/app.js';
import { extraRoutes } from '../../api/routes.js';
import { serveApi } from '../../api/server.js';
import { StoreHealth } from '../../store/health.js';
import { EtapeMetrics } from '../../api/metrics.js';
import { startStatusPublisher, type StatusPublisher } from '../../statuspage/publisher.js';
import { startRetention } from '../../sla/rollup.js';

function durationOption(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = parseDuration(v);
  if (n === undefined || n <= 0) throw new EtapeError('usage', `${name} ${v}: give a duration like 15s or 500ms`);
  return n;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the controller, the probes and the HTTP API (see /openapi.json) until SIGTERM/SIGINT')
    .option('--listen <host:port>', 'address of the HTTP API (default: config server.listen)')
    .option('--lease <duration>', 'how long a rollout stays with this process without renewal (default 15s)')
    .option('--no-probes', 'do not run the HTTP probes (evidence comes from elsewhere)')
    .option('--no-status-page', 'do not build and publish the status page (statuspage.out, statuspage.publish)')
    .action(async (opts: { listen?: string; lease?: string; probes: boolean; statusPage: boolean }, cmd: Command) => {
      const loaded = await loadConfigFromProgram(cmd);
      const { config, file } = loaded;
      requireSecrets(loaded, 'etape serve');
      if (opts.listen !== undefined) {
        const why = listenProblem(opts.listen);
        if (why) throw new EtapeError('usage', `--listen ${opts.listen}: ${why}`);
      }
      const leaseMs = durationOption('--lease', opts.lease, 15_000);
      const log = createLogger();
      const store = await storeFromProgram(cmd, config);
      // The controller, the probes and the metric and judge runners, as every driver of rollouts runs them;
      // what the probes and runners record wakes the controller at once when it is bad news.
      let stopServe: ((why: string, code: number) => Promise<void>) | undefined;
      // The store's health is the server's: /healthz fails while it cannot be written, and a SQLite file
      // that disappears stops the server rather than let it go on without history.
      const metrics = new EtapeMetrics({
        store,
        heldRollouts: () => runtime.controller.heldRollouts.length,
        backlog: () => runtime.prober?.backlog ?? 0,
      });
      const health = new StoreHealth({
        onChange: (h) => {
          metrics.storeUp.set(h.ok ? 1 : 0);
          if (!h.ok) metrics.storeErrors.inc();
        },
        store,
        holder: `serve:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
        log,
        onVanished: (why) => {
          log.fatal({ why }, 'the store is gone: stopping');
          process.stderr.write(
            `etape serve: ${why}; stopping (nothing more can be recorded). Restore the file or point --store at a store.\n`,
          );
          void stopServe?.('store gone', 1);
        },
      });
      // Set once the publisher starts (below): what the runtime records reaches it, so a change is published at once.
      const page: { publisher?: StatusPublisher } = {};
      const runtime = composeRuntime({
        listener: {
          evidence: (obs) => {
            metrics.onObservations(obs);
            page.publisher?.evidence(obs);
          },
          events: (evs) => page.publisher?.events(evs),
        },
        store,
        config,
        clock: systemClock,
        log,
        probes: opts.probes,
        drift: true,
        settings: { leaseMs },
        shareProbes: true,
        hooks: {
          onError: (e) => {
            metrics.storeErrors.inc();
            health.report(e);
          },
          onLease: (_id, what, token) => metrics.onLease(what, token),
          onDriverCall: (kind, r, ms) => metrics.onDriverCall(kind, r, ms),
          onReconcile: (_id, ms) => metrics.reconcileSeconds.observe(ms / 1000),
        },
      });
      const controller = runtime.controller;
      const app = createApi({
        store,
        config,
        log,
        onChange: () => controller.nudge({ relist: true }),
        routes: extraRoutes,
        health: () => health.current,
        metrics: () => metrics.text(),
      });
      let server;
      try {
        server = await serveApi(app, opts.listen ?? config.server.listen);
      } catch (e) {
        await store.close();
        throw e;
      }
      if (config.server.tokens.length === 0)
        process.stderr.write(
          `etape serve: WARNING: no API tokens are configured (server.tokens in ${file}), so every /api/ request is refused with 401.\n` +
            `  Add tokens, each with a name, a role (viewer or operator) and the token from the environment: { env: NAME }.\n`,
        );
      const releaseServe = holdServeLease(store, controller.holder, leaseMs);
      health.start();
      runtime.start();
      // The status page is rebuilt from the same evidence when a component's status changes (debounced) and
      // every statuspage.buildEvery, and published by statuspage.publish if set; the files it leaves behind
      // outlive this process and say how old they are. With several servers, only the elected one publishes.
      const publisher = opts.statusPage
        ? startStatusPublisher({ store, config, clock: systemClock, log, elect: { holder: controller.holder, leaseMs } })
        : undefined;
      page.publisher = publisher;
      // Notifications: the outbox is sent in the background; operator events are read from the event log.
      const deliverer = new Deliverer({ store, config, clock: systemClock, log });
      deliverer.start();
      const operators = new OperatorNotifier({ store, config, clock: systemClock, log, baseUrl: config.notifications.email?.publicUrl });
      operators.start();
      // Retention: finished days rolled up, old raw observations and rollups pruned (server.retention), hourly.
      const retention = startRetention({ store, config, log, now: () => store.now() });
      log.info({ config: file, url: server.url, holder: controller.holder }, 'etape serve started');
      process.stdout.write(`etape serve: listening on ${server.url} (API under /api/, dashboard at /ui/, description at /openapi.json)\n`);

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = async (signal: string, code = 0) => {
          if (stopping) return;
          stopping = true;
          if (code) process.exitCode = code;
          log.info({ signal }, 'stopping');
          health.stop();
          await server.close();
          await runtime.stop({ abortCalls: true });
          await publisher?.stop();
          await operators.stop();
          await deliverer.stop();
          await retention.stop();
          await releaseServe();
          await store.close();
          resolve();
        };
        stopServe = stop;
        process.once('SIGTERM', () => void stop('SIGTERM'));
        process.once('SIGINT', () => void stop('SIGINT'));
      });
      process.stdout.write('etape serve: stopped\n');
    });
}

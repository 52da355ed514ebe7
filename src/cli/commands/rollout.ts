// `etape rollout start|status|pause|resume|abort|approve|retry|history|follow` and `etape target force`: the
// rollout operations on the store. `start --follow` shows live progress; when no `etape serve` is running it drives the rollout itself.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { systemClock } from '../../core/clock.js';
import { printable } from '../../core/text.js';
import { EtapeError, isEtapeError } from '../../core/errors.js';
import { formatDuration } from '../../core/duration.js';
import { createLogger } from '../../core/log.js';
import type { EtapeConfig } from '../../config/schema.js';
import type { Store } from '../../store/store.js';
import { loadConfigFromProgram, requireSecrets } from '../context.js';
import { storeFromProgram } from '../store-context.js';
import * as ops from '../../rollout/operations.js';
import { isTerminal } from '../../rollout/phases.js';
import { renderEvent, renderSummary, summarize, type RolloutSummary } from '../../rollout/view.js';
import type { Runtime } from '../../controller/runtime.js';
import { serverRunning } from '../../controller/presence.js';
import { driftReport, renderDrift } from '../../drift/operations.js';

/** Writes to stdout without the escape sequences user text may carry (titles, reasons, command output). */
const say = (s: string): boolean => process.stdout.write(printable(s));

/** Who a command acts as: ETAPE_ACTOR when set (scripts, tests), else `cli:<user>`. */
export function cliActor(): string {
  if (process.env.ETAPE_ACTOR) return process.env.ETAPE_ACTOR;
  try {
    return `cli:${userInfo().username || 'unknown'}`;
  } catch {
    return 'cli:unknown';
  }
}

async function configOptional(cmd: Command): Promise<EtapeConfig | undefined> {
  try {
    return (await loadConfigFromProgram(cmd)).config;
  } catch (e) {
    if (isEtapeError(e) && e.code === 'config.not_found') return undefined;
    throw e;
  }
}

async function withStore<T>(cmd: Command, config: EtapeConfig | undefined, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await storeFromProgram(cmd, config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function parseWave(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new EtapeError('usage', `--wave ${v}: give a wave number, 1 or more`);
  return n;
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program.command('rollout').description('start, watch and steer rollouts');

  rollout
    .command('start')
    .description('plan and start a rollout of <service> to <version>')
    .argument('<service>', 'a service from the config')
    .argument('<version>', 'the version to roll out')
    .option('-f, --follow', 'show live progress until the rollout ends (and drive it when no `etape serve` runs)')
    .option('--id <id>', 'the rollout id (default: service, time and a random suffix)')
    .option('--no-rollback', 'after a halt, wait for a person instead of rolling back')
    .action(async (service: string, version: string, opts: { follow?: boolean; id?: string; rollback: boolean }, cmd: Command) => {
      const loaded = await loadConfigFromProgram(cmd);
      const { config } = loaded;
      // The service's driver must be able to sign its calls before the rollout exists.
      const at = config.services.findIndex((s) => s.name === service);
      requireSecrets(loaded, `rollout start ${service}`, { only: (p) => p[0] === 'services' && p[1] === at });
      await withStore(cmd, config, async (store) => {
        const rec = await ops.startRollout(
          { store, config, clock: systemClock },
          { service, version, actor: cliActor(), id: opts.id, rollbackOnHalt: opts.rollback },
        );
        const s = summarize(rec);
        say(`started rollout ${rec.id}: ${s.service} ${s.fromVersion ?? '?'} → ${s.version} in ${s.waves.length} wave(s)\n`);
        if (opts.follow) {
          process.exitCode = await follow(store, config, rec.id);
        } else if (!(await serverRunning(store))) {
          say(`no \`etape serve\` is running: start one, or drive it here with \`etape rollout follow ${rec.id}\`\n`);
        }
      });
    });

  rollout
    .command('follow')
    .description('show live progress of a rollout until it ends (and drive it when no `etape serve` runs)')
    .argument('<id>', 'rollout id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { config } = await loadConfigFromProgram(cmd);
      await withStore(cmd, config, async (store) => {
        await ops.getRollout(store, id);
        process.exitCode = await follow(store, config, id);
      });
    });

  rollout
    .command('status')
    .description('show one rollout, or the active ones (all recent ones with --all)')
    .argument('[id]', 'rollout id')
    .option('--json', 'print JSON')
    .option('--all', 'without an id: recent rollouts too, not only active ones')
    .option('--service <name>', 'without an id: only this service')
    .action(async (id: string | undefined, opts: { json?: boolean; all?: boolean; service?: string }, cmd: Command) => {
      const config = await configOptional(cmd);
      await withStore(cmd, config, async (store) => {
        if (id) {
          const s = summarize(await ops.getRollout(store, id));
          say(opts.json ? JSON.stringify(s, null, 2) + '\n' : renderSummary(s) + '\n');
          return;
        }
        const list = (await ops.listRollouts(store, { service: opts.service, active: !opts.all, limit: opts.all ? 20 : undefined })).map(
          summarize,
        );
        // Targets running a version etape did not verify (drift, I9), per service of the config.
        const drift = config ? await driftReport(store, config, opts.service) : [];
        if (opts.json) say(JSON.stringify({ rollouts: list, ...(config ? { drift } : {}) }, null, 2) + '\n');
        else {
          if (list.length === 0) say(opts.all ? 'no rollouts yet\n' : 'no active rollouts (see recent ones with --all)\n');
          else say(list.map(renderSummary).join('\n\n') + '\n');
          const lines = renderDrift(drift);
          if (lines.length) say(lines.join('\n') + '\n');
        }
      });
    });

  const steer = (
    name: string,
    description: string,
    run: (store: Store, id: string, opts: Record<string, string | undefined>) => Promise<unknown>,
  ) =>
    rollout
      .command(name)
      .description(description)
      .argument('<id>', 'rollout id')
      .option('--reason <text>', 'why (kept in the event log)')
      .action(async (id: string, opts: Record<string, string | undefined>, cmd: Command) => {
        const config = await configOptional(cmd);
        await withStore(cmd, config, async (store) => {
          await run(store, id, opts);
          const s = summarize(await ops.getRollout(store, id));
          say(renderSummary(s) + '\n');
        });
      });
  const ctx = (store: Store) => ({ store, clock: systemClock });
  steer('pause', 'pause: no new wave starts and bake does not accrue (gates still watch)', (store, id, o) =>
    ops.pauseRollout(ctx(store), id, cliActor(), o.reason),
  );
  steer('resume', 'resume a paused rollout', (store, id) => ops.resumeRollout(ctx(store), id, cliActor()));
  steer('abort', 'abort: every touched target goes back to its last verified version', (store, id, o) =>
    ops.abortRollout(ctx(store), id, cliActor(), o.reason),
  );
  steer('retry', 'a failed rollback: roll back again whatever is not back yet, along the pair-safe order', (store, id) =>
    ops.retryRollout(ctx(store), id, cliActor()),
  );
  steer('approve', 'approve a wave that waits for approval (default: the current wave)', (store, id, o) =>
    ops.approveWave(ctx(store), id, cliActor(), o.wave === undefined ? undefined : parseWave(o.wave)),
  ).option('--wave <n>', 'the wave to approve');

  program
    .command('target')
    .description('act on one target of a service')
    .command('force')
    .description(
      'kill and restart one target on a version it ran before (inside the rollout whose rollback failed on it, else as a force rollout of that target)',
    )
    .argument('<service>', 'a service from the config')
    .argument('<target>', 'region/cell')
    .argument('<version>', 'a version the service ran before')
    .option('--reason <text>', 'why (kept in the event log)')
    .option('-f, --follow', 'show live progress until it ends (and drive it when no `etape serve` runs)')
    .action(async (service: string, target: string, version: string, opts: { reason?: string; follow?: boolean }, cmd: Command) => {
      const loaded = await loadConfigFromProgram(cmd);
      const { config } = loaded;
      const at = config.services.findIndex((s) => s.name === service);
      requireSecrets(loaded, `target force ${service}`, { only: (p) => p[0] === 'services' && p[1] === at });
      await withStore(cmd, config, async (store) => {
        const r = await ops.forceTarget(
          { store, config, clock: systemClock },
          { service, target, version, actor: cliActor(), reason: opts.reason },
        );
        say(
          r.via === 'rollback'
            ? `forcing ${target} back to ${version} inside rollout ${r.rollout.id}, along its pair-safe rollback\n`
            : `started force ${r.rollout.id}: ${target} → ${version}\n`,
        );
        if (opts.follow)
          process.exitCode = await follow(store, config, r.rollout.id, r.via === 'rollback' ? ['rolled_back'] : ['completed']);
        else if (!(await serverRunning(store)))
          say(`no \`etape serve\` is running: start one, or drive it here with \`etape rollout follow ${r.rollout.id}\`\n`);
      });
    });

  rollout
    .command('history')
    .description("print a rollout's event log: who did what, when")
    .argument('<id>', 'rollout id')
    .option('--json', 'print JSON lines')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const config = await configOptional(cmd);
      await withStore(cmd, config, async (store) => {
        const events = await ops.rolloutHistory(store, id);
        for (const e of events) say((opts.json ? JSON.stringify(e) : `${String(e.seq).padStart(6)}  ${renderEvent(e)}`) + '\n');
      });
    });
}

/** One line on where the rollout stands: each wave's state, the bake countdown, the gate verdicts. */
function progressLine(s: RolloutSummary): string {
  const waves = s.waves
    .map((w) => {
      const mark = { waiting: '·', awaiting_approval: '?', deploying: '>', baking: '~', verified: '✓' }[w.status] ?? ' ';
      return `${mark}${w.index}`;
    })
    .join(' ');
  const cur = s.waves.find((w) => w.index === s.currentWave);
  let detail = '';
  if (cur?.status === 'baking') {
    detail = ` wave ${cur.index} baking: ${formatDuration(cur.bakeLeftMs)} left${cur.accruing ? '' : ' (held)'}`;
  } else if (cur?.status === 'deploying') {
    const counts = new Map<string, number>();
    for (const t of cur.targets) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
    detail = ` wave ${cur.index} deploying: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`;
  } else if (cur?.status === 'awaiting_approval') detail = ` wave ${cur.index} waits for approval`;
  const gates = cur?.gates.map((g) => `${g.gate}=${g.verdict}`).join(' ') ?? '';
  return `[${s.phase}] ${waves}${detail}${gates ? `  ${gates}` : ''}`;
}

/**
 * Prints the rollout's events as they are appended and a progress line while it bakes, until it ends.
 * Drives the rollout with an in-process controller (and prober) when no server is running. Returns the
 * exit code: 0 when it ends in a `success` phase (completed), 1 otherwise.
 */
export async function follow(store: Store, config: EtapeConfig, id: string, success: readonly string[] = ['completed']): Promise<number> {
  let runtime: Runtime | undefined;
  if (!(await serverRunning(store))) {
    const { composeRuntime } = await import('../../controller/runtime.js');
    const log = createLogger({ level: process.env.ETAPE_LOG_LEVEL ?? 'warn' });
    // The same parts as `etape serve` (probes, metric and judge runners), driving this one rollout.
    runtime = composeRuntime({ store, config, clock: systemClock, log, only: [id] });
    runtime.start();
    say(`no \`etape serve\` is running: driving rollout ${id} from here (Ctrl-C stops; it resumes where it was)\n`);
  }
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let after = 0;
  let lastShape = '';
  let lastLineAt = 0;
  try {
    for (;;) {
      const events = await store.listEvents({ rolloutId: id, afterSeq: after });
      for (const e of events) {
        say(renderEvent(e) + '\n');
        after = e.seq;
      }
      const rec = await ops.getRollout(store, id);
      const s = summarize(rec);
      const line = progressLine(s);
      // A new line when something other than the countdown changed, else the countdown every few seconds.
      const shape = line.replace(/[\d.]+(ms|[smhdw])\b/g, '');
      const now = Date.now();
      if (shape !== lastShape || now - lastLineAt >= 5000) {
        say(line + '\n');
        lastShape = shape;
        lastLineAt = now;
      }
      if (isTerminal(rec.phase)) {
        say(renderSummary(s) + '\n');
        return success.includes(rec.phase) ? 0 : 1;
      }
      if (stopping) {
        say(
          `stopped following ${id}; it is ${rec.phase} and goes on when a controller runs (\`etape serve\` or \`etape rollout follow ${id}\`)\n`,
        );
        return 1;
      }
      await systemClock.sleep(250);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runtime?.stop({ abortCalls: stopping });
  }
}

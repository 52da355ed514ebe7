// `etape incident open|update|resolve|show|list|maintenance`: people's side of incidents. Every change is
// a public update on the status page; `list` flags open incidents overdue for one (I7).
import { createNotifier } from '../../notify/outbox.js';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { cliActor } from './rollout.js';
import { systemClock } from '../../core/clock.js';
import { printable } from '../../core/text.js';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { EtapeError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { ms } from '../../config/common.js';
import { loadConfig } from '../../config/load.js';
import type { EtapeConfig } from '../../config/schema.js';
import type { Store } from '../../store/store.js';
import { storeFromProgram } from '../store-context.js';
import { componentsFromConfig } from '../../status/status.js';
import {
  getIncidentOp,
  knownFrom,
  listIncidentsOp,
  openIncidentOp,
  publishPostmortemOp,
  resolveIncidentOp,
  scheduleMaintenanceOp,
  updateIncidentOp,
  type IncidentDeps,
  type IncidentView,
} from '../../incidents/service.js';
import { effectiveMaintenanceStatus } from '../../incidents/lifecycle.js';

/** Writes to stdout without the escape sequences user text may carry (titles, reasons, command output). */
const say = (s: string): boolean => process.stdout.write(printable(s));

async function withDeps<T>(cmd: Command, f: (deps: IncidentDeps, config: EtapeConfig) => Promise<T>): Promise<T> {
  const g = cmd.optsWithGlobals() as { config: string };
  const { config } = await loadConfig(g.config);
  const store: Store = await storeFromProgram(cmd, config);
  const log = createLogger({ name: 'etape' });
  const notifier = createNotifier({ config, store, clock: systemClock, log });
  try {
    return await f(
      {
        store,
        clock: systemClock,
        log,
        notifier,
        updateCadenceMs: ms(config.statuspage.updateCadence),
        known: knownFrom(componentsFromConfig(config)),
        baseUrl: config.statuspage.url?.replace(/\/+$/, ''),
      },
      config,
    );
  } finally {
    await notifier.idle();
    await store.close();
  }
}

/** An ISO time, or `+2h` / `in 2h` from now. */
export function parseWhen(s: string, now: number, what: string): number {
  const rel = /^(?:\+|in\s+)(.+)$/.exec(s.trim());
  if (rel) {
    const d = parseDuration(rel[1]);
    if (d === undefined) throw new EtapeError('usage', `${what}: "${s}" is not a time: write an ISO time (2026-11-25T02:00Z) or +2h`);
    return now + d;
  }
  const t = Date.parse(s);
  if (Number.isNaN(t) || !/\d{4}-\d{2}-\d{2}/.test(s))
    throw new EtapeError('usage', `${what}: "${s}" is not a time: write an ISO time (2026-11-25T02:00Z) or +2h`);
  return t;
}

function collect(v: string, prev: string[] = []): string[] {
  return [
    ...prev,
    ...v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ];
}

function line(i: IncidentView, now: number): string {
  const st = i.kind === 'maintenance' ? effectiveMaintenanceStatus(i, now) : i.status;
  const flag = i.overdue ? `  OVERDUE: last public update ${formatDuration(now - i.lastUpdateAt)} ago` : '';
  const when =
    i.kind === 'maintenance' && i.scheduledFor !== null && i.scheduledUntil !== null
      ? `${new Date(i.scheduledFor).toISOString()} → ${new Date(i.scheduledUntil).toISOString()}`
      : new Date(i.createdAt).toISOString();
  return `${i.id}  ${st.padEnd(13)} ${i.impact.padEnd(11)} ${when}  ${i.title}  [${i.components.join(', ')}]${flag}`;
}

function print(i: IncidentView, json: boolean | undefined): void {
  if (json) {
    say(JSON.stringify(i, null, 2) + '\n');
    return;
  }
  const now = systemClock.now();
  const out = [line(i, now)];
  for (const u of [...i.updates].reverse()) out.push(`  ${new Date(u.at).toISOString()}  ${u.status.padEnd(13)} ${u.body}  (${u.actor})`);
  say(out.join('\n') + '\n');
}

export function registerIncidentCommands(program: Command): void {
  const inc = program.command('incident').description('open, update and resolve incidents; schedule maintenance');
  inc
    .command('open')
    .description('open an incident (shown on the status page at once)')
    .requiredOption('-t, --title <text>', 'what people see, e.g. "Uploads fail in westeurope"')
    .option('-i, --impact <impact>', 'none, minor, major or critical', 'minor')
    .option(
      '--component <service/region>',
      'affected component (repeat or comma-separate; a bare service means all its regions)',
      collect,
      [],
    )
    .option('-m, --message <text>', 'the first public update')
    .option('-s, --status <status>', 'investigating (default), identified or monitoring')
    .option('--json', 'print the incident as JSON')
    .action(
      async (
        o: { title: string; impact: string; component: string[]; message?: string; status?: string; json?: boolean },
        cmd: Command,
      ) => {
        const v = await withDeps(cmd, (deps) =>
          openIncidentOp(deps, {
            title: o.title,
            impact: o.impact,
            components: o.component,
            body: o.message,
            status: o.status,
            actor: cliActor(),
          }),
        );
        print(v, o.json);
      },
    );
  inc
    .command('update <id>')
    .description('add a public update; optionally move the status, impact or components')
    .option('-m, --message <text>', 'the update people read', '')
    .option(
      '-s, --status <status>',
      'investigating, identified, monitoring, resolved, postmortem (maintenance: scheduled, in_progress, verifying, completed)',
    )
    .option('-i, --impact <impact>', 'none, minor, major or critical')
    .option('--component <service/region>', 'replace the affected components (repeat or comma-separate)', collect)
    .option('--json', 'print the incident as JSON')
    .action(
      async (id: string, o: { message: string; status?: string; impact?: string; component?: string[]; json?: boolean }, cmd: Command) => {
        const v = await withDeps(cmd, (deps) =>
          updateIncidentOp(deps, id, { body: o.message, status: o.status, impact: o.impact, components: o.component, actor: cliActor() }),
        );
        print(v, o.json);
      },
    );
  inc
    .command('resolve <id>')
    .description('resolve an incident (or complete a maintenance) with a closing update')
    .option('-m, --message <text>', 'the closing update')
    .option('--json', 'print the incident as JSON')
    .action(async (id: string, o: { message?: string; json?: boolean }, cmd: Command) => {
      const v = await withDeps(cmd, (deps) => resolveIncidentOp(deps, id, { body: o.message, actor: cliActor() }));
      print(v, o.json);
    });
  inc
    .command('postmortem <id>')
    .description('publish (or revise) the postmortem of a resolved incident: on its page, in the JSON and the feed')
    .option('-m, --message <text>', 'the postmortem text')
    .option('-f, --file <path>', 'read the postmortem text from a file (plain text; blank lines separate paragraphs)')
    .option('--json', 'print the incident as JSON')
    .action(async (id: string, o: { message?: string; file?: string; json?: boolean }, cmd: Command) => {
      if ((o.message === undefined) === (o.file === undefined))
        throw new EtapeError('usage', 'give the postmortem with --message or --file (one of them)');
      let text = o.message ?? '';
      if (o.file !== undefined) {
        try {
          text = readFileSync(o.file, 'utf8');
        } catch (e) {
          throw new EtapeError('usage', `cannot read --file ${o.file}: ${(e as Error).message}`);
        }
      }
      const v = await withDeps(cmd, (deps) => publishPostmortemOp(deps, id, { text, actor: cliActor() }));
      print(v, o.json);
    });
  inc
    .command('show <id>')
    .description('show an incident and its timeline')
    .option('--json', 'print the incident as JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      print(await withDeps(cmd, (deps) => getIncidentOp(deps, id)), o.json);
    });
  inc
    .command('list')
    .description('list incidents and maintenance, newest first; open incidents overdue for an update are flagged')
    .option('--open', 'only open ones (and maintenance not completed)')
    .option('--overdue', 'only open incidents overdue for a public update')
    .option('--kind <kind>', 'incident or maintenance')
    .option('-n, --limit <n>', 'at most this many', '50')
    .option('--json', 'print as JSON')
    .action(async (o: { open?: boolean; overdue?: boolean; kind?: string; limit: string; json?: boolean }, cmd: Command) => {
      if (o.kind !== undefined && o.kind !== 'incident' && o.kind !== 'maintenance')
        throw new EtapeError('usage', `--kind ${o.kind}: use incident or maintenance`);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit <= 0) throw new EtapeError('usage', `--limit ${o.limit}: give a positive whole number`);
      const list = await withDeps(cmd, (deps) =>
        listIncidentsOp(deps, {
          open: o.open || o.overdue,
          overdue: o.overdue,
          kind: o.kind as 'incident' | 'maintenance' | undefined,
          limit,
        }),
      );
      if (o.json) {
        say(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      const now = systemClock.now();
      say(list.length ? list.map((i) => line(i, now)).join('\n') + '\n' : 'No incidents.\n');
      const overdue = list.filter((i) => i.overdue);
      if (overdue.length)
        process.stderr.write(`${overdue.length} open incident(s) overdue for a public update: etape incident update ID --message "…"\n`);
    });
  inc
    .command('maintenance')
    .description('announce a maintenance window (announced in advance, it is not counted against the SLA)')
    .requiredOption('-t, --title <text>', 'e.g. "Database upgrade in westeurope"')
    .requiredOption('--start <time>', 'ISO time (2026-11-25T02:00Z) or +2h')
    .requiredOption('--end <time>', 'ISO time or +4h')
    .option(
      '--component <service/region>',
      'affected component (repeat or comma-separate; a bare service means all its regions)',
      collect,
      [],
    )
    .option('-m, --message <text>', 'what will happen and what people will notice')
    .option('--json', 'print the maintenance as JSON')
    .action(
      async (o: { title: string; start: string; end: string; component: string[]; message?: string; json?: boolean }, cmd: Command) => {
        const now = systemClock.now();
        const start = parseWhen(o.start, now, '--start');
        const end = parseWhen(o.end, now, '--end');
        const v = await withDeps(cmd, (deps) =>
          scheduleMaintenanceOp(deps, { title: o.title, components: o.component, body: o.message, start, end, actor: cliActor() }),
        );
        print(v, o.json);
      },
    );
}

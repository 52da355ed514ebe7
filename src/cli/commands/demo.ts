// `etape demo`: replays the 2014 storage outage on a local fleet, all at once and then through etape, and
// prints the verdict. Stops every process it started, also on Ctrl-C and on a crash of its own.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('replay the 2014 storage outage on a local fleet: all at once, then staged through etape, side by side')
    .option('--fault <kind>', "the bad version's bug: hang, errors, latency or crash-loop", 'hang')
    .option('--regions <n>', 'regions besides the canary (default 8: four pairs over three geographies)')
    .option('--cells <n>', 'cells per region (default 2 or 3, by region weight)')
    .option('--out <dir>', 'output folder (default demo-out/<timestamp>)')
    .option('--only <run>', 'run only one side: all-at-once or staged')
    .option('--json', 'print the verdict as JSON (the live view goes to stderr as plain lines)')
    .addHelpText(
      'after',
      '\nExamples:\n  etape demo\n  etape demo --fault errors --regions 4 --cells 2\n  etape demo --json > verdict.json',
    )
    .action(async (o: { fault: string; regions?: string; cells?: string; out?: string; only?: string; json?: boolean }) => {
      const { FAULTS } = await import('../../demo/blob-server.js');
      if (!(FAULTS as readonly string[]).includes(o.fault)) {
        throw new EtapeError('usage', `--fault ${o.fault}: choose one of ${FAULTS.join(', ')}`);
      }
      const int = (name: string, v: string | undefined, lo: number, hi: number) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < lo || n > hi)
          throw new EtapeError('usage', `--${name} ${v}: give a whole number from ${lo} to ${hi}`);
        return n;
      };
      const regions = int('regions', o.regions, 1, 64);
      const cells = int('cells', o.cells, 1, 16);
      if (o.only !== undefined && o.only !== 'all-at-once' && o.only !== 'staged') {
        throw new EtapeError('usage', `--only ${o.only}: choose all-at-once or staged`);
      }
      const { runDemo } = await import('../../demo/run.js');
      const { verdictSummary } = await import('../../demo/verdict.js');
      const { killAllCellsSync } = await import('../../demo/fleet.js');

      // Ctrl-C (or SIGTERM): stop cleanly; a second one stops at once. A crash of our own kills the cells too.
      const ac = new AbortController();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          process.stderr.write(`\netape demo: ${sig}: stopping every process it started…\n`);
          ac.abort();
        } else {
          killAllCellsSync();
          process.stderr.write('\x1b[?25h');
          process.exit(130);
        }
      };
      const onCrash = (e: unknown) => {
        killAllCellsSync();
        process.stderr.write('\x1b[?25h');
        process.stderr.write(`etape demo: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(1);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      process.on('uncaughtException', onCrash);
      process.on('unhandledRejection', onCrash);
      try {
        const verdict = await runDemo({
          fault: o.fault as (typeof FAULTS)[number],
          regions,
          cells,
          out: o.out,
          runs: o.only ? [o.only as 'all-at-once' | 'staged'] : undefined,
          output: o.json ? process.stderr : process.stdout,
          tty: o.json ? false : undefined,
          signal: ac.signal,
        });
        if (o.json) process.stdout.write(JSON.stringify(verdict, null, 2) + '\n');
        else process.stdout.write('\n' + verdictSummary(verdict) + '\n');
        if (verdict.aborted) process.exitCode = 130;
        else if (verdict.leftover_pids.length) process.exitCode = 1;
      } finally {
        killAllCellsSync();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        process.off('uncaughtException', onCrash);
        process.off('unhandledRejection', onCrash);
      }
    });
}

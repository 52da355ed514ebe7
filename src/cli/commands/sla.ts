// `etape sla report`: availability per service × region for a billing month, the tier reached, the credit
// each customer is owed, and the incidents behind the downtime (I8).
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';
import { formatPath, loadConfig } from '../../config/load.js';
import { checkSlaConfig } from '../../config/sla.js';
import { storeFromProgram } from '../store-context.js';
import { slaReportFromStore } from '../../sla/from-store.js';
import { formatSlaCsv, formatSlaTable, monthOf, parseMonth, slaReportJson } from '../../sla/report.js';

const FORMATS = ['table', 'csv', 'json'] as const;

export function registerSlaCommands(program: Command): void {
  const sla = program.command('sla').description('SLA credits from measured downtime');
  sla
    .command('report')
    .description('availability per service × region for a month (UTC), the tier reached, credits per customer, and the incidents behind the downtime')
    .option('--month <YYYY-MM>', 'billing month, in UTC (default: the current month, counted up to now)')
    .option('--service <id>', 'only this service')
    .option('--customer <id>', 'only this customer')
    .option('--format <format>', 'table, csv or json', 'table')
    .action(async (opts: { month?: string; service?: string; customer?: string; format: string }, cmd: Command) => {
      if (!(FORMATS as readonly string[]).includes(opts.format))
        throw new EtapeError('usage', `--format ${opts.format} is not known: use table, csv or json`);
      const now = Date.now();
      const period = parseMonth(opts.month ?? monthOf(now));
      if (period.fromMs > now)
        throw new EtapeError('usage', `--month ${period.label} has not started yet: pick ${monthOf(now)} or an earlier month`);
      const globals = cmd.optsWithGlobals() as { config?: string };
      const { config, file } = await loadConfig(globals.config ?? 'etape.yaml');
      const problems = checkSlaConfig(config);
      if (problems.length > 0)
        throw new EtapeError('config.invalid', `${file}: the sla or customers section has problems: fix them and run again`, {
          problems: problems.map((p) => ({ message: p.message, path: formatPath(p.path) })),
        });
      const store = await storeFromProgram(cmd, config);
      try {
        const report = await slaReportFromStore({
          config,
          store,
          period,
          nowMs: now,
          filter: { service: opts.service, customer: opts.customer },
        });
        const out =
          opts.format === 'json'
            ? JSON.stringify(slaReportJson(report), null, 2) + '\n'
            : opts.format === 'csv'
              ? formatSlaCsv(report)
              : formatSlaTable(report);
        process.stdout.write(out);
      } finally {
        await store.close();
      }
    });
}

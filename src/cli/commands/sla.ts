// `etape sla report`: availability per service × region for a billing month, the tier reached, the credit
// each customer is owed, and the incidents behind the downtime (I8).
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';
import { loadConfigFromProgram } from '../context.js';
import { storeFromProgram } from '../store-context.js';
import { slaReportFromStore } from '../../sla/from-store.js';
import { monthOf, parseMonth } from '../../sla/report.js';
import { formatSlaCsv, formatSlaTable, slaReportJson } from '../../sla/report-format.js';

const FORMATS = ['table', 'csv', 'json'] as const;

export function registerSlaCommands(program: Command): void {
  const sla = program.command('sla').description('SLA credits from measured downtime');
  sla
    .command('report')
    .description(
      'availability per service × region for a month (UTC), the tier reached, credits per customer, and the incidents behind the downtime',
    )
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
      // The loader checks the sla and customers sections (config/sla.ts checkSlaConfig) with file:line.
      const { config, file } = await loadConfigFromProgram(cmd);
      if (config.sla.length === 0)
        throw new EtapeError(
          'usage',
          `${file} defines no SLA: add an \`sla:\` section (for example \`- { service: blob, preset: storage }\`) and \`customers:\`; see docs/sla.md`,
        );
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

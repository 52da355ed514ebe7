// Placeholder until the SLA credits (issue 7) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerSlaCommands(program: Command): void {
  program
    .command('sla')
    .description('(not built yet: SLA credits (issue 7))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape sla` is not built yet (SLA credits (issue 7)).');
    });
}

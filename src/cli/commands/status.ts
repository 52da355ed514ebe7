// Placeholder until the status page (issue 5) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerStatusCommands(program: Command): void {
  program
    .command('status')
    .description('(not built yet: status page (issue 5))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape status` is not built yet (status page (issue 5)).');
    });
}

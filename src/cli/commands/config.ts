// Placeholder until the fleet config (issue 2) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('init')
    .description('(not built yet: fleet config (issue 2))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape init` is not built yet (fleet config (issue 2)).');
    });
}

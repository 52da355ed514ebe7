// Placeholder until the demo (issue 4) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('(not built yet: demo (issue 4))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape demo` is not built yet (demo (issue 4)).');
    });
}

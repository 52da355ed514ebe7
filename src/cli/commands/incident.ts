// Placeholder until the incidents (issue 5) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerIncidentCommands(program: Command): void {
  program
    .command('incident')
    .description('(not built yet: incidents (issue 5))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape incident` is not built yet (incidents (issue 5)).');
    });
}

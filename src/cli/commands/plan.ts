// Placeholder until the wave planner (issue 2) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('(not built yet: wave planner (issue 2))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape plan` is not built yet (wave planner (issue 2)).');
    });
}

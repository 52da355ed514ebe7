// Placeholder until the rollout engine (issue 3) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerRolloutCommands(program: Command): void {
  program
    .command('rollout')
    .description('(not built yet: rollout engine (issue 3))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape rollout` is not built yet (rollout engine (issue 3)).');
    });
}

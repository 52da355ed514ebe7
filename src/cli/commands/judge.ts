// Placeholder until the canary judge (issue 6) lands: says so plainly instead of pretending.
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';

export function registerJudgeCommand(program: Command): void {
  program
    .command('judge')
    .description('(not built yet: canary judge (issue 6))')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EtapeError('usage', '`etape judge` is not built yet (canary judge (issue 6)).');
    });
}

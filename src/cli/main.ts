// The `etape` command line. Each group of commands registers itself from src/cli/commands/.
import { Command, CommanderError } from 'commander';
import { isEtapeError } from '../core/errors.js';
import { registerConfigCommands } from './commands/config.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerRolloutCommands } from './commands/rollout.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStatusCommands } from './commands/status.js';
import { registerIncidentCommands } from './commands/incident.js';
import { registerSlaCommands } from './commands/sla.js';
import { registerJudgeCommand } from './commands/judge.js';
import { registerDemoCommand } from './commands/demo.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('etape')
    .description('Staged, region-aware rollouts judged on evidence, with an honest status page and SLA credits.')
    .option('-c, --config <file>', 'configuration file', process.env.ETAPE_CONFIG ?? 'etape.yaml')
    .option('--store <url>', 'store: a SQLite file path or postgres://… (default: ETAPE_STORE, then the config, then .etape/etape.db)')
    .showHelpAfterError()
    .exitOverride();
  registerConfigCommands(program);
  registerPlanCommand(program);
  registerRolloutCommands(program);
  registerServeCommand(program);
  registerStatusCommands(program);
  registerIncidentCommands(program);
  registerSlaCommands(program);
  registerJudgeCommand(program);
  registerDemoCommand(program);
  return program;
}

/** Runs the CLI and returns the exit code: 0 success, 1 a failure the command reports, 2 bad usage or input. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isEtapeError(e)) {
      process.stderr.write(`etape: ${e.describe()}\n`);
      return e.code === 'internal' || e.code === 'driver.failed' || e.code === 'store.unavailable' ? 1 : 2;
    }
    process.stderr.write(`etape: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

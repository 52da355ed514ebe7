// The `etape` command line. Each group of commands registers itself from src/cli/commands/.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isEtapeError, type ErrorCode } from '../core/errors.js';
import { printable } from '../core/text.js';
import { registerConfigCommands } from './commands/config.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerRolloutCommands } from './commands/rollout.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStatusCommands } from './commands/status.js';
import { registerIncidentCommands } from './commands/incident.js';
import { registerSlaCommands } from './commands/sla.js';
import { registerJudgeCommand } from './commands/judge.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerFreezeCommands } from './commands/freeze.js';
import { registerSubscriberCommands } from './commands/subscribers.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('etape')
    .description('Staged, region-aware rollouts judged on evidence, with an honest status page and SLA credits.')
    .option('-c, --config <file>', 'configuration file', process.env.ETAPE_CONFIG ?? 'etape.yaml')
    .option('--store <url>', 'store: a SQLite file path or postgres://… (default: ETAPE_STORE, then the config, then .etape/etape.db)')
    .version(packageVersion(), '-V, --version', 'print the version of etape')
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
  registerFreezeCommands(program);
  registerSubscriberCommands(program);
  return program;
}

/** The version in package.json (src/cli and dist/cli are both two levels below it). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Exit codes (docs/cli.md): 0 success; 1 the command ran and reports a failure (a rollout that did not
 * complete, a store that cannot be reached, a driver or publish command that failed, a bug); 2 bad input:
 * usage, config, an unknown id, a request the state does not allow.
 */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

const FAILURE_CODES: ReadonlySet<ErrorCode> = new Set(['internal', 'driver.failed', 'store.unavailable']);

/** What a file system error means for the path it names, in words that say what to do. */
const FS_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder: pick a path under a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'it already exists',
  EACCES: 'permission denied: pick a path this user may write, or change its permissions',
  EPERM: 'operation not permitted for this user',
  EROFS: 'the file system is read-only: pick another path',
  ENOSPC: 'the disk is full: free some space',
  EMFILE: 'too many open files: raise the limit (ulimit -n)',
  ENAMETOOLONG: 'the path is too long',
};

let pipeGuard = false;
/** `etape rollout history <id> | head`: a reader that goes away ends the command quietly, with exit 0. */
function guardPipes(): void {
  if (pipeGuard) return;
  pipeGuard = true;
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(0);
      throw e;
    });
}

function describeUnexpected(e: unknown): { message: string; code: number } {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && FS_ERRORS[err.code]) {
    const path = err.path ?? (err as { dest?: string }).dest;
    return {
      message: `${path ? `${path}: ` : ''}${FS_ERRORS[err.code]} (${err.syscall ?? 'file system'} ${err.code})`,
      code: EXIT.badInput,
    };
  }
  if (err instanceof RangeError && /call stack/i.test(err.message))
    return { message: 'the input nests too deeply to process: simplify it', code: EXIT.badInput };
  const detail = process.env.ETAPE_DEBUG ? `\n${err instanceof Error ? err.stack : String(e)}` : '';
  return {
    message: `internal error: ${err instanceof Error ? err.message : String(e)}. This is a bug in etape; run again with ETAPE_DEBUG=1 for details to report${detail}`,
    code: EXIT.failed,
  };
}

/** Runs the CLI and returns the exit code: 0 success, 1 a failure the command reports, 2 bad usage or input. */
export async function main(argv: string[]): Promise<number> {
  guardPipes();
  process.exitCode = undefined; // a command sets it to report a failure; main may run more than once in a process
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT.badInput;
    }
    if (isEtapeError(e)) {
      process.stderr.write(`etape: ${printable(e.describe())}\n`);
      return FAILURE_CODES.has(e.code) ? EXIT.failed : EXIT.badInput;
    }
    const d = describeUnexpected(e);
    process.stderr.write(`etape: ${d.message}\n`);
    return d.code;
  }
}

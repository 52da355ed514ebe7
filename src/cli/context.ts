// How a command finds its configuration: the global `--config` option (default ETAPE_CONFIG, then etape.yaml).
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { missingSecrets } from '../config/secrets.js';
import { EtapeError } from '../core/errors.js';

/** The config file the command line names; works from any sub-command. */
export function configFileFromProgram(cmd: Command): string {
  const opts = cmd.optsWithGlobals() as { config?: string };
  // An empty value (ETAPE_CONFIG= ) means unset.
  return opts.config || process.env.ETAPE_CONFIG || 'etape.yaml';
}

/** Reads and checks the config the command line names; throws EtapeError (config.*) with every problem. */
export async function loadConfigFromProgram(cmd: Command): Promise<LoadedConfig> {
  return loadConfig(configFileFromProgram(cmd));
}

/**
 * Refuses to go on when a secret the config takes from the environment is not set (`etape serve`,
 * `etape rollout start`): better now, naming the variable, than a rollout that fails at its first call or
 * an API that refuses every token.
 */
export function requireSecrets(
  loaded: LoadedConfig,
  what: string,
  o: { env?: NodeJS.ProcessEnv; only?: (path: (string | number)[]) => boolean } = {},
): void {
  const missing = missingSecrets(loaded.config, o.env ?? process.env).filter((m) => !o.only || o.only(m.path));
  if (missing.length === 0) return;
  const names = [...new Set(missing.map((m) => m.variable))];
  throw new EtapeError(
    'config.invalid',
    `${what} needs the environment variable${names.length === 1 ? '' : 's'} ${names.join(', ')}, which ${names.length === 1 ? 'is' : 'are'} not set: set ${names.length === 1 ? 'it' : 'them'} and try again`,
    {
      problems: loaded.locate(
        missing.map((m) => ({ path: m.path, message: `${m.what} comes from the environment variable ${m.variable}, which is not set` })),
      ),
    },
  );
}

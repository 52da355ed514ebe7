// How a command finds its configuration: the global `--config` option (default ETAPE_CONFIG, then etape.yaml).
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { EtapeConfig } from '../config/schema.js';

/** The config file the command line names; works from any sub-command. */
export function configFileFromProgram(cmd: Command): string {
  const opts = cmd.optsWithGlobals() as { config?: string };
  // An empty value (ETAPE_CONFIG= ) means unset.
  return opts.config || process.env.ETAPE_CONFIG || 'etape.yaml';
}

/** Reads and checks the config the command line names; throws EtapeError (config.*) with every problem. */
export async function loadConfigFromProgram(cmd: Command): Promise<{ config: EtapeConfig; file: string }> {
  return loadConfig(configFileFromProgram(cmd));
}

// How a command finds its store: the global --store option, then ETAPE_STORE, then the config's `store`,
// then .etape/etape.db.
import type { Command } from 'commander';
import { openStore } from '../store/open.js';
import { resolveStoreUrl } from '../store/url.js';
import type { Store } from '../store/store.js';

/** The store URL for a command: reads the global `--store` option from `cmd` (any sub-command). */
export function storeUrlFromProgram(cmd: Command, config?: { store?: string }): string {
  const opts = cmd.optsWithGlobals() as { store?: string };
  return resolveStoreUrl({ flag: opts.store, config: config?.store });
}

/** Opens and migrates the store the command line names. The caller closes it. */
export async function storeFromProgram(cmd: Command, config?: { store?: string }): Promise<Store> {
  return openStore(storeUrlFromProgram(cmd, config));
}

// Opens the store a URL names: a SQLite file for a path (or `sqlite:` URL), PostgreSQL for
// `postgres://` / `postgresql://`. Callers pick the URL with resolveStoreUrl (flag > ETAPE_STORE > config >
// default file).
import type { Store } from './store.js';
import { DEFAULT_STORE_PATH, parseStoreUrl } from './url.js';

/**
 * Opens (and, unless `migrate: false`, migrates) the store at `url` (default `.etape/etape.db`).
 * Throws EtapeError('store.unavailable') with a message saying what to fix when it cannot be reached.
 */
export async function openStore(
  url: string = DEFAULT_STORE_PATH,
  opts: {
    migrate?: boolean;
    /** SQLite only: the clock leases are judged by (tests pass a virtual one); PostgreSQL uses its own. */
    clock?: { now(): number };
  } = {},
): Promise<Store> {
  const loc = parseStoreUrl(url);
  let store: Store;
  if (loc.kind === 'sqlite') {
    const { SqliteStore } = await import('./sqlite.js');
    store = new SqliteStore(loc.path, { clock: opts.clock });
  } else {
    const { PostgresStore } = await import('./postgres.js');
    store = new PostgresStore(loc.url);
  }
  if (opts.migrate !== false) {
    try {
      await store.migrate();
    } catch (e) {
      await store.close().catch(() => {});
      throw e;
    }
  }
  return store;
}

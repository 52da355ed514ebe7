// Store URLs: which one to use, which backend it names, and how to show it without its password.
import { EtapeError } from '../core/errors.js';

export const DEFAULT_STORE_PATH = '.etape/etape.db';

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * The store URL to use: the explicit `--store` flag, then the ETAPE_STORE environment variable, then the
 * config file's `store`, then `.etape/etape.db`. Empty strings count as unset.
 */
export function resolveStoreUrl(opts: { flag?: string; config?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env;
  for (const v of [opts.flag, env.ETAPE_STORE, opts.config]) if (v !== undefined && v.trim() !== '') return v.trim();
  return DEFAULT_STORE_PATH;
}

/** Which backend a store URL names. */
export function parseStoreUrl(url: string): StoreLocation {
  const u = url.trim();
  if (/^postgres(ql)?:\/\//i.test(u)) return { kind: 'postgres', url: u };
  if (/^sqlite:/i.test(u)) {
    let path = u.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new EtapeError('usage', `store URL ${u} names no file: write sqlite:path/to/etape.db or just the path`);
    return { kind: 'sqlite', path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
    throw new EtapeError(
      'usage',
      `store URL ${redactStoreUrl(u)} is not supported: use a SQLite file path (like .etape/etape.db) or postgres://user@host:5432/db`,
    );
  }
  return { kind: 'sqlite', path: u };
}

/** The URL with any password replaced, for messages and logs. */
export function redactStoreUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

// What the migration runner of either dialect decides before it changes anything: which migrations are
// missing, and whether the database is newer than this etape (then it refuses, naming the etape it needs).
import { EtapeError } from '../core/errors.js';
import { etapeVersion } from '../core/version.js';
import type { Migration } from './migrations.js';

export interface AppliedMigration {
  id: number;
  name: string;
  /** The etape that applied it (null for migrations applied before etape recorded it). */
  etape_version: string | null;
}

/** The migrations still to apply, in order. Throws when the database has migrations this etape does not know. */
export function pendingMigrations(known: Migration[], applied: AppliedMigration[], where: string): Migration[] {
  const ids = new Set(known.map((m) => m.id));
  const unknown = applied.filter((a) => !ids.has(a.id)).sort((a, b) => a.id - b.id);
  if (unknown.length > 0) {
    const newest = unknown[unknown.length - 1];
    const need = unknown.map((u) => u.etape_version).filter((v): v is string => !!v);
    const version = need.length ? need.sort(compareVersions)[need.length - 1] : undefined;
    const knownMax = Math.max(0, ...known.map((m) => m.id));
    throw new EtapeError(
      'store.too_new',
      `the store ${where} was upgraded by a newer etape${version ? ` (${version})` : ''}: it has migration ${newest.id} (${newest.name}) and this etape ${etapeVersion()} knows migrations up to ${knownMax}. ` +
        `Run etape ${version ? `${version} or newer` : 'at least as new as the one that upgraded it'} against this store; nothing was changed.`,
    );
  }
  const done = new Set(applied.map((a) => a.id));
  return [...known].sort((a, b) => a.id - b.id).filter((m) => !done.has(m.id));
}

/** Orders dotted versions numerically (1.10.0 after 1.9.2); a non-numeric part compares as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

/** The message when a migration's blockers query finds rows. */
export function blockedMigration(m: Migration, problems: string[], where: string): EtapeError {
  return new EtapeError(
    'store.unavailable',
    `cannot upgrade the store ${where} to migration ${m.id} (${m.name}): ${problems.join('; ')}. To fix: ${m.blockers?.fix ?? 'see the docs'}. Nothing was changed.`,
  );
}

// One error type for users: a stable code, a message that says what to do, and the cause.
// Exceptions are for bugs and for the edges (CLI, HTTP) where they become a message and an exit code.

export type ErrorCode =
  | 'config.parse'
  | 'config.invalid'
  | 'config.not_found'
  | 'plan.unsatisfiable'
  | 'plan.invalid'
  | 'store.unavailable'
  | 'store.conflict'
  /** A controller wrote with a lease it no longer holds: the write was refused (I5). */
  | 'store.fenced'
  /** The store was upgraded by a newer etape than this one. */
  | 'store.too_new'
  /** A rollout's stored state does not fit this etape's schema (src/rollout/state-schema.ts). */
  | 'store.invalid_state'
  | 'not_found'
  | 'bad_request'
  | 'too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'driver.failed'
  | 'usage'
  | 'internal';

export interface SourceLocation {
  file: string;
  line: number; // 1-based
  column: number; // 1-based
}

export interface Problem {
  message: string;
  location?: SourceLocation;
  /** Dotted path into the document or request, e.g. `fleet.regions[3].pair`. */
  path?: string;
}

export class EtapeError extends Error {
  readonly code: ErrorCode;
  readonly problems: Problem[];

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; problems?: Problem[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EtapeError';
    this.code = code;
    this.problems = opts.problems ?? [];
  }

  /** The message with one line per problem, `file:line:column: message` where the place is known. */
  describe(): string {
    if (this.problems.length === 0) return this.message;
    return [this.message, ...this.problems.map((p) => '  ' + formatProblem(p))].join('\n');
  }
}

export function formatProblem(p: Problem): string {
  const where = p.location ? `${p.location.file}:${p.location.line}:${p.location.column}: ` : p.path ? `${p.path}: ` : '';
  return where + p.message;
}

export function isEtapeError(e: unknown): e is EtapeError {
  return e instanceof EtapeError;
}

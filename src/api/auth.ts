// Bearer tokens with roles. Tokens come from config `server.tokens` (inline or from the environment) and
// never reach a log line or an event: a caller is known by its token's name (`api:<name>`).
import { createHash, timingSafeEqual } from 'node:crypto';
import { resolveSecret } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';

export type Role = 'viewer' | 'operator';

export interface Principal {
  name: string;
  role: Role;
}

interface Known {
  name: string;
  role: Role;
  digest: Buffer;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Operators may do what viewers may. */
export function allows(have: Role, need: Role): boolean {
  return need === 'viewer' || have === 'operator';
}

export class TokenAuth {
  private known: Known[];
  /** Names of tokens whose environment variable is unset (reported at start, never silently open). */
  readonly missing: string[] = [];

  constructor(tokens: EtapeConfig['server']['tokens'], env: NodeJS.ProcessEnv = process.env) {
    this.known = [];
    for (const t of tokens) {
      const value = resolveSecret(t.token, env);
      if (!value) {
        this.missing.push(t.name);
        continue;
      }
      this.known.push({ name: t.name, role: t.role, digest: digest(value) });
    }
  }

  get size(): number {
    return this.known.length;
  }

  /** The principal an `Authorization` header names, or undefined. Compares digests in constant time. */
  authenticate(header: string | undefined): Principal | undefined {
    if (!header) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return undefined;
    const d = digest(m[1]);
    let found: Known | undefined;
    for (const k of this.known) if (timingSafeEqual(k.digest, d)) found = k;
    return found ? { name: found.name, role: found.role } : undefined;
  }
}

// The secrets a config names (API tokens, http driver and webhook secrets, the store's password): which
// environment variables must supply them, and their values, so that nothing etape stores or shows repeats one.
import type { EtapeConfig } from './schema.js';
import type { PathProblem } from './load.js';
import { resolveSecret } from './common.js';

type SecretRef = string | { env: string };

export interface SecretUse {
  /** Where the config names it, e.g. `server.tokens[0].token`. */
  path: (string | number)[];
  /** What it is for, in words: "API token ops", "http driver of service blob". */
  what: string;
  ref: SecretRef;
}

/** Every secret reference in the config, with its place. */
export function secretUses(config: EtapeConfig): SecretUse[] {
  const uses: SecretUse[] = [];
  config.server.tokens.forEach((t, i) =>
    uses.push({ path: ['server', 'tokens', i, 'token'], what: `API token "${t.name}"`, ref: t.token }),
  );
  config.services.forEach((s, i) => {
    if (s.driver?.kind === 'http')
      uses.push({
        path: ['services', i, 'driver', 'secret'],
        what: `the secret of the http driver of service "${s.name}"`,
        ref: s.driver.secret,
      });
  });
  config.notifications.webhooks.forEach((h, i) =>
    uses.push({ path: ['notifications', 'webhooks', i, 'secret'], what: `the secret of webhook ${h.url}`, ref: h.secret }),
  );
  return uses;
}

/** Secret references to environment variables that are unset or empty. */
export function missingSecrets(config: EtapeConfig, env: NodeJS.ProcessEnv = process.env): (SecretUse & { variable: string })[] {
  const out: (SecretUse & { variable: string })[] = [];
  for (const u of secretUses(config)) {
    if (typeof u.ref === 'object' && !env[u.ref.env]) out.push({ ...u, variable: u.ref.env });
  }
  return out;
}

/** The password in a URL like postgres://user:pass@host/db, if any. */
function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@/]*)@/i.exec(url.trim());
  if (!m || m[1] === '') return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/**
 * The values of every known secret: tokens, driver and webhook secrets, the store password (from the config,
 * ETAPE_STORE or PGPASSWORD). Very short values are left out: replacing "a" everywhere would hide more than it protects.
 */
export function knownSecrets(config: EtapeConfig | undefined, env: NodeJS.ProcessEnv = process.env, storeUrl?: string): string[] {
  const values = new Set<string>();
  const add = (v: string | undefined) => {
    if (v && v.length >= 4) {
      values.add(v);
      // The same secret percent-encoded, as it appears in a URL.
      const enc = encodeURIComponent(v);
      if (enc !== v) values.add(enc);
    }
  };
  if (config) for (const u of secretUses(config)) add(resolveSecret(u.ref, env));
  for (const url of [storeUrl, env.ETAPE_STORE, config?.store]) add(urlPassword(url));
  add(env.PGPASSWORD);
  // Longest first, so a secret that contains another is replaced whole.
  return [...values].sort((a, b) => b.length - a.length);
}

export const REDACTED = '[redacted]';

/** `text` with every occurrence of a known secret replaced by [redacted]. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** What `etape validate` warns about: secrets the config takes from environment variables that are not set here. */
export function configWarnings(config: EtapeConfig, env: NodeJS.ProcessEnv = process.env): PathProblem[] {
  const out: PathProblem[] = missingSecrets(config, env).map((m) => ({
    path: m.path,
    message: `${m.what} comes from the environment variable ${m.variable}, which is not set here: ${m.path[0] === 'services' ? '`etape serve` and `etape rollout start` refuse' : '`etape serve` refuses'} to start without it`,
  }));
  return out;
}

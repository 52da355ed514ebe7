// Sign-in for the dashboard: the API token a person types is kept in an HttpOnly, SameSite=Strict cookie
// scoped to /ui, so it is never in a URL, a page or a log. Every form that changes something carries a
// CSRF token (an HMAC of the session's token under a key of this process) and its Origin must be ours.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Principal } from '../api/auth.js';

export const COOKIE = 'etape_session';
export const UI = '/ui';
const MAX_AGE_S = 12 * 3600;

export interface Session {
  principal: Principal;
  /** The API token, for calls to the API on the person's behalf. Never rendered. */
  token: string;
  csrf: string;
}

export class Sessions {
  private readonly key = randomBytes(32);

  constructor(private readonly authenticate: (token: string) => Principal | undefined) {}

  csrfOf(token: string): string {
    return createHmac('sha256', this.key).update(token).digest('base64url');
  }

  /** The session of a request, from its cookie, or undefined when there is none or its token is no longer valid. */
  read(c: Context): Session | undefined {
    const token = getCookie(c, COOKIE);
    if (!token) return undefined;
    const principal = this.authenticate(token);
    if (!principal) return undefined;
    return { principal, token, csrf: this.csrfOf(token) };
  }

  /** Signs in with `token`; false when no configured token matches. */
  signIn(c: Context, token: string): Principal | undefined {
    const t = token.trim();
    const principal = t ? this.authenticate(t) : undefined;
    if (!principal) return undefined;
    setCookie(c, COOKIE, t, {
      path: UI,
      httpOnly: true,
      sameSite: 'Strict',
      secure: isHttps(c),
      maxAge: MAX_AGE_S,
    });
    return principal;
  }

  signOut(c: Context): void {
    deleteCookie(c, COOKIE, { path: UI, httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
  }

  /** The CSRF field of a form matches the session. */
  csrfOk(session: Session, given: unknown): boolean {
    if (typeof given !== 'string' || given.length !== session.csrf.length) return false;
    return timingSafeEqual(Buffer.from(given), Buffer.from(session.csrf));
  }
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/**
 * A state-changing request came from our own pages: its Origin (or, without one, Sec-Fetch-Site) says so.
 * Requests from tools that send neither are let through to the CSRF check, which they cannot pass without
 * the session's page.
 */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== 'null') {
    const host = c.req.header('x-forwarded-host') ?? c.req.header('host');
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
  if (origin === 'null') return false;
  const site = c.req.header('sec-fetch-site');
  return site === undefined || site === 'same-origin' || site === 'none';
}

// The operator dashboard, served by `etape serve` on the API's port under /ui (and / redirects there).
// Pages are rendered on the server from the store (model.ts), so they tell the truth without JavaScript;
// with it, htmx refreshes the live region when the change feed (server-sent events) says something moved.
// Actions go through the API itself with the signed-in token, so the API's own role checks decide.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { Child } from 'hono/jsx';
import type { ApiApp, ApiContext, ApiEnv, RouteRegistrar } from '../api/app.js';
import type { RolloutState } from '../rollout/state.js';
import { findAction, rolloutActions, targetActions, type ActionCatalogue, type ActionOffer } from './actions.js';
import { Layout, type NavKey } from './layout.js';
import { LiveFeed } from './live.js';
import { fleetView, incidentsView, rolloutDetail, rolloutList, type DashboardSource } from './model.js';
import { sameOrigin, Sessions, UI, type Session } from './session.js';
import { ConfirmView, FleetView, IncidentsView, MessageView, RolloutsView, RolloutView, SignInView, rolloutHref } from './views.js';

const require = createRequire(import.meta.url);
const OWN_ASSETS = fileURLToPath(new URL('../../assets/dashboard/', import.meta.url));
const nodeModule = (pkg: string, file: string) => require.resolve(`${pkg}/package.json`).replace(/package\.json$/, file);

/** The files under /ui/assets/: our own, and the libraries' from their installed packages (nothing from another host). */
const ASSET_FILES: Record<string, { path: () => string; type: string }> = {
  'dashboard.css': { path: () => OWN_ASSETS + 'dashboard.css', type: 'text/css; charset=utf-8' },
  'dashboard.js': { path: () => OWN_ASSETS + 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  'htmx.min.js': { path: () => nodeModule('htmx.org', 'dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': { path: () => nodeModule('uplot', 'dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: () => nodeModule('uplot', 'dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

type Ctx = Context<ApiEnv>;

export interface DashboardOptions {
  /** How often the change feed reads the event log while a page listens (default 500 ms). */
  pollMs?: number;
  /** How often pages that chart evidence refresh (default 3 s). */
  evidenceMs?: number;
}

/** The dashboard as a registrar for createApi's `routes`. */
export function dashboardRoutes(opts: DashboardOptions = {}): RouteRegistrar {
  return (app, ctx) => mountDashboard(app, ctx, opts);
}

export const registerDashboard: RouteRegistrar = dashboardRoutes();

function mountDashboard(app: ApiApp, ctx: ApiContext, opts: DashboardOptions): void {
  const src: DashboardSource = { store: ctx.store, config: ctx.config, clock: ctx.clock };
  const sessions = new Sessions(ctx.authenticate);
  const feed = new LiveFeed({ store: ctx.store, log: ctx.log, pollMs: opts.pollMs, evidenceMs: opts.evidenceMs });
  const assetCache = new Map<string, Buffer>();
  const catalogue = (): ActionCatalogue => ({ paths: new Set(Object.keys(ctx.document().paths)) });
  const isOperator = (s: Session) => s.principal.role === 'operator';

  const headers = (c: Ctx) => {
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin'); // no-referrer would make browsers send `Origin: null` on our own forms
    c.header('Cache-Control', 'no-store');
  };

  /** A whole page, or only the live region's content when htmx asks for it. */
  const page = async (
    c: Ctx,
    p: { title: string; nav: NavKey; session?: Session; live?: string; topic?: string; evidence?: boolean; status?: number },
    body: Child,
  ) => {
    headers(c);
    const inner = (
      <div class="view" data-evidence={p.evidence ? 'live' : undefined}>
        {body}
      </div>
    );
    const status = (p.status ?? 200) as 200;
    if (c.req.header('hx-request') && p.live) return c.html(String(await inner), status);
    const html = (
      <Layout title={p.title} nav={p.nav} session={p.session} live={p.live} liveTopic={p.topic}>
        {inner}
      </Layout>
    );
    return c.html('<!DOCTYPE html>' + String(await html), status);
  };

  const selfUrl = (c: Ctx) => {
    const u = new URL(c.req.url);
    u.searchParams.delete('done');
    return u.pathname + u.search;
  };

  app.get('/', (c) => c.redirect(`${UI}/rollouts`, 302));
  app.get(UI, (c) => c.redirect(`${UI}/rollouts`, 302));
  app.get(`${UI}/`, (c) => c.redirect(`${UI}/rollouts`, 302));

  app.get(`${UI}/assets/:file`, async (c) => {
    const name = c.req.param('file');
    const a = Object.hasOwn(ASSET_FILES, name) ? ASSET_FILES[name] : undefined;
    if (!a) return c.text('no such asset', 404);
    let buf = assetCache.get(name);
    if (!buf) assetCache.set(name, (buf = await readFile(a.path())));
    c.header('Content-Type', a.type);
    c.header('Cache-Control', 'public, max-age=3600');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(new Uint8Array(buf));
  });

  const limit = bodyLimit({ maxSize: 32 * 1024, onError: (c) => c.text('request body too large (32 KiB at most)', 413) });

  app.get(`${UI}/signin`, async (c) => {
    if (sessions.read(c)) return c.redirect(`${UI}/rollouts`, 303);
    return page(c, { title: 'Sign in', nav: 'none' }, <SignInView />);
  });
  app.post(`${UI}/signin`, limit, async (c) => {
    if (!sameOrigin(c))
      return page(c, { title: 'Sign in', nav: 'none', status: 403 }, <SignInView error="Refused: this form was sent from another site." />);
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token : '';
    const who = sessions.signIn(c, token);
    if (!who) {
      ctx.log.info({ path: c.req.path }, 'dashboard sign-in refused');
      return page(
        c,
        { title: 'Sign in', nav: 'none', status: 401 },
        <SignInView error="That token is not one of server.tokens in etape.yaml (or its environment variable is unset). Check it and try again." />,
      );
    }
    ctx.log.info({ token: who.name, role: who.role }, 'dashboard sign-in');
    return c.redirect(`${UI}/rollouts`, 303);
  });

  // Everything else under /ui/ needs a session.
  app.use(`${UI}/*`, async (c, next) => {
    const p = c.req.path;
    if (p === `${UI}/signin` || p.startsWith(`${UI}/assets/`)) return next();
    const s = sessions.read(c);
    if (!s) {
      if (c.req.header('hx-request') || p === `${UI}/live`) {
        c.header('HX-Redirect', `${UI}/signin`);
        return c.text('sign in first', 401);
      }
      return c.redirect(`${UI}/signin`, 303);
    }
    c.set('principal', s.principal);
    c.set('actor', `api:${s.principal.name}`);
    if (c.req.method === 'POST') {
      if (!sameOrigin(c)) return c.text('refused: this request came from another site', 403);
    }
    await next();
  });

  const sessionOf = (c: Ctx) => sessions.read(c)!;

  /** Reads and checks a form: CSRF token of this session. */
  const form = async (c: Ctx, s: Session): Promise<Record<string, string> | undefined> => {
    const raw = await c.req.parseBody();
    if (!sessions.csrfOk(s, raw.csrf)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
    return out;
  };

  app.post(`${UI}/signout`, limit, async (c) => {
    const s = sessionOf(c);
    if (!(await form(c, s))) return c.text('refused: the form is stale; reload the page and try again', 403);
    sessions.signOut(c);
    return c.redirect(`${UI}/signin`, 303);
  });

  app.get(`${UI}/rollouts`, async (c) => {
    const s = sessionOf(c);
    const q = { service: c.req.query('service'), phase: c.req.query('phase'), before: c.req.query('before') };
    const view = await rolloutList(src, q);
    const pageUrl = (before: string | null) => {
      const u = new URLSearchParams();
      if (view.query.service) u.set('service', view.query.service);
      if (view.query.phase) u.set('phase', view.query.phase);
      if (before) u.set('before', before);
      return `${UI}/rollouts?${u}`;
    };
    return page(
      c,
      { title: 'Rollouts', nav: 'rollouts', session: s, live: selfUrl(c), topic: 'rollouts' },
      <RolloutsView view={view} now={ctx.clock.now()} paged={Boolean(q.before)} pageUrl={pageUrl} />,
    );
  });

  const DONE: Record<string, string> = {
    pause: 'Paused.',
    resume: 'Resumed.',
    abort: 'Aborted: the touched targets roll back.',
    approve: 'Approved.',
    retry: 'Retry asked.',
    force: 'Force asked.',
  };

  app.get(`${UI}/rollouts/:id`, async (c) => {
    const s = sessionOf(c);
    const id = c.req.param('id');
    const d = await rolloutDetail(src, id);
    if (!d) {
      return page(
        c,
        { title: 'Not found', nav: 'rollouts', session: s, status: 404 },
        <MessageView title="No such rollout" text={`There is no rollout ${id}.`} back={`${UI}/rollouts`} />,
      );
    }
    const cat = catalogue();
    const actions = isOperator(s) ? rolloutActions(d.state, cat) : [];
    const perTarget = new Map<string, ActionOffer[]>();
    if (isOperator(s)) {
      for (const t of d.targets) {
        const a = targetActions(d.state, t.id, cat);
        if (a.length) perTarget.set(t.id, a);
      }
    }
    const done = c.req.query('done');
    return page(
      c,
      {
        title: `${d.row.service} ${d.row.version}`,
        nav: 'rollouts',
        session: s,
        live: selfUrl(c),
        topic: `rollout:${id}`,
        evidence: d.row.active,
      },
      <RolloutView d={d} now={ctx.clock.now()} actions={actions} targetActions={perTarget} notice={done ? DONE[done] : undefined} />,
    );
  });

  const offer = async (c: Ctx, id: string, name: string, target: string | undefined) => {
    const rec = await ctx.store.getRollout(id);
    if (!rec) return { error: `There is no rollout ${id}.`, status: 404 as const };
    const a = findAction(rec.state as RolloutState, name, target, catalogue());
    if (!a) {
      return {
        error: `${name} does not apply to rollout ${id} now: it is ${rec.phase.replace('_', ' ')}.`,
        status: 409 as const,
      };
    }
    return { action: a };
  };

  app.get(`${UI}/rollouts/:id/confirm/:action`, async (c) => {
    const s = sessionOf(c);
    const id = c.req.param('id');
    if (!isOperator(s)) {
      return page(
        c,
        { title: 'Not allowed', nav: 'rollouts', session: s, status: 403 },
        <MessageView
          title="Not allowed"
          text={`Token ${s.principal.name} has role viewer; acting on a rollout needs operator.`}
          back={rolloutHref(id)}
        />,
      );
    }
    const o = await offer(c, id, c.req.param('action'), c.req.query('target') || undefined);
    if (!o.action) {
      return page(
        c,
        { title: 'Cannot do that now', nav: 'rollouts', session: s, status: o.status },
        <MessageView title="Cannot do that now" text={o.error} back={rolloutHref(id)} />,
      );
    }
    return page(
      c,
      { title: `${o.action.label}: ${id}`, nav: 'rollouts', session: s },
      <ConfirmView rolloutId={id} action={o.action} session={s} />,
    );
  });

  /** Calls the API as the signed-in person. */
  const callApi = async (s: Session, path: string, body: unknown) => {
    const res = await app.request(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    let message = '';
    if (!res.ok) {
      try {
        message = ((await res.json()) as { error?: { message?: string } }).error?.message ?? '';
      } catch {
        message = await res.text().catch(() => '');
      }
    }
    return { ok: res.ok, status: res.status, message };
  };

  app.post(`${UI}/rollouts/:id/actions/:action`, limit, async (c) => {
    const s = sessionOf(c);
    const id = c.req.param('id');
    const name = c.req.param('action');
    const f = await form(c, s);
    if (!f) return c.text('refused: the form is stale or came from elsewhere; reload the page and try again', 403);
    const target = f.target || undefined;
    const o = await offer(c, id, name, target);
    if (!o.action) {
      // A viewer gets the API's own refusal below; here the action does not apply at all.
      if (!isOperator(s)) {
        const r = await callApi(s, `/api/rollouts/${encodeURIComponent(id)}/${name}`, {});
        return page(
          c,
          { title: 'Refused', nav: 'rollouts', session: s, status: r.status as 403 },
          <MessageView title="Refused" text={r.message} back={rolloutHref(id)} />,
        );
      }
      return page(
        c,
        { title: 'Cannot do that now', nav: 'rollouts', session: s, status: o.status },
        <MessageView title="Cannot do that now" text={o.error} back={rolloutHref(id)} />,
      );
    }
    const body = { ...o.action.body, ...(o.action.reason && f.reason?.trim() ? { reason: f.reason.trim().slice(0, 1000) } : {}) };
    const r = await callApi(s, o.action.path, body);
    if (!r.ok) {
      return page(
        c,
        { title: 'Refused', nav: 'rollouts', session: s, status: r.status as 400 },
        <ConfirmView rolloutId={id} action={o.action} session={s} error={`The API refused it (${r.status}): ${r.message}`} />,
      );
    }
    return c.redirect(`${rolloutHref(id)}?done=${encodeURIComponent(name)}`, 303);
  });

  app.get(`${UI}/fleet`, async (c) => {
    const s = sessionOf(c);
    const view = await fleetView(src);
    return page(
      c,
      { title: 'Fleet', nav: 'fleet', session: s, live: selfUrl(c), topic: 'fleet', evidence: true },
      <FleetView view={view} now={ctx.clock.now()} />,
    );
  });

  const incidentsPage = async (c: Ctx, s: Session, error?: string, status = 200) => {
    const view = await incidentsView(src);
    return page(
      c,
      { title: 'Incidents', nav: 'incidents', session: s, live: `${UI}/incidents`, topic: 'incidents', status },
      <IncidentsView
        view={view}
        now={ctx.clock.now()}
        session={s}
        canPost={isOperator(s) && ctx.document().paths['/api/incidents/{id}/updates'] !== undefined}
        error={error}
      />,
    );
  };
  app.get(`${UI}/incidents`, async (c) => incidentsPage(c, sessionOf(c)));
  app.post(`${UI}/incidents/:id/updates`, limit, async (c) => {
    const s = sessionOf(c);
    const f = await form(c, s);
    if (!f) return c.text('refused: the form is stale or came from elsewhere; reload the page and try again', 403);
    const body: Record<string, string> = { message: (f.message ?? '').slice(0, 5000) };
    if (f.status) body.status = f.status;
    const r = await callApi(s, `/api/incidents/${encodeURIComponent(c.req.param('id'))}/updates`, body);
    if (!r.ok) return incidentsPage(c, s, `The API refused the update (${r.status}): ${r.message}`, r.status);
    return c.redirect(`${UI}/incidents`, 303);
  });

  // The change feed: one event per batch of store changes, and an evidence tick; pages decide what to refresh.
  app.get(`${UI}/live`, (c) => {
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (stream) => {
      let closed = false;
      const unsubscribe = feed.subscribe((msg) => {
        if (closed) return;
        const data = msg.kind === 'change' ? JSON.stringify(msg.change) : '{}';
        stream.writeSSE({ event: msg.kind, data }).catch(() => (closed = true));
      });
      stream.onAbort(() => {
        closed = true;
        unsubscribe();
      });
      await stream.writeSSE({ event: 'hello', data: '{}', retry: 2000 });
      while (!closed && !stream.aborted) {
        await stream.sleep(15_000);
        if (!closed && !stream.aborted) await stream.writeSSE({ event: 'ping', data: '{}' }).catch(() => (closed = true));
      }
      unsubscribe();
    });
  });
}

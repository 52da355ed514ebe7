// The JSON HTTP API: the rollout operations of the CLI, behind bearer tokens with roles. Everything under
// /api/ needs a token (401 without a valid one); reads need `viewer`, writes `operator` (403 otherwise).
// Other parts mount their routes with `routes` registrars and get the same auth and error handling.
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { EtapeError, isEtapeError, type ErrorCode } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { GateKind } from '../gates/gate.js';
import * as ops from '../rollout/operations.js';
import { summarize } from '../rollout/view.js';
import { allows, TokenAuth, type Principal, type Role } from './auth.js';
import { openApiDocument, type OpenApiDocument } from './openapi.js';
import { API_LIMITS, jsonDepth, nameField } from '../core/limits.js';

export type ApiEnv = { Variables: { principal: Principal; actor: string } };
export type ApiApp = Hono<ApiEnv>;

export interface ApiContext {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
  log: Logger;
  /** Middleware that requires `role` (the /api/ default already requires viewer for reads, operator for writes). */
  requireRole: (role: Role) => MiddlewareHandler<ApiEnv>;
  /** Parses a JSON body with a zod schema; bad input becomes a 400 naming the field. */
  body: <T extends z.ZodType>(c: Context<ApiEnv>, schema: T) => Promise<z.infer<T>>;
  /** Adds paths to the OpenAPI document. */
  describe: (paths: OpenApiDocument['paths'], schemas?: Record<string, unknown>) => void;
  /** The principal a bearer token belongs to, or undefined (for sign-in outside /api/, like the dashboard's). */
  authenticate: (token: string) => Principal | undefined;
  /** The API's OpenAPI document as mounted so far (read-only use). */
  document: () => OpenApiDocument;
}

/** Mounts more routes on the API app (incidents, status page helpers, …). */
export type RouteRegistrar = (app: ApiApp, ctx: ApiContext) => void;

export interface ApiOptions {
  store: Store;
  config: EtapeConfig;
  clock?: Clock;
  log?: Logger;
  /** /metrics in the Prometheus text format (etape serve). Outside /api/: no token, like /healthz. */
  metrics?: () => Promise<{ body: string; contentType: string }>;
  /** The store's health (etape serve): /healthz answers 503 while it is not ok. */
  health?: () => { ok: boolean; since: number; error?: string };
  /** Called after a write, so a controller in the same process acts at once. */
  onChange?: (rolloutId: string) => void;
  routes?: RouteRegistrar[];
  planner?: ops.OperationsContext['planner'];
  gateKinds?: ReadonlyMap<string, GateKind>;
  env?: NodeJS.ProcessEnv;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  bad_request: 400,
  too_large: 413,
  usage: 400,
  'config.invalid': 400,
  'plan.invalid': 400,
  'plan.unsatisfiable': 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  'store.conflict': 409,
  'store.unavailable': 503,
  // another controller holds the rollout now: the request may be repeated
  'store.fenced': 409,
  // the database was migrated by a newer etape: this server cannot serve it
  'store.too_new': 503,
  // a rollout's stored state does not fit: the request cannot be served until it is fixed
  'store.invalid_state': 500,
  'driver.failed': 502,
};

function errorBody(e: EtapeError) {
  return { error: { code: e.code, message: e.message, problems: e.problems.map((p) => ({ path: p.path, message: p.message })) } };
}

export function createApi(opts: ApiOptions): ApiApp {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const auth = new TokenAuth(opts.config.server.tokens, opts.env);
  const doc = openApiDocument();
  const app: ApiApp = new Hono<ApiEnv>();
  const opsCtx: ops.OperationsContext = { store: opts.store, config: opts.config, clock, planner: opts.planner, gateKinds: opts.gateKinds };

  app.onError((err, c) => {
    if (isEtapeError(err)) {
      const status = STATUS[err.code] ?? 500;
      if (status >= 500) log.error({ err, path: c.req.path }, 'request failed');
      return c.json(errorBody(err), status as 400);
    }
    log.error({ err, path: c.req.path }, 'request failed');
    return c.json({ error: { code: 'internal', message: 'internal error; see the server log', problems: [] } }, 500);
  });
  app.notFound((c) =>
    c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}; see /openapi.json`, problems: [] } }, 404),
  );

  // No body is read whole past the limit: a Content-Length over it is refused at once, a streamed body as
  // soon as it passes it.
  app.use(
    '*',
    bodyLimit({
      maxSize: API_LIMITS.bodyBytes,
      onError: () => {
        throw new EtapeError('too_large', `the request body is larger than ${API_LIMITS.bodyBytes / 1024} KiB, the most the API takes`, {
          problems: [{ path: 'body', message: `at most ${API_LIMITS.bodyBytes} bytes` }],
        });
      },
    }),
  );

  app.get('/openapi.json', (c) => c.json(doc));
  if (opts.metrics) {
    const metrics = opts.metrics;
    app.get('/metrics', async (c) => {
      const m = await metrics();
      return c.body(m.body, 200, { 'content-type': m.contentType });
    });
  }
  // The store's health is the server's: 503 while the store cannot be written (see src/store/health.ts).
  app.get('/healthz', (c) => {
    const store = opts.health?.();
    const ok = store?.ok ?? true;
    return c.json(
      {
        ok,
        at: new Date(clock.now()).toISOString(),
        ...(store
          ? { store: { ok: store.ok, since: new Date(store.since).toISOString(), ...(store.error ? { error: store.error } : {}) } }
          : {}),
      },
      ok ? 200 : 503,
    );
  });

  // Authentication for everything under /api/, then the role a method needs.
  app.use('/api/*', async (c, next) => {
    const p = auth.authenticate(c.req.header('authorization'));
    if (!p) {
      c.header('WWW-Authenticate', 'Bearer realm="etape"');
      throw new EtapeError(
        'unauthorized',
        auth.size > 0
          ? 'send a valid bearer token: Authorization: Bearer <token>'
          : auth.missing.length > 0
            ? `this server has no usable API token: the environment variables of server.tokens (${auth.missing.join(', ')}) were not set when it started`
            : 'this server has no API tokens configured: its operator must add server.tokens to etape.yaml (each with a name, a role and the token, preferably { env: NAME })',
      );
    }
    c.set('principal', p);
    c.set('actor', `api:${p.name}`);
    const need: Role = c.req.method === 'GET' || c.req.method === 'HEAD' ? 'viewer' : 'operator';
    if (!allows(p.role, need)) throw new EtapeError('forbidden', `token ${p.name} has role ${p.role}; this needs ${need}`);
    await next();
  });

  const requireRole =
    (role: Role): MiddlewareHandler<ApiEnv> =>
    async (c, next) => {
      const p = c.get('principal');
      if (!p) throw new EtapeError('unauthorized', 'send a valid bearer token: Authorization: Bearer <token>');
      if (!allows(p.role, role)) throw new EtapeError('forbidden', `token ${p.name} has role ${p.role}; this needs ${role}`);
      await next();
    };

  const body = async <T extends z.ZodType>(c: Context<ApiEnv>, schema: T): Promise<z.infer<T>> => {
    let raw: unknown = {};
    const text = await c.req.text();
    if (text.trim() !== '') {
      try {
        raw = JSON.parse(text);
      } catch {
        throw new EtapeError('bad_request', 'body: not valid JSON', { problems: [{ path: 'body', message: 'not valid JSON' }] });
      }
      if (jsonDepth(raw, API_LIMITS.jsonDepth) > API_LIMITS.jsonDepth)
        throw new EtapeError('bad_request', `body: nested more than ${API_LIMITS.jsonDepth} deep`, {
          problems: [{ path: 'body', message: `nested more than ${API_LIMITS.jsonDepth} deep` }],
        });
    }
    const r = schema.safeParse(raw);
    if (!r.success) {
      const problems = r.error.issues.map((i) => {
        const path = i.path.length ? i.path.join('.') : i.code === 'unrecognized_keys' ? (i as { keys: string[] }).keys.join(', ') : 'body';
        return { path, message: i.message };
      });
      throw new EtapeError('bad_request', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { problems });
    }
    return r.data;
  };

  const ctx: ApiContext = {
    store: opts.store,
    config: opts.config,
    clock,
    log,
    requireRole,
    body,
    describe: (paths, schemas) => {
      Object.assign(doc.paths, paths);
      if (schemas) Object.assign(doc.components.schemas, schemas);
    },
    authenticate: (token) => auth.authenticate(`Bearer ${token}`),
    document: () => doc,
  };

  registerRolloutRoutes(app, ctx, opsCtx, opts.onChange ?? (() => {}));
  for (const r of opts.routes ?? []) r(app, ctx);
  // The body and time limits hold for every route, whoever mounted it: say so on every operation that takes a body.
  for (const item of Object.values(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      if (!op || method === 'get') continue;
      op.responses['413'] ??= {
        description: `The body is larger than ${API_LIMITS.bodyBytes / 1024} KiB; refused before it is read whole`,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
      op.responses['408'] ??= { description: `The request did not arrive within ${API_LIMITS.requestMs / 1000} s` };
    }
  return app;
}

const startBody = z.strictObject({
  service: nameField('service name'),
  version: nameField('version'),
  id: nameField('rollout id').optional(),
  rollbackOnHalt: z.boolean().optional(),
});
const reasonBody = z.strictObject({ reason: z.string().max(1000, 'the reason may be at most 1000 characters').optional() });
const forceBody = z.strictObject({
  version: nameField('version'),
  reason: z.string().max(1000, 'the reason may be at most 1000 characters').optional(),
});
const approveBody = z.strictObject({
  wave: z.number({ error: 'give the wave as a number' }).int('wave must be a whole number').min(1, 'wave must be 1 or more').optional(),
});

function intParam(c: Context<ApiEnv>, name: string, min: number): number | undefined {
  const v = c.req.query(name);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new EtapeError('bad_request', `${name}: must be a whole number of at least ${min}`, {
      problems: [{ path: name, message: `must be a whole number of at least ${min}` }],
    });
  }
  return n;
}

function registerRolloutRoutes(app: ApiApp, ctx: ApiContext, opsCtx: ops.OperationsContext, onChange: (id: string) => void): void {
  app.get('/api/rollouts', async (c) => {
    const active = c.req.query('active');
    if (active !== undefined && active !== 'true' && active !== 'false') {
      throw new EtapeError('bad_request', 'active: must be true or false', {
        problems: [{ path: 'active', message: 'must be true or false' }],
      });
    }
    const rs = await ops.listRollouts(ctx.store, {
      service: c.req.query('service') || undefined,
      active: active === 'true',
      limit: intParam(c, 'limit', 1),
    });
    return c.json({ rollouts: rs.map(summarize) });
  });

  app.post('/api/rollouts', async (c) => {
    const b = await ctx.body(c, startBody);
    const rec = await ops.startRollout(opsCtx, { ...b, actor: c.get('actor') });
    onChange(rec.id);
    return c.json(summarize(rec), 201);
  });

  app.get('/api/rollouts/:id', async (c) => c.json(summarize(await ops.getRollout(ctx.store, c.req.param('id')))));

  app.get('/api/rollouts/:id/events', async (c) => {
    const events = await ops.rolloutHistory(ctx.store, c.req.param('id'), {
      afterSeq: intParam(c, 'after', 0),
      limit: intParam(c, 'limit', 1),
    });
    return c.json({ events });
  });

  const write = (path: string, run: (c: Context<ApiEnv>, id: string) => Promise<import('../store/store.js').RolloutRecord>) =>
    app.post(`/api/rollouts/:id/${path}`, async (c) => {
      const id = c.req.param('id');
      await ops.getRollout(ctx.store, id); // 404 before judging the body
      const rec = await run(c, id);
      onChange(id);
      return c.json(summarize(rec));
    });
  write('pause', async (c, id) => ops.pauseRollout(opsCtx, id, c.get('actor'), (await ctx.body(c, reasonBody)).reason));
  write('resume', async (c, id) => {
    await ctx.body(c, z.strictObject({}));
    return ops.resumeRollout(opsCtx, id, c.get('actor'));
  });
  write('abort', async (c, id) => ops.abortRollout(opsCtx, id, c.get('actor'), (await ctx.body(c, reasonBody)).reason));
  write('retry', async (c, id) => ops.retryRollout(opsCtx, id, c.get('actor')));
  app.post('/api/rollouts/:id/targets/:target/force', async (c) => {
    const id = c.req.param('id');
    await ops.getRollout(ctx.store, id);
    const rec = await ops.forceRolloutTarget(opsCtx, id, c.req.param('target'), c.get('actor'), (await ctx.body(c, reasonBody)).reason);
    onChange(id);
    return c.json(summarize(rec));
  });
  app.post('/api/services/:service/targets/:target/force', async (c) => {
    const b = await ctx.body(c, forceBody);
    const r = await ops.forceTarget(opsCtx, {
      service: c.req.param('service'),
      target: c.req.param('target'),
      ...b,
      actor: c.get('actor'),
    });
    onChange(r.rollout.id);
    return c.json(summarize(r.rollout), r.via === 'force' ? 201 : 200);
  });
  write('approve', async (c, id) => ops.approveWave(opsCtx, id, c.get('actor'), (await ctx.body(c, approveBody)).wave));
}

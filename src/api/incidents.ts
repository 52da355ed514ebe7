// Incident routes for the HTTP API: viewers read (with overdue flags), operators open, update, resolve
// and schedule maintenance. Mounted by `etape serve` through createApi's `routes`.
import { createNotifier } from '../notify/outbox.js';
import { z } from 'zod';
import { EtapeError } from '../core/errors.js';
import { API_LIMITS } from '../core/limits.js';
import { ms } from '../config/common.js';
import { componentsFromConfig } from '../status/status.js';
import type { Notifier } from '../incidents/notify.js';
import {
  getIncidentOp,
  knownFrom,
  listIncidentsOp,
  openIncidentOp,
  publishPostmortemOp,
  resolveIncidentOp,
  scheduleMaintenanceOp,
  updateIncidentOp,
  type IncidentDeps,
} from '../incidents/service.js';
import type { ApiApp, ApiContext } from './app.js';

const L = API_LIMITS;
const title = z
  .string({ error: 'give the title as a string' })
  .min(1, 'give a title: what people see')
  .max(L.titleChars, `at most ${L.titleChars} characters: say in a line what people see`);
const message = z.string().max(L.textChars, `at most ${L.textChars} characters; link to the details instead`);
const component = z.string().min(1).max(L.nameChars, `a component is service/region, at most ${L.nameChars} characters`);
const components = z.array(component).max(L.listItems, `at most ${L.listItems} components; a bare service stands for all its regions`);

const openBody = z.strictObject({
  title,
  impact: z.enum(['none', 'minor', 'major', 'critical']).optional(),
  components: components.min(1, 'name the affected components: service/region, or a bare service for all its regions'),
  message: message.optional(),
  status: z.enum(['investigating', 'identified', 'monitoring']).optional(),
});
const updateBody = z.strictObject({
  message: message.default(''),
  status: z
    .enum(['investigating', 'identified', 'monitoring', 'resolved', 'postmortem', 'scheduled', 'in_progress', 'verifying', 'completed'])
    .optional(),
  impact: z.enum(['none', 'minor', 'major', 'critical']).optional(),
  components: components.min(1, 'name at least one component').optional(),
});
const resolveBody = z.strictObject({ message: message.optional() });
const postmortemBody = z.strictObject({ text: z.string().min(1) });
const maintenanceBody = z.strictObject({
  title,
  components: components.min(1, 'name the components the maintenance touches'),
  message: message.optional(),
  start: z.iso.datetime({ offset: true, error: 'start: an ISO 8601 time like 2026-11-25T02:00:00Z' }),
  end: z.iso.datetime({ offset: true, error: 'end: an ISO 8601 time like 2026-11-25T04:00:00Z' }),
});

function bool(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new EtapeError('bad_request', `${name}: must be true or false`, { problems: [{ path: name, message: 'must be true or false' }] });
}

/** Mounts the incident routes with the API's store, config, clock and log; changes go to the configured webhooks. */
export function registerIncidentRoutes(app: ApiApp, ctx: ApiContext): void {
  mount(app, ctx, createNotifier({ config: ctx.config, store: ctx.store, clock: ctx.clock, log: ctx.log }));
}

function mount(app: ApiApp, ctx: ApiContext, notifier: Notifier | undefined): void {
  const deps: IncidentDeps = {
    store: ctx.store,
    clock: ctx.clock,
    log: ctx.log,
    notifier,
    updateCadenceMs: ms(ctx.config.statuspage.updateCadence),
    known: knownFrom(componentsFromConfig(ctx.config)),
    baseUrl: ctx.config.statuspage.url?.replace(/\/+$/, ''),
  };

  app.get('/api/incidents', async (c) => {
    const kind = c.req.query('kind');
    if (kind !== undefined && kind !== 'incident' && kind !== 'maintenance')
      throw new EtapeError('bad_request', 'kind: must be incident or maintenance', {
        problems: [{ path: 'kind', message: 'must be incident or maintenance' }],
      });
    const limitRaw = c.req.query('limit');
    const limit = limitRaw === undefined ? 50 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1)
      throw new EtapeError('bad_request', 'limit: must be a whole number of at least 1', {
        problems: [{ path: 'limit', message: 'must be a whole number of at least 1' }],
      });
    const overdue = bool(c.req.query('overdue'), 'overdue');
    const list = await listIncidentsOp(deps, { open: bool(c.req.query('open'), 'open') || overdue, overdue, kind, limit });
    return c.json({ incidents: list, overdue: list.filter((i) => i.overdue).map((i) => i.id) });
  });
  app.get('/api/incidents/:id', async (c) => c.json(await getIncidentOp(deps, c.req.param('id'))));
  app.post('/api/incidents', async (c) => {
    const b = await ctx.body(c, openBody);
    const v = await openIncidentOp(deps, {
      title: b.title,
      impact: b.impact,
      components: b.components,
      body: b.message,
      status: b.status,
      actor: c.get('actor'),
    });
    return c.json(v, 201);
  });
  app.post('/api/incidents/:id/updates', async (c) => {
    const id = c.req.param('id');
    await getIncidentOp(deps, id);
    const b = await ctx.body(c, updateBody);
    return c.json(
      await updateIncidentOp(deps, id, {
        body: b.message,
        status: b.status,
        impact: b.impact,
        components: b.components,
        actor: c.get('actor'),
      }),
    );
  });
  app.post('/api/incidents/:id/resolve', async (c) => {
    const id = c.req.param('id');
    await getIncidentOp(deps, id);
    const b = await ctx.body(c, resolveBody);
    return c.json(await resolveIncidentOp(deps, id, { body: b.message, actor: c.get('actor') }));
  });
  app.post('/api/incidents/:id/postmortem', async (c) => {
    const id = c.req.param('id');
    await getIncidentOp(deps, id);
    const b = await ctx.body(c, postmortemBody);
    return c.json(await publishPostmortemOp(deps, id, { text: b.text, actor: c.get('actor') }));
  });
  app.post('/api/maintenances', async (c) => {
    const b = await ctx.body(c, maintenanceBody);
    const v = await scheduleMaintenanceOp(deps, {
      title: b.title,
      components: b.components,
      body: b.message,
      start: Date.parse(b.start),
      end: Date.parse(b.end),
      actor: c.get('actor'),
    });
    return c.json(v, 201);
  });

  const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });
  const incident = { type: 'object', description: 'An incident or maintenance with its timeline, plus `overdue` and `lastUpdateAt`' };
  const err = { $ref: '#/components/schemas/Error' };
  const errors = {
    '400': { description: 'Bad input', content: json(err) },
    '401': { description: 'No valid bearer token', content: json(err) },
    '403': { description: 'The token lacks the role this needs', content: json(err) },
    '409': {
      description: "Not possible in the incident's status (a postmortem before the resolution, a change after the postmortem)",
      content: json(err),
    },
    '413': { description: `The body is larger than ${API_LIMITS.bodyBytes / 1024} KiB`, content: json(err) },
  };
  const idParam = {
    name: 'id',
    in: 'path' as const,
    required: true,
    schema: { type: 'string' },
    description: 'Incident or maintenance id',
  };
  ctx.describe({
    '/api/incidents': {
      get: {
        summary: 'List incidents and maintenance, newest first, with overdue flags',
        operationId: 'listIncidents',
        tags: ['incidents'],
        parameters: [
          { name: 'open', in: 'query', schema: { type: 'boolean' } },
          { name: 'overdue', in: 'query', schema: { type: 'boolean' }, description: 'Only open incidents overdue for a public update' },
          { name: 'kind', in: 'query', schema: { enum: ['incident', 'maintenance'] } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
        ],
        responses: {
          '200': {
            description: 'Incidents',
            content: json({
              type: 'object',
              properties: { incidents: { type: 'array', items: incident }, overdue: { type: 'array', items: { type: 'string' } } },
            }),
          },
          ...errors,
        },
      },
      post: {
        summary: 'Open an incident (operator)',
        operationId: 'openIncident',
        tags: ['incidents'],
        requestBody: { required: true, content: json(z.toJSONSchema(openBody, { io: 'input' }) as Record<string, unknown>) },
        responses: { '201': { description: 'The incident', content: json(incident) }, ...errors },
      },
    },
    '/api/incidents/{id}': {
      get: {
        summary: 'One incident with its timeline',
        operationId: 'getIncident',
        tags: ['incidents'],
        parameters: [idParam],
        responses: { '200': { description: 'The incident', content: json(incident) }, ...errors },
      },
    },
    '/api/incidents/{id}/updates': {
      post: {
        summary: 'Add a public update (operator)',
        operationId: 'updateIncident',
        tags: ['incidents'],
        parameters: [idParam],
        requestBody: { required: true, content: json(z.toJSONSchema(updateBody, { io: 'input' }) as Record<string, unknown>) },
        responses: { '200': { description: 'The incident', content: json(incident) }, ...errors },
      },
    },
    '/api/incidents/{id}/resolve': {
      post: {
        summary: 'Resolve with a closing update (operator)',
        operationId: 'resolveIncident',
        tags: ['incidents'],
        parameters: [idParam],
        requestBody: { required: false, content: json(z.toJSONSchema(resolveBody, { io: 'input' }) as Record<string, unknown>) },
        responses: { '200': { description: 'The incident', content: json(incident) }, ...errors },
      },
    },
    '/api/incidents/{id}/postmortem': {
      post: {
        summary: 'Publish or revise the postmortem of a resolved incident (operator)',
        operationId: 'publishPostmortem',
        tags: ['incidents'],
        parameters: [idParam],
        requestBody: { required: true, content: json(z.toJSONSchema(postmortemBody, { io: 'input' }) as Record<string, unknown>) },
        responses: { '200': { description: 'The incident', content: json(incident) }, ...errors },
      },
    },
    '/api/maintenances': {
      post: {
        summary: 'Announce a maintenance window (operator)',
        operationId: 'scheduleMaintenance',
        tags: ['incidents'],
        requestBody: { required: true, content: json(z.toJSONSchema(maintenanceBody, { io: 'input' }) as Record<string, unknown>) },
        responses: { '201': { description: 'The maintenance', content: json(incident) }, ...errors },
      },
    },
  });
}

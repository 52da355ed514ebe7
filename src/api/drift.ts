// Drift routes (viewer): the targets that run a version etape did not verify, per service, and a service's
// status (what etape last verified, its drift setting, its drift, its active rollout). docs/drift.md.
import { EtapeError } from '../core/errors.js';
import { driftReport } from '../drift/operations.js';
import { findService } from '../rollout/operations.js';
import { ACTIVE_PHASES } from '../rollout/phases.js';
import type { ApiApp, ApiContext } from './app.js';

const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });

const mark = {
  type: 'object',
  properties: {
    service: { type: 'string' },
    target: { type: 'string', description: '`region/cell`' },
    region: { type: 'string' },
    cell: { type: 'string' },
    version: { type: 'string', description: 'The version the target reports' },
    expected: { type: 'string', description: 'The version etape last verified for it' },
    since: { type: 'integer', description: 'When it was first seen on `version` (ms since the epoch)' },
    reportedBy: { type: 'string', description: '`etape:observe` (the driver) or the name of a probe' },
    revert: {
      type: 'object',
      description: 'The automatic revert of this drift (`drift: revert`)',
      properties: { rolloutId: { type: 'string' }, at: { type: 'integer' }, phase: { type: 'string' } },
    },
  },
  required: ['service', 'target', 'version', 'expected', 'since'],
};
const serviceDrift = {
  type: 'object',
  properties: {
    service: { type: 'string' },
    mode: { enum: ['alert', 'revert'], description: '`services[].drift`' },
    verified: { type: ['string', 'null'], description: 'What etape last verified (null: unknown, drift is not judged)' },
    drift: { type: 'array', items: mark },
  },
  required: ['service', 'mode', 'verified', 'drift'],
};

export function registerDriftRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/api/drift', async (c) => {
    const service = c.req.query('service');
    if (service !== undefined) findService(ctx.config, service);
    return c.json({ services: await driftReport(ctx.store, ctx.config, service) });
  });
  app.get('/api/services/:service', async (c) => {
    const name = c.req.param('service');
    if (!ctx.config.services.some((s) => s.name === name))
      throw new EtapeError('not_found', `no service ${name} in the config (known: ${ctx.config.services.map((s) => s.name).join(', ')})`);
    const [report] = await driftReport(ctx.store, ctx.config, name);
    const [active] = await ctx.store.listRollouts({ service: name, phases: [...ACTIVE_PHASES], limit: 1 });
    return c.json({
      ...report,
      activeRollout: active ? { id: active.id, version: active.version, phase: active.phase } : null,
    });
  });
  const errors = { '401': { description: 'No or unknown token' } };
  ctx.describe({
    '/api/drift': {
      get: {
        summary: 'Targets running a version etape did not verify, per service (drift)',
        operationId: 'listDrift',
        tags: ['drift'],
        parameters: [{ name: 'service', in: 'query', schema: { type: 'string' }, description: 'Only this service' }],
        responses: {
          '200': {
            description: 'Drift per service of the config',
            content: json({ type: 'object', properties: { services: { type: 'array', items: serviceDrift } }, required: ['services'] }),
          },
          '400': { description: 'No such service' },
          ...errors,
        },
      },
    },
    '/api/services/{service}': {
      get: {
        summary: 'A service: what etape last verified, its drift setting and drift, its active rollout',
        operationId: 'getService',
        tags: ['drift'],
        parameters: [{ name: 'service', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'The service',
            content: json({
              ...serviceDrift,
              properties: {
                ...serviceDrift.properties,
                activeRollout: {
                  type: ['object', 'null'],
                  properties: { id: { type: 'string' }, version: { type: 'string' }, phase: { type: 'string' } },
                },
              },
            }),
          },
          '404': { description: 'No such service in the config' },
          ...errors,
        },
      },
    },
  });
}

// Freeze routes: viewers list the freezes in force, operators set and lift them (docs/stop-the-line.md).
import { z } from 'zod';
import { activeFreezes, liftFreeze, setFreeze } from '../rollout/freeze-operations.js';
import type { ApiApp, ApiContext } from './app.js';

const setBody = z.strictObject({
  scope: z.enum(['global', 'region', 'service']),
  /** The region or service, for those scopes. */
  value: z.string().max(128).optional(),
  reason: z.string().min(1, 'say why: people see it on every paused rollout').max(500),
});

const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });
const freeze = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    scope: { enum: ['global', 'region', 'service'] },
    value: { type: 'string' },
    reason: { type: 'string' },
    by: { type: 'string' },
    at: { type: 'integer', description: 'ms since the epoch' },
  },
};

export function registerFreezeRoutes(app: ApiApp, ctx: ApiContext, onChange?: () => void): void {
  const fctx = { store: ctx.store, config: ctx.config, clock: ctx.clock };
  app.get('/api/freezes', async (c) => c.json({ freezes: await activeFreezes(ctx.store) }));
  app.post('/api/freezes', async (c) => {
    const b = await ctx.body(c, setBody);
    const r = await setFreeze(fctx, { scope: b.scope, value: b.value, reason: b.reason, actor: c.get('actor') });
    onChange?.();
    return c.json({ ...r.freeze, paused: r.paused }, 201);
  });
  app.delete('/api/freezes/:id', async (c) => {
    const r = await liftFreeze(fctx, c.req.param('id'), c.get('actor'));
    onChange?.();
    return c.json({ ...r.freeze, resumed: r.resumed });
  });
  const errors = {
    '400': { description: 'Bad input' },
    '401': { description: 'No or unknown token' },
    '403': { description: 'Not an operator' },
  };
  ctx.describe({
    '/api/freezes': {
      get: {
        summary: 'The freezes in force',
        operationId: 'listFreezes',
        tags: ['freezes'],
        responses: {
          '200': { description: 'Freezes', content: json({ type: 'object', properties: { freezes: { type: 'array', items: freeze } } }) },
          ...errors,
        },
      },
      post: {
        summary: 'Set a freeze (operator): pauses every rollout in scope and holds new waves there until lifted',
        operationId: 'setFreeze',
        tags: ['freezes'],
        requestBody: { required: true, content: json(z.toJSONSchema(setBody, { io: 'input' }) as Record<string, unknown>) },
        responses: { '201': { description: 'The freeze, with the rollouts it paused', content: json(freeze) }, ...errors },
      },
    },
    '/api/freezes/{id}': {
      delete: {
        summary: 'Lift a freeze (operator): the rollouts it paused resume unless another freeze covers them',
        operationId: 'liftFreeze',
        tags: ['freezes'],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The lifted freeze', content: json(freeze) },
          '404': { description: 'No such freeze in force' },
          ...errors,
        },
      },
    },
  });
}

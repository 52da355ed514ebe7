// The OpenAPI 3.1 description of the HTTP API, written as a typed object and served at /openapi.json.
// Routes mounted by other parts add their paths through ApiContext.describe.
import { API_LIMITS, limitsDescription } from '../core/limits.js';

type Schema = Record<string, unknown>;

export interface OpenApiOperation {
  summary: string;
  operationId: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: Schema; description?: string }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}

export type OpenApiPathItem = Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', OpenApiOperation>>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string; 'x-limits'?: Record<string, number> };
  servers?: { url: string }[];
  paths: Record<string, OpenApiPathItem>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, Schema> };
  security: Record<string, string[]>[];
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const idParam = { name: 'id', in: 'path' as const, required: true, schema: { type: 'string' }, description: 'Rollout id' };

const targetParam = {
  name: 'target',
  in: 'path' as const,
  required: true,
  schema: { type: 'string' },
  description: 'Target `region/cell`, URL-encoded (`eu-west%2Fc1`)',
};

const errors = {
  '400': { description: 'Bad input; `error.problems[].path` names the field', content: json(ref('Error')) },
  '401': { description: 'No valid bearer token', content: json(ref('Error')) },
  '403': { description: 'The token lacks the role this needs', content: json(ref('Error')) },
  '408': {
    description: `The request did not arrive within ${API_LIMITS.requestMs / 1000} s (headers within ${API_LIMITS.headersMs / 1000} s)`,
  },
  '413': {
    description: `The body is larger than ${API_LIMITS.bodyBytes / 1024} KiB; refused before it is read whole`,
    content: json(ref('Error')),
  },
};
const notFound = { '404': { description: 'No rollout with this id', content: json(ref('Error')) } };
const conflict = { '409': { description: "Not possible in the rollout's current phase", content: json(ref('Error')) } };

function command(name: string, summary: string, body: Schema | undefined): OpenApiPathItem {
  return {
    post: {
      summary,
      operationId: `${name}Rollout`,
      tags: ['rollouts'],
      parameters: [idParam],
      ...(body ? { requestBody: { required: false, content: json(body) } } : {}),
      responses: {
        '200': { description: 'The rollout after the command', content: json(ref('Rollout')) },
        ...errors,
        ...notFound,
        ...conflict,
      },
    },
  };
}

export function openApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'etape',
      version: '1',
      'x-limits': { ...API_LIMITS },
      description:
        'Staged, region-aware rollouts. Every /api/ route needs `Authorization: Bearer <token>`; reads need the viewer role, writes the operator role. ' +
        limitsDescription(),
    },
    security: [{ bearer: [] }],
    paths: {
      '/api/rollouts': {
        get: {
          summary: 'List rollouts, newest first',
          operationId: 'listRollouts',
          tags: ['rollouts'],
          parameters: [
            { name: 'service', in: 'query', schema: { type: 'string' } },
            { name: 'active', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
          ],
          responses: {
            '200': {
              description: 'Rollouts',
              content: json({ type: 'object', properties: { rollouts: { type: 'array', items: ref('Rollout') } }, required: ['rollouts'] }),
            },
            ...errors,
          },
        },
        post: {
          summary: 'Plan and start a rollout of a service to a version',
          operationId: 'startRollout',
          tags: ['rollouts'],
          requestBody: { required: true, content: json(ref('StartRollout')) },
          responses: { '201': { description: 'The new rollout (phase pending)', content: json(ref('Rollout')) }, ...errors, ...conflict },
        },
      },
      '/api/rollouts/{id}': {
        get: {
          summary: 'A rollout: phase, waves, targets, bake left, gate verdicts',
          operationId: 'getRollout',
          tags: ['rollouts'],
          parameters: [idParam],
          responses: { '200': { description: 'The rollout', content: json(ref('Rollout')) }, ...errors, ...notFound },
        },
      },
      '/api/rollouts/{id}/events': {
        get: {
          summary: "The rollout's event log, oldest first",
          operationId: 'rolloutEvents',
          tags: ['rollouts'],
          parameters: [
            idParam,
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'Only events with a greater seq' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
          ],
          responses: {
            '200': {
              description: 'Events',
              content: json({ type: 'object', properties: { events: { type: 'array', items: ref('Event') } }, required: ['events'] }),
            },
            ...errors,
            ...notFound,
          },
        },
      },
      '/api/rollouts/{id}/pause': command('pause', 'Pause: no new wave starts and bake does not accrue', ref('Reason')),
      '/api/rollouts/{id}/resume': command('resume', 'Resume a paused rollout', undefined),
      '/api/rollouts/{id}/abort': command('abort', 'Abort: every touched target goes back to its last verified version', ref('Reason')),
      '/api/rollouts/{id}/retry': command(
        'retry',
        'A failed rollback: roll back again whatever is not back yet (pair-safe order)',
        undefined,
      ),
      '/api/rollouts/{id}/targets/{target}/force': {
        post: {
          summary:
            'Force a target whose rollback failed back to its last verified version, inside the rollout (kill and restart, pair-safe, proven like any rollback)',
          operationId: 'forceRolloutTarget',
          tags: ['rollouts'],
          parameters: [idParam, targetParam],
          requestBody: { required: false, content: json(ref('Reason')) },
          responses: {
            '200': { description: 'The rollout after the command (rolling_back)', content: json(ref('Rollout')) },
            ...errors,
            '404': { description: 'No rollout with this id, or no such target in it', content: json(ref('Error')) },
            '409': { description: 'The rollout is not rolling back or failed, or the target is not failed', content: json(ref('Error')) },
          },
        },
      },
      '/api/services/{service}/targets/{target}/force': {
        post: {
          summary:
            'Force one target of a service to a version it ran before (kill and restart by the driver, proven like any deploy): inside the rollout whose rollback failed on it, else as a force rollout of the one target',
          operationId: 'forceTarget',
          tags: ['rollouts'],
          parameters: [
            { name: 'service', in: 'path', required: true, schema: { type: 'string' }, description: 'Service name' },
            targetParam,
          ],
          requestBody: { required: true, content: json(ref('ForceTarget')) },
          responses: {
            '200': { description: 'Forced inside the rollout whose rollback failed on it', content: json(ref('Rollout')) },
            '201': { description: 'A new force rollout of the one target (phase pending)', content: json(ref('Rollout')) },
            ...errors,
            '409': {
              description: 'The service has an active rollout: nothing else changes it until that ends',
              content: json(ref('Error')),
            },
          },
        },
      },
      '/api/rollouts/{id}/approve': command('approve', 'Approve a wave (default: the current one)', {
        type: 'object',
        additionalProperties: false,
        properties: { wave: { type: 'integer', minimum: 1 } },
      }),
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'problems'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                problems: {
                  type: 'array',
                  items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
                },
              },
            },
          },
        },
        StartRollout: {
          type: 'object',
          additionalProperties: false,
          required: ['service', 'version'],
          properties: {
            service: { type: 'string', minLength: 1, maxLength: API_LIMITS.nameChars },
            version: { type: 'string', minLength: 1, maxLength: API_LIMITS.nameChars },
            id: { type: 'string', minLength: 1, maxLength: API_LIMITS.nameChars },
            rollbackOnHalt: { type: 'boolean', default: true },
          },
        },
        Reason: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1000 } } },
        ForceTarget: {
          type: 'object',
          additionalProperties: false,
          required: ['version'],
          properties: {
            version: {
              type: 'string',
              description: 'A version the service ran before (its initial version, or one a rollout verified or left)',
            },
            reason: { type: 'string', maxLength: 1000 },
          },
        },
        Event: {
          type: 'object',
          required: ['seq', 'rolloutId', 'at', 'actor', 'type', 'data'],
          properties: {
            seq: { type: 'integer' },
            rolloutId: { type: ['string', 'null'] },
            at: { type: 'integer', description: 'ms since the epoch' },
            actor: { type: 'string', description: 'controller, cli:<user>, api:<token name>' },
            type: { type: 'string' },
            data: {},
          },
        },
        Rollout: {
          type: 'object',
          required: ['id', 'service', 'version', 'phase', 'waves'],
          properties: {
            id: { type: 'string' },
            service: { type: 'string' },
            version: { type: 'string' },
            fromVersion: { type: ['string', 'null'] },
            phase: {
              type: 'string',
              enum: ['pending', 'running', 'paused', 'completed', 'halted', 'aborted', 'rolling_back', 'rolled_back', 'failed'],
            },
            force: { type: 'boolean', description: 'a force of one target (`etape target force`), not a release' },
            revision: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
            createdBy: { type: 'string' },
            currentWave: { type: ['integer', 'null'] },
            pausedBy: { type: ['string', 'null'] },
            stop: {
              type: ['object', 'null'],
              properties: {
                kind: { type: 'string', enum: ['halt', 'abort'] },
                by: { type: 'string' },
                reason: { type: 'string' },
                at: { type: 'string' },
              },
            },
            waves: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  index: { type: 'integer' },
                  status: { type: 'string', enum: ['waiting', 'awaiting_approval', 'deploying', 'baking', 'verified'] },
                  regions: { type: 'array', items: { type: 'string' } },
                  bakeMs: { type: 'integer' },
                  bakeAccruedMs: { type: 'integer' },
                  bakeLeftMs: { type: 'integer' },
                  accruing: { type: 'boolean' },
                  approval: { type: 'boolean' },
                  approvedBy: { type: ['string', 'null'] },
                  gates: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        gate: { type: 'string' },
                        kind: { type: 'string' },
                        verdict: { type: 'string', enum: ['pass', 'fail', 'inconclusive', 'error'] },
                        reason: { type: 'string' },
                        at: { type: 'string' },
                      },
                    },
                  },
                  targets: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        id: { type: 'string' },
                        status: { type: 'string' },
                        attempt: { type: 'integer' },
                        lastError: { type: ['string', 'null'] },
                      },
                    },
                  },
                },
              },
            },
            rollback: {
              type: ['object', 'null'],
              description:
                'The rollback in the order targets go back: failing first, then healthy; a region’s partner only once it passes on the old version',
              properties: {
                startedAt: { type: 'string', format: 'date-time' },
                round: { type: 'integer', description: '1, then one more for each `rollout retry`' },
                targets: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      failing: { type: 'boolean', description: 'its newest evidence was not a pass when the rollback began' },
                      hung: { type: 'boolean', description: 'that evidence was a timeout: it is forced straight away' },
                      stage: { type: 'string', enum: ['waiting', 'in_flight', 'proving', 'back', 'failed', 'held'] },
                      waitReason: { type: ['string', 'null'] },
                      lastError: { type: ['string', 'null'] },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}

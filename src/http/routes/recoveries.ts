import { createRoute } from '@hono/zod-openapi';
import { RecoveryIdParam, RecoveryProgress } from '../schemas.js';
import { BEARER, errors, json, type App } from './common.js';

const getRecoveryRoute = createRoute({
  security: BEARER,
  tags: ['webhooks'],
  method: 'get',
  path: '/v1/recoveries/{workflowId}',
  summary: 'Progress of a recovery job',
  description: 'Asks the running job (its `progress` query) how far it got; a finished job reports its result.',
  request: { params: RecoveryIdParam },
  responses: { 200: json(RecoveryProgress, 'The job and its progress.'), ...errors(404) },
});

export function registerRecoveryRoutes(app: App): void {
  app.openapi(getRecoveryRoute, async (c) => {
    // The client answers 404 for another tenant's job (it checks the job's webhook).
    return c.json(await c.get('herald').recovery(c.req.valid('param').workflowId), 200);
  });
}

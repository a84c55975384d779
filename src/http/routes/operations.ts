import { createRoute, z } from '@hono/zod-openapi';
import type { HeraldMetrics } from '../../metrics/metrics.js';
import type { HealthReport } from '../health.js';
import { Health } from '../schemas.js';
import { json, type App } from './common.js';

const tags = ['operations'];

const healthRoute = createRoute({
  tags,
  method: 'get',
  path: '/healthz',
  summary: 'Health',
  description: 'Asks Temporal and the database a real question each. No token needed.',
  responses: { 200: json(Health, 'Both answer.'), 503: json(Health, 'Something is down; `checks` names it.') },
});

const metricsRoute = createRoute({
  tags,
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics',
  description: 'Deliveries by status and open deliveries (counted from the delivery table at scrape time), attempts by outcome, attempt latency, retries scheduled, deliveries gone dead, HTTP requests. No token needed.',
  responses: { 200: { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: z.string() } } } },
});

export function registerOperationRoutes(app: App, deps: { health: () => Promise<HealthReport>; metrics: HeraldMetrics }): void {
  app.openapi(healthRoute, async (c) => {
    const report = await deps.health();
    return c.json({ status: report.ok ? ('ok' as const) : ('degraded' as const), checks: report.checks }, report.ok ? 200 : 503);
  });

  app.openapi(metricsRoute, async (c) => {
    return c.text(await deps.metrics.text(), 200, { 'Content-Type': deps.metrics.contentType });
  });
}

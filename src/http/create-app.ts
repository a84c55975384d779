import { Hono } from 'hono';
import type { HealthReport } from './health.js';

export interface AppDeps {
  health: () => Promise<HealthReport>;
}

/** The HTTP surface. For now: `GET /healthz` (200 when Temporal and the database answer, 503 naming what is down). */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/healthz', async (c) => {
    const report = await deps.health();
    return c.json({ status: report.ok ? 'ok' : 'degraded', checks: report.checks }, report.ok ? 200 : 503);
  });
  return app;
}

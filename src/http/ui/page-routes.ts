import { WebhookNotFoundError } from '../../errors.js';
import type { DeliveryStatus } from '../../store/schema.js';
import { tenantFilter } from '../auth.js';
import { HttpError } from '../errors.js';
import { deliveryDetailJson, deliveryJson, healthJson, webhookJson } from '../present.js';
import { deliveriesPage, type DeliveryFilters } from './deliveries-page.js';
import { deliveryPage } from './delivery-page.js';
import { errorPage } from './error-page.js';
import { deliveryHref } from './links.js';
import { CSRF_MESSAGE, csrfMatches } from './session.js';
import type { TemporalWebUi } from './temporal-link.js';
import type { UiApp } from './ui-env.js';
import { webhookHealth } from './webhook-health.js';
import { webhooksPage } from './webhooks-page.js';

const WEBHOOKS_PER_PAGE = 50;
const DELIVERIES_PER_PAGE = 25;

/** A query parameter from a GET form: blank fields mean "not filtered". */
function param(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * The pages, each through the caller-scoped client (the functions the REST routes call) and the API's own
 * presentation (present.ts), so the page shows what the API shows and never more: no secrets, header names
 * only. A delivery of another tenant is a 404, as in the API.
 */
export function registerPageRoutes(ui: UiApp, opts: { temporalUi: TemporalWebUi | undefined; clock: () => number }): void {
  ui.get('/', (c) => c.redirect('/ui/webhooks', 303));

  ui.get('/webhooks', async (c) => {
    const session = c.get('session');
    const tenant = param(c.req.query('tenant'));
    const cursor = param(c.req.query('cursor'));
    const page = await c.get('herald').webhooks.list({
      tenantId: tenantFilter(session.caller, tenant),
      limit: WEBHOOKS_PER_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    const herald = c.get('herald');
    const rows = await Promise.all(
      page.items.map(async (stored) => {
        const webhook = { ...webhookJson(stored), health: healthJson(await herald.webhooks.health(stored.id)) };
        return { webhook, health: webhookHealth(webhook) };
      }),
    );
    return c.html(webhooksPage({ session, rows, tenant: session.caller.kind === 'admin' ? tenant : undefined, cursor, nextCursor: page.nextCursor }));
  });

  ui.get('/deliveries', async (c) => {
    const session = c.get('session');
    const filters: DeliveryFilters = {
      status: param(c.req.query('status')),
      webhookId: param(c.req.query('webhookId')),
      eventType: param(c.req.query('eventType')),
      tenant: session.caller.kind === 'admin' ? param(c.req.query('tenant')) : undefined,
    };
    const cursor = param(c.req.query('cursor'));
    const page = await c.get('herald').deliveries.list({
      tenantId: tenantFilter(session.caller, param(c.req.query('tenant'))),
      // The client checks the status against the known ones (a 400 naming `status` otherwise).
      ...(filters.status ? { status: filters.status as DeliveryStatus } : {}),
      ...(filters.webhookId ? { webhookId: filters.webhookId } : {}),
      ...(filters.eventType ? { eventType: filters.eventType } : {}),
      limit: DELIVERIES_PER_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    return c.html(deliveriesPage({ session, items: page.items.map(deliveryJson), filters, cursor, nextCursor: page.nextCursor }));
  });

  ui.get('/deliveries/:id', async (c) => {
    const delivery = await c.get('herald').deliveries.get(c.req.param('id'));
    return c.html(
      deliveryPage({
        session: c.get('session'),
        delivery: deliveryDetailJson(delivery),
        temporalUi: opts.temporalUi,
        redeliveredRun: c.req.query('redelivered'),
        now: opts.clock(),
      }),
    );
  });

  ui.post('/deliveries/:id/redeliver', async (c) => {
    const session = c.get('session');
    const form = await c.req.parseBody();
    if (!csrfMatches(session, form['csrf'])) return c.html(errorPage({ status: 403, message: CSRF_MESSAGE, session }), 403);
    const id = c.req.param('id');
    let started: { runId: string };
    try {
      // The API's redeliver (POST /v1/deliveries/{id}/redeliver) calls exactly this, with the same error for a deleted webhook.
      started = await c.get('herald').deliveries.redeliver(id);
    } catch (err) {
      if (err instanceof WebhookNotFoundError) throw new HttpError(422, 'unprocessable', `delivery ${id}: ${err.message}`, 'webhookId');
      throw err;
    }
    // The new run's id goes along, so the page can tell the table has not caught up with the new run yet.
    return c.redirect(deliveryHref(id, { redelivered: started.runId }), 303);
  });
}

import type { z } from '@hono/zod-openapi';
import { DELIVERY_STATUSES } from '../../store/schema.js';
import type { Delivery } from '../schemas.js';
import { formatTime, orDash, truncate } from './format.js';
import { html, trusted, type Html } from './html.js';
import { layout, type LayoutOptions } from './layout.js';
import { deliveryHref, uiHref } from './links.js';
import { tenantField } from './tenant-picker.js';

/** The list's filters, as they came in the query string (blank = not filtered). */
export interface DeliveryFilters {
  status: string | undefined;
  webhookId: string | undefined;
  eventType: string | undefined;
  /** Admin only: one tenant, or undefined for every tenant. */
  tenant: string | undefined;
}

export interface DeliveriesPageOptions {
  session: NonNullable<LayoutOptions['session']>;
  items: z.infer<typeof Delivery>[];
  filters: DeliveryFilters;
  cursor: string | undefined;
  nextCursor: string | null;
}

export function statusBadge(status: string): Html {
  return html`<span class="badge s-${status}" data-testid="status">${status.replace('_', ' ')}</span>`;
}

function statusSelect(current: string | undefined): Html {
  const options = ['', ...DELIVERY_STATUSES].map(
    (s) => html`<option value="${s}" ${s === (current ?? '') ? trusted('selected') : ''}>${s === '' ? 'any status' : s.replace('_', ' ')}</option>`,
  );
  return html`<label>Status <select name="status">${options}</select></label>`;
}

function row(d: z.infer<typeof Delivery>, filters: DeliveryFilters, showTenant: boolean): Html {
  return html`<tr data-delivery-id="${d.id}">
    <td><a href="${deliveryHref(d.id)}" class="mono">${d.id}</a></td>
    <td>${statusBadge(d.status)}</td>
    <td><code>${d.eventType}</code><div class="muted mono">${d.eventId}</div></td>
    <td><a href="${uiHref('deliveries', { ...filters, webhookId: d.webhookId })}" class="mono">${d.webhookId}</a><div class="muted mono">${truncate(d.url, 80)}</div></td>
    ${showTenant ? html`<td>${d.tenantId}</td>` : ''}
    <td class="num">${d.attempts}</td>
    <td class="num">${orDash(d.responseCode)}</td>
    <td>${d.error ? truncate(d.error, 120) : html`<span class="muted">—</span>`}</td>
    <td>${formatTime(d.createdAt)}</td>
  </tr>`;
}

export function deliveriesPage(opts: DeliveriesPageOptions): Html {
  const { filters } = opts;
  const showTenant = opts.session.caller.kind === 'admin';
  const filtered = Boolean(filters.status || filters.webhookId || filters.eventType || filters.tenant);
  const table = opts.items.length
    ? html`<table data-testid="deliveries">
        <thead><tr><th>Delivery</th><th>Status</th><th>Event</th><th>Webhook</th>${showTenant ? html`<th>Tenant</th>` : ''}<th>Attempts</th><th>Response</th><th>Last error</th><th>Created</th></tr></thead>
        <tbody>${opts.items.map((d) => row(d, filters, showTenant))}</tbody>
      </table>`
    : html`<p class="empty">No deliveries${filtered ? ' match these filters' : ' yet'}.</p>`;
  return layout({
    title: 'Deliveries',
    session: opts.session,
    section: 'deliveries',
    body: html`<h1>Deliveries <span class="muted">newest first</span></h1>
      <form class="filters" method="get" action="/ui/deliveries" data-testid="delivery-filters">
        ${statusSelect(filters.status)}
        <label>Webhook id <input name="webhookId" value="${filters.webhookId ?? ''}" placeholder="any webhook"></label>
        <label>Event type <input name="eventType" value="${filters.eventType ?? ''}" placeholder="any type, e.g. order.created"></label>
        ${showTenant ? tenantField(filters.tenant) : ''}
        <button class="primary" type="submit">Filter</button>
        ${filtered ? html`<a href="/ui/deliveries">Clear</a>` : ''}
      </form>
      ${table}
      <div class="pager">
        ${opts.cursor ? html`<a href="${uiHref('deliveries', { ...filters })}">« First page</a>` : ''}
        ${opts.nextCursor ? html`<a href="${uiHref('deliveries', { ...filters, cursor: opts.nextCursor })}" rel="next">Next page »</a>` : ''}
      </div>`,
  });
}

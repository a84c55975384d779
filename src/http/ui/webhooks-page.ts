import type { z } from '@hono/zod-openapi';
import type { Webhook } from '../schemas.js';
import { formatTime } from './format.js';
import { html, type Html } from './html.js';
import { layout, type LayoutOptions } from './layout.js';
import { uiHref } from './links.js';
import { tenantPicker } from './tenant-picker.js';
import { healthClass, type HealthView } from './webhook-health.js';

export interface WebhookRow {
  /** The API's presentation of the webhook (no secret, header names only). */
  webhook: z.infer<typeof Webhook>;
  health: HealthView | undefined;
}

export interface WebhooksPageOptions {
  session: NonNullable<LayoutOptions['session']>;
  rows: WebhookRow[];
  /** The admin's tenant filter (undefined: every tenant); a tenant token is always its own. */
  tenant: string | undefined;
  cursor: string | undefined;
  nextCursor: string | null;
}

function stateCell(w: WebhookRow['webhook']): Html {
  if (w.active) return html`<span class="badge s-active">active</span>`;
  return html`<span class="badge s-disabled">disabled</span>
    <div class="muted">${w.disabledReason ?? 'by an operator'}${w.disabledAt ? html` · since ${formatTime(w.disabledAt)}` : ''}</div>`;
}

function healthCell(health: HealthView | undefined): Html {
  if (!health) return html`<span class="muted">—</span>`;
  const facts: Html[] = [];
  if (health.consecutiveFailures !== undefined) facts.push(html`<div>${health.consecutiveFailures} consecutive failure${health.consecutiveFailures === 1 ? '' : 's'}</div>`);
  if (health.failingSince !== undefined) facts.push(html`<div>failing since ${formatTime(health.failingSince)}</div>`);
  if (health.lastSuccessAt !== undefined) facts.push(html`<div>last success ${formatTime(health.lastSuccessAt)}</div>`);
  if (health.nextProbeAt !== undefined) facts.push(html`<div>next probe ${formatTime(health.nextProbeAt)}</div>`);
  return html`<span class="badge ${healthClass(health.state)}" data-testid="health-state">${health.state}</span><div class="muted">${facts}</div>`;
}

function row({ webhook: w, health }: WebhookRow, showTenant: boolean): Html {
  return html`<tr data-webhook-id="${w.id}">
    <td><div class="mono">${w.url}</div><div class="muted">${w.method} · ${w.id}${w.description ? html` · ${w.description}` : ''}</div></td>
    ${showTenant ? html`<td>${w.tenantId}</td>` : ''}
    <td>${w.eventTypes.map((t, i) => html`${i ? ', ' : ''}<code>${t}</code>`)}</td>
    <td>${stateCell(w)}</td>
    <td>${healthCell(health)}</td>
    <td class="muted">${w.headerNames.length ? w.headerNames.join(', ') : '—'}</td>
    <td>${formatTime(w.createdAt)}</td>
    <td><a href="${uiHref('deliveries', { webhookId: w.id, tenant: showTenant ? w.tenantId : undefined })}">deliveries</a> ·
      <a href="${uiHref('deliveries', { webhookId: w.id, status: 'dead', tenant: showTenant ? w.tenantId : undefined })}">dead</a></td>
  </tr>`;
}

export function webhooksPage(opts: WebhooksPageOptions): Html {
  const showTenant = opts.session.caller.kind === 'admin';
  const table = opts.rows.length
    ? html`<table data-testid="webhooks">
        <thead><tr><th>Endpoint</th>${showTenant ? html`<th>Tenant</th>` : ''}<th>Event types</th><th>State</th><th>Health</th><th>Custom headers</th><th>Created</th><th></th></tr></thead>
        <tbody>${opts.rows.map((r) => row(r, showTenant))}</tbody>
      </table>`
    : html`<p class="empty">No webhooks${opts.tenant ? html` in tenant ${opts.tenant}` : ''}.</p>`;
  return layout({
    title: 'Webhooks',
    session: opts.session,
    section: 'webhooks',
    body: html`<h1>Webhooks</h1>
      ${showTenant ? tenantPicker('webhooks', opts.tenant) : ''}
      ${table}
      <div class="pager">
        ${opts.cursor ? html`<a href="${uiHref('webhooks', { tenant: opts.tenant })}">« First page</a>` : ''}
        ${opts.nextCursor ? html`<a href="${uiHref('webhooks', { tenant: opts.tenant, cursor: opts.nextCursor })}" rel="next">Next page »</a>` : ''}
      </div>`,
  });
}

import type { z } from '@hono/zod-openapi';
import type { DeliveryDetail } from '../schemas.js';
import { statusBadge } from './deliveries-page.js';
import { formatDuration, formatTime, orDash, truncate } from './format.js';
import { html, type Html } from './html.js';
import { layout, type LayoutOptions } from './layout.js';
import { deliveryHref, uiHref } from './links.js';
import { temporalRunHref, type TemporalWebUi } from './temporal-link.js';

/** The statuses the page offers to redeliver (the client also allows success and cancelled ones, via the API). */
const REDELIVER_BUTTON_STATUSES = new Set(['dead', 'skipped']);
const IN_PROGRESS = new Set(['pending', 'in_flight']);
/** A delivery in progress reloads quickly while something is about to happen, slowly while it waits long. */
const REFRESH_SOON_SECONDS = 2;
const REFRESH_WAITING_SECONDS = 30;
const SOON_MS = 60_000;
const RESPONSE_BODY_SHOWN_CHARS = 2_000;
const PAYLOAD_SHOWN_CHARS = 20_000;

export type DeliveryView = z.infer<typeof DeliveryDetail>;

export interface DeliveryPageOptions {
  session: NonNullable<LayoutOptions['session']>;
  delivery: DeliveryView;
  temporalUi: TemporalWebUi | undefined;
  /** The run this page's Redeliver button just started, if it did. */
  redeliveredRun: string | undefined;
  now: number;
}

function temporalLink(d: DeliveryView, ui: TemporalWebUi | undefined): Html {
  if (!d.runId) return html`<span class="muted">no workflow run (nothing was sent)</span>`;
  if (!ui) return html`<span class="muted">the Temporal Web UI address is not configured (HERALD_TEMPORAL_UI_URL)</span>`;
  return html`<a href="${temporalRunHref(ui, d.workflowId, d.runId)}" target="_blank" rel="noopener noreferrer" data-testid="temporal-link">Open in the Temporal Web UI</a>`;
}

function field(label: string, value: Html | string): Html {
  return html`<dt>${label}</dt><dd>${value}</dd>`;
}

function timeline(d: DeliveryView): Html {
  if (!d.attemptLog.length) return html`<p class="empty">No attempt yet${d.status === 'skipped' ? ': the webhook was disabled when the event came' : ''}.</p>`;
  return html`<table data-testid="attempts">
    <thead><tr><th>#</th><th>Time</th><th>Outcome</th><th>Response</th><th>Latency</th><th>Error</th><th>Next retry</th><th>Response body</th></tr></thead>
    <tbody>${d.attemptLog.map(
      (a) => html`<tr>
        <td class="num">${a.attempt}</td>
        <td>${formatTime(a.at)}</td>
        <td><span class="badge o-${a.outcome}">${a.outcome}</span></td>
        <td class="num">${orDash(a.responseCode)}</td>
        <td class="num">${formatDuration(a.durationMs)}</td>
        <td>${orDash(a.error)}</td>
        <td>${formatTime(a.nextRetryAt)}</td>
        <td>${a.responseBody ? html`<pre>${truncate(a.responseBody, RESPONSE_BODY_SHOWN_CHARS)}</pre>` : html`<span class="muted">—</span>`}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function refreshSeconds(d: DeliveryView, now: number, redeliveredRun: string | undefined): number | undefined {
  // Right after Redeliver the table may still show the old run's end until the new run records its start.
  if (redeliveredRun !== undefined && d.runId !== redeliveredRun) return REFRESH_SOON_SECONDS;
  if (!IN_PROGRESS.has(d.status)) return undefined;
  const next = d.nextRetryAt ? new Date(d.nextRetryAt).getTime() : now;
  return next - now > SOON_MS ? REFRESH_WAITING_SECONDS : REFRESH_SOON_SECONDS;
}

export function deliveryPage(opts: DeliveryPageOptions): Html {
  const d = opts.delivery;
  const canRedeliver = REDELIVER_BUTTON_STATUSES.has(d.status);
  const payload = d.payload === null ? 'null' : truncate(JSON.stringify(d.payload, null, 2), PAYLOAD_SHOWN_CHARS);
  const refresh = refreshSeconds(d, opts.now, opts.redeliveredRun);
  return layout({
    title: `Delivery ${d.id}`,
    session: opts.session,
    section: 'deliveries',
    ...(refresh ? { refreshSeconds: refresh } : {}),
    body: html`<p><a href="/ui/deliveries">« Deliveries</a></p>
      <h1>Delivery <span class="mono">${d.id}</span> ${statusBadge(d.status)}</h1>
      ${opts.redeliveredRun !== undefined ? html`<p class="notice" role="status" data-testid="notice">Redelivery started: a new run under the same workflow id, attempts counted from 1. This page reloads until it finishes.</p>` : ''}
      <div class="actions">
        ${canRedeliver
          ? html`<form method="post" action="${deliveryHref(d.id)}/redeliver">
              <input type="hidden" name="csrf" value="${opts.session.csrfToken}">
              <button class="primary" type="submit">Redeliver</button>
            </form>`
          : ''}
        ${temporalLink(d, opts.temporalUi)}
        ${refresh ? html`<span class="muted">in progress: reloading every ${refresh} s</span>` : ''}
      </div>
      <dl class="fields" data-testid="delivery-fields">
        ${field('Status', d.status)}
        ${field('Attempts', String(d.attempts))}
        ${field('Last response', orDash(d.responseCode))}
        ${field('Last error', orDash(d.error))}
        ${field('Last latency', formatDuration(d.durationMs))}
        ${field('Last attempt', formatTime(d.lastAttemptedAt))}
        ${field('Next retry', formatTime(d.nextRetryAt))}
        ${field('Event', html`<code>${d.eventType}</code> · <span class="mono">${d.eventId}</span> · ${formatTime(d.eventTime)}`)}
        ${field('Webhook', html`<a class="mono" href="${uiHref('deliveries', { webhookId: d.webhookId })}">${d.webhookId}</a> · ${d.method} <span class="mono">${d.url}</span>`)}
        ${field('Tenant', d.tenantId)}
        ${field('Workflow', html`<span class="mono">${d.workflowId}</span>`)}
        ${field('Run', html`<span class="mono">${orDash(d.runId)}</span>`)}
        ${field('Created', formatTime(d.createdAt))}
        ${field('Updated', formatTime(d.updatedAt))}
      </dl>
      <h2>Attempts <span class="muted">(current run)</span></h2>
      ${timeline(d)}
      <h2>Payload</h2>
      <pre data-testid="payload">${payload}</pre>`,
  });
}

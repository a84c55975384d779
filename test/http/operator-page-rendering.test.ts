import { describe, expect, it } from 'vitest';
import { webhookJson } from '../../src/http/present.js';
import { html, trusted } from '../../src/http/ui/html.js';
import { safeNext, uiHref } from '../../src/http/ui/links.js';
import { temporalRunHref } from '../../src/http/ui/temporal-link.js';
import { webhookHealth } from '../../src/http/ui/webhook-health.js';
import { webhooksPage } from '../../src/http/ui/webhooks-page.js';
import type { Webhook } from '../../src/store/webhooks.js';

// Pure logic of the operator page: the escaping template, the addresses it builds, and how it reads a
// webhook's health. (Pages against the real app: operator-page.dev-server.test.ts and the browser test.)

describe('html (the one template the page writes HTML with)', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const hostile = `<script>alert('x')</script>" onmouseover="x" &amp;`;
    const out = html`<p title="${hostile}">${hostile}</p>`;
    expect(String(out)).toBe(
      '<p title="&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot; onmouseover=&quot;x&quot; &amp;amp;">' +
        '&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot; onmouseover=&quot;x&quot; &amp;amp;</p>',
    );
  });

  it('nests templates and lists without escaping them twice, and leaves out null, undefined and false', () => {
    const items = ['a<b', 'c&d'].map((t) => html`<li>${t}</li>`);
    expect(String(html`<ul>${items}</ul>${null}${undefined}${false}${0}`)).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>0');
    expect(String(html`${html`<b>${'<i>'}</b>`}`)).toBe('<b>&lt;i&gt;</b>');
  });

  it('passes only markup marked trusted through as is', () => {
    expect(String(html`<style>${trusted('a > b { content: "x" }')}</style>`)).toBe('<style>a > b { content: "x" }</style>');
  });

  it('refuses a promise (a page must render at once)', () => {
    expect(() => html`${Promise.resolve('x') as never}`).toThrow(/must not interpolate promises/);
  });
});

describe('addresses', () => {
  it('encodes every query value and leaves out blank ones', () => {
    expect(uiHref('deliveries', { status: 'dead', webhookId: 'wh_a&b=c', eventType: '', cursor: undefined })).toBe('/ui/deliveries?status=dead&webhookId=wh_a%26b%3Dc');
    expect(uiHref('webhooks')).toBe('/ui/webhooks');
  });

  it('links a run in the Temporal Web UI with each part encoded', () => {
    expect(temporalRunHref({ url: 'http://127.0.0.1:8233/', namespace: 'prod ns' }, 'delivery:wh_1:evt/2', 'run-1')).toBe(
      'http://127.0.0.1:8233/namespaces/prod%20ns/workflows/delivery%3Awh_1%3Aevt%2F2/run-1/history',
    );
  });

  it('goes back after login only to a page of /ui', () => {
    expect(safeNext('/ui/deliveries?status=dead')).toBe('/ui/deliveries?status=dead');
    expect(safeNext('/ui')).toBe('/ui');
    for (const next of ['https://evil.example/ui', '//evil.example', '/\\evil.example', '/uix', '/v1/webhooks', '/ui/login', '/ui\\..', 7, undefined]) {
      expect(safeNext(next), String(next)).toBe('/ui/deliveries');
    }
  });
});

describe('webhook health (issue #11), read defensively', () => {
  const stored: Webhook = {
    id: 'wh_1',
    tenantId: 'acme',
    url: 'https://hooks.example.com/a',
    description: null,
    eventTypes: ['order.*'],
    active: true,
    disabledReason: null,
    disabledAt: null,
    signatureScheme: 'standard',
    method: 'POST',
    headerNames: [],
    timeoutMs: 10_000,
    retrySchedule: [5],
    rateLimitPerSecond: null,
    maxConcurrency: 20,
    breakerThreshold: 10,
    disableAfterDays: 5,
    inherited: [],
    retryJitter: 0.1,
    createdAt: 0,
    updatedAt: 0,
  };
  const session = { caller: { kind: 'tenant' as const, tenantId: 'acme' }, csrfToken: 'csrf' };

  it('is absent without a health object, or with one that is not an object', () => {
    expect(webhookHealth(webhookJson(stored))).toBeUndefined();
    expect(webhookHealth({ health: 'open' })).toBeUndefined();
    expect(webhookHealth(null)).toBeUndefined();
  });

  it('keeps the fields it knows, of the types it expects, and drops the rest', () => {
    expect(
      webhookHealth({ health: { state: 'open', consecutiveFailures: 12, failingSince: '2026-12-01T10:00:00.000Z', lastSuccessAt: null, nextProbeAt: 1_764_590_400_000, extra: 1 } }),
    ).toEqual({ state: 'open', consecutiveFailures: 12, failingSince: '2026-12-01T10:00:00.000Z', lastSuccessAt: undefined, nextProbeAt: 1_764_590_400_000 });
    expect(webhookHealth({ health: { consecutiveFailures: '3' } })).toEqual({
      state: 'unknown',
      consecutiveFailures: undefined,
      failingSince: undefined,
      lastSuccessAt: undefined,
      nextProbeAt: undefined,
    });
  });

  it('renders a health state and its facts, escaped, and a dash without one', () => {
    const page = String(
      webhooksPage({
        session,
        rows: [
          { webhook: webhookJson(stored), health: webhookHealth({ health: { state: 'open', consecutiveFailures: 12, nextProbeAt: '2026-12-01T12:05:00.000Z' } }) },
          { webhook: { ...webhookJson(stored), id: 'wh_2' }, health: webhookHealth({ health: { state: '<b>odd</b>' } }) },
          { webhook: { ...webhookJson(stored), id: 'wh_3' }, health: undefined },
        ],
        tenant: undefined,
        cursor: undefined,
        nextCursor: null,
      }),
    );
    expect(page).toContain('<span class="badge h-open" data-testid="health-state">open</span>');
    expect(page).toContain('12 consecutive failures');
    expect(page).toContain('next probe 2026-12-01 12:05:00 UTC');
    expect(page).toContain('<span class="badge h-unknown" data-testid="health-state">&lt;b&gt;odd&lt;/b&gt;</span>');
    expect(page).not.toContain('<b>odd</b>');
    expect(page).not.toContain('Tenant</th>'); // a tenant token sees only its own: no tenant column
  });
});

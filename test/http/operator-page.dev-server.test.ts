import { beforeAll, describe, expect, it } from 'vitest';
import type { HeraldClient } from '../../src/client/herald-client.js';
import { deliveryId } from '../../src/delivery/ids.js';
import type { HeraldApp } from '../../src/http/create-app.js';
import { SESSION_COOKIE } from '../../src/http/ui/session.js';
import { eventually, secretForms } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import { ACME_TOKEN, ADMIN_TOKEN, GLOBEX_TOKEN } from '../support/http.js';
import { csrfOf, login, operatorApp, pageCaller, sessionCookieOf } from '../support/operator-page.js';
import type { Receiver } from '../support/receiver.js';

// The operator page over plain HTTP (no browser): a real Temporal dev server, a real worker, the delivery table
// in SQLite, a receiver on 127.0.0.1, requests through the real app in-process. Login and sessions, tenant
// scope, CSRF on the one action, escaping of everything that comes from users or receivers, and no secret on
// any page.

const TEMPORAL_UI = { url: 'http://127.0.0.1:8233', namespace: 'default' };
const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

describe('operator page over HTTP', () => {
  const dev = useDevServerFixture('opsui-http');
  let app: HeraldApp;
  let herald: HeraldClient;
  let rx: Receiver;
  /** Status the receiver answers per path (default 200), and what body. */
  const answers = new Map<string, { status: number; body: string }>();

  beforeAll(async () => {
    rx = await dev.receiver((req) => answers.get(new URL(req.url, 'http://x').pathname) ?? { status: 200, body: 'ok' });
    const { taskQueue } = await dev.runningWorker();
    ({ app, herald } = operatorApp({ temporal: dev.temporal.env.client, store: dev.store, taskQueue, temporalUi: TEMPORAL_UI }));
  });

  function hook(status = 200, body = 'ok'): string {
    const path = `/${uniqueId('hook-')}`;
    answers.set(path, { status, body });
    return `http://127.0.0.1:${rx.port}${path}`;
  }

  /** A delivery in `tenantId` that ended dead (its receiver answered `status` with `body`), with its webhook's secret. */
  async function deadDelivery(tenantId: string, opts: { status?: number; body?: string; description?: string; payload?: unknown } = {}) {
    const url = hook(opts.status ?? 400, opts.body ?? 'bad request');
    const { webhook, secret } = await herald.webhooks.create({
      url,
      eventTypes: ['order.*'],
      tenantId,
      headers: { 'X-Api-Key': 'custom-header-value-0123456789' },
      ...(opts.description ? { description: opts.description } : {}),
    });
    const eventId = uniqueId('evt_');
    await herald.forTenant(tenantId).events.publish({ id: eventId, type: 'order.created', payload: opts.payload ?? { n: 1 } });
    const id = deliveryId(webhook.id, eventId);
    await eventually(async () => {
      const d = await herald.deliveries.get(id);
      expect(d.status).toBe('dead');
      // Redelivery needs the run closed; the table is written just before it closes.
      const run = await dev.temporal.env.client.workflow.getHandle(d.workflowId, d.runId ?? undefined).describe();
      expect(run.status.name).not.toBe('RUNNING');
    }, 30_000);
    return { webhook, secret, id, url, eventId };
  }

  it('sends a visitor without a session to the login form, and back to the page after logging in', async () => {
    const anonymous = pageCaller(app);
    for (const path of ['/ui', '/ui/webhooks', '/ui/deliveries?status=dead', '/ui/deliveries/dlv_x']) {
      const res = await anonymous.get(path);
      expect(res.status, path).toBe(303);
      expect(res.location).toBe(`/ui/login?${new URLSearchParams({ next: path }).toString()}`);
    }
    const form = await anonymous.get('/ui/login?next=%2Fui%2Fdeliveries%3Fstatus%3Ddead');
    expect(form.status).toBe(200);
    expect(form.html).toContain('name="next" value="/ui/deliveries?status=dead"');
    const res = await anonymous.post('/ui/login', { token: ACME_TOKEN, next: '/ui/deliveries?status=dead' });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/ui/deliveries?status=dead');
    // A POST without a session changes nothing and goes to the login form too.
    const post = await anonymous.post('/ui/deliveries/dlv_x/redeliver', { csrf: 'x' });
    expect(post.status).toBe(303);
    expect(post.location).toBe(`/ui/login?${new URLSearchParams({ next: '/ui/deliveries/dlv_x' }).toString()}`);
  });

  it('refuses a wrong or empty token with a clear message, and never sends people elsewhere after login', async () => {
    const anonymous = pageCaller(app);
    for (const token of [`${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), 'not-a-token-at-all-000000']) {
      const res = await anonymous.post('/ui/login', { token, next: '/ui/webhooks' });
      expect(res.status).toBe(401);
      expect(res.html).toContain('That token is not valid: Herald does not know it.');
      expect(res.html).not.toContain(token);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    const empty = await anonymous.post('/ui/login', { token: '  ' });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('Enter an API token.');
    for (const next of ['https://evil.example/', '//evil.example/ui', '/\\evil.example', '/v1/webhooks', '/ui/login']) {
      const res = await anonymous.post('/ui/login', { token: ADMIN_TOKEN, next });
      expect(res.status).toBe(303);
      expect(res.location, next).toBe('/ui/deliveries');
    }
  });

  it('sets an HttpOnly, SameSite=Strict session cookie scoped to /ui (Secure over https) that holds no token', async () => {
    const res = await pageCaller(app).post('/ui/login', { token: ADMIN_TOKEN });
    const { value, header } = sessionCookieOf(res);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).toMatch(/; Path=\/ui(;|$)/);
    expect(header).toMatch(/; Max-Age=28800/);
    expect(header).not.toMatch(/; Secure/);
    expect(value).not.toContain(ADMIN_TOKEN);
    expect(value).toMatch(/^v1\.[0-9a-z]+\.[\w-]+\.[\w-]{43}$/);
    const viaProxy = await pageCaller(app).post('/ui/login', { token: ADMIN_TOKEN }, { 'x-forwarded-proto': 'https' });
    expect(sessionCookieOf(viaProxy).header).toMatch(/; Secure/);
    const direct = await app.request('https://herald.example/ui/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    });
    expect(direct.headers.getSetCookie().join('\n')).toMatch(/; Secure/);

    // A cookie changed in any part is no session.
    const [version, expires, nonce, tag] = value.split('.') as [string, string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const forged of [`${version}.${(parseInt(expires, 36) + 1000).toString(36)}.${nonce}.${tag}`, `${version}.${expires}.${flip(nonce)}.${tag}`, `${version}.${expires}.${nonce}.${flip(tag)}`, ADMIN_TOKEN]) {
      expect((await pageCaller(app, forged).get('/ui/webhooks')).status).toBe(303);
    }
    expect((await pageCaller(app, value).get('/ui/webhooks')).status).toBe(200);
  });

  it('logs out: the cookie is cleared (POST with the CSRF token)', async () => {
    const cookie = await login(app, ACME_TOKEN);
    const page = await pageCaller(app, cookie).get('/ui/webhooks');
    expect((await pageCaller(app, cookie).post('/ui/logout', { csrf: 'wrong' })).status).toBe(403);
    const res = await pageCaller(app, cookie).post('/ui/logout', { csrf: csrfOf(page.html) });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/ui/login?loggedOut=1');
    const cleared = res.headers.getSetCookie().find((h) => h.startsWith(`${SESSION_COOKIE}=`));
    expect(cleared).toMatch(/Max-Age=0/);
    expect(cleared).toMatch(/Path=\/ui/);
    expect((await pageCaller(app).get('/ui/login?loggedOut=1')).html).toContain('You are logged out.');
  });

  it("scopes every page to the token's tenant: another tenant's delivery is a 404, its filter a 403", async () => {
    const acmeTenant = 'acme';
    const mine = await deadDelivery(acmeTenant);
    const theirs = await deadDelivery('globex');
    const acme = pageCaller(app, await login(app, ACME_TOKEN));
    const globex = pageCaller(app, await login(app, GLOBEX_TOKEN));
    const admin = pageCaller(app, await login(app, ADMIN_TOKEN));

    const webhooks = await acme.get('/ui/webhooks');
    expect(webhooks.status).toBe(200);
    expect(webhooks.html).toContain('Signed in as tenant acme');
    expect(webhooks.html).toContain(`data-webhook-id="${mine.webhook.id}"`);
    expect(webhooks.html).not.toContain(theirs.webhook.id);
    const deliveries = await acme.get('/ui/deliveries');
    expect(deliveries.html).toContain(mine.id);
    expect(deliveries.html).not.toContain(theirs.id);

    const foreign = await acme.get(`/ui/deliveries/${encodeURIComponent(theirs.id)}`);
    expect(foreign.status).toBe(404);
    expect(foreign.html).toContain(`delivery ${theirs.id}: no such delivery`);
    expect(foreign.html).not.toContain(theirs.url);
    expect((await globex.get(`/ui/deliveries/${encodeURIComponent(theirs.id)}`)).status).toBe(200);
    expect((await acme.get('/ui/deliveries?tenant=globex')).status).toBe(403);
    // Redelivering another tenant's delivery is a 404 as well, and starts nothing.
    const before = rx.requests.length;
    const refused = await acme.post(`/ui/deliveries/${encodeURIComponent(theirs.id)}/redeliver`, { csrf: csrfOf(deliveries.html) });
    expect(refused.status).toBe(404);
    expect((await herald.deliveries.get(theirs.id)).status).toBe('dead');
    expect(rx.requests.length).toBe(before);

    // An admin sees every tenant, or picks one.
    const all = await admin.get('/ui/deliveries');
    expect(all.html).toContain('Signed in as admin (every tenant)');
    expect(all.html).toContain(mine.id);
    expect(all.html).toContain(theirs.id);
    const picked = await admin.get('/ui/deliveries?tenant=globex');
    expect(picked.html).toContain(theirs.id);
    expect(picked.html).not.toContain(mine.id);
    const pickedWebhooks = await admin.get('/ui/webhooks?tenant=acme');
    expect(pickedWebhooks.html).toContain(mine.webhook.id);
    expect(pickedWebhooks.html).not.toContain(theirs.webhook.id);
  });

  it('redeliver needs the session\'s CSRF token and a same-site form; with it, the API\'s redeliver runs', async () => {
    const tenantId = uniqueId('t-');
    const dead = await deadDelivery(tenantId);
    const path = `/ui/deliveries/${encodeURIComponent(dead.id)}`;
    const admin = pageCaller(app, await login(app, ADMIN_TOKEN));
    const page = await admin.get(path);
    expect(page.status).toBe(200);
    expect(page.html).toContain('>Redeliver</button>');
    const csrf = csrfOf(page.html);
    const otherSession = csrfOf((await pageCaller(app, await login(app, ADMIN_TOKEN)).get(path)).html);
    expect(otherSession).not.toBe(csrf);

    const before = rx.requests.length;
    for (const form of [{} as Record<string, string>, { csrf: '' }, { csrf: 'forged' }, { csrf: otherSession }, { csrf: csrf.slice(0, -1) }]) {
      const res = await admin.post(`${path}/redeliver`, form);
      expect(res.status, JSON.stringify(form)).toBe(403);
      expect(res.html).toContain('CSRF check failed');
    }
    const crossSite = await admin.post(`${path}/redeliver`, { csrf }, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.html).toContain('Forms from other sites are refused.');
    expect((await herald.deliveries.get(dead.id)).status).toBe('dead');
    expect(rx.requests.length).toBe(before);

    answers.set(new URL(dead.url).pathname, { status: 200, body: 'ok' });
    const res = await admin.post(`${path}/redeliver`, { csrf }, { 'sec-fetch-site': 'same-origin' });
    expect(res.status, res.html).toBe(303);
    const done = await eventually(async () => {
      const d = await herald.deliveries.get(dead.id);
      expect(d.status).toBe('success');
      return d;
    }, 30_000);
    expect(res.location).toBe(`${path}?redelivered=${done.runId}`);
    const after = await admin.get(res.location!);
    expect(after.html).toContain('Redelivery started');
    expect(after.html).toContain('data-testid="status">success<');
    expect(after.html).toContain(done.runId!);
    // The same run a redelivery made is the one linked in the Web UI.
    expect(after.html).toContain(
      `href="${TEMPORAL_UI.url}/namespaces/default/workflows/${encodeURIComponent(done.workflowId)}/${encodeURIComponent(done.runId!)}/history"`,
    );
    // Success: no button to send it again from here.
    expect(after.html).not.toContain('>Redeliver</button>');
  });

  it('escapes what users and receivers wrote, and renders no secret, header value or token', async () => {
    const tenantId = uniqueId('t-');
    const dead = await deadDelivery(tenantId, { body: HOSTILE, description: HOSTILE, payload: { note: HOSTILE } });
    const admin = pageCaller(app, await login(app, ADMIN_TOKEN));
    const pages = [
      await admin.get(`/ui/webhooks?tenant=${tenantId}`),
      await admin.get(`/ui/deliveries?tenant=${tenantId}`),
      await admin.get(`/ui/deliveries/${encodeURIComponent(dead.id)}`),
      // Query-string input echoed into the filter form.
      await admin.get(`/ui/deliveries?tenant=${tenantId}&eventType=${encodeURIComponent(HOSTILE)}&webhookId=${encodeURIComponent('"><b>x')}`),
    ];
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.html).not.toMatch(/<script|<img|onerror=alert\(1\)>|"><b>/i);
      for (const secret of secretForms(dead.secret)) expect(page.html).not.toContain(secret);
      expect(page.html).not.toContain('custom-header-value-0123456789');
      expect(page.html).not.toContain(ADMIN_TOKEN);
    }
    const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;';
    expect(pages[0]!.html).toContain(escaped); // the description
    expect(pages[0]!.html).toContain('X-Api-Key'); // header names are shown, values never
    expect(pages[2]!.html).toContain(escaped); // the receiver's response body in the attempt log
    expect(pages[2]!.html).toContain('&lt;script&gt;alert(\\&quot;x\\&quot;)'); // the payload (JSON)
    expect(pages[3]!.html).toContain(`value="${escaped}"`);
    expect(pages[3]!.html).toContain('value="&quot;&gt;&lt;b&gt;x"');
  });

  it('filters deliveries by status, webhook and event type, and pages with the cursor', async () => {
    const tenantId = uniqueId('t-');
    const dead = await deadDelivery(tenantId);
    const { webhook: skippedHook } = await herald.webhooks.create({ url: hook(), eventTypes: ['invoice.*'], tenantId });
    await herald.webhooks.disable(skippedHook.id);
    const scoped = herald.forTenant(tenantId);
    // Events for a disabled webhook are recorded as skipped deliveries: 30 rows without 30 sends.
    for (let i = 0; i < 30; i++) await scoped.events.publish({ id: uniqueId('evt_inv_'), type: i % 2 ? 'invoice.paid' : 'invoice.sent', payload: { i } });
    const admin = pageCaller(app, await login(app, ADMIN_TOKEN));

    const rows = (html: string) => [...html.matchAll(/data-delivery-id="([^"]+)"/g)].map((m) => m[1]!);
    const deadOnly = rows((await admin.get(`/ui/deliveries?tenant=${tenantId}&status=dead&webhookId=&eventType=`)).html);
    expect(deadOnly).toEqual([dead.id]);
    const paid = await admin.get(`/ui/deliveries?tenant=${tenantId}&eventType=invoice.paid`);
    expect(rows(paid.html)).toHaveLength(15);
    expect(paid.html).toContain('<option value="" selected>any status</option>');
    const byWebhook = rows((await admin.get(`/ui/deliveries?tenant=${tenantId}&webhookId=${dead.webhook.id}`)).html);
    expect(byWebhook).toEqual([dead.id]);

    const first = await admin.get(`/ui/deliveries?tenant=${tenantId}&status=skipped`);
    expect(rows(first.html)).toHaveLength(25);
    const next = /href="([^"]+)" rel="next"/.exec(first.html)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toMatch(/^\/ui\/deliveries\?status=skipped&tenant=.+&cursor=/);
    const second = await admin.get(next!);
    expect(rows(second.html)).toHaveLength(5);
    expect(new Set([...rows(first.html), ...rows(second.html)]).size).toBe(30);
    expect(second.html).not.toContain('rel="next"');
    expect(second.html).toContain('First page');

    // A skipped delivery offers Redeliver, and has no workflow run to link to.
    const skipped = await admin.get(`/ui/deliveries/${encodeURIComponent(rows(first.html)[0]!)}`);
    expect(skipped.html).toContain('>Redeliver</button>');
    expect(skipped.html).toContain('no workflow run (nothing was sent)');

    const bad = await admin.get('/ui/deliveries?status=lost');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('status');
  });

  it('sends the headers that keep the page private: CSP without scripts, no framing, no caching', async () => {
    const admin = pageCaller(app, await login(app, ADMIN_TOKEN));
    for (const res of [await admin.get('/ui/webhooks'), await pageCaller(app).get('/ui/login'), await admin.get('/ui/deliveries/nope')]) {
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).not.toContain('script-src');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    }
    const missing = await admin.get('/ui/deliveries/nope');
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('delivery nope: no such delivery');
  });
});

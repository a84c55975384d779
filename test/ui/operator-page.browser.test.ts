import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldClient } from '../../src/client/herald-client.js';
import { deliveryId } from '../../src/delivery/ids.js';
import { eventually, secretForms } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import { ACME_TOKEN } from '../support/http.js';
import { operatorApp } from '../support/operator-page.js';
import type { Receiver } from '../support/receiver.js';

// Herald's operator page (/ui) as an operator uses it, in a real headless Chromium (Debian's `chromium`,
// driven by playwright-core) against the real app listening on 127.0.0.1, a real Temporal dev server with its
// Web UI, a real worker and a receiver on 127.0.0.1: log in with a tenant token, see the webhooks, filter the
// deliveries to dead ones, open one, fix the receiver, press Redeliver and watch the delivery succeed.

const CHROMIUM = process.env['HERALD_CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium keeps trying to reach Google services, which floods a closed network.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACTS = path.join(ROOT, 'test/ui/artifacts');
const DOCS_SCREENSHOT = path.join(ROOT, 'docs/operator-page.png');
const UI_TIMEOUT_MS = 20_000;
const DELIVERY_TIMEOUT_MS = 30_000;
const TENANT = 'acme'; // ACME_TOKEN's tenant

describe('the operator page in a browser', () => {
  const dev = useDevServerFixture('opsui-browser', { webUi: true });
  let herald: HeraldClient;
  let receiver: Receiver;
  /** What the receiver answers right now: 400 (permanent failure) until the test "fixes" it. */
  let receiverStatus = 400;
  let server: ServerType;
  let baseUrl: string;
  let temporalUiUrl: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // Never skip: a missing browser is a broken machine, and the message says how to fix it.
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: the operator page test drives a real headless browser. Install it with \`scripts/install-chromium.sh\` (Debian package \`chromium\`).`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    temporalUiUrl = dev.temporal.server.uiUrl ?? '';
    expect(temporalUiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    receiver = await dev.receiver(() => (receiverStatus === 200 ? { status: 200, body: 'thanks' } : { status: receiverStatus, body: '{"error":"unknown order schema"}' }));
    const { taskQueue } = await dev.runningWorker();
    const built = operatorApp({ temporal: dev.temporal.env.client, store: dev.store, taskQueue, temporalUi: { url: temporalUiUrl, namespace: 'default' } });
    herald = built.herald;
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: built.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  // Registered after the fixture's hooks, so it runs before them: browser and server close before Temporal stops.
  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function shot(name: string): Promise<string> {
    const file = path.join(ARTIFACTS, `operator-page-${name}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  /** No page may ever show a webhook's secret (either form), a custom header's value or the token. */
  async function expectNoSecrets(secrets: string[]): Promise<void> {
    const html = await page.content();
    for (const secret of [...secrets, ACME_TOKEN]) expect(html).not.toContain(secret);
  }

  /** A delivery through the API layer, waited for until the table says `status`. */
  async function published(webhookId: string, tenantId: string, type: string, status: string) {
    const eventId = uniqueId('evt_');
    await herald.forTenant(tenantId).events.publish({ id: eventId, type, payload: { orderId: 4711, total: '19.90 EUR' } });
    const id = deliveryId(webhookId, eventId);
    await eventually(async () => expect((await herald.deliveries.get(id)).status).toBe(status), DELIVERY_TIMEOUT_MS);
    return id;
  }

  it('refuses a visitor without a session (to the login form) and a wrong token (with a message)', async () => {
    await page.goto(`${baseUrl}/ui/deliveries?status=dead`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/ui/deliveries?status=dead');
    await page.getByLabel('API token').fill('this-is-not-a-herald-token');
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/ui/login') && r.request().method() === 'POST'), page.getByRole('button', { name: 'Log in' }).click()]);
    expect(response.status()).toBe(401);
    await expect.poll(() => page.getByTestId('login-error').innerText()).toContain('That token is not valid: Herald does not know it.');
    expect(await page.content()).not.toContain('this-is-not-a-herald-token');
    await shot('1-wrong-token');
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([]);
  });

  it('logs in, lists webhooks, filters to dead deliveries, redelivers one and sees it succeed', async () => {
    const { webhook, secret } = await herald.webhooks.create({
      url: receiver.url,
      eventTypes: ['order.*'],
      tenantId: TENANT,
      description: 'Order service',
      headers: { Authorization: 'Bearer receiver-credential-0123456789' },
    });
    const secrets = [...secretForms(secret), 'receiver-credential-0123456789'];
    const { webhook: disabled } = await herald.webhooks.create({ url: `${receiver.url}/legacy`, eventTypes: ['invoice.paid'], tenantId: TENANT });
    await herald.webhooks.disable(disabled.id, 'endpoint retired');
    const dead = await published(webhook.id, TENANT, 'order.created', 'dead');
    // Another tenant's delivery, to prove the page does not show it.
    const { webhook: foreignHook } = await herald.webhooks.create({ url: `${receiver.url}/globex`, eventTypes: ['order.*'], tenantId: 'globex' });
    const foreign = await published(foreignHook.id, 'globex', 'order.created', 'dead');

    // Log in with the tenant's token, from the page the operator asked for.
    await page.goto(`${baseUrl}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.getByLabel('API token').fill(ACME_TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${baseUrl}/ui/webhooks`);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'herald_ui_session', httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(cookie!.value).not.toContain(ACME_TOKEN);

    // Webhooks: this tenant's only, with state (and the reason a disabled one is off).
    await expect.poll(() => page.getByTestId('caller').innerText()).toBe('Signed in as tenant acme');
    const webhooks = page.getByTestId('webhooks');
    await expect.poll(() => webhooks.locator(`tr[data-webhook-id="${webhook.id}"]`).innerText()).toMatch(new RegExp(`${escapeRegExp(receiver.url)}[\\s\\S]*Order service[\\s\\S]*order\\.\\*[\\s\\S]*active[\\s\\S]*Authorization`));
    expect(await webhooks.locator(`tr[data-webhook-id="${disabled.id}"]`).innerText()).toMatch(/disabled\s*endpoint retired/);
    expect(await webhooks.innerText()).not.toContain(foreignHook.id);
    await expectNoSecrets(secrets);
    await shot('2-webhooks');

    // Deliveries, filtered to dead ones with the GET form.
    await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await page.waitForURL(`${baseUrl}/ui/deliveries`);
    await page.getByLabel('Status').selectOption('dead');
    await page.getByLabel('Event type').fill('order.created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((url) => url.searchParams.get('status') === 'dead' && url.searchParams.get('eventType') === 'order.created');
    const row = page.locator(`tr[data-delivery-id="${dead}"]`);
    expect(await row.innerText()).toMatch(/dead[\s\S]*order\.created[\s\S]*400[\s\S]*HTTP 400/);
    expect(await page.getByTestId('deliveries').innerText()).not.toContain(foreign);
    await expectNoSecrets(secrets);
    await shot('3-dead-deliveries');

    // One delivery: fields, the attempt timeline, the Redeliver button and the Temporal Web UI link.
    await row.getByRole('link', { name: dead, exact: true }).click();
    await page.waitForURL(`${baseUrl}/ui/deliveries/${encodeURIComponent(dead)}`);
    expect(await page.getByTestId('status').first().innerText()).toBe('dead');
    const attempts = page.getByTestId('attempts');
    expect(await attempts.innerText()).toMatch(/1\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\s+dead\s+400\s+[\d.]+ m?s\s+HTTP 400\s+—\s+\{"error":"unknown order schema"\}/);
    expect(await page.getByTestId('payload').innerText()).toContain('"orderId": 4711');
    const stored = await herald.deliveries.get(dead);
    const temporalHref = await page.getByTestId('temporal-link').getAttribute('href');
    expect(temporalHref).toBe(`${temporalUiUrl}/namespaces/default/workflows/${encodeURIComponent(stored.workflowId)}/${encodeURIComponent(stored.runId!)}/history`);
    await expectNoSecrets(secrets);
    const deadShot = await shot('4-dead-delivery');
    // The README's picture: a dead delivery with its attempt, the reason, and the Redeliver button.
    // Written when missing or on request (HERALD_UPDATE_DOCS_SCREENSHOT=1), so that running the suite does not
    // rewrite a committed file with new ids and timestamps every time.
    if (!existsSync(DOCS_SCREENSHOT) || process.env['HERALD_UPDATE_DOCS_SCREENSHOT'] === '1') {
      mkdirSync(path.dirname(DOCS_SCREENSHOT), { recursive: true });
      copyFileSync(deadShot, DOCS_SCREENSHOT);
    }

    // The link opens this very run in the Temporal Web UI.
    const temporalPage = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    try {
      await temporalPage.goto(temporalHref!);
      await temporalPage.getByRole('heading', { name: stored.workflowId }).waitFor({ timeout: UI_TIMEOUT_MS });
    } finally {
      await temporalPage.close();
    }

    // The receiver is fixed; Redeliver sends it again as a new run, and the page follows it to success.
    receiverStatus = 200;
    const requestsBefore = receiver.requests.length;
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.waitForURL((url) => url.pathname === `/ui/deliveries/${encodeURIComponent(dead)}` && url.searchParams.has('redelivered'));
    expect(await page.getByTestId('notice').innerText()).toContain('Redelivery started');
    // No reload here: the page reloads itself while the delivery is in progress (a meta refresh, no script).
    await expect.poll(() => page.getByTestId('status').first().innerText({ timeout: 2_000 }), { timeout: DELIVERY_TIMEOUT_MS, interval: 500 }).toBe('success');
    expect(receiver.requests.length).toBe(requestsBefore + 1);
    expect(await page.getByTestId('attempts').innerText()).toMatch(/1\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\s+success\s+200/);
    const after = await herald.deliveries.get(dead);
    expect(after.runId).not.toBe(stored.runId);
    expect(await page.getByTestId('temporal-link').getAttribute('href')).toContain(encodeURIComponent(after.runId!));
    expect(await page.getByRole('button', { name: 'Redeliver' }).count()).toBe(0);
    await expectNoSecrets(secrets);
    await shot('5-redelivered');

    // Another tenant's delivery does not exist for this token.
    const response = await page.goto(`${baseUrl}/ui/deliveries/${encodeURIComponent(foreign)}`);
    expect(response?.status()).toBe(404);
    expect(await page.getByTestId('error-message').innerText()).toBe(`delivery ${foreign}: no such delivery`);
    expect(await page.content()).not.toContain(foreignHook.url);
    await shot('6-foreign-delivery');

    // Log out: the session is gone, and the pages send the browser back to the login form.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${baseUrl}/ui/login?loggedOut=1`);
    expect(await page.context().cookies()).toEqual([]);
    await page.goto(`${baseUrl}/ui/webhooks`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

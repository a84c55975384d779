import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldClient } from '../../src/client/herald-client.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import type { Receiver } from '../support/receiver.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';
import { ensureRefanSchedule, REFAN_SCHEDULE_ID } from '../../src/worker/refan-schedule.js';
import { ensureRetentionSchedule, RETENTION_SCHEDULE_ID } from '../../src/worker/retention-schedule.js';

// The Temporal Web UI as an operator sees it, in a real headless Chromium (Debian's `chromium` package,
// driven by playwright-core): find a delivery in the workflow list, open it, and read what Herald puts
// there — the static summary and details, the search attributes, the pending `sendSignedWebhook` attempt
// and, for a dead delivery, the failure. Texts asserted here are the ones the UI (2.54) actually renders.

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
const DOCS_SCREENSHOT = path.join(ROOT, 'docs/web-ui-delivery.png');
const DOCS_DETAILS_SCREENSHOT = path.join(ROOT, 'docs/web-ui-current-details.png');
const DOCS_DEAD_SCREENSHOT = path.join(ROOT, 'docs/web-ui-dead-delivery.png');
const UI_TIMEOUT_MS = 20_000;

describe('the Temporal Web UI shows Herald deliveries', () => {
  const dev = useDevServerFixture('ui', { webUi: true });
  let uiUrl: string;
  let failing: Receiver; // 503: retryable
  let rejecting: Receiver; // 400: permanent
  let herald: HeraldClient;
  let browser: Browser;
  let page: Page;
  const taskQueue = uniqueId('tq-ui-');

  beforeAll(async () => {
    // Never skip: a missing browser is a broken machine, and the message says how to fix it.
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM}: the Web UI test drives a real headless browser. ` +
          'Install it with `scripts/install-chromium.sh` (Debian package `chromium`).',
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    uiUrl = dev.temporal.server.uiUrl ?? '';
    expect(uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    failing = await dev.receiver(() => ({ status: 503, body: 'try later' }));
    rejecting = await dev.receiver(() => ({ status: 400, body: 'bad request' }));
    await dev.runningWorker({ taskQueue });
    herald = dev.client({ taskQueue });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  // Registered after the fixture's hooks, so it runs before them: the browser closes before the server stops.
  afterAll(async () => {
    await browser?.close();
  });

  /** The workflow list filtered by a visibility query, reloaded until the delivery shows up; then opened. */
  async function openFromList(query: string, workflowId: string, screenshot: string): Promise<void> {
    const listUrl = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
    const link = page.getByRole('link', { name: workflowId, exact: true });
    const deadline = Date.now() + UI_TIMEOUT_MS;
    for (;;) {
      await page.goto(listUrl);
      try {
        await link.waitFor({ state: 'visible', timeout: 3_000 });
        break;
      } catch (err) {
        // Visibility is eventually consistent: the list may lag the start or the status upsert briefly.
        if (Date.now() > deadline) throw new Error(`${workflowId} never appeared in the Web UI list for ${query}`, { cause: err });
      }
    }
    await shot(screenshot);
    await link.click();
    await page.getByRole('heading', { name: workflowId }).waitFor();
  }

  async function openTab(name: string, slug: string): Promise<void> {
    await page.getByRole('tab', { name: new RegExp(`^${name}`) }).click();
    await page.waitForURL((url) => url.pathname.endsWith(`/${slug}`));
  }

  /** What the page's main area says right now, polled until it matches (the UI fills in asynchronously). */
  async function expectMainText(...patterns: (string | RegExp)[]): Promise<void> {
    for (const pattern of patterns) {
      await expect
        .poll(() => page.locator('main').innerText(), { timeout: UI_TIMEOUT_MS, interval: 250, message: `main text should contain ${String(pattern)}` })
        .toMatch(typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern);
    }
  }

  async function shot(name: string): Promise<string> {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  it('a retrying delivery: summary, search attributes and the pending sendSignedWebhook attempt', async () => {
    const { webhook } = await herald.webhooks.create({ url: failing.url, eventTypes: ['order.created'], retrySchedule: [1, 3600] });
    // Ends in `_x_`: the UI renders details as markdown, and unescaped underscores there turned into emphasis.
    const eventId = `${uniqueId('evt_ui_')}_x_`;
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { orderId: 7 } });
    // Attempt 1 (the fast path, in the first workflow task) fails with 503; a second later attempt 2 runs as the
    // sendSignedWebhook activity (its attempt 1) and fails too; attempt 3 waits an hour: Temporal reports the
    // pending activity attempt as 2 of ∞ (the delivery table numbers attempts and ends the schedule, so waits
    // for the endpoint or the database spend none).
    await failing.waitForRequests(2);
    await expect
      .poll(async () => (await herald.deliveries.handle(started.workflowId).describe()).raw.pendingActivities?.[0]?.attempt, { timeout: 15_000 })
      .toBe(2);

    await openFromList(`WorkflowId="${started.workflowId}"`, started.workflowId, '1-retrying-list');
    await expect.poll(() => page.getByTestId('execution-status').innerText(), { timeout: UI_TIMEOUT_MS }).toMatch(/Running/i);

    // Event History: the pending attempt with its retry countdown, and the summary on the start event.
    await openTab('Event History', 'history');
    const pendingRow = page.getByTestId('pending-activity-summary-row');
    await expect.poll(() => pendingRow.innerText(), { timeout: UI_TIMEOUT_MS }).toMatch(/Attempt\s*2\s*\/\s*∞[\s\S]*Next Retry\s*\d+s[\s\S]*sendSignedWebhook/i);
    const summary = `POST 127.0.0.1:${failing.port} · order.created`;
    const startedRow = page.getByTestId('event-summary-row').filter({ hasText: 'Workflow Execution Started' });
    await expect.poll(() => startedRow.innerText(), { timeout: UI_TIMEOUT_MS }).toMatch(new RegExp(`Summary\\s*${escapeRegExp(summary)}`));
    await shot('2-retrying-history');

    // User Metadata: the static summary and details Herald sets at start. The UI renders each as markdown in
    // its own iframe (`/render?content=…`), so the main document's text does not contain them.
    await openTab('User Metadata', 'user-metadata');
    await expectMainText(/Summary\s*Details/);
    const frameText = (id: string) => page.frameLocator(`#${id}`).locator('body').innerText();
    await expect.poll(() => frameText('user-metadata-summary'), { timeout: UI_TIMEOUT_MS }).toContain(summary);
    await expect
      .poll(() => frameText('user-metadata-details'), { timeout: UI_TIMEOUT_MS })
      .toContain(`delivery ${started.deliveryId} of event ${eventId} (tenant default) to webhook ${webhook.id}`);

    // Current Details: what the delivery waits for, in words (the send activity signals each failed attempt).
    await expect
      .poll(() => frameText('user-metadata-current-details'), { timeout: UI_TIMEOUT_MS })
      .toMatch(new RegExp(`attempt 2 of 3 failed \\(HTTP 503 from ${escapeRegExp(`127.0.0.1:${failing.port}`)}\\); next attempt at \\d\\d:\\d\\d:\\d\\d UTC`));
    const detailsShot = await shot('3-retrying-user-metadata');
    if (!existsSync(DOCS_DETAILS_SCREENSHOT) || process.env['HERALD_UPDATE_DOCS_SCREENSHOT'] === '1') copyFileSync(detailsShot, DOCS_DETAILS_SCREENSHOT);

    // Search Attributes: what an operator filters deliveries by.
    await openTab('Search Attributes', 'search-attributes');
    await expectMainText(
      /"HeraldDeliveryStatus":\s*"pending"/,
      new RegExp(`"HeraldWebhookId":\\s*"${escapeRegExp(webhook.id)}"`),
      /"HeraldEventType":\s*"order\.created"/,
      new RegExp(`"HeraldEventId":\\s*"${escapeRegExp(eventId)}"`),
    );
    await shot('4-retrying-search-attributes');

    // Pending Activities: activity attempt 2 of 2 (delivery attempt 3 of 3), an hour away, after an HTTP 503.
    await openTab('Pending Activities', 'pending-activities');
    await expectMainText(
      'sendSignedWebhook',
      /Attempt\s*2\s*\/\s*Unlimited/i,
      /Next Retry/,
      /"message":\s*"HTTP 503"/,
      /"type":\s*"HeraldAttemptFailed"/,
      /"nextRetryDelay":\s*"3600s"/,
    );
    const pendingShot = await shot('5-retrying-pending-activities');
    // The README's picture: a delivery waiting for its next attempt, with why the last one failed.
    // Written when missing or on request (HERALD_UPDATE_DOCS_SCREENSHOT=1), so that running the suite does not
    // rewrite a committed file with new ids and timestamps every time.
    if (!existsSync(DOCS_SCREENSHOT) || process.env['HERALD_UPDATE_DOCS_SCREENSHOT'] === '1') {
      mkdirSync(path.dirname(DOCS_SCREENSHOT), { recursive: true });
      copyFileSync(pendingShot, DOCS_SCREENSHOT);
    }
  });

  it('a dead delivery: a FAILED workflow in the failed list, with its reason, the dead result and its attributes', async () => {
    const { webhook } = await herald.webhooks.create({ url: rejecting.url, eventTypes: ['order.created'] });
    const eventId = uniqueId('evt_ui_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { orderId: 8 } });
    const result = await deliveryResult(herald.deliveries.handle(started.workflowId));
    expect(result).toMatchObject({ status: 'dead', attempts: 1, responseCode: 400, error: 'HTTP 400' });

    // An operator opening the failed workflows finds it without knowing Herald's attributes: a dead delivery
    // fails its workflow (redelivery starts a new run under the same id).
    await openFromList(`ExecutionStatus="Failed" AND WorkflowId="${started.workflowId}"`, started.workflowId, '6-dead-failed-list');
    await expect.poll(() => page.getByTestId('execution-status').innerText(), { timeout: UI_TIMEOUT_MS }).toMatch(/Failed/i);
    // The workflow's result is the failure, with the reason in words, its type, and the dead result as details.
    const reason = `HTTP 400 from 127.0.0.1:${rejecting.port}`;
    await expectMainText(new RegExp(`"message":\\s*"${escapeRegExp(reason)}"`), /"type":\s*"HeraldDeliveryRejected"/, /"nonRetryable":\s*true/, /"status":\s*"dead"/);
    const failedShot = await shot('7-dead-failed');
    if (!existsSync(DOCS_DEAD_SCREENSHOT) || process.env['HERALD_UPDATE_DOCS_SCREENSHOT'] === '1') copyFileSync(failedShot, DOCS_DEAD_SCREENSHOT);

    await openTab('Event History', 'history');
    const failedRow = page.getByTestId('event-summary-row').filter({ hasText: 'Workflow Execution Failed' });
    await expect.poll(() => failedRow.first().innerText(), { timeout: UI_TIMEOUT_MS }).toContain(reason);
    await expectMainText(/"responseCode":\s*400/, /"error":\s*"HTTP 400"/);
    // The attempt ran on the fast path: a local-activity marker in the first workflow task carries its outcome.
    const markerRow = page.getByTestId('event-summary-row').filter({ hasText: 'Local Activity' });
    await shot('8-dead-history');
    await expect.poll(() => markerRow.first().innerText(), { timeout: UI_TIMEOUT_MS }).toMatch(/deliverFirstAttempt/);

    await openTab('Search Attributes', 'search-attributes');
    await expectMainText(/"HeraldDeliveryStatus":\s*"dead"/, new RegExp(`"HeraldWebhookId":\\s*"${escapeRegExp(webhook.id)}"`));
    await shot('9-dead-search-attributes');
  });

  it("Herald's schedules: listed under Schedules, each with a summary of what it does", async () => {
    const temporal = dev.temporal.env.client;
    const hour = 3_600_000;
    await ensureRetentionSchedule(temporal, { taskQueue, retention: { intervalMs: hour, deliveredMaxAgeMs: 7 * 24 * hour, deadMaxAgeMs: 30 * 24 * hour } });
    await ensureRefanSchedule(temporal, { taskQueue, refan: { intervalMs: hour, olderThanMs: 60_000 } });
    try {
      await page.goto(`${uiUrl}/namespaces/default/schedules`);
      await expectMainText(RETENTION_SCHEDULE_ID, REFAN_SCHEDULE_ID);
      await shot('10-schedules');
      for (const [id, summary] of [
        [RETENTION_SCHEDULE_ID, 'Herald: delete delivered and dead deliveries'],
        [REFAN_SCHEDULE_ID, 'Herald: re-fan events whose fan-out did not finish'],
      ] as const) {
        await page.goto(`${uiUrl}/namespaces/default/schedules/${id}`);
        await expectMainText(summary);
        await shot(`11-schedule-${id}`);
      }
    } finally {
      await temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).delete().catch(() => undefined);
      await temporal.schedule.getHandle(REFAN_SCHEDULE_ID).delete().catch(() => undefined);
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

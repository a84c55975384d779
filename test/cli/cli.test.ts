import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded/child-process.js';
import { runCli, startHeraldProcess, type HeraldProcess } from '../support/herald-process.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

const sh = promisify(execFile);

/**
 * The README's path, followed as a user would: `herald start` on a fresh data folder, the printed curl
 * creates a webhook, events are published with the `herald` CLI (spawned as a process against the running
 * API), deliveries are inspected, and Ctrl-C stops it all.
 */
describe('the herald CLI against a running Herald', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let herald: HeraldProcess;
  let receiver: Receiver;
  let apiPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-cli-'));
    apiPort = await freePort();
    env = {
      HERALD_DATA_DIR: dir,
      HERALD_TEMPORAL_PORT: String(await freePort()),
      HERALD_UI_PORT: String(await freePort()),
      HERALD_API_PORT: String(apiPort),
      HERALD_EGRESS_ALLOW: '127.0.0.1',
      TEMPORAL_ADDRESS: '',
      HERALD_API_TOKENS: '',
      HERALD_TOKEN: '',
      HERALD_URL: '',
    };
    receiver = await startReceiver();
    herald = await startHeraldProcess(['start'], env);
  });

  afterAll(async () => {
    await herald?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(args, env);

  it('prints the API, docs, UI, token location and a curl that creates a webhook', async () => {
    const out = herald.output();
    expect(out).toContain(`Herald API:   http://127.0.0.1:${apiPort} (docs: http://127.0.0.1:${apiPort}/docs`);
    expect(out).toContain('Temporal UI:  http://127.0.0.1:');
    expect(out).toContain(`Admin token:  ${path.join(dir, 'api-token')} (generated now)`);
    const curl = /Try it:\s+(curl .*)$/m.exec(out)?.[1];
    expect(curl).toBeDefined();
    // Run the printed command as printed, pointing its example URL at our receiver (no traffic leaves loopback).
    const { stdout } = await sh('/bin/sh', ['-c', curl!.replace('https://example.com/hook', receiver.url)]);
    const created = JSON.parse(stdout) as { id: string; secret: string; url: string; eventTypes: string[] };
    expect(created).toMatchObject({ url: receiver.url, eventTypes: ['order.*'] });
    expect(created.secret).toMatch(/^whsec_/);

    // The CLI finds the token in the data folder; publish and see the delivery arrive, signed.
    const published = await cli('--json', 'events', 'publish', '--type', 'order.created', '--data', '{"orderId":7}');
    expect(published.code).toBe(0);
    const event = JSON.parse(published.stdout) as { eventId: string; deliveries: { id: string; webhookId: string; status: string }[] };
    expect(event.deliveries).toEqual([{ id: expect.stringMatching(/^dlv_/), webhookId: created.id, status: 'pending' }]);
    const [request] = await receiver.waitForRequests(1);
    expect(new Webhook(created.secret).verify(request!.body, request!.headers as Record<string, string>)).toMatchObject({ type: 'order.created', data: { orderId: 7 } });

    const deliveryId = event.deliveries[0]!.id;
    for (let i = 0; i < 100; i++) {
      const show = JSON.parse((await cli('--json', 'deliveries', 'show', deliveryId)).stdout) as { status: string };
      if (show.status === 'success') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const shown = await cli('deliveries', 'show', deliveryId);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/status\s+success/);
    expect(shown.stdout).toContain('attempts:');
  });

  it('manages webhooks: add, list, show, rotate, disable, enable, rm (human and --json output)', async () => {
    const added = await cli('--json', 'webhooks', 'add', '--url', receiver.url, '--events', 'user.*,billing.invoice_paid', '--header', 'X-Team=core');
    expect(added.code).toBe(0);
    const webhook = JSON.parse(added.stdout) as { id: string; secret: string };
    const list = await cli('webhooks', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(webhook.id);
    const show = JSON.parse((await cli('--json', 'webhooks', 'show', webhook.id)).stdout) as Record<string, unknown>;
    expect(show).toMatchObject({ id: webhook.id, eventTypes: ['user.*', 'billing.invoice_paid'] });
    expect(JSON.stringify(show)).not.toContain(webhook.secret);
    const rotated = JSON.parse((await cli('--json', 'webhooks', 'rotate', webhook.id, '--grace', '60')).stdout) as { secret: string };
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(webhook.secret);
    expect((await cli('webhooks', 'disable', webhook.id, '--reason', 'maintenance')).stdout).toMatch(/active\s+false/);
    expect((await cli('webhooks', 'enable', webhook.id)).stdout).toMatch(/active\s+true/);
    expect((await cli('webhooks', 'rm', webhook.id)).code).toBe(0);
    const gone = await cli('webhooks', 'show', webhook.id);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`webhook ${webhook.id}`);
  });

  it('recovers skipped deliveries with a progress line, and lists deliveries', async () => {
    const webhook = JSON.parse((await cli('--json', 'webhooks', 'add', '--url', receiver.url, '--events', 'invoice.*')).stdout) as { id: string };
    await cli('webhooks', 'disable', webhook.id);
    const before = receiver.requests.length;
    const published = JSON.parse((await cli('--json', 'events', 'publish', '--type', 'invoice.created', '--data', '{"n":1}')).stdout) as { deliveries: { status: string }[] };
    expect(published.deliveries).toEqual([expect.objectContaining({ status: 'skipped' })]);
    await cli('webhooks', 'enable', webhook.id);
    let recovered = { redelivered: 0 };
    for (let i = 0; i < 50 && recovered.redelivered === 0; i++) {
      // The skipped row is written by the fan-out, a moment after publish returns.
      const res = await cli('--json', 'recover', webhook.id, '--since', '1h');
      expect(res.code).toBe(0);
      recovered = JSON.parse(res.stdout) as { redelivered: number };
      if (recovered.redelivered === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered.redelivered).toBe(1);
    await receiver.waitForRequests(before + 1);
    const list = JSON.parse((await cli('--json', 'deliveries', 'list', '--webhook', webhook.id)).stdout) as { items: { webhookId: string }[] };
    expect(list.items).toHaveLength(1);
  });

  it('exits 2 on bad usage or input, 1 when the API refuses the token', async () => {
    const missing = await cli('events', 'publish');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--type is required');
    const badJson = await cli('events', 'publish', '--type', 'a.b', '--data', '{nope');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--data is not valid JSON');
    const invalid = await cli('webhooks', 'add', '--url', 'ftp://example.com/x');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/url/);
    const wrongToken = await runCli(['webhooks', 'list'], { ...env, HERALD_TOKEN: 'not-a-token' });
    expect(wrongToken.code).toBe(1);
    const help = await cli('deliveries', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('redeliver');
  });

  it('stops on SIGINT within 15 s', async () => {
    const stopped = await herald.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(15_000);
    expect(readFileSync(path.join(dir, 'api-token'), 'utf8')).toMatch(/^hrld_/);
  });
});

describe('herald start --demo', () => {
  it('registers a local receiver and publishes sample events, one of them retried', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-demo-'));
    const env = {
      HERALD_DATA_DIR: dir,
      HERALD_TEMPORAL_PORT: String(await freePort()),
      HERALD_UI_PORT: String(await freePort()),
      HERALD_API_PORT: String(await freePort()),
      TEMPORAL_ADDRESS: '',
      HERALD_API_TOKENS: '',
      HERALD_TOKEN: '',
      HERALD_URL: '',
    };
    const demo = await startHeraldProcess(['start', '--demo'], env);
    try {
      expect(demo.output()).toContain('Demo:         published order.created');
      let items: { status: string; attempts: number }[] = [];
      for (let i = 0; i < 150; i++) {
        items = (JSON.parse((await runCli(['--json', 'deliveries', 'list'], env)).stdout) as { items: typeof items }).items;
        if (items.length === 3 && items.every((d) => d.status === 'success')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(items.map((d) => d.status)).toEqual(['success', 'success', 'success']);
      expect(items.map((d) => d.attempts).sort()).toEqual([1, 1, 2]);
    } finally {
      await demo.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

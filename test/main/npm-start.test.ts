import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../src/client/herald-client.js';
import { freePort } from '../../src/embedded/child-process.js';
import { projectRoot } from '../../src/embedded/project-root.js';
import { openEngine } from '../../src/store/open-engine.js';
import { createSecretBox, parseEncryptionKey } from '../../src/store/secret-box.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { uniqueId } from '../support/deps.js';
import { eventually } from '../support/delivery-checks.js';
import { startReceiver } from '../support/receiver.js';

/**
 * `npm start` as a user runs it (the built entry point, a fresh data folder): it reaches "ready", serves
 * /healthz, delivers, shows the workflow in the Web UI, stops on SIGINT within 15 s, and a second start
 * resumes a delivery the first one left retrying.
 */
interface Herald {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const READY_TIMEOUT_MS = 90_000;

/** Pids of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function startHerald(env: NodeJS.ProcessEnv): Promise<Herald> {
  const proc = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Herald not ready within ${READY_TIMEOUT_MS} ms:\n${out}`)), READY_TIMEOUT_MS);
    const check = () => {
      if (out.includes('Herald is ready')) {
        clearTimeout(timer);
        resolve({ proc, output: () => out, exited });
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Herald exited with ${code} before it was ready:\n${out}`));
    });
  });
}

async function stopHerald(h: Herald): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  h.proc.kill('SIGINT');
  const code = await h.exited;
  return { code, ms: Date.now() - t0 };
}

describe('npm start (embedded default)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let ports: { temporal: number; ui: number; api: number };
  let herald: Herald | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-start-'));
    ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    env = {
      HERALD_DATA_DIR: dir,
      HERALD_TEMPORAL_PORT: String(ports.temporal),
      HERALD_UI_PORT: String(ports.ui),
      HERALD_API_PORT: String(ports.api),
      HERALD_EGRESS_ALLOW: '127.0.0.1',
      HERALD_LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: '',
    };
  });

  afterAll(async () => {
    if (herald && herald.proc.exitCode === null) await stopHerald(herald);
    rmSync(dir, { recursive: true, force: true });
  });

  async function heraldClient(): Promise<{ herald: HeraldClient; store: DataEngine; close: () => Promise<void> }> {
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    // The same SQLite file the running Herald uses (WAL lets both open it).
    const store = await openEngine(`sqlite:${path.join(dir, 'herald.db')}`);
    // The key the running Herald generated into its data folder on first start.
    const box = createSecretBox(parseEncryptionKey(readFileSync(path.join(dir, 'encryption.key'), 'utf8')));
    const client = new HeraldClient({ temporal: new Client({ connection }), store, box, taskQueue: 'herald' });
    return { herald: client, store, close: async () => (await store.close(), await connection.close()) };
  }

  it('rejects bad configuration with a message naming the variable, starting nothing', async () => {
    const proc = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'main.js')], {
      env: { ...process.env, ...env, HERALD_API_PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(2);
    expect(out).toContain('HERALD_API_PORT');
    expect(out).not.toContain('    at '); // no stack trace
  });

  it('reaches ready, serves /healthz, delivers, and shows the workflow in the Web UI', async () => {
    herald = await startHerald(env);
    expect(herald.output()).toContain(`Temporal UI:  http://127.0.0.1:${ports.ui}`);

    const health = await fetch(`http://127.0.0.1:${ports.api}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { temporal: { ok: true }, database: { ok: true } } });

    const receiver = await startReceiver();
    const { herald: client, close } = await heraldClient();
    try {
      const { webhook } = await client.webhooks.create({ url: receiver.url });
      const started = await client.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { n: 1 } });
      await receiver.waitForRequests(1);
      expect(await client.deliveries.handle(started.workflowId).result()).toMatchObject({ status: 'success' });

      // The Web UI's own HTTP API lists the workflow. The delivery can finish within a second of "ready" (the fast
      // path), before the UI's backend has connected to the server (it answers 503 until then): poll a little.
      const query = encodeURIComponent(`WorkflowId="${started.workflowId}"`);
      await eventually(async () => {
        const ui = await fetch(`http://127.0.0.1:${ports.ui}/api/v1/namespaces/default/workflows?query=${query}`);
        expect(ui.status).toBe(200);
        expect(await ui.text()).toContain(started.workflowId);
      }, 20_000, 250);
    } finally {
      await close();
      await receiver.close();
    }
  });

  it('stops on SIGINT within 15 s, and a restart resumes a delivery left retrying', async () => {
    const port = await freePort();
    const { herald: client, store, close } = await heraldClient();
    let started;
    try {
      // Nothing listens on `port` yet: the first attempt fails and a retry is scheduled 5 s later.
      const { webhook } = await client.webhooks.create({ url: `http://127.0.0.1:${port}/hook`, retrySchedule: [5, 5, 5], retryJitter: 0 });
      started = await client.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { n: 2 } });
      for (let i = 0; i < 100; i++) {
        const row = await client.deliveries.get(started.deliveryId).catch(() => undefined); // the row appears once the workflow runs
        if (row && row.attempts >= 1 && row.status === 'pending') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await client.deliveries.get(started.deliveryId)).status).toBe('pending');
    } finally {
      await close();
    }
    void store;

    const stopped = await stopHerald(herald!);
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(15_000);
    expect(herald!.output()).toContain('Herald stopped.');

    const receiver = await startReceiver({ port });
    herald = await startHerald(env);
    const second = await heraldClient();
    try {
      await receiver.waitForRequests(1, 60_000);
      expect(await second.herald.deliveries.handle(started.workflowId).result()).toMatchObject({ status: 'success', attempts: 2 });
      expect((await second.herald.deliveries.get(started.deliveryId)).status).toBe('success');
    } finally {
      await second.close();
      await receiver.close();
    }
    const final = await stopHerald(herald);
    expect(final.code).toBe(0);
    // Nothing Herald started (the Temporal server runs with --db-filename under the data folder) is left.
    expect(processesMentioning(dir)).toEqual([]);
  });
});

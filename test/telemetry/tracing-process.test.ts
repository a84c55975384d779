import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_WORKFLOW_TYPE } from '../../src/delivery/start-delivery.js';
import { freePort } from '../../src/embedded/child-process.js';
import { API_TOKEN_FILE_NAME } from '../../src/runtime/api-tokens-file.js';
import { startHeraldProcess, type HeraldProcess } from '../support/herald-process.js';
import { startReceiver } from '../support/receiver.js';

interface Export {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A stand-in OTLP collector on 127.0.0.1: keeps each export's raw bytes, answers 200 as a collector does. */
async function startCollector(): Promise<{ port: number; exports: Export[]; close(): Promise<void> }> {
  const exports: Export[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exports.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    exports,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

// `herald start` as an operator runs it with tracing on: the real OTLP/HTTP-protobuf exporter posts to a
// collector on 127.0.0.1, the spans of one `POST /v1/events` arrive, the JSON logs carry the trace id, and a
// stop flushes what was still batched.

describe('herald start with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let dir: string;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let herald: HeraldProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-tracing-'));
    collector = await startCollector();
  });

  afterAll(async () => {
    if (herald && herald.proc.exitCode === null) await herald.stop();
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports the publish, workflow, activity and HTTP spans over OTLP, and logs name the trace', async () => {
    const api = await freePort();
    herald = await startHeraldProcess(['start'], {
      HERALD_DATA_DIR: dir,
      HERALD_TEMPORAL_PORT: String(await freePort()),
      HERALD_UI_PORT: String(await freePort()),
      HERALD_API_PORT: String(api),
      HERALD_EGRESS_ALLOW: '127.0.0.1',
      HERALD_LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=collector-secret-9d2e',
      OTEL_SERVICE_NAME: 'herald-e2e',
    });
    expect(herald.output()).toContain(`Tracing on: OTLP to http://127.0.0.1:${collector.port}/v1/traces`);
    expect(herald.output()).not.toContain('collector-secret-9d2e');

    const receiver = await startReceiver();
    try {
      const token = readFileSync(path.join(dir, API_TOKEN_FILE_NAME), 'utf8').trim();
      const call = async (route: string, body: unknown, headers: Record<string, string> = {}) => {
        const res = await fetch(`http://127.0.0.1:${api}${route}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
        expect(res.status, await res.clone().text()).toBeLessThan(300);
        return (await res.json()) as Record<string, unknown>;
      };
      await call('/v1/webhooks', { url: receiver.url, eventTypes: ['order.*'] });
      // The producer's own trace (W3C traceparent on the request) is continued, not replaced.
      const producerTrace = randomBytes(16).toString('hex');
      const published = await call('/v1/events', { type: 'order.created', payload: { marker: 'payload-marker-e2e' } }, { traceparent: `00-${producerTrace}-${randomBytes(8).toString('hex')}-01` });
      await receiver.waitForRequests(1);
      // The 'delivery attempt' line is logged inside the attempt's activity span.
      await expect.poll(() => herald!.output().includes('"msg":"delivery attempt"'), { timeout: 20_000 }).toBe(true);

      const { code } = await herald.stop();
      expect(code).toBe(0);

      const exports = collector.exports.filter((e) => e.url === '/v1/traces');
      expect(exports.length).toBeGreaterThan(0);
      for (const e of exports) {
        expect(e.headers['content-type']).toBe('application/x-protobuf');
        expect(e.headers['x-collector-key']).toBe('collector-secret-9d2e');
      }
      // OTLP protobuf keeps strings as UTF-8 bytes and ids as raw bytes: both can be looked for directly.
      const sent = Buffer.concat(exports.map((e) => e.body));
      for (const name of ['herald.publish', `StartWorkflow:${DELIVERY_WORKFLOW_TYPE}`, `RunWorkflow:${DELIVERY_WORKFLOW_TYPE}`, 'RunActivity:deliverFirstAttempt', 'POST 127.0.0.1', 'herald-e2e', String(published.eventId)]) {
        expect(sent.includes(name), name).toBe(true);
      }
      expect(sent.includes('payload-marker-e2e')).toBe(false);

      const attemptLine = herald.output().split('\n').find((line) => line.includes('"msg":"delivery attempt"'))!;
      const attemptLog = JSON.parse(attemptLine) as { traceId?: string; spanId?: string };
      expect(attemptLog.traceId).toBe(producerTrace);
      expect(sent.includes(Buffer.from(producerTrace, 'hex'))).toBe(true);
      expect(attemptLog.spanId).toMatch(/^[0-9a-f]{16}$/);
      // The log line names a trace and a span the collector received.
      expect(sent.includes(Buffer.from(attemptLog.traceId!, 'hex'))).toBe(true);
      expect(sent.includes(Buffer.from(attemptLog.spanId!, 'hex'))).toBe(true);
    } finally {
      await receiver.close();
    }
  });
});

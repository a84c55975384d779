// Real receivers on 127.0.0.1 (and 127.0.0.2 for the egress refusal); nothing else is contacted.
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { parseEgressAllowList } from '../../src/egress/allow-list.js';
import { createGuardedDispatcher } from '../../src/egress/guarded-dispatcher.js';
import { HttpAttemptError, RESPONSE_BODY_LIMIT_BYTES, performHttpAttempt } from '../../src/activities/http-attempt.js';
import type { HttpAttemptInput } from '../../src/activities/http-attempt.js';
import { buildSignedRequest } from '../../src/signing/build-request.js';
import { generateSecret } from '../../src/signing/standard-webhooks.js';
import { startLoopbackReceiver } from '../support/loopback-receiver.js';
import type { LoopbackReceiver, ReceiverHandler } from '../support/loopback-receiver.js';

let dispatcher: Dispatcher;
const receivers: LoopbackReceiver[] = [];

async function receiver(handler: ReceiverHandler, host = '127.0.0.1', options: { readBody?: boolean } = {}): Promise<LoopbackReceiver> {
  const started = await startLoopbackReceiver(host, handler, options);
  receivers.push(started);
  return started;
}

function attempt(overrides: Partial<HttpAttemptInput> & Pick<HttpAttemptInput, 'url'>): Promise<Awaited<ReturnType<typeof performHttpAttempt>>> {
  return performHttpAttempt({ headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 5_000, dispatcher, ...overrides });
}

async function attemptError(input: Partial<HttpAttemptInput> & Pick<HttpAttemptInput, 'url'>): Promise<HttpAttemptError> {
  const error: unknown = await attempt(input).then(
    (result) => expect.unreachable(`expected a failure, got HTTP ${result.status}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpAttemptError);
  return error as HttpAttemptError;
}

beforeAll(() => {
  dispatcher = createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') });
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

afterAll(async () => {
  await dispatcher.close();
});

describe('performHttpAttempt: responses', () => {
  it('sends the exact signed bytes and returns status, lower-case headers, body and duration', async () => {
    const secret = generateSecret();
    const signed = buildSignedRequest({
      scheme: 'standard',
      eventId: 'evt_1',
      eventType: 'order.created',
      eventTimeMs: Date.now(),
      deliveryId: 'dlv_1',
      attempt: 1,
      payload: { name: 'Zoë', items: [1, 2, 3] },
      secrets: [secret],
      nowMs: Date.now(),
      userAgent: 'Herald-test',
    });
    let verified = false;
    const target = await receiver((req, res, body) => {
      // The receiver verifies what actually arrived, with the independent library.
      new StandardWebhook(secret).verify(body, req.headers as Record<string, string>);
      verified = true;
      res.writeHead(202, { 'X-Receiver': 'yes', 'Set-Cookie': ['a=1', 'b=2'] });
      res.end('accepted');
    });

    const result = await attempt({ url: `${target.origin}/hooks`, headers: signed.headers, body: signed.body });

    expect(verified).toBe(true);
    expect(target.requests[0]).toMatchObject({ method: 'POST', url: '/hooks', body: signed.body });
    expect(result.status).toBe(202);
    expect(result.headers['x-receiver']).toBe('yes');
    expect(result.headers['set-cookie']).toBe('a=1, b=2');
    expect(result.responseBody).toBe('accepted');
    expect(result.responseBodyTruncated).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('returns error statuses as results, not exceptions', async () => {
    const target = await receiver((req, res) => {
      res.statusCode = Number(req.url?.slice(1));
      res.end(`status ${req.url?.slice(1)}`);
    });
    for (const status of [404, 410, 429, 500, 503]) {
      const result = await attempt({ url: `${target.origin}/${status}` });
      expect(result).toMatchObject({ status, responseBody: `status ${status}` });
    }
  });

  it('does not follow redirects: the 3xx is returned and the Location target sees nothing', async () => {
    const elsewhere = await receiver((_req, res) => res.end('should not be reached'));
    const target = await receiver((_req, res) => {
      res.writeHead(307, { Location: `${elsewhere.origin}/moved` });
      res.end();
    });
    const result = await attempt({ url: `${target.origin}/hook` });
    expect(result.status).toBe(307);
    expect(result.headers.location).toBe(`${elsewhere.origin}/moved`);
    expect(elsewhere.arrivals()).toBe(0);
  });

  it('keeps only the first 16 KiB of the body and stops reading (an endless body still returns)', async () => {
    let connectionClosed: Promise<void> = Promise.resolve();
    const target = await receiver((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // Endless: if the attempt tried to read it all, this test would time out.
      const chunk = Buffer.alloc(4096, 'a');
      const timer = setInterval(() => res.write(chunk), 1);
      connectionClosed = new Promise((resolve) =>
        req.socket.once('close', () => {
          clearInterval(timer);
          resolve();
        }),
      );
    });
    const result = await attempt({ url: `${target.origin}/big`, timeoutMs: 10_000 });
    expect(result.status).toBe(200);
    expect(result.responseBody).toBe('a'.repeat(RESPONSE_BODY_LIMIT_BYTES));
    expect(result.responseBodyTruncated).toBe(true);
    // The client hung up instead of draining the rest.
    await connectionClosed;
  });

  it('cuts on a byte limit without leaving half a UTF-8 character', async () => {
    const euro = '€'.repeat(10_000); // 3 bytes each: 16 KiB falls inside a character
    const target = await receiver((_req, res) => res.end(euro));
    const result = await attempt({ url: `${target.origin}/utf8` });
    expect(result.responseBody).toBe('€'.repeat(Math.floor(RESPONSE_BODY_LIMIT_BYTES / 3)));
    expect(result.responseBody).not.toContain('\uFFFD');
    expect(result.responseBodyTruncated).toBe(true);
  });

  it('a body of exactly 16 KiB with a matching Content-Length is not marked truncated', async () => {
    const body = 'b'.repeat(RESPONSE_BODY_LIMIT_BYTES);
    const target = await receiver((_req, res) => res.end(body));
    const result = await attempt({ url: `${target.origin}/exact` });
    expect(result).toMatchObject({ responseBody: body, responseBodyTruncated: false });
  });
});

describe('performHttpAttempt: failures', () => {
  it('times out while the body trickles in after the headers', async () => {
    let intervals: NodeJS.Timeout | undefined;
    const target = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('.');
      intervals = setInterval(() => res.write('.'), 50); // never finishes
    });
    try {
      const error = await attemptError({ url: `${target.origin}/slow-body`, timeoutMs: 400 });
      expect(error).toMatchObject({ name: 'HttpAttemptError', kind: 'timeout', message: 'timeout after 400ms' });
      expect(error.durationMs).toBeGreaterThanOrEqual(350);
    } finally {
      clearInterval(intervals);
    }
  });

  it('times out when the headers never come', async () => {
    const target = await receiver(() => {
      /* never responds */
    });
    const error = await attemptError({ url: `${target.origin}/silent`, timeoutMs: 300 });
    expect(error).toMatchObject({ kind: 'timeout', message: 'timeout after 300ms' });
  });

  it('reports a refused connection', async () => {
    const closed = await startLoopbackReceiver('127.0.0.1');
    await closed.close(); // the port is now (almost certainly) unused
    const error = await attemptError({ url: `${closed.origin}/hook` });
    expect(error).toMatchObject({ kind: 'network', code: 'ECONNREFUSED', message: `connect ECONNREFUSED 127.0.0.1:${closed.port}` });
  });

  it('reports a connection reset by the receiver', async () => {
    const target = await receiver((req) => req.socket.resetAndDestroy());
    const error = await attemptError({ url: `${target.origin}/reset` });
    expect(error).toMatchObject({ kind: 'network', code: 'ECONNRESET' });
    expect(error.message).toContain('ECONNRESET');
  });

  it('reports a connection closed mid-body', async () => {
    const target = await receiver((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const error = await attemptError({ url: `${target.origin}/cut` });
    expect(error.kind).toBe('network');
  });

  it('surfaces an egress refusal as kind "refused"; the receiver sees nothing', async () => {
    const forbidden = await receiver((_req, res) => res.end('no'), '127.0.0.2');
    const error = await attemptError({ url: `${forbidden.origin}/hook` });
    expect(error).toMatchObject({
      kind: 'refused',
      code: 'HERALD_EGRESS_REFUSED',
      message: 'egress refused: 127.0.0.2 is loopback and not in HERALD_EGRESS_ALLOW',
    });
    expect(forbidden.arrivals()).toBe(0);
  });

  it('aborts when the caller signal fires, keeping the reason as the cause', async () => {
    const target = await receiver(() => {
      /* never responds */
    });
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 100);
    const error = await attemptError({ url: `${target.origin}/hang`, timeoutMs: 10_000, signal: controller.signal });
    expect(error).toMatchObject({ kind: 'aborted' });
    expect(error.cause).toBe(reason);
  });

  it('an already-aborted signal sends nothing', async () => {
    const target = await receiver((_req, res) => res.end('no'));
    const error = await attemptError({ url: `${target.origin}/hook`, signal: AbortSignal.abort(new Error('gone')) });
    expect(error.kind).toBe('aborted');
    expect(target.arrivals()).toBe(0);
  });

  it.each([
    [{ url: 'not a url' }, 'invalid URL'],
    [{ url: 'ftp://127.0.0.1/hook' }, 'unsupported URL scheme ftp:'],
    [{ url: 'http://127.0.0.1:1/hook', method: 'GET' }, 'GET requests cannot carry a body'],
    [{ url: 'http://127.0.0.1:1/hook', timeoutMs: 0 }, 'timeoutMs must be a positive number'],
  ])('rejects an unsendable request before any I/O: %j', async (input, message) => {
    const error = await attemptError(input);
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain(message);
  });
});

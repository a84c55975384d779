/**
 * The benchmark's webhook receiver, in its own process so its CPU is not the worker's: an HTTP/1.1 server
 * on 127.0.0.1 (keep-alive) that verifies every request's signature before accepting it and reports each
 * receipt to the bench over IPC.
 *
 * Routes (set by the bench): `/r/<name>` verifies with that route's scheme and secret (Standard Webhooks by
 * node:crypto HMAC; the first requests after each reset are also checked with the independent
 * `standardwebhooks` package and disagreements counted) and answers 200, or 401 when the signature is bad.
 * `/down` answers 503; `/hang` never answers (the sender's timeout ends it; the socket is dropped after 60 s).
 * `/bare` answers 200 without checking anything (the bare-workflow baselines' POST). A route with `failFirst`
 * answers 503 to the first request of each webhook-id (the cost phase's one-retry deliveries).
 *
 *   forked by scripts/bench.ts: node dist/scripts/bench-receiver.js
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { nowMs, selfUsage, type FromReceiver, type Receipt, type ReceiverCounts, type ReceiverRoute, type ToReceiver } from './bench-lib.js';

const CROSS_CHECKS_PER_PHASE = 200;
const TOLERANCE_S = 5 * 60;

interface Route extends ReceiverRoute {
  key: Buffer;
  library?: Webhook;
}

const routes = new Map<string, Route>();
let seen = new Set<string>();
const failedOnce = new Set<string>();
let pending: Receipt[] = [];
const fresh = (): ReceiverCounts => ({ requests: 0, valid: 0, invalid: 0, duplicates: 0, unknownRoute: 0, down503: 0, hung: 0, crossChecked: 0, crossCheckDisagreements: 0 });
let counts = fresh();

const send = (m: FromReceiver) => process.send?.(m);

function header(req: http.IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function verifyStandard(route: Route, req: http.IncomingMessage, body: Buffer): { key: string; ok: boolean } {
  const id = header(req, 'webhook-id');
  const ts = header(req, 'webhook-timestamp');
  const sigs = header(req, 'webhook-signature');
  const tsNum = Number(ts);
  let ok = id !== '' && Number.isInteger(tsNum) && Math.abs(Date.now() / 1000 - tsNum) <= TOLERANCE_S;
  if (ok) {
    const expected = createHmac('sha256', route.key).update(`${id}.${ts}.`).update(body).digest();
    ok = sigs.split(' ').some((s) => {
      const [version, b64] = s.split(',');
      if (version !== 'v1' || !b64) return false;
      const given = Buffer.from(b64, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  }
  if (route.library && counts.crossChecked < CROSS_CHECKS_PER_PHASE) {
    counts.crossChecked += 1;
    let libOk = true;
    try {
      route.library.verify(body.toString('utf8'), { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': sigs });
    } catch {
      libOk = false;
    }
    if (libOk !== ok) counts.crossCheckDisagreements += 1;
  }
  return { key: id, ok };
}

function verifyObjectstack(route: Route, req: http.IncomingMessage, body: Buffer): { key: string; ok: boolean } {
  const given = header(req, 'x-objectstack-signature');
  const expected = `sha256=${createHmac('sha256', route.secret).update(body).digest('hex')}`;
  const ok = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  // The bench enqueues each ObjectStack delivery with its key as the label (X-Objectstack-Event).
  return { key: header(req, 'x-objectstack-event') || header(req, 'x-objectstack-delivery'), ok };
}

const server = http.createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, (req, res) => {
  const url = req.url ?? '';
  if (url === '/hang') {
    counts.hung += 1;
    req.resume();
    // Never answered; dropped after a minute so nothing outlives a phase by much.
    setTimeout(() => req.socket.destroy(), 60_000).unref();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = nowMs();
    if (url === '/down') {
      counts.down503 += 1;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      return;
    }
    if (url === '/bare') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const route = url.startsWith('/r/') ? routes.get(url.slice(3)) : undefined;
    if (!route) {
      counts.unknownRoute += 1;
      res.writeHead(404).end();
      return;
    }
    const id = header(req, 'webhook-id');
    if (route.failFirst && !failedOnce.has(id)) {
      failedOnce.add(id);
      counts.down503 += 1;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('first attempt fails');
      return;
    }
    counts.requests += 1;
    const body = Buffer.concat(chunks);
    const { key, ok } = route.scheme === 'standard' ? verifyStandard(route, req, body) : verifyObjectstack(route, req, body);
    if (ok) counts.valid += 1;
    else counts.invalid += 1;
    if (seen.has(key)) counts.duplicates += 1;
    else seen.add(key);
    pending.push([key, at, ok]);
    res.writeHead(ok ? 200 : 401, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'bad signature');
  });
});

const flush = setInterval(() => {
  if (pending.length === 0) return;
  send({ type: 'receipts', items: pending });
  pending = [];
}, 50);

process.on('message', (raw: ToReceiver) => {
  switch (raw.type) {
    case 'routes':
      for (const [name, r] of Object.entries(raw.routes)) {
        const key = r.scheme === 'standard' ? Buffer.from(r.secret.replace(/^whsec_/, ''), 'base64') : Buffer.from(r.secret);
        routes.set(name, { ...r, key, ...(r.scheme === 'standard' ? { library: new Webhook(r.secret) } : {}) });
      }
      break;
    case 'reset':
      seen = new Set();
      pending = [];
      counts = fresh();
      break;
    case 'usage':
      send({ type: 'counts', counts });
      send({ type: 'usage', usage: selfUsage() });
      break;
    case 'stop':
      clearInterval(flush);
      server.closeAllConnections();
      server.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 2_000).unref();
      break;
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));

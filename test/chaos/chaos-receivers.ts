// The chaos run's receivers, every one bound to a loopback address (the test network rule: nothing leaves
// 127.0.0.0/8). Each records what arrived; the main one verifies every request's signature on arrival with the
// independent `standardwebhooks` package (verifying later would trip its 5-minute timestamp tolerance).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';

function assertLoopback(host: string): void {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`chaos receivers bind to 127.0.0.0/8 only, not ${host}`);
}

/** One request as the main receiver saw it. */
export interface ChaosRequest {
  path: string;
  webhookId: string | undefined;
  deliveryId: string | undefined;
  attempt: number;
  /** Verified with standardwebhooks against the secret of the webhook this path belongs to, on arrival. */
  valid: boolean;
  verifyError: string | undefined;
  /** The verified envelope's `data` (the event payload), when valid. */
  data: unknown;
  at: number;
  /** What the receiver answered (0 when the connection was dropped by a receiver outage before answering). */
  status: number;
}

async function listen(server: http.Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: http.Server, sockets: Set<Socket>): Promise<void> {
  server.closeAllConnections();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function trackSockets(server: http.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** A stable number in [0, 1) from a string: deterministic per (delivery, attempt) "random" behaviour. */
export function unitHash(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}

export interface MainReceiver {
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: ChaosRequest[];
  /** Secrets by request path (`/hook/3`), for verification on arrival. */
  readonly secrets: Map<string, string>;
  readonly isUp: () => boolean;
  /** Stops listening and drops every open connection: senders get ECONNREFUSED / resets until `up()`. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The receiver the main deliveries go to. It answers 200 after a short, deterministic pseudo-random delay,
 * except that a fixed share of first attempts get a 503 (so ordinary retries are part of the mix too).
 */
export async function startMainReceiver(opts: { failFirstAttemptShare: number; maxDelayMs: number }): Promise<MainReceiver> {
  const host = '127.0.0.1';
  const requests: ChaosRequest[] = [];
  const secrets = new Map<string, string>();
  const verifiers = new Map<string, StandardWebhook>();
  let server: http.Server | undefined;
  let sockets = new Set<Socket>();
  let port = 0;

  const handler: http.RequestListener = (req, res) => {
    void (async () => {
      const body = await readBody(req).catch(() => undefined);
      if (body === undefined) return;
      const path = new URL(req.url ?? '/', 'http://receiver').pathname;
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const secret = secrets.get(path);
      let verifier = verifiers.get(path);
      if (!verifier && secret) verifiers.set(path, (verifier = new StandardWebhook(secret)));
      let valid = false;
      let verifyError: string | undefined;
      let data: unknown;
      try {
        if (!verifier) throw new Error(`no webhook is registered for path ${path}`);
        const envelope = verifier.verify(body, {
          'webhook-id': header('webhook-id') ?? '',
          'webhook-timestamp': header('webhook-timestamp') ?? '',
          'webhook-signature': header('webhook-signature') ?? '',
        }) as { data?: unknown };
        valid = true;
        data = envelope.data;
      } catch (err) {
        verifyError = (err as Error).message;
      }
      const deliveryId = header('x-herald-delivery-id');
      const attempt = Number(header('x-herald-attempt') ?? 0);
      const failFirst = attempt === 1 && unitHash(`fail:${deliveryId}`) < opts.failFirstAttemptShare;
      const status = failFirst ? 503 : 200;
      const recorded: ChaosRequest = { path, webhookId: header('webhook-id'), deliveryId, attempt, valid, verifyError, data, at: Date.now(), status: 0 };
      requests.push(recorded);
      const delay = Math.floor(unitHash(`delay:${deliveryId}:${attempt}`) * opts.maxDelayMs);
      setTimeout(() => {
        if (res.destroyed) return;
        recorded.status = status;
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(failFirst ? 'try again' : 'ok');
      }, delay);
    })();
  };

  const start = async (p: number) => {
    server = http.createServer(handler);
    sockets = trackSockets(server);
    port = await listen(server, host, p);
  };
  await start(0);

  return {
    host,
    get port() {
      return port;
    },
    get origin() {
      return `http://${host}:${port}`;
    },
    requests,
    secrets,
    isUp: () => server?.listening ?? false,
    async down() {
      if (server) await closeServer(server, sockets);
      server = undefined;
    },
    async up() {
      if (server) return;
      // The port was ours a moment ago; on Linux it can be bound again at once (Node sets SO_REUSEADDR).
      await start(port);
    },
    async close() {
      if (server) await closeServer(server, sockets);
      server = undefined;
    },
  };
}

export interface ProbeReceiver {
  readonly origin: string;
  /** Delivery ids (x-herald-delivery-id) of the requests that arrived, in order. */
  readonly arrivals: string[];
  close(): Promise<void>;
}

/** Accepts the connection, reads the request, and never answers. */
export async function startSilentReceiver(): Promise<ProbeReceiver> {
  const arrivals: string[] = [];
  const server = http.createServer((req) => {
    arrivals.push(String(req.headers['x-herald-delivery-id'] ?? ''));
    req.resume(); // read the body, answer nothing
  });
  // Node's own request timeouts would eventually answer 408; keep them far out of the way.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  const sockets = trackSockets(server);
  const port = await listen(server, '127.0.0.1', 0);
  return { origin: `http://127.0.0.1:${port}`, arrivals, close: () => closeServer(server, sockets) };
}

export interface HugeBodyReceiver extends ProbeReceiver {
  /** Per response: how many body bytes the receiver got written before the client hung up (or all of them). */
  readonly bytesWritten: number[];
  readonly bodyBytes: number;
}

/**
 * Answers 200 with a `bodyBytes` body (50 MB), written in 64 KiB chunks with backpressure, so `bytesWritten`
 * says how much the client actually took: a client that reads everything makes it `bodyBytes`.
 */
export async function startHugeBodyReceiver(bodyBytes: number): Promise<HugeBodyReceiver> {
  const arrivals: string[] = [];
  const bytesWritten: number[] = [];
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = http.createServer((req, res) => {
    arrivals.push(String(req.headers['x-herald-delivery-id'] ?? ''));
    req.resume();
    req.once('end', () => {
      const index = bytesWritten.push(0) - 1;
      let sent = 0;
      let finished = false;
      res.once('close', () => (finished = true));
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(bodyBytes) });
      const pump = () => {
        while (!finished && sent < bodyBytes) {
          const piece = chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent));
          sent += piece.length;
          // Counted when the kernel took it, not when it was queued.
          const ok = res.write(piece, (err) => {
            if (!err) bytesWritten[index]! += piece.length;
          });
          if (!ok) {
            res.once('drain', pump);
            return;
          }
        }
        if (!finished && sent >= bodyBytes) res.end();
      };
      pump();
    });
  });
  const sockets = trackSockets(server);
  const port = await listen(server, '127.0.0.1', 0);
  return { origin: `http://127.0.0.1:${port}`, arrivals, bytesWritten, bodyBytes, close: () => closeServer(server, sockets) };
}

/** Answers every request with a 302 to `location`. */
export async function startRedirectReceiver(location: string): Promise<ProbeReceiver> {
  const arrivals: string[] = [];
  const server = http.createServer((req, res) => {
    arrivals.push(String(req.headers['x-herald-delivery-id'] ?? ''));
    req.resume();
    req.once('end', () => {
      res.writeHead(302, { location, 'content-type': 'text/plain' });
      res.end('moved');
    });
  });
  const sockets = trackSockets(server);
  const port = await listen(server, '127.0.0.1', 0);
  return { origin: `http://127.0.0.1:${port}`, arrivals, close: () => closeServer(server, sockets) };
}

/** A receiver on another loopback address (127.0.0.2, outside the allow-list) that must never see a request. */
export async function startForbiddenReceiver(host: string): Promise<ProbeReceiver> {
  assertLoopback(host);
  if (host === '127.0.0.1') throw new Error('the forbidden receiver must be outside the allow-list (127.0.0.1)');
  const arrivals: string[] = [];
  const server = http.createServer((req, res) => {
    arrivals.push(String(req.headers['x-herald-delivery-id'] ?? '(none)'));
    req.resume();
    res.end('you should not be here');
  });
  const sockets = trackSockets(server);
  const port = await listen(server, host, 0);
  return { origin: `http://${host}:${port}`, arrivals, close: () => closeServer(server, sockets) };
}

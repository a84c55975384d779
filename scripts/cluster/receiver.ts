/**
 * The receiver the cluster run delivers to, on 127.0.0.1 only. Each webhook has its own path and behaviour:
 * `ok` answers 200, `flaky` answers 503 until a moment the test sets (an endpoint that is down for a while),
 * `reject` answers 400 (permanent: the delivery goes dead at once). Every request is verified on arrival with
 * the independent `standardwebhooks` package (later would trip its 5-minute timestamp tolerance).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type EndpointBehaviour = 'ok' | 'flaky' | 'reject';

export interface ReceivedRequest {
  path: string;
  webhookId: string;
  deliveryId: string;
  attempt: number;
  valid: boolean;
  verifyError: string | undefined;
  /** The verified envelope's `data`, when valid. */
  data: unknown;
  status: number;
  at: number;
}

export interface ClusterReceiver {
  readonly origin: string;
  readonly requests: ReceivedRequest[];
  /** Registers a webhook's path, secret and behaviour. */
  endpoint(path: string, secret: string, behaviour: EndpointBehaviour): void;
  /** `flaky` endpoints answer 503 until this wall-clock time. */
  flakyUntil(ms: number): void;
  close(): Promise<void>;
}

export async function startClusterReceiver(): Promise<ClusterReceiver> {
  const requests: ReceivedRequest[] = [];
  const endpoints = new Map<string, { verifier: Webhook; behaviour: EndpointBehaviour }>();
  let flakyUntil = Number.POSITIVE_INFINITY;
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => {
        const v = req.headers[name];
        return (Array.isArray(v) ? v[0] : v) ?? '';
      };
      const path = new URL(req.url ?? '/', 'http://receiver').pathname;
      const endpoint = endpoints.get(path);
      let valid = false;
      let verifyError: string | undefined;
      let data: unknown;
      try {
        if (!endpoint) throw new Error(`no webhook registered for ${path}`);
        const envelope = endpoint.verifier.verify(body, {
          'webhook-id': header('webhook-id'),
          'webhook-timestamp': header('webhook-timestamp'),
          'webhook-signature': header('webhook-signature'),
        }) as { data?: unknown };
        valid = true;
        data = envelope.data;
      } catch (err) {
        verifyError = (err as Error).message;
      }
      const behaviour = endpoint?.behaviour ?? 'reject';
      const status = behaviour === 'reject' ? 400 : behaviour === 'flaky' && Date.now() < flakyUntil ? 503 : 200;
      requests.push({ path, webhookId: header('webhook-id'), deliveryId: header('x-herald-delivery-id'), attempt: Number(header('x-herald-attempt') || 0), valid, verifyError, data, status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : status === 503 ? 'down for a while' : 'rejected');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    endpoint(path, secret, behaviour) {
      endpoints.set(path, { verifier: new Webhook(secret), behaviour });
    },
    flakyUntil(ms) {
      flakyUntil = ms;
    },
    async close() {
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

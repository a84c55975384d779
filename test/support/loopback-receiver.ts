// A real HTTP receiver for tests, bound to a loopback address only (the test network rule: no traffic
// leaves 127.0.0.0/8 or ::1).
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface LoopbackReceiver {
  /** `http://<host>:<port>` without a trailing slash. */
  readonly origin: string;
  readonly port: number;
  /** Requests whose handler ran (counted on arrival, before the body is read). */
  readonly requests: ReceivedRequest[];
  readonly arrivals: () => number;
  close(): Promise<void>;
}

export type ReceiverHandler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

export async function startLoopbackReceiver(
  host: string,
  handler: ReceiverHandler = (_req, res) => res.end('ok'),
  options: { readBody?: boolean } = {},
): Promise<LoopbackReceiver> {
  if (!host.startsWith('127.') && host !== '::1') {
    throw new Error(`test receivers bind to loopback only, not ${host}`);
  }
  const requests: ReceivedRequest[] = [];
  let arrivals = 0;
  const server = createServer((req, res) => {
    arrivals += 1;
    if (options.readBody === false) {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
      handler(req, res, '');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    origin: `http://${hostPart}:${port}`,
    port,
    requests,
    arrivals: () => arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

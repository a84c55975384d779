import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HeraldClient } from '../client/herald-client.js';

/**
 * `herald start --demo`: a local echo receiver, a webhook pointing at it, and a few sample events — one of
 * which the receiver refuses once — so a newcomer sees deliveries, and a retry, in the Web UI within seconds.
 */
export interface Demo {
  url: string;
  close(): Promise<void>;
  afterReady(ctx: { herald: HeraldClient; logger: Logger; say: (line: string) => void }): Promise<void>;
}

const SAMPLE_EVENTS = [
  { type: 'order.created', payload: { orderId: 1001, total: 42.5, currency: 'EUR' } },
  { type: 'order.paid', payload: { orderId: 1001, method: 'card' } },
  { type: 'order.shipped', payload: { orderId: 1001, carrier: 'DHL' } },
];

export async function startDemo(): Promise<Demo> {
  let count = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      count += 1;
      // The second request is refused once, so the demo shows a retry.
      const refuse = count === 2;
      res.writeHead(refuse ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ received: !refuse, webhookId: req.headers['webhook-id'] ?? null, bytes: body.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo-receiver`;
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async afterReady({ herald, say }) {
      const { webhook } = await herald.webhooks.create({ url, eventTypes: ['order.*'], description: 'herald start --demo: local echo receiver', retrySchedule: [3, 10, 60] });
      say(`Demo:         receiver ${url}, webhook ${webhook.id}`);
      for (const event of SAMPLE_EVENTS) {
        const published = await herald.events.publish(event);
        say(`Demo:         published ${event.type} as ${published.eventId}`);
      }
      say('Demo:         open the Temporal UI to watch the deliveries (one is retried after a 503).');
    },
  };
}

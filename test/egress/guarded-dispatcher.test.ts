// Network rule: only loopback addresses are ever contacted. Every other address below is a string fed to
// pure functions; refusals are proven end-to-end with 127.0.0.2 outside an allow-list of 127.0.0.1.
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseEgressAllowList } from '../../src/egress/allow-list.js';
import { EgressRefusedError, findEgressRefusal } from '../../src/egress/egress-refusal.js';
import { createGuardedDispatcher, type ResolveAll } from '../../src/egress/guarded-dispatcher.js';
import { startLoopbackReceiver, type LoopbackReceiver } from '../support/loopback-receiver.js';

describe('createGuardedDispatcher (real receivers on loopback)', () => {
  let allowed: LoopbackReceiver; // 127.0.0.1
  let forbidden: LoopbackReceiver; // 127.0.0.2, never in any allow-list below: it must see no request
  const dispatchers: Dispatcher[] = [];

  const guarded = (...args: Parameters<typeof createGuardedDispatcher>): Dispatcher => {
    const dispatcher = createGuardedDispatcher(...args);
    dispatchers.push(dispatcher);
    return dispatcher;
  };

  async function get(url: string, dispatcher: Dispatcher): Promise<{ status: number; body: string }> {
    const response = await request(url, { method: 'POST', body: '{}', dispatcher });
    return { status: response.statusCode, body: await response.body.text() };
  }

  async function refusal(url: string, dispatcher: Dispatcher): Promise<EgressRefusedError> {
    const error: unknown = await get(url, dispatcher).then(
      () => expect.unreachable(`request to ${url} was not refused`),
      (e: unknown) => e,
    );
    const found = findEgressRefusal(error);
    expect(found, `not an egress refusal: ${String(error)}`).toBeInstanceOf(EgressRefusedError);
    return found as EgressRefusedError;
  }

  beforeAll(async () => {
    allowed = await startLoopbackReceiver('127.0.0.1', (_req, res) => res.end('delivered-1'));
    forbidden = await startLoopbackReceiver('127.0.0.2', (_req, res) => res.end('delivered-2'));
  });

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.close()));
  });

  afterAll(async () => {
    await Promise.all([allowed.close(), forbidden.close()]);
  });

  it('refuses a literal loopback address outside the allow-list; the receiver sees nothing', async () => {
    const dispatcher = guarded({ allow: parseEgressAllowList('127.0.0.1') });
    const error = await refusal(`${forbidden.origin}/hook`, dispatcher);
    expect(error.message).toBe('egress refused: 127.0.0.2 is loopback and not in HERALD_EGRESS_ALLOW');
    expect(error).toMatchObject({ host: '127.0.0.2', address: '127.0.0.2', category: 'loopback' });
    expect(forbidden.arrivals()).toBe(0);
  });

  it('refuses an IPv4-mapped IPv6 literal of the same address', async () => {
    const dispatcher = guarded({ allow: parseEgressAllowList('127.0.0.1') });
    const error = await refusal(`http://[::ffff:127.0.0.2]:${forbidden.port}/hook`, dispatcher);
    expect(error.category).toBe('loopback');
    expect(forbidden.arrivals()).toBe(0);
  });

  it.each(['2130706434', '0x7f.0.0.2', '0177.0.0.2'])(
    'refuses obfuscated IPv4 spellings of 127.0.0.2 (%s): the URL parser normalises them first',
    async (spelling) => {
      const dispatcher = guarded({ allow: parseEgressAllowList('127.0.0.1') });
      const error = await refusal(`http://${spelling}:${forbidden.port}/hook`, dispatcher);
      expect(error.address).toBe('127.0.0.2');
      expect(forbidden.arrivals()).toBe(0);
    },
  );

  it('delivers to an allowed address', async () => {
    const dispatcher = guarded({ allow: parseEgressAllowList('127.0.0.1') });
    const before = allowed.arrivals();
    await expect(get(`${allowed.origin}/hook`, dispatcher)).resolves.toEqual({ status: 200, body: 'delivered-1' });
    expect(allowed.arrivals()).toBe(before + 1);
  });

  it('delivers to an address inside an allowed CIDR', async () => {
    const receiver = await startLoopbackReceiver('127.0.0.3', (_req, res) => res.end('delivered-3'));
    try {
      const dispatcher = guarded({ allow: parseEgressAllowList('127.0.0.0/30') });
      await expect(get(`${receiver.origin}/hook`, dispatcher)).resolves.toEqual({ status: 200, body: 'delivered-3' });
      expect(receiver.arrivals()).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it('with an empty allow-list even localhost is refused', async () => {
    const dispatcher = guarded({ allow: parseEgressAllowList('') });
    const before = allowed.arrivals();
    const error = await refusal(`http://localhost:${allowed.port}/hook`, dispatcher);
    expect(error.host).toBe('localhost');
    expect(error.category).toBe('loopback');
    expect(error.message).toMatch(/^egress refused: localhost resolved to .+, which is loopback and not in HERALD_EGRESS_ALLOW$/);
    expect(allowed.arrivals()).toBe(before);
  });

  it('allows localhost through a hostname entry (real DNS lookup of localhost)', async () => {
    const dispatcher = guarded({ allow: parseEgressAllowList('localhost') });
    await expect(get(`http://localhost:${allowed.port}/hook`, dispatcher)).resolves.toEqual({ status: 200, body: 'delivered-1' });
  });

  it('checks the address at connect time: a name that resolves to a forbidden address is refused (rebinding)', async () => {
    // A resolver that answers like a rebinding attacker's DNS: a harmless-looking name, a loopback address.
    const resolve: ResolveAll = (_hostname, _options, callback) => callback(null, [{ address: '127.0.0.2', family: 4 }]);
    const dispatcher = guarded({ allow: parseEgressAllowList('127.0.0.1'), resolve });
    const error = await refusal(`http://webhooks.customer.test:${forbidden.port}/hook`, dispatcher);
    expect(error.message).toBe(
      'egress refused: webhooks.customer.test resolved to 127.0.0.2, which is loopback and not in HERALD_EGRESS_ALLOW',
    );
    expect(forbidden.arrivals()).toBe(0);
  });

  it('refuses a name when any of its addresses is forbidden, even if another is allowed', async () => {
    const resolve: ResolveAll = (_hostname, _options, callback) =>
      callback(null, [
        { address: '127.0.0.1', family: 4 },
        { address: '127.0.0.2', family: 4 },
      ]);
    const dispatcher = guarded({ allow: parseEgressAllowList('127.0.0.1'), resolve });
    const before = allowed.arrivals();
    const error = await refusal(`http://mixed.test:${allowed.port}/hook`, dispatcher);
    expect(error.address).toBe('127.0.0.2');
    expect(allowed.arrivals()).toBe(before);
    expect(forbidden.arrivals()).toBe(0);
  });

  it('a hostname entry admits whatever that name resolves to', async () => {
    const resolve: ResolveAll = (_hostname, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]);
    const dispatcher = guarded({ allow: parseEgressAllowList('hooks.internal'), resolve });
    await expect(get(`http://hooks.internal:${allowed.port}/hook`, dispatcher)).resolves.toEqual({ status: 200, body: 'delivered-1' });
  });

  it('guards https:// the same way (literal address and resolved name), before any TLS handshake', async () => {
    const dispatcher = guarded({ allow: parseEgressAllowList('') });
    expect((await refusal(`https://127.0.0.2:${forbidden.port}/hook`, dispatcher)).category).toBe('loopback');
    const before = allowed.arrivals();
    expect((await refusal(`https://localhost:${allowed.port}/hook`, dispatcher)).host).toBe('localhost');
    expect(allowed.arrivals()).toBe(before);
  });

  it('(summary) the receiver outside the allow-list never saw a request', () => {
    expect(forbidden.arrivals()).toBe(0);
  });

  it('resolver failures surface as ordinary errors, not refusals', async () => {
    const resolve: ResolveAll = (hostname, _options, callback) =>
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    const dispatcher = guarded({ allow: parseEgressAllowList(''), resolve });
    const error: unknown = await get('http://missing.test:1/hook', dispatcher).catch((e: unknown) => e);
    expect(findEgressRefusal(error)).toBeUndefined();
    expect(error).toMatchObject({ code: 'ENOTFOUND' });
  });
});

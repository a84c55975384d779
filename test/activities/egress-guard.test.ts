// Network rule: only loopback addresses are ever contacted. Every other address below is a string fed to
// pure functions; refusals are proven end-to-end with 127.0.0.2 outside an allow-list of 127.0.0.1.
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  EGRESS_REFUSED_CODE,
  EgressAllowListError,
  EgressRefusedError,
  checkEgress,
  classifyAddress,
  createGuardedDispatcher,
  findEgressRefusal,
  parseEgressAllowList,
} from '../../src/activities/egress-guard.js';
import type { AddressClass, ResolveAll } from '../../src/activities/egress-guard.js';
import { startLoopbackReceiver } from './loopback-receiver.js';
import type { LoopbackReceiver } from './loopback-receiver.js';

describe('classifyAddress (pure; nothing is contacted)', () => {
  const table: Array<[string, AddressClass]> = [
    // IPv4 special ranges, with edges where they matter
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['10.0.0.0', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.0', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmark'],
    ['198.19.255.255', 'benchmark'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // IPv4 just outside those ranges: public
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['9.255.255.255', 'public'],
    ['11.0.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['126.255.255.255', 'public'],
    ['128.0.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['192.167.255.255', 'public'],
    ['198.17.255.255', 'public'],
    ['198.20.0.0', 'public'],
    ['223.255.255.255', 'public'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fec0::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['ff0e::101', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001:2::1', 'benchmark'],
    ['2001::1', 'reserved'], // Teredo
    ['64:ff9b:1::a00:1', 'reserved'], // local-use NAT64
    ['100::1', 'reserved'], // discard-only
    ['::2', 'reserved'],
    ['::7f00:1', 'reserved'], // deprecated IPv4-compatible ::127.0.0.1
    ['4000::1', 'reserved'], // outside 2000::/3
    // IPv6 carrying an IPv4 address: classified by the embedded address
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:2', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::FFFF:192.168.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['2002:c0a8:0101::1', 'private'], // 6to4 of 192.168.1.1
    ['2002:7f00:1::', 'loopback'],
    ['2002:808:808::1', 'public'],
    // public IPv6
    ['2606:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['2a00:1450:4001:80b::200e', 'public'],
  ];

  it.each(table)('%s → %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each(['', 'localhost', '1.2.3', '256.0.0.1', '[::1]', '::g', '10.0.0.0/8'])('throws for non-IP %j', (value) => {
    expect(() => classifyAddress(value)).toThrow(TypeError);
  });
});

describe('parseEgressAllowList', () => {
  it('parses CIDRs, IPs and hostnames; ignores blanks', () => {
    const allow = parseEgressAllowList(' 10.0.0.0/8, 127.0.0.1 ,fd00::/8,[::1], Hooks.Internal. ,localhost,, ');
    expect(allow.entries).toEqual([
      { kind: 'cidr', family: 'ipv4', network: '10.0.0.0', prefix: 8 },
      { kind: 'ip', family: 'ipv4', address: '127.0.0.1' },
      { kind: 'cidr', family: 'ipv6', network: 'fd00::', prefix: 8 },
      { kind: 'ip', family: 'ipv6', address: '::1' },
      { kind: 'hostname', hostname: 'hooks.internal' },
      { kind: 'hostname', hostname: 'localhost' },
    ]);
    expect(allow.allowsAddress('10.200.3.4')).toBe(true);
    expect(allow.allowsAddress('11.0.0.1')).toBe(false);
    expect(allow.allowsAddress('127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('::ffff:127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('127.0.0.2')).toBe(false);
    expect(allow.allowsAddress('fd12::1')).toBe(true);
    expect(allow.allowsAddress('::1')).toBe(true);
    expect(allow.allowsHostname('HOOKS.internal')).toBe(true);
    expect(allow.allowsHostname('other.internal')).toBe(false);
  });

  it('an empty or blank value is an empty allow-list', () => {
    expect(parseEgressAllowList('').isEmpty).toBe(true);
    expect(parseEgressAllowList(' , ').isEmpty).toBe(true);
  });

  it.each([
    ['10.0.0.0/33', 'prefix length'],
    ['10.0.0.0/-1', 'prefix length'],
    ['10.0.0.0/', 'prefix length'],
    ['fd00::/129', 'prefix length'],
    ['10.0.0.1/8', 'host bits'],
    ['fd00::1/8', 'host bits'],
    ['300.1.1.1', 'not a valid IPv4'],
    ['10.0.0', 'not a valid IPv4'],
    ['fd00::zz', 'not a valid IPv6'],
    ['http://hooks.internal', 'is a URL'],
    ['*.internal', 'wildcard'],
    ['bad_host name', 'not a valid'],
    ['-leading.dash', 'not a valid'],
    ['hooks.internal/24', 'not an IP address'],
  ])('rejects %j, naming HERALD_EGRESS_ALLOW and the entry', (entry, reason) => {
    try {
      parseEgressAllowList(`127.0.0.1, ${entry}`);
      expect.unreachable(`accepted ${entry}`);
    } catch (error) {
      expect(error).toBeInstanceOf(EgressAllowListError);
      expect(error).toMatchObject({ name: 'EgressAllowListError', variable: 'HERALD_EGRESS_ALLOW', entry });
      const message = (error as Error).message;
      expect(message).toContain('HERALD_EGRESS_ALLOW');
      expect(message).toContain(JSON.stringify(entry));
      expect(message).toContain(reason);
    }
  });
});

describe('checkEgress (pure)', () => {
  const allow = parseEgressAllowList('127.0.0.1, 10.1.0.0/16, hooks.internal');

  it('public addresses pass without an allow-list entry', () => {
    expect(checkEgress(parseEgressAllowList(''), 'example.com', '8.8.8.8')).toEqual({ allowed: true, category: 'public', via: 'public' });
  });

  it('non-public addresses pass only by address, CIDR or hostname', () => {
    expect(checkEgress(allow, '127.0.0.1', '127.0.0.1')).toMatchObject({ allowed: true, via: 'address' });
    expect(checkEgress(allow, 'svc.local', '10.1.2.3')).toMatchObject({ allowed: true, via: 'address' });
    expect(checkEgress(allow, 'hooks.internal', '192.168.1.1')).toMatchObject({ allowed: true, via: 'hostname' });
    expect(checkEgress(allow, 'svc.local', '10.2.0.1')).toEqual({ allowed: false, category: 'private' });
    expect(checkEgress(allow, '127.0.0.2', '127.0.0.2')).toEqual({ allowed: false, category: 'loopback' });
    expect(checkEgress(allow, 'other.internal', '169.254.169.254')).toEqual({ allowed: false, category: 'metadata' });
  });
});

describe('findEgressRefusal', () => {
  const refusal = new EgressRefusedError('rebind.test', '127.0.0.2', 'loopback');

  it('finds the refusal directly, in a cause chain and inside an AggregateError', () => {
    expect(findEgressRefusal(refusal)).toBe(refusal);
    expect(findEgressRefusal(new Error('outer', { cause: new Error('middle', { cause: refusal }) }))).toBe(refusal);
    expect(findEgressRefusal(new AggregateError([new Error('other'), refusal]))).toBe(refusal);
    expect(findEgressRefusal(new Error('unrelated'))).toBeUndefined();
    expect(findEgressRefusal('not an error')).toBeUndefined();
  });

  it('names host, address and category; carries a stable code', () => {
    expect(refusal.message).toBe('egress refused: rebind.test resolved to 127.0.0.2, which is loopback and not in HERALD_EGRESS_ALLOW');
    expect(new EgressRefusedError('127.0.0.2', '127.0.0.2', 'loopback').message).toBe(
      'egress refused: 127.0.0.2 is loopback and not in HERALD_EGRESS_ALLOW',
    );
    expect(refusal).toMatchObject({ name: 'EgressRefusedError', code: EGRESS_REFUSED_CODE });
  });
});

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

import { describe, expect, it } from 'vitest';
import { EgressAllowListError, parseEgressAllowList } from '../../src/egress/allow-list.js';

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

  it("including() adds another list's entries and keeps its own", () => {
    const both = parseEgressAllowList('10.0.0.0/8').including(parseEgressAllowList('127.0.0.1'));
    expect(both.allowsAddress('10.1.2.3')).toBe(true);
    expect(both.allowsAddress('127.0.0.1')).toBe(true);
    expect(both.allowsAddress('192.168.0.1')).toBe(false);
  });
});

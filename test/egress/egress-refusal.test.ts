import { describe, expect, it } from 'vitest';
import { parseEgressAllowList } from '../../src/egress/allow-list.js';
import { checkEgress, EGRESS_REFUSED_CODE, EgressRefusedError, findEgressRefusal } from '../../src/egress/egress-refusal.js';

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

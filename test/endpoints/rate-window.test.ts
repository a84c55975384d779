import { describe, expect, it } from 'vitest';
import {
  decodeRateWindow,
  encodeRateWindow,
  rateAdmission,
  recordGrant,
  RATE_GUARD_MS,
  RATE_WINDOW_MS,
  type RateWindow,
} from '../../src/endpoints/rate-window.js';

const T0 = 1_796_000_000_000; // a multiple of 50 ms

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most grants in any half-open window [t, t + width). */
function maxInWindow(grants: readonly number[], width: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < grants.length; hi++) {
    while (grants[hi]! - grants[lo]! >= width) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Callers that ask at the given times and retry at the time a wait names; returns the grant times. */
function simulate(limit: number, askTimes: number[]): number[] {
  let window: RateWindow | null = null;
  const grants: number[] = [];
  const queue = [...askTimes].sort((a, b) => a - b);
  while (queue.length > 0) {
    const now = queue.shift()!;
    const admission = rateAdmission(window, limit, now);
    if (admission.allowed) {
      window = recordGrant(window, now);
      grants.push(now);
    } else {
      if (admission.untilMs <= now) throw new Error(`a wait at ${now} named ${admission.untilMs}`);
      const at = admission.untilMs;
      const i = queue.findIndex((t) => t > at);
      queue.splice(i === -1 ? queue.length : i, 0, at);
    }
  }
  return grants;
}

describe('rate window', () => {
  it('allows a burst of the limit at once, then answers when the next request may go', () => {
    let w: RateWindow | null = null;
    for (let i = 0; i < 5; i++) {
      expect(rateAdmission(w, 5, T0 + i)).toEqual({ allowed: true });
      w = recordGrant(w, T0 + i);
    }
    const denied = rateAdmission(w, 5, T0 + 10);
    expect(denied.allowed).toBe(false);
    // All five sit in the sub-window starting at T0; it leaves the span after window + guard (+ its width).
    if (!denied.allowed) {
      expect(denied.untilMs).toBeGreaterThanOrEqual(T0 + RATE_WINDOW_MS + RATE_GUARD_MS);
      expect(denied.untilMs).toBeLessThanOrEqual(T0 + RATE_WINDOW_MS + RATE_GUARD_MS + 50);
      expect(rateAdmission(w, 5, denied.untilMs - 1).allowed).toBe(false);
      expect(rateAdmission(w, 5, denied.untilMs)).toEqual({ allowed: true });
    }
  });

  it('names the time the oldest needed grants leave the window, not the newest', () => {
    let w: RateWindow | null = null;
    w = recordGrant(w, T0); // sub-window 0
    w = recordGrant(w, T0 + 500); // sub-window 10
    w = recordGrant(w, T0 + 500);
    const denied = rateAdmission(w, 3, T0 + 600);
    expect(denied).toEqual({ allowed: false, untilMs: T0 + RATE_WINDOW_MS + RATE_GUARD_MS + 50 });
    expect(rateAdmission(w, 3, T0 + 1150)).toEqual({ allowed: true });
  });

  it('never grants more than the limit in any one-second window (nor in any window of window + guard)', () => {
    for (const [seed, limit] of [[1, 1], [2, 5], [3, 7], [4, 50], [5, 200]] as const) {
      const random = prng(seed);
      const asks = Array.from({ length: limit * 25 }, () => T0 + Math.floor(random() * 20_000));
      const grants = simulate(limit, asks);
      expect(grants).toHaveLength(asks.length);
      expect(maxInWindow(grants, RATE_WINDOW_MS)).toBeLessThanOrEqual(limit);
      expect(maxInWindow(grants, RATE_WINDOW_MS + RATE_GUARD_MS)).toBeLessThanOrEqual(limit);
    }
  });

  it('sustains at least limit / 1.15 per second under constant demand', () => {
    const limit = 20;
    const asks = Array.from({ length: 400 }, () => T0); // everyone at once, then retrying when told
    const grants = simulate(limit, asks);
    const seconds = (grants[grants.length - 1]! - grants[0]!) / 1000;
    expect(grants.length / (seconds + 1.15)).toBeGreaterThanOrEqual(limit / 1.15 - 0.5);
    expect(maxInWindow(grants, RATE_WINDOW_MS)).toBe(limit);
  });

  it('forgets grants older than the span', () => {
    let w: RateWindow | null = recordGrant(null, T0);
    expect(rateAdmission(w, 1, T0 + 10_000)).toEqual({ allowed: true });
    w = recordGrant(w, T0 + 10_000);
    expect(w.counts).toEqual([1]);
  });

  it('is stricter, never looser, for a worker whose clock is behind', () => {
    const w = recordGrant(null, T0 + 2_000); // written by a worker 2 s ahead
    expect(rateAdmission(w, 1, T0).allowed).toBe(false);
    expect(recordGrant(w, T0).counts[0]).toBe(2); // counted in the newer sub-window
  });

  it('round-trips through its JSON column, trailing zeros trimmed', () => {
    let w: RateWindow | null = recordGrant(null, T0);
    w = recordGrant(w, T0 + 200);
    const text = encodeRateWindow(w);
    expect(JSON.parse(text)).toEqual([(T0 + 200) / 50, 1, 0, 0, 0, 1]);
    expect(decodeRateWindow(text)).toEqual(w);
    expect(decodeRateWindow(null)).toBeNull();
    expect(decodeRateWindow('{"x":1}')).toBeNull();
  });
});

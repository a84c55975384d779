import { describe, expect, it } from 'vitest';
import { LatencyBaseline, MIN_BASELINE_SAMPLES } from '../../src/endpoints/latency-baseline.js';

function warmed(ms: number, n = 30): LatencyBaseline {
  const b = new LatencyBaseline();
  for (let i = 0; i < n; i++) b.observe(ms);
  return b;
}

describe('latency baseline', () => {
  it('says nothing before it has a baseline', () => {
    const b = new LatencyBaseline();
    for (let i = 0; i < MIN_BASELINE_SAMPLES - 1; i++) expect(b.observe(i === 0 ? 100 : 5_000)).toBe(false);
  });

  it('stays quiet at a steady latency with ordinary jitter', () => {
    const b = warmed(200);
    for (const ms of [150, 260, 210, 320, 180, 240]) expect(b.observe(ms)).toBe(false);
  });

  it('rises on a sustained jump to several times the baseline, at once', () => {
    const b = warmed(200);
    expect(b.observe(1_000)).toBe(true); // recent = 600 > 2 × 200
    expect(b.observe(1_000)).toBe(true);
  });

  it('does not rise on one outlier of moderate size', () => {
    const b = warmed(200);
    expect(b.observe(550)).toBe(false); // recent = 375
    expect(b.observe(200)).toBe(false);
  });

  it('ignores relative jumps too small in absolute terms', () => {
    const b = warmed(5);
    expect(b.observe(40)).toBe(false); // 4.5× the baseline, but only ~17 ms above it
    expect(b.observe(40)).toBe(false);
  });

  it('learns a permanently slower endpoint and stops calling it congested', () => {
    const b = warmed(100);
    expect(b.observe(400)).toBe(true);
    let quietAfter = -1;
    for (let i = 0; i < 200 && quietAfter === -1; i++) if (!b.observe(400)) quietAfter = i;
    expect(quietAfter).toBeGreaterThan(5);
    expect(quietAfter).toBeLessThan(60);
  });

  it('ignores impossible samples', () => {
    const b = warmed(100);
    expect(b.observe(Number.NaN)).toBe(false);
    expect(b.observe(-5)).toBe(false);
    expect(b.baselineMs).toBeCloseTo(100);
  });
});

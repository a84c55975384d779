/**
 * The store-backed endpoint gate against real storage: in-process maps, one SQLite file opened by two engines
 * (two workers' connections) and a real Postgres (two engines, two pools). Each test uses its own webhook id.
 * Two gates, one per engine, stand for two worker processes (each has its own process-local state). The
 * ObjectQL adapter (an ObjectStack app's engine) runs the same suite over SQLite.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpointGate, type EndpointGate, type GateDecision, type SendPermit } from '../../src/endpoints/endpoint-gate.js';
import type { EndpointPolicy, SendReport } from '../../src/endpoints/endpoint-policy.js';
import { ValidationError } from '../../src/errors.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { MemoryEngine, MemoryStorage } from '../../src/store/memory-engine.js';
import { PostgresEngine } from '../../src/store/postgres-engine.js';
import { heraldEndpointSlots, heraldEndpointState } from '../../src/store/schema.js';
import { SqliteEngine } from '../../src/store/sqlite-engine.js';
import { ObjectQLEngine } from '../../src/objectstack/objectql-engine.js';
import { bootObjectQL } from '../objectstack/objectql-support.js';
import { startPostgres } from '../support/postgres.js';

interface Workers {
  /** Two engines over one database. */
  engines: [DataEngine, DataEngine];
  dispose(): Promise<void>;
}

const T0 = Date.parse('2026-11-26T10:00:00Z');
const DAY = 86_400_000;
const POLICY: EndpointPolicy = { rateLimitPerSecond: null, maxConcurrency: 20, breakerThreshold: 10, disableAfterDays: 5 };
const OK: SendReport = { ok: true, throttled: false, status: 200, latencyMs: 20 };
const FAIL: SendReport = { ok: false, throttled: false, status: 500, latencyMs: 20 };
const TOO_MANY: SendReport = { ok: false, throttled: true, status: 429, latencyMs: 5 };
const LEASE_MS = 30_000;

function webhookId(): string {
  return `wh_${randomBytes(6).toString('hex')}`;
}

function go(decision: GateDecision): SendPermit {
  if (decision.kind !== 'go') throw new Error(`expected go, got ${JSON.stringify(decision)}`);
  return decision.permit;
}

/** The most grants in any half-open window [t, t + width). */
function maxInWindow(times: readonly number[], width: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= width) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Counts DataEngine calls by method, to check what one send costs. */
function counting(engine: DataEngine): { engine: DataEngine; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(engine, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { engine: proxy, calls };
}

function describeGate(name: string, open: () => Promise<Workers>): void {
  describe(`endpoint gate on ${name}`, () => {
    let workers: Workers;
    let a: DataEngine;
    let b: DataEngine;
    let now = T0;
    const clock = () => now;
    /** Two "workers" on the fake clock. */
    let gateA: EndpointGate;
    let gateB: EndpointGate;
    const limits: [string, number | null][] = [];

    beforeAll(async () => {
      workers = await open();
      [a, b] = workers.engines;
      await a.migrate();
      await b.migrate();
      gateA = createEndpointGate({ engine: a, clock, onConcurrencyChange: (id, limit) => limits.push([id, limit]) });
      gateB = createEndpointGate({ engine: b, clock });
    });
    afterAll(async () => workers?.dispose());

    it('never lets more than maxConcurrency requests be in flight with 50 concurrent acquirers on two workers', async () => {
      const id = webhookId();
      const policy = { ...POLICY, maxConcurrency: 5 };
      const real = [createEndpointGate({ engine: a, clock: Date.now }), createEndpointGate({ engine: b, clock: Date.now })];
      let inFlight = 0;
      let peak = 0;
      let sent = 0;
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const gate = real[i % 2]!;
          for (let sends = 0; sends < 3; ) {
            const decision = await gate.acquire(id, policy, LEASE_MS);
            if (decision.kind === 'wait') {
              expect(decision.reason).toBe('concurrency');
              await sleep(Math.max(1, decision.untilMs - Date.now()));
              continue;
            }
            if (decision.kind !== 'go') throw new Error(`unexpected ${decision.kind}`);
            inFlight++;
            peak = Math.max(peak, inFlight);
            await sleep(5 + (i % 4) * 3);
            inFlight--;
            await gate.release(decision.permit, OK, policy);
            sends++;
            sent++;
          }
        }),
      );
      expect(sent).toBe(150);
      expect(peak).toBeLessThanOrEqual(5);
      expect(peak).toBeGreaterThanOrEqual(2); // really concurrent, not serialised by the gate
      expect(await a.count(heraldEndpointSlots.name, { where: { webhook_id: id } })).toBeLessThanOrEqual(5);
      expect(await gateA.health(id, true)).toMatchObject({ inFlight: 0, state: 'healthy', effectiveConcurrency: 5 });
    });

    it('never grants more than rateLimitPerSecond in any 1-second window across two workers (fake clock)', async () => {
      const id = webhookId();
      const policy = { ...POLICY, rateLimitPerSecond: 5 };
      now = T0;
      // Event loop over simulated time: callers due at the same instant run concurrently, half on each worker.
      let due: number[] = Array.from({ length: 60 }, (_, i) => T0 + (i % 7) * 37);
      const grants: number[] = [];
      while (due.length > 0) {
        now = Math.min(...due);
        const batch = due.filter((t) => t === now);
        due = due.filter((t) => t !== now);
        const results = await Promise.all(batch.map((_, i) => (i % 2 === 0 ? gateA : gateB).acquire(id, policy, LEASE_MS)));
        for (const [i, decision] of results.entries()) {
          if (decision.kind === 'go') {
            grants.push(now);
            await (i % 2 === 0 ? gateA : gateB).release(decision.permit, OK, policy);
          } else if (decision.kind === 'wait') {
            expect(decision.untilMs).toBeGreaterThan(now);
            due.push(decision.untilMs);
          } else throw new Error('unexpected disable');
        }
      }
      expect(grants).toHaveLength(60);
      expect(maxInWindow(grants, 1_000)).toBeLessThanOrEqual(5);
      expect(maxInWindow(grants, 1_000)).toBe(5); // the burst is allowed
      // Sustained close to the limit: 60 at 5/s is 12 s; the guard costs at most 15 %.
      expect(Math.max(...grants) - T0).toBeLessThan(15_000);
    });

    it('counts every one of 20 concurrent failures reported by two workers (compare-and-set retries)', async () => {
      const id = webhookId();
      const policy = { ...POLICY, breakerThreshold: 100 };
      now = T0;
      const permits = await Promise.all(Array.from({ length: 20 }, async (_, i) => ({ gate: i % 2 ? gateA : gateB, permit: go(await (i % 2 ? gateA : gateB).acquire(id, policy, LEASE_MS)) })));
      await Promise.all(permits.map(({ gate, permit }) => gate.release(permit, FAIL, policy)));
      expect(await gateA.health(id, true)).toMatchObject({ state: 'failing', consecutiveFailures: 20, inFlight: 0 });
    });

    it("reclaims a crashed worker's slot once its lease expires, and its late release frees nothing", async () => {
      const id = webhookId();
      const policy = { ...POLICY, maxConcurrency: 1 };
      now = T0;
      const crashed = go(await gateA.acquire(id, policy, 1_000));
      const blocked = await gateB.acquire(id, policy, 1_000);
      expect(blocked).toMatchObject({ kind: 'wait', reason: 'concurrency' });
      now = T0 + 999;
      expect((await gateB.acquire(id, policy, 1_000)).kind).toBe('wait');
      now = T0 + 1_000;
      const reclaimed = go(await gateB.acquire(id, policy, 1_000));
      await gateA.release(crashed, OK, policy); // the crashed worker comes back late
      expect((await gateA.acquire(id, policy, 1_000)).kind).toBe('wait'); // B still holds it
      await gateB.release(reclaimed, OK, policy);
      go(await gateA.acquire(id, policy, 1_000));
    });

    it('opens the breaker after N failures, admits one probe after the cool-down, and closes on its success', async () => {
      const id = webhookId();
      const policy = { ...POLICY, breakerThreshold: 3 };
      now = T0;
      for (let i = 0; i < 2; i++) expect(await gateA.release(go(await gateA.acquire(id, policy, LEASE_MS)), FAIL, policy)).toEqual([]);
      expect(await gateA.health(id, true)).toMatchObject({ state: 'failing', consecutiveFailures: 2, failingSince: T0 });
      now = T0 + 10;
      expect(await gateB.release(go(await gateB.acquire(id, policy, LEASE_MS)), FAIL, policy)).toEqual([
        { kind: 'opened', consecutiveFailures: 3, nextProbeAt: T0 + 10 + 30_000 },
      ]);
      const waiting = await gateA.acquire(id, policy, LEASE_MS);
      expect(waiting).toMatchObject({ kind: 'wait', reason: 'breaker-open', message: 'breaker open until 10:00:30 UTC after 3 consecutive failures' });
      if (waiting.kind === 'wait') {
        expect(waiting.untilMs).toBeGreaterThanOrEqual(T0 + 30_010);
        expect(waiting.untilMs).toBeLessThan(T0 + 31_010); // jitter under a second
      }
      expect(await gateA.health(id, true)).toMatchObject({ state: 'open', nextProbeAt: T0 + 30_010 });

      now = T0 + 30_010;
      const [first, second] = await Promise.all([gateA.acquire(id, policy, LEASE_MS), gateB.acquire(id, policy, LEASE_MS)]);
      const probes = [first, second].filter((d) => d.kind === 'go');
      expect(probes).toHaveLength(1); // exactly one probe, whoever won
      const probe = go(probes[0]!);
      expect(probe.probe).toBe(true);
      const behind = [first, second].find((d) => d.kind === 'wait');
      expect(behind).toMatchObject({ reason: 'breaker-open', message: expect.stringContaining('probe request is in flight') });

      now = T0 + 30_500;
      expect(await gateB.release(probe, OK, policy)).toEqual([{ kind: 'closed', failedFor: 30_500 }]);
      expect(await gateA.health(id, true)).toMatchObject({ state: 'healthy', consecutiveFailures: 0, failingSince: null, nextProbeAt: null, lastSuccessAt: T0 + 30_500 });
      const after = go(await gateA.acquire(id, policy, LEASE_MS));
      expect(after.probe).toBe(false);
      await gateA.release(after, OK, policy);
    });

    it('doubles the cool-down per failed probe up to 10 minutes', async () => {
      const id = webhookId();
      const policy = { ...POLICY, breakerThreshold: 1 };
      now = T0;
      await gateA.release(go(await gateA.acquire(id, policy, LEASE_MS)), FAIL, policy);
      const cooldowns: number[] = [];
      for (let i = 0; i < 7; i++) {
        const health = await gateB.health(id, true);
        expect(health.state).toBe('open');
        cooldowns.push(health.nextProbeAt! - now);
        now = health.nextProbeAt!;
        const probe = go(await (i % 2 ? gateA : gateB).acquire(id, policy, LEASE_MS));
        expect(probe.probe).toBe(true);
        expect(await (i % 2 ? gateB : gateA).release(probe, FAIL, policy)).toEqual([]);
      }
      expect(cooldowns).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    });

    it("lets another caller probe when a probe's lease expires or it sent nothing", async () => {
      const id = webhookId();
      const policy = { ...POLICY, breakerThreshold: 1 };
      now = T0;
      await gateA.release(go(await gateA.acquire(id, policy, LEASE_MS)), FAIL, policy);
      now = T0 + 30_000;
      go(await gateA.acquire(id, policy, 5_000)); // its worker dies
      expect((await gateB.acquire(id, policy, 5_000)).kind).toBe('wait');
      now = T0 + 35_000;
      const second = go(await gateB.acquire(id, policy, 5_000));
      expect(second.probe).toBe(true);
      expect(await gateB.release(second, null, policy)).toEqual([]); // e.g. the database read failed
      expect(go(await gateA.acquire(id, policy, 5_000)).probe).toBe(true);
    });

    it('says disable after disableAfterDays failing without a success, at release and at acquire', async () => {
      const id = webhookId();
      now = T0;
      await gateA.release(go(await gateA.acquire(id, POLICY, LEASE_MS)), FAIL, POLICY);
      now = T0 + 5 * DAY - 1;
      expect(await gateA.release(go(await gateA.acquire(id, POLICY, LEASE_MS)), FAIL, POLICY)).toEqual([]);
      now = T0 + 5 * DAY;
      expect(await gateB.release(go(await gateB.acquire(id, POLICY, LEASE_MS)), FAIL, POLICY)).toEqual([
        { kind: 'disable', reason: 'failing without a success since 2026-11-26T10:00Z (5 days)', failingSince: T0 },
      ]);

      const open = webhookId();
      const quick = { ...POLICY, breakerThreshold: 1 };
      now = T0;
      await gateA.release(go(await gateA.acquire(open, quick, LEASE_MS)), FAIL, quick);
      now = T0 + 6 * DAY;
      expect(await gateB.acquire(open, quick, LEASE_MS)).toEqual({
        kind: 'disable',
        reason: 'failing without a success since 2026-11-26T10:00Z (6 days)',
        failingSince: T0,
      });
      expect(await gateB.health(open, false)).toMatchObject({ state: 'disabled', consecutiveFailures: 1 });
    });

    it('halves the shared limit on 429 once per round, reports it, and grows it back with successes', async () => {
      const id = webhookId();
      const policy = { ...POLICY, maxConcurrency: 4 };
      now = T0;
      const permits = [go(await gateA.acquire(id, policy, LEASE_MS)), go(await gateB.acquire(id, policy, LEASE_MS))];
      now = T0 + 10;
      expect(await gateA.release(permits[0]!, TOO_MANY, policy)).toEqual([]);
      await gateB.release(permits[1]!, TOO_MANY, policy); // same round: no second halving
      expect((await gateB.health(id, true)).effectiveConcurrency).toBe(2);
      expect(limits.filter(([w]) => w === id)).toEqual([
        [id, 4],
        [id, 2],
      ]);
      // Only 2 slots may be held now.
      const held = [go(await gateA.acquire(id, policy, LEASE_MS)), go(await gateB.acquire(id, policy, LEASE_MS))];
      expect(await gateA.acquire(id, policy, LEASE_MS)).toMatchObject({ kind: 'wait', reason: 'concurrency' });
      expect((await gateA.health(id, true)).inFlight).toBe(2);
      for (const p of held) await gateA.release(p, OK, policy);
      expect((await gateA.health(id, true)).effectiveConcurrency).toBe(3); // 2 successes at limit 2: +1
    });

    it('costs one read and one write per acquire and per release for a healthy unlimited endpoint', async () => {
      const id = webhookId();
      now = T0;
      const counted = counting(a);
      const gate = createEndpointGate({ engine: counted.engine, clock });
      await gate.release(go(await gate.acquire(id, POLICY, LEASE_MS)), OK, POLICY); // creates the rows
      counted.calls.clear();
      const permit = go(await gate.acquire(id, POLICY, LEASE_MS));
      expect(Object.fromEntries(counted.calls)).toEqual({ findOne: 1, update: 1 });
      counted.calls.clear();
      await gate.release(permit, OK, POLICY);
      expect(Object.fromEntries(counted.calls)).toEqual({ findOne: 1, update: 1 });
      expect((await gate.health(id, true)).lastSuccessAt).toBe(T0); // from the slot row, not a state write
    });

    it('forgets a deleted webhook and resets a re-enabled one', async () => {
      const id = webhookId();
      const policy = { ...POLICY, breakerThreshold: 1 };
      now = T0;
      await gateA.release(go(await gateA.acquire(id, policy, LEASE_MS)), FAIL, policy);
      expect((await gateA.acquire(id, policy, LEASE_MS)).kind).toBe('wait');
      await gateB.reset(id);
      expect(await gateA.health(id, true)).toMatchObject({ state: 'healthy', consecutiveFailures: 0, failingSince: null, nextProbeAt: null, effectiveConcurrency: 20 });
      await gateA.release(go(await gateA.acquire(id, policy, LEASE_MS)), OK, policy);
      await gateA.forget(id);
      expect(await a.count(heraldEndpointState.name, { where: { id } })).toBe(0);
      expect(await a.count(heraldEndpointSlots.name, { where: { webhook_id: id } })).toBe(0);
      expect(limits.at(-1)).toEqual([id, null]);
      expect(await gateA.health(id, true)).toEqual({
        state: 'healthy',
        consecutiveFailures: 0,
        failingSince: null,
        lastSuccessAt: null,
        nextProbeAt: null,
        effectiveConcurrency: null,
        inFlight: 0,
      });
    });

    it("never lets one endpoint's open breaker or full slots hold another endpoint's requests", async () => {
      const [sick, busy, healthy] = [webhookId(), webhookId(), webhookId()];
      const one = { ...POLICY, maxConcurrency: 1, breakerThreshold: 1 };
      now = T0;
      await gateA.release(go(await gateA.acquire(sick, one, LEASE_MS)), FAIL, one);
      expect((await gateA.acquire(sick, one, LEASE_MS)).kind).toBe('wait');
      go(await gateA.acquire(busy, one, LEASE_MS));
      expect((await gateB.acquire(busy, one, LEASE_MS)).kind).toBe('wait');
      const permits = [go(await gateA.acquire(healthy, one, LEASE_MS))];
      expect(permits[0]!.probe).toBe(false);
      expect(await gateB.health(healthy, true)).toMatchObject({ state: 'healthy', inFlight: 1 });
    });

    it('refuses a bad policy or lease naming the field, writing nothing', async () => {
      const id = webhookId();
      await expect(gateA.acquire(id, { ...POLICY, maxConcurrency: 0 }, LEASE_MS)).rejects.toThrow(new ValidationError('policy.maxConcurrency', 'must be an integer from 1 to 10000, got 0'));
      await expect(gateA.acquire(id, { ...POLICY, rateLimitPerSecond: 2.5 }, LEASE_MS)).rejects.toThrow(/policy\.rateLimitPerSecond/);
      await expect(gateA.acquire(id, { ...POLICY, disableAfterDays: -1 }, LEASE_MS)).rejects.toThrow(/policy\.disableAfterDays/);
      await expect(gateA.acquire(id, POLICY, 0)).rejects.toThrow(/leaseMs/);
      expect(await a.count(heraldEndpointState.name, { where: { id } })).toBe(0);
    });
  });
}

describeGate('memory', async () => {
  const storage = new MemoryStorage();
  return { engines: [new MemoryEngine({ storage }), new MemoryEngine({ storage })], dispose: async () => undefined };
});

describeGate('sqlite (one file, two connections)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-gate-'));
  const file = join(dir, 'herald.db');
  const engines: [DataEngine, DataEngine] = [new SqliteEngine(file), new SqliteEngine(file)];
  return {
    engines,
    dispose: async () => {
      await Promise.all(engines.map((e) => e.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeGate('postgres (two pools)', async () => {
  const server = await startPostgres();
  const engines: [DataEngine, DataEngine] = [new PostgresEngine(server.url, { maxConnections: 8 }), new PostgresEngine(server.url, { maxConnections: 8 })];
  return {
    engines,
    dispose: async () => {
      await Promise.all(engines.map((e) => e.close()));
      await server.stop();
    },
  };
});

describeGate('ObjectQL adapter (driver-sql on SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-gate-ql-'));
  const ql = await bootObjectQL({ kind: 'sqlite', filename: join(dir, 'app.db') });
  const engines: [DataEngine, DataEngine] = [new ObjectQLEngine(ql), new ObjectQLEngine(ql)];
  return {
    engines,
    dispose: async () => {
      await Promise.all(engines.map((e) => e.close()));
      await ql.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

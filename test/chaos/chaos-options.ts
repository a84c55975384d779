/** What a chaos run is asked to do (ChaosOptions) and what it reports (ChaosReport). */

export interface FaultWindow {
  /** The fault starts at a seeded random moment in [from, to] ms after the first publish. */
  from: number;
  to: number;
  /** How long the thing stays down. */
  downMs: number;
}

export interface ChaosOptions {
  label: string;
  /** Main deliveries wanted: `webhooks` × round(deliveries / webhooks) events. */
  deliveries: number;
  /** Main webhooks, all subscribed to `order.*`: each published event fans out to every one of them. */
  webhooks: number;
  /** Events are published evenly over this window, so faults land on deliveries at every stage. */
  publishWindowMs: number;
  workerKills: number;
  /**
   * Kill moments are drawn from [from, to] ms, at least `minGapMs` apart; a kill due while the previous
   * restart is still under way waits until the new worker has run `minUptimeMs`.
   */
  killWindow: { from: number; to: number; minGapMs: number; minUptimeMs: number };
  serverRestart: FaultWindow | null;
  receiverOutage: FaultWindow | null;
  databaseOutage: FaultWindow | null;
  database: 'postgres' | 'sqlite';
  /** Probe deliveries per probe webhook. */
  probes: { silent: number; huge: number; redirect: number; refused: number };
  mainSchedule: number[];
  probeSchedule: number[];
  timeoutMs: number;
  /** Share of first attempts the main receiver answers with 503. */
  failFirstAttemptShare: number;
  /** After the last publish and fault, how long every delivery may take to finish. */
  drainTimeoutMs: number;
  /**
   * A sanity ceiling on any worker process's peak RSS, for gross blow-ups only (memory figures belong in
   * benchmarks). The 50 MB probe's real check is how many bytes its receiver managed to write.
   */
  maxWorkerRssMb: number;
  seed: number;
  log: (line: string) => void;
}

export interface ChaosReport {
  summary: string;
  violations: string[];
  /** Observations that are not failures (latencies, attempt-log gaps, worker memory). */
  notes: string[];
  stats: {
    mainDeliveries: number;
    requests: number;
    distinctReceived: number;
    duplicates: number;
    lost: number;
    invalidSignatures: number;
    statusCounts: Record<string, number>;
    workerPeakRssMb: number;
    hugeBytesWrittenMax: number;
    totalMs: number;
  };
}

/**
 * The delivery settings both chaos runs share: schedules of seconds so that retries, dead-lettering and the
 * never-answering probe's timeouts all happen within the run.
 */
export const CHAOS_DELIVERY_SETTINGS = {
  mainSchedule: [1, 2, 3, 5, 5, 5, 5],
  probeSchedule: [1, 2],
  timeoutMs: 1_000,
  failFirstAttemptShare: 0.1,
  maxWorkerRssMb: 1024,
} satisfies Partial<ChaosOptions>;

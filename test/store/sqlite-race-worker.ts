/**
 * One racer for `sqlite-threads.test.ts`, run in a worker thread: its own SqliteEngine (its own connection and
 * thread), released together with the others by a shared-memory barrier.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UniqueViolationError } from '../../src/store/data-engine.js';
import { SqliteEngine } from '../../src/store/sqlite-engine.js';

export interface RaceJob {
  file: string;
  /** Int32 slot 0: the racers block until the test sets it to 1. */
  barrier: SharedArrayBuffer;
  racer: number;
  task: 'claim' | 'dedup';
  rows: number;
  now: number;
}

/** Per row: 'won' (update returned 1 / insert succeeded), 'lost' (0 / UniqueViolationError), or 'error: …'. */
export type RaceResult = string[];

const job = workerData as RaceJob;
const engine = new SqliteEngine(job.file);
await engine.count('herald_deliveries'); // connected and warm before the start
const start = new Int32Array(job.barrier);
parentPort!.postMessage({ ready: true });
Atomics.wait(start, 0, 0);

const results: RaceResult = [];
for (let row = 0; row < job.rows; row++) {
  try {
    if (job.task === 'claim') {
      const n = await engine.update(
        'herald_deliveries',
        { status: 'in_flight', run_id: `racer_${job.racer}` },
        { where: { id: `dlv_${row}`, status: 'pending' } },
      );
      results.push(n === 1 ? 'won' : n === 0 ? 'lost' : `error: count ${n}`);
    } else {
      await engine.insert('herald_deliveries', {
        id: `dlv_${row}_racer_${job.racer}`,
        webhook_id: 'wh_1',
        event_id: `evt_${row}`,
        event_type: 'order.created',
        event_time: job.now,
        url: 'https://example.test/hook',
        workflow_id: `delivery:wh_1:evt_${row}`,
        created_at: job.now,
        updated_at: job.now,
      });
      results.push('won');
    }
  } catch (error) {
    results.push(
      error instanceof UniqueViolationError && error.fields.join() === 'event_id,webhook_id'
        ? 'lost'
        : `error: ${(error as Error).name}: ${(error as Error).message}`,
    );
  }
}
await engine.close();
parentPort!.postMessage({ results });

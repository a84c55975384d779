/**
 * SQLite races between threads. better-sqlite3 runs statements synchronously, so engines sharing one JS
 * thread (the contract suite's race) interleave only between statements; here every racer is a worker thread
 * with its own connection, so statements really contend inside SQLite (locks, busy_timeout, WAL).
 *
 * Workers cannot load TypeScript through vitest, and tsx takes seconds per worker on a small machine, so the
 * store sources are transpiled once (TypeScript's transpileModule, no type-check) into a temp dir.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEngine } from '../../src/store/sqlite-engine.js';
import type { RaceJob, RaceResult } from './sqlite-race-worker.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = [
  'src/store/data-engine.ts',
  'src/store/schema.ts',
  'src/store/plan-types.ts',
  'src/store/column-values.ts',
  'src/store/compiled-object.ts',
  'src/store/where-filter.ts',
  'src/store/query-plan.ts',
  'src/store/sql-engine.ts',
  'src/store/sqlite-engine.ts',
  'test/store/sqlite-race-worker.ts',
];
const THREADS = 8;
const ROWS = 40;
const T0 = 1_767_225_600_000;

let out: string;
let file: string;
let engine: SqliteEngine;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'herald-sqlite-threads-'));
  for (const source of SOURCES) {
    const { outputText } = ts.transpileModule(readFileSync(join(ROOT, source), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    });
    const target = join(out, source.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }');
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  file = join(out, 'herald.db');
  engine = new SqliteEngine(file);
  await engine.migrate();
});

afterAll(async () => {
  await engine?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

beforeEach(async () => {
  await engine.delete('herald_deliveries', { where: {}, multi: true });
});

/** Starts THREADS racers, releases them at once, and returns each one's per-row results. */
async function race(task: RaceJob['task']): Promise<RaceResult[]> {
  const barrier = new SharedArrayBuffer(4);
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<RaceResult>[] = [];
  for (let racer = 0; racer < THREADS; racer++) {
    const job: RaceJob = { file, barrier, racer, task, rows: ROWS, now: T0 };
    const worker = new Worker(new URL('test/store/sqlite-race-worker.js', `file://${out}/`), { workerData: job });
    workers.push(worker);
    ready.push(new Promise((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    }));
    done.push(
      new Promise((resolve, reject) => {
        worker.on('message', (m: { results?: RaceResult }) => m.results && resolve(m.results));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`racer ${racer} exited (${code}) before reporting`)));
      }),
    );
  }
  try {
    await Promise.all(ready);
    const start = new Int32Array(barrier);
    Atomics.store(start, 0, 1);
    Atomics.notify(start, 0);
    return await Promise.all(done);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

describe('SQLite engine raced from worker threads', () => {
  it(`applies each guarded update exactly once across ${THREADS} threads`, async () => {
    await engine.insert(
      'herald_deliveries',
      Array.from({ length: ROWS }, (_, row) => ({
        id: `dlv_${row}`,
        webhook_id: 'wh_1',
        event_id: `evt_${row}`,
        event_type: 'order.created',
        event_time: T0,
        url: 'https://example.test/hook',
        workflow_id: `delivery:wh_1:evt_${row}`,
        created_at: T0,
        updated_at: T0,
      })),
    );
    const results = await race('claim');
    const rows = await engine.find('herald_deliveries', { fields: ['id', 'status', 'run_id'] });
    for (let row = 0; row < ROWS; row++) {
      const outcomes = results.map((r) => r[row]);
      expect(outcomes.filter((o) => o !== 'won' && o !== 'lost'), `row ${row}`).toEqual([]);
      expect(outcomes.filter((o) => o === 'won'), `row ${row}`).toHaveLength(1);
      const winner = outcomes.indexOf('won');
      expect(rows.find((r) => r['id'] === `dlv_${row}`)).toEqual({ id: `dlv_${row}`, status: 'in_flight', run_id: `racer_${winner}` });
    }
  });

  it(`keeps one row per dedup key when ${THREADS} threads insert it at once`, async () => {
    const results = await race('dedup');
    for (let row = 0; row < ROWS; row++) {
      const outcomes = results.map((r) => r[row]);
      expect(outcomes.filter((o) => o !== 'won' && o !== 'lost'), `row ${row}`).toEqual([]);
      expect(outcomes.filter((o) => o === 'won'), `row ${row}`).toHaveLength(1);
    }
    expect(await engine.count('herald_deliveries')).toBe(ROWS);
  });
});

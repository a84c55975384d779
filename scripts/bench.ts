/**
 * `npm run bench`: Herald's delivery throughput, latency and cost, measured against baselines run in the same
 * invocation on the same machine, and reported as ratios (absolute figures drift on shared machines).
 *
 * It starts its own Temporal dev server (SQLite file, WAL pragmas: startDevServer), a signature-verifying
 * receiver on 127.0.0.1 (its own process), and per phase fresh worker processes, then runs the phases below.
 * All traffic stays on 127.0.0.1; every load loop is bounded by a count and a deadline and stops by itself.
 *
 *   baselines  raw          undici.request POSTs (signed) to the receiver at the same concurrency: the HTTP ceiling
 *              bare         bench/bare-workflow.ts: one POST in a regular activity, on the same server
 *              bare-local   the same POST in a local activity: the fast path's ceiling
 *   cost       cost         per delivery (healthy, one retry): tasks, events, transitions, SQL statements, CPU
 *              os-mem-50/1  ObjectStack HttpDispatcher over MemoryHttpOutbox, 50 webhooks / 1 webhook
 *              os-sql-50/1  … over SqlHttpOutbox on SQLite (durable, like Herald)
 *   Herald     herald       publish N events round-robin over 50 webhooks (one delivery each), end to end
 *              herald-1     the same, all to one webhook
 *   variants   workers      Herald with 2 and 4 worker processes (--workers)
 *              rate         Herald at steady publish rates (--rates), latency at each
 *              isolation    a healthy endpoint measured while another one is down with many retrying deliveries
 *              postgres     Herald with its delivery table on Postgres (embedded) instead of SQLite
 *   profiling  direct       herald.deliveries.deliver (no fan-out workflow) instead of events.publish
 *              inproc       client + worker in one process, delivery table on SQLite, then on memory (mirror cost)
 *              shape        bare + Herald's search attributes, bare + Herald's local activities (server cost of each)
 *              tuning       Herald with the worker option sets of --tuning
 *
 *   npm run bench                                    # the default set (about 10 minutes on 2 cores)
 *   npm run bench -- --profile                       # + direct, inproc, shape, tuning (about 6 more)
 *   npm run bench -- --events 10000 --phases herald,bare
 *   npm run bench -- --phases isolation --down-deliveries 10000
 *   npm run bench -- --help
 *
 * Writes bench/results/<date>.json, .md and .png (the chart; `--docs` also copies it to docs/bench.png).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot } from '../src/embedded/project-root.js';
import { resolveTemporalBinary } from '../src/embedded/temporal-binaries.js';
import { startDevServer } from '../src/embedded/temporal-dev-server.js';
import { renderChart } from './bench-chart.js';
import { listProcesses, nowMs, type FromReceiver, type ToReceiver } from './bench-lib.js';
import { parseArgs, type PhaseName } from './bench-options.js';
import { Child, round, type PhaseResult } from './bench-runtime.js';
import { type Env } from './bench-load.js';
import { runRaw, runBare, runOutbox } from './bench-phases.js';
import { runCost } from './bench-cost.js';
import { runHerald } from './bench-herald.js';
import { evaluate, fmt, markdown, profileLines, type Report } from './bench-report.js';

const ROOT = projectRoot();

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.argv.includes('--cluster')) {
    // `npm run bench -- --cluster`: the real-server scale bench (scripts/bench-cluster.ts, bench/CLUSTER.md).
    const args = process.argv.slice(2).filter((a) => a !== '--cluster');
    const run = spawnSync(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench-cluster.js'), ...args], { stdio: 'inherit' });
    process.exit(run.status ?? 1);
  }
  const opts = parseArgs(process.argv.slice(2));
  const began = nowMs();
  const date = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  mkdirSync(opts.out, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  const results: PhaseResult[] = [];
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, stopping`);
      void (async () => {
        for (const c of cleanups.reverse()) await c().catch(() => undefined);
        rmSync(tmp, { recursive: true, force: true });
        process.exit(130);
      })();
    });
  }
  const notes: string[] = [];
  let temporalCommand = 'temporal';
  console.log(`bench: phases ${opts.phases.join(', ')}; ${opts.events} events, concurrency ${opts.concurrency}; scratch ${tmp}`);

  try {
    const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
    if (binary.route === 'sdk-download') throw new Error('the bench needs a local Temporal CLI (npm run temporal:install)');
    temporalCommand = binary.command;
    const server = await startDevServer({ binary, dbFile: path.join(tmp, 'temporal.db'), logFile: path.join(tmp, 'temporal.log') });
    cleanups.push(() => server.stop());
    console.log(`bench: Temporal dev server ${server.address} (pid ${server.process.pid}, SQLite ${path.join(tmp, 'temporal.db')}, WAL)`);
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    const receiver = new Child<ToReceiver, FromReceiver>('bench-receiver.js', 'receiver');
    cleanups.push(() => receiver.stop({ type: 'stop' }, 5_000));
    const { port } = await receiver.next('ready', 30_000);
    console.log(`bench: receiver http://127.0.0.1:${port} (pid ${receiver.pid})`);

    const bareBundlePath = path.join(tmp, 'bare-workflow-bundle.js');
    if (opts.phases.some((p) => p === 'bare' || p === 'bare-local' || p === 'rate' || p === 'shape')) {
      const { code } = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'bench', 'bare-workflow.ts'), logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) } });
      writeFileSync(bareBundlePath, code);
    }
    const env: Env = { opts, server, connection, client, receiver, receiverPort: port, tmp, boxKey: randomBytes(32), bareBundlePath };

    const phase = async (name: string, fn: () => Promise<PhaseResult>) => {
      const t = nowMs();
      console.log(`\n▶ ${name}`);
      let r: PhaseResult;
      try {
        r = await fn();
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        console.error(`  ${name} failed: ${message}`);
        r = { name, kind: 'herald', description: 'failed', attempted: 0, delivered: 0, wallSeconds: 0, throughput: 0, publishRate: 0, latency: null, invalidSignatures: 0, duplicates: 0, timedOut: false, usage: {}, error: message };
      }
      results.push(r);
      console.log(
        `  ${r.name}: ${r.delivered}/${r.attempted} in ${r.wallSeconds} s → ${r.throughput}/s; p50/p95/p99 ${fmt(r.latency?.p50)}/${fmt(r.latency?.p95)}/${fmt(r.latency?.p99)} ms; ` +
          `server ${fmt(r.usage.server?.cores, 2)} cores, workers ${fmt((r.usage.workers ?? r.usage.outbox)?.cores, 2)} cores, bad sigs ${r.invalidSignatures}, dups ${r.duplicates}${r.timedOut ? ' (TIMED OUT)' : ''} [${round((nowMs() - t) / 1000, 0)} s]`,
      );
      writeFileSync(path.join(opts.out, `${date}.partial.json.tmp`), JSON.stringify(results, null, 1));
    };
    const has = (p: PhaseName) => opts.phases.includes(p);
    const many = opts.webhooks;

    if (has('raw')) await phase('raw', () => runRaw(env, 'raw', opts.rawEvents));
    if (has('bare')) await phase('bare', () => runBare(env, { name: 'bare', count: opts.events }));
    if (has('bare-local')) await phase('bare-local', () => runBare(env, { name: 'bare-local', count: opts.events, workflowType: 'bareLocalWorkflow' }));
    if (has('cost')) await phase('cost', () => runCost(env, opts.costEvents));
    if (has('herald')) await phase('herald', () => runHerald(env, { name: 'herald', description: `events.publish → fan-out → delivery, ${many} webhooks, 1 worker, SQLite table`, events: opts.events, webhooks: many, workers: 1 }));
    if (has('herald-1')) await phase('herald-1', () => runHerald(env, { name: 'herald-1', description: 'events.publish, 1 webhook, 1 worker, SQLite table', events: opts.variantEvents, webhooks: 1, workers: 1 }));
    if (has('os-mem-50')) await phase('os-mem-50', () => runOutbox(env, 'os-mem-50', 'memory', many, opts.outboxEvents));
    if (has('os-mem-1')) await phase('os-mem-1', () => runOutbox(env, 'os-mem-1', 'memory', 1, opts.outboxSingleEvents));
    if (has('os-sql-50')) await phase('os-sql-50', () => runOutbox(env, 'os-sql-50', 'sql', many, opts.outboxEvents));
    if (has('os-sql-1')) await phase('os-sql-1', () => runOutbox(env, 'os-sql-1', 'sql', 1, opts.outboxSingleEvents));
    if (has('workers')) {
      // A 1-worker reference at the variant size, so the 2/4-worker runs compare like with like.
      for (const w of opts.workers) {
        const name = w === 1 ? 'herald-w1-ref' : `herald-w${w}`;
        await phase(name, () => runHerald(env, { name, description: `events.publish, ${many} webhooks, ${w} worker process(es)`, events: opts.variantEvents, webhooks: many, workers: w }));
      }
    }
    if (has('rate')) {
      // Default: half and 90 % of the throughput Herald just reached (or 5 and 10/s without a herald run); the
      // bare workflow runs at the lower rate too, so p99s compare at the same steady load.
      const measured = results.find((r) => r.name === 'herald' && r.delivered > 0)?.throughput;
      // Default: the steady 8/s (the p99 target's rate, which the bare workflow also runs at) and 90 % of
      // the throughput Herald just reached.
      const rates = opts.rates.length > 0 ? opts.rates : [8, ...(measured && measured * 0.9 > 8 ? [Math.round(measured * 0.9)] : [])];
      if (opts.rates.length === 0) notes.push(`rate: rates ${rates.join(' and ')}/s = the target's 8/s and 90 % of the herald run's ${measured ?? '(not run)'}/s (--rates to choose).`);
      for (const rate of rates) {
        await phase(`rate-${rate}`, () => runHerald(env, { name: `rate-${rate}`, description: `steady ${rate} events/s for ${opts.rateSeconds} s, ${many} webhooks`, events: Math.round(rate * opts.rateSeconds), webhooks: many, workers: 1, rate }));
      }
      const low = rates[0]!;
      await phase(`bare-rate-${low}`, () => runBare(env, { name: `bare-rate-${low}`, count: Math.round(low * opts.rateSeconds), rate: low }));
    }
    if (has('isolation')) {
      await phase('isolation-control', () => runHerald(env, { name: 'isolation-control', description: 'healthy endpoint alone (control for isolation)', events: opts.variantEvents, webhooks: 1, workers: 1 }));
      await phase('isolation', () =>
        runHerald(env, {
          name: 'isolation',
          description: `healthy endpoint while ${opts.downDeliveries} deliveries to a down one (${opts.downMode}) wait behind its open breaker`,
          events: opts.variantEvents,
          webhooks: 1,
          workers: 1,
          down: { deliveries: opts.downDeliveries, mode: opts.downMode, schedule: opts.downSchedule },
        }),
      );
    }
    if (has('postgres')) {
      await phase('postgres', async () => {
        const { startPostgres } = await import('../test/support/postgres.js');
        const pg = await startPostgres();
        const pid = findPostgresPid();
        env.postgres = { ...pg, ...(pid ? { pid } : {}) };
        try {
          return await runHerald(env, { name: 'postgres', description: 'events.publish, 50 webhooks, delivery table on Postgres (embedded, fsync off)', events: opts.variantEvents, webhooks: many, workers: 1, database: 'postgres' });
        } finally {
          await pg.stop().catch(() => undefined);
          delete env.postgres;
        }
      });
      notes.push('postgres: the embedded test Postgres runs with fsync=off and synchronous_commit=off (test/support/postgres.ts); the Temporal server stays on SQLite.');
    }
    if (has('direct')) await phase('direct', () => runHerald(env, { name: 'direct', description: `deliveries.deliver (no fan-out workflow), ${many} webhooks`, events: opts.variantEvents, webhooks: many, workers: 1, path: 'direct' }));
    if (has('inproc')) {
      await phase('inproc-sqlite', () => runHerald(env, { name: 'inproc-sqlite', description: 'client + worker in one process, SQLite table', events: opts.variantEvents, webhooks: many, workers: 1, inproc: 'sqlite' }));
      await phase('inproc-memory', () => runHerald(env, { name: 'inproc-memory', description: 'client + worker in one process, memory table (no SQLite writes)', events: opts.variantEvents, webhooks: many, workers: 1, inproc: 'memory' }));
    }
    if (has('shape')) {
      await phase('bare-sa', () => runBare(env, { name: 'bare-sa', count: opts.variantEvents, workflowType: 'bareWithSearchAttributes', searchAttributes: true, description: "bare + Herald's 5 search attributes at start and 2 status upserts" }));
      await phase('bare-la', () => runBare(env, { name: 'bare-la', count: opts.variantEvents, workflowType: 'bareWithLocalActivities', description: "bare + Herald's 2 mirror local activities (writing nothing)" }));
      await phase('bare-ref', () => runBare(env, { name: 'bare-ref', count: opts.variantEvents, description: 'bare, at the shape phase size (reference for bare-sa, bare-la)' }));
    }
    if (has('tuning')) {
      let i = 0;
      for (const set of opts.tuning) {
        const name = `tuning-${++i}`;
        await phase(name, () => runHerald(env, { name, description: `worker options ${JSON.stringify(set)}`, events: opts.variantEvents, webhooks: many, workers: 1, overrides: set }));
      }
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
    rmSync(tmp, { recursive: true, force: true });
  }

  const { ratios, targets } = evaluate(results, opts);
  const report: Report = {
    date,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    totalSeconds: round((nowMs() - began) / 1000, 0),
    options: opts,
    machine: machineInfo(temporalCommand),
    results,
    ratios,
    targets,
    profile: profileLines(results),
    notes,
  };
  const base = path.join(opts.out, date);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 1) + '\n');
  writeFileSync(`${base}.md`, markdown(report));
  rmSync(path.join(opts.out, `${date}.partial.json.tmp`), { force: true });
  let chart = 'not rendered';
  try {
    chart = await renderChart(report, `${base}.png`, `${base}.svg`);
    if (opts.docs) {
      mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      copyFileSync(`${base}.png`, path.join(ROOT, 'docs', 'bench.png'));
      chart += ' (copied to docs/bench.png)';
    }
  } catch (err) {
    chart = `chart failed: ${(err as Error).message}`;
  }
  console.log(`\n${markdown(report)}`);
  console.log(`bench: wrote ${path.relative(ROOT, base)}.json, .md; chart: ${chart}`);
}

/** The postmaster just started: the youngest `postgres` process whose parent is not a `postgres`. */
function findPostgresPid(): number | undefined {
  let best: { pid: number; start: number } | undefined;
  const all = listProcesses();
  for (const p of all) {
    if (p.comm !== 'postgres') continue;
    const parent = all.find((q) => q.pid === p.ppid);
    if (parent?.comm === 'postgres') continue;
    if (!best || p.start > best.start) best = { pid: p.pid, start: p.start };
  }
  return best?.pid;
}

function machineInfo(temporalCommand: string): Record<string, string | number> {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  let temporalVersion = '?';
  try {
    temporalVersion = execFileSync(temporalCommand, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as '?'
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGiB: round(os.totalmem() / 2 ** 30, 0),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    temporal: temporalVersion,
    commit: `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--untracked-files=no']) ? ' (+ uncommitted changes)' : ''}`,
  };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

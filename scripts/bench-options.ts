/** `npm run bench` flags: the phases, their sizes and what each flag means. */
import path from 'node:path';
import { projectRoot } from '../src/embedded/project-root.js';

const ROOT = projectRoot();

export const ALL_PHASES = ['raw', 'bare', 'bare-local', 'cost', 'herald', 'herald-1', 'os-mem-50', 'os-mem-1', 'os-sql-50', 'os-sql-1', 'workers', 'rate', 'isolation', 'postgres', 'direct', 'inproc', 'shape', 'tuning'] as const;
export type PhaseName = (typeof ALL_PHASES)[number];
export const DEFAULT_PHASES: PhaseName[] = ['raw', 'bare', 'bare-local', 'cost', 'herald', 'herald-1', 'os-mem-50', 'os-mem-1', 'os-sql-50', 'os-sql-1', 'workers', 'rate', 'isolation', 'postgres'];
/** Added by --profile. */
export const PROFILE_PHASES: PhaseName[] = ['direct', 'inproc', 'shape', 'tuning'];

export interface Options {
  events: number;
  rawEvents: number;
  /** Events for the single-webhook runs and each variant (workers, postgres, direct, inproc, tuning, isolation's healthy run). */
  variantEvents: number;
  /** Deliveries per group (healthy, one retry) in the cost phase. */
  costEvents: number;
  outboxEvents: number;
  outboxSingleEvents: number;
  concurrency: number;
  webhooks: number;
  workers: number[];
  rates: number[];
  rateSeconds: number;
  downDeliveries: number;
  downMode: 'refused' | '503' | 'hang';
  downSchedule: number[] | undefined;
  phases: PhaseName[];
  workerOptions: Record<string, unknown>;
  tuning: Record<string, unknown>[];
  phaseTimeoutS: number;
  docs: boolean;
  out: string;
}

export const HELP = `npm run bench -- [flags]
  --events N              events for the main Herald run and the bare-workflow baseline (default 1000; the issue's figure is 10000)
  --raw-events N          requests for the raw undici baseline (default 10000)
  --variant-events N      events for herald-1, workers, postgres, direct, inproc, shape, tuning and the isolation runs (default 400)
  --cost-events N         deliveries per group (healthy, one retry) in the cost phase (default 100)
  --outbox-events N       deliveries for the ObjectStack 50-webhook runs (default 5000)
  --outbox-single-events N  deliveries for the ObjectStack 1-webhook runs (default 640: 10 s at its designed 64/s)
  --concurrency N         concurrent publishers / starters / raw requests (default 32)
  --webhooks N            webhooks in the "many" runs (default 50)
  --workers 1,2,4         worker processes for the workers variant (1 is the main run)
  --rates 8,60            steady publish rates (events/s) for the rate variant (default: 8 and 90 % of the herald run's throughput)
  --rate-seconds S        how long each steady rate runs (default 20)
  --down-deliveries N     open retrying deliveries to the down endpoint in the isolation run (default 10000)
  --down-mode M           refused (connection refused, default) | 503 | hang (never answers; 15 s timeout)
  --down-schedule 5,300,… retry delays (s) before each retry of the down webhook (default: Herald's default schedule)
  --phases a,b,…          any of: ${ALL_PHASES.join(', ')}
                          (default: ${DEFAULT_PHASES.join(', ')})
  --profile               add the profiling phases: ${PROFILE_PHASES.join(', ')}
  --worker-options JSON   Temporal WorkerOptions merged into every Herald worker (e.g. '{"maxCachedWorkflows":500}')
  --tuning JSON[]         option sets tried by the tuning phase (default: a built-in list)
  --phase-timeout S       deadline of each phase's load loop and wait (default 600)
  --docs                  also copy the chart to docs/bench.png
  --out DIR               results directory (default bench/results)`;

export const DEFAULT_TUNING: Record<string, unknown>[] = [
  { maxConcurrentWorkflowTaskPolls: 4, maxConcurrentActivityTaskPolls: 4 },
  { maxConcurrentWorkflowTaskExecutions: 100, maxConcurrentWorkflowTaskPolls: 20, maxConcurrentActivityTaskExecutions: 200, maxConcurrentActivityTaskPolls: 20 },
  { maxCachedWorkflows: 100 },
];

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    // Sized so the default set takes about 10 minutes on a 2-core machine, where Herald on the SQLite dev
    // server does tens of deliveries/s (the 10,000 events alone would take 10+ minutes): --events 10000.
    events: 1_000,
    rawEvents: 10_000,
    variantEvents: 400,
    costEvents: 100,
    outboxEvents: 5_000,
    outboxSingleEvents: 640,
    concurrency: 32,
    webhooks: 50,
    workers: [1, 2, 4],
    rates: [],
    rateSeconds: 20,
    downDeliveries: 10_000,
    downMode: 'refused',
    downSchedule: undefined,
    phases: [...DEFAULT_PHASES],
    workerOptions: {},
    tuning: DEFAULT_TUNING,
    phaseTimeoutS: 600,
    docs: false,
    out: path.join(ROOT, 'bench', 'results'),
  };
  const int = (flag: string, v: string | undefined, min = 1): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const list = (flag: string, v: string | undefined, min = 1) => (v ?? '').split(',').filter(Boolean).map((x) => int(flag, x, min));
  const json = (flag: string, v: string | undefined): unknown => {
    try {
      return JSON.parse(v ?? '');
    } catch {
      throw new Error(`${flag}: expected JSON, got ${JSON.stringify(v)}`);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case '--events': o.events = int(flag, value()); break;
      case '--raw-events': o.rawEvents = int(flag, value()); break;
      case '--variant-events': o.variantEvents = int(flag, value()); break;
      case '--cost-events': o.costEvents = int(flag, value()); break;
      case '--outbox-events': o.outboxEvents = int(flag, value()); break;
      case '--outbox-single-events': o.outboxSingleEvents = int(flag, value()); break;
      case '--concurrency': o.concurrency = int(flag, value()); break;
      case '--webhooks': o.webhooks = int(flag, value()); break;
      case '--workers': o.workers = list(flag, value()); break;
      case '--rates': o.rates = list(flag, value()); break;
      case '--rate-seconds': o.rateSeconds = int(flag, value()); break;
      case '--down-deliveries': o.downDeliveries = int(flag, value(), 0); break;
      case '--down-mode': {
        const m = value();
        if (m !== 'refused' && m !== '503' && m !== 'hang') throw new Error(`--down-mode: refused, 503 or hang, got ${JSON.stringify(m)}`);
        o.downMode = m;
        break;
      }
      case '--down-schedule': o.downSchedule = list(flag, value(), 1); break;
      case '--phases': {
        const names = (value() ?? '').split(',').filter(Boolean);
        for (const n of names) if (!(ALL_PHASES as readonly string[]).includes(n)) throw new Error(`--phases: unknown phase ${JSON.stringify(n)} (known: ${ALL_PHASES.join(', ')})`);
        o.phases = names as PhaseName[];
        break;
      }
      case '--worker-options': o.workerOptions = json(flag, value()) as Record<string, unknown>; break;
      case '--tuning': o.tuning = json(flag, value()) as Record<string, unknown>[]; break;
      case '--phase-timeout': o.phaseTimeoutS = int(flag, value()); break;
      case '--profile': for (const p of PROFILE_PHASES) if (!o.phases.includes(p)) o.phases.push(p); break;
      case '--docs': o.docs = true; break;
      case '--out': o.out = path.resolve(value() ?? ''); break;
      case '--help': case '-h': console.log(HELP); process.exit(0); break;
      default: throw new Error(`unknown flag ${flag}\n\n${HELP}`);
    }
  }
  return o;
}


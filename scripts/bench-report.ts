/** The bench report: ratios, targets against the issue's goals, the markdown table and the profile lines. */
import { costTable, type CostRow } from './bench-cost.js';
import os from 'node:os';
import path from 'node:path';
import { type Options } from './bench-options.js';
import { round, type PhaseResult } from './bench-runtime.js';

// ---------------------------------------------------------------------------------------------------------
// Report

export interface Target {
  target: string;
  measured: string;
  met: boolean | null;
  detail: string;
}

export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? round(a / b, 2) : undefined;
}

export function evaluate(results: PhaseResult[], opts: Options): { ratios: Record<string, number | undefined>; targets: Target[] } {
  const get = (n: string) => results.find((r) => r.name === n && !r.error && r.delivered > 0);
  const herald = get('herald');
  const herald1 = get('herald-1');
  const raw = get('raw');
  const bare = get('bare');
  const bareLocal = get('bare-local');
  const osSql50 = get('os-sql-50');
  const osSql1 = get('os-sql-1');
  const osMem50 = get('os-mem-50');
  const osMem1 = get('os-mem-1');
  const steadyBare = results.find((r) => r.name.startsWith('bare-rate-') && r.delivered > 0);
  const steadyHerald = steadyBare ? get(steadyBare.name.replace(/^bare-/, '')) : undefined;
  const iso = get('isolation');
  const isoControl = get('isolation-control');
  const ratios: Record<string, number | undefined> = {
    'herald / raw undici': ratio(herald?.throughput, raw?.throughput),
    'herald / bare workflow': ratio(herald?.throughput, bare?.throughput),
    'herald / bare local-activity workflow': ratio(herald?.throughput, bareLocal?.throughput),
    'herald / objectstack memory outbox (50 webhooks)': ratio(herald?.throughput, osMem50?.throughput),
    'herald / objectstack SQL outbox (50 webhooks)': ratio(herald?.throughput, osSql50?.throughput),
    'herald-1 / objectstack memory outbox (1 webhook)': ratio(herald1?.throughput, osMem1?.throughput),
    'herald-1 / objectstack SQL outbox (1 webhook)': ratio(herald1?.throughput, osSql1?.throughput),
    'herald-1 / herald (1 webhook vs 50)': ratio(herald1?.throughput, herald?.throughput),
    'herald p99 / bare p99 (both flat out)': ratio(herald?.latency?.p99, bare?.latency?.p99),
    'herald p99 / bare p99 (same steady rate)': ratio(steadyHerald?.latency?.p99, steadyBare?.latency?.p99),
    'isolation healthy throughput / control': ratio(iso?.throughput, isoControl?.throughput),
  };
  const targets: Target[] = [];
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${round(v * 100, 0)} %`;
  const add = (target: string, value: number | undefined, ok: (v: number) => boolean, measured: (v: number) => string, miss: (v: number) => string, missingWhy: string) => {
    if (value === undefined) targets.push({ target, measured: 'not measured', met: null, detail: missingWhy });
    else targets.push({ target, measured: measured(value), met: ok(value), detail: ok(value) ? 'met' : miss(value) });
  };
  add('Herald ≥ 1.3× the bare regular-activity workflow (stretch 1.6×)', ratios['herald / bare workflow'], (v) => v >= 1.3, (v) => `${v}×${v >= 1.6 ? ' (stretch met)' : ''}`, (v) => `missed: ${round(1.3 - v, 2)}× short (needs ${round(1.3 / v, 2)}× faster)`, 'needs phases herald and bare');
  add('Herald ≥ 0.8× the bare local-activity workflow (the fast-path ceiling)', ratios['herald / bare local-activity workflow'], (v) => v >= 0.8, (v) => `${v}×`, (v) => `missed: ${round(0.8 - v, 2)}× short (needs ${round(0.8 / v, 2)}× faster)`, 'needs phases herald and bare-local');
  add('Herald ≥ the ObjectStack SQL outbox on SQLite (50 webhooks)', ratios['herald / objectstack SQL outbox (50 webhooks)'], (v) => v >= 1, (v) => `${v}×`, (v) => `missed by ${pct(v - 1)}`, 'needs phases herald and os-sql-50');
  add('Herald (1 webhook) ≥ the ObjectStack SQL outbox on SQLite (1 webhook)', ratios['herald-1 / objectstack SQL outbox (1 webhook)'], (v) => v >= 1, (v) => `${v}×`, (v) => `missed by ${pct(v - 1)}`, 'needs phases herald-1 and os-sql-1');
  add('one webhook alone gets the throughput of fifty (±10 %)', ratios['herald-1 / herald (1 webhook vs 50)'], (v) => v >= 0.9, (v) => `${v}×`, (v) => `missed: one webhook gets ${pct(v - 1)}`, 'needs phases herald and herald-1');
  add(
    `p99 publish→receipt ≤ 1.5× the bare workflow p99 (${steadyBare ? `steady ${steadyBare.name.replace('bare-rate-', '')}/s: ${steadyHerald?.latency?.p99} vs ${steadyBare.latency?.p99} ms` : 'flat out'})`,
    steadyBare ? ratios['herald p99 / bare p99 (same steady rate)'] : ratios['herald p99 / bare p99 (both flat out)'],
    (v) => v <= 1.5,
    (v) => `${v}×`,
    (v) => `missed by ${round(v - 1.5, 2)}× (${pct(v / 1.5 - 1)} over)`,
    'needs phases herald and bare (or rate)',
  );
  if (steadyBare && ratios['herald p99 / bare p99 (both flat out)'] !== undefined) targets[targets.length - 1]!.detail += `; flat out: ${ratios['herald p99 / bare p99 (both flat out)']}× (queueing, not a latency figure)`;
  const cost = ratios['isolation healthy throughput / control'] !== undefined ? 1 - ratios['isolation healthy throughput / control']! : undefined;
  add(`isolation costs the healthy endpoint ≤ 10 % (${opts.downDeliveries} down deliveries, ${opts.downMode})`, cost, (v) => v <= 0.1, (v) => `${round(v * 100, 1)} % slower`, (v) => `missed by ${round((v - 0.1) * 100, 1)} points`, 'needs phase isolation');
  const isoRss = iso?.extra?.['workerRssWithOpenDeliveriesMiB'] as number | undefined;
  const openCount = (iso?.extra?.['down'] as { openWhenMeasured?: number } | undefined)?.openWhenMeasured;
  const peak = iso?.usage.workers?.peakRssMiB;
  const rssValue = isoRss !== undefined && peak !== undefined ? Math.max(isoRss, peak) : isoRss ?? peak;
  add(
    `worker RSS ≤ 512 MB with 10,000 open deliveries (measured with ${openCount ?? '?'} open)`,
    rssValue,
    (v) => v <= 512 * 1e6 / 2 ** 20,
    (v) => `${v} MiB`,
    (v) => `missed by ${round(v - 488, 0)} MiB`,
    'needs phase isolation',
  );
  if (rssValue !== undefined && (openCount ?? 0) < 10_000) targets[targets.length - 1]!.detail += ` (only ${openCount ?? 0} open: run --phases isolation --down-deliveries 10000 for the target's load)`;
  return { ratios, targets };
}

export function fmt(v: number | undefined | null, digits = 1): string {
  return v === undefined || v === null || Number.isNaN(v) ? '–' : String(round(v, digits));
}

export function markdown(report: Report): string {
  const lines: string[] = [];
  lines.push(`# Herald benchmark — ${report.date}`, '');
  lines.push(`Machine: ${report.machine.cpus}× ${report.machine.cpuModel}, ${report.machine.memGiB} GiB, ${report.machine.os}; Node ${report.machine.node}; Temporal CLI ${report.machine.temporal}; commit ${report.machine.commit}.`);
  lines.push(`Command: \`${report.command}\` (total ${report.totalSeconds} s).`, '');
  lines.push('| phase | what | sent | delivered | deliveries/s | p50 ms | p95 ms | p99 ms | server cores | worker cores | worker peak RSS MiB | server peak RSS MiB | CPU ms/delivery (server / worker) | bad sigs | dups | other procs cores |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|');
  for (const r of report.results) {
    const worker = r.usage.workers ?? r.usage.outbox ?? (r.extra?.['note'] ? r.usage.bench : undefined);
    lines.push(
      `| ${r.name}${r.timedOut ? ' ⏱' : ''}${r.error ? ' ✗' : ''} | ${r.description} | ${r.attempted} | ${r.delivered} | **${fmt(r.throughput)}** | ${fmt(r.latency?.p50)} | ${fmt(r.latency?.p95)} | ${fmt(r.latency?.p99)} | ${fmt(r.usage.server?.cores, 2)} | ${fmt(worker?.cores, 2)} | ${fmt(worker?.maxRssMiB ?? worker?.peakRssMiB, 0)} | ${fmt(r.usage.server?.peakRssMiB, 0)} | ${fmt(r.cpuMsPerDelivery?.server, 2)} / ${fmt(r.cpuMsPerDelivery?.workers, 2)} | ${r.invalidSignatures} | ${r.duplicates} | ${fmt(r.usage.others?.cores, 2)} |`,
    );
  }
  lines.push('', "other procs cores = CPU used during the phase by processes that are not the bench's (a shared machine): high values mean the absolute figures are depressed; compare ratios.");
  lines.push('', '⏱ = hit the phase deadline before every delivery arrived; ✗ = failed (see the JSON). Worker columns for os-* are the ObjectStack dispatcher process; for inproc runs, the bench process.', '');
  const cost = report.results.find((r) => r.name === 'cost')?.extra?.['cost'] as CostRow[] | undefined;
  if (cost) lines.push('## Cost per delivery (phase cost)', '', ...costTable(cost), '');
  lines.push('## Ratios (same run, same machine)', '');
  for (const [k, v] of Object.entries(report.ratios)) lines.push(`- ${k}: **${v ?? 'not measured'}${v !== undefined ? '×' : ''}**`);
  lines.push('', '## Targets', '', '| target | measured | met? |', '|---|---|---|');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : 'no'} — ${t.detail} |`);
  if (report.profile.length > 0) {
    lines.push('', '## Profile', '');
    for (const p of report.profile) lines.push(`- ${p}`);
  }
  if (report.notes.length > 0) {
    lines.push('', '## Notes', '');
    for (const n of report.notes) lines.push(`- ${n}`);
  }
  return lines.join('\n') + '\n';
}

export interface Report {
  date: string;
  command: string;
  totalSeconds: number;
  options: Options;
  machine: Record<string, string | number>;
  results: PhaseResult[];
  ratios: Record<string, number | undefined>;
  targets: Target[];
  profile: string[];
  notes: string[];
}

export function profileLines(results: PhaseResult[]): string[] {
  const out: string[] = [];
  const get = (n: string) => results.find((r) => r.name === n && r.delivered > 0);
  const h = get('herald');
  const b = get('bare');
  type Hist = { events?: number; bytes?: number; workflowTasks?: number; activities?: number; markers?: number };
  const hd = (h?.extra?.['history'] as { delivery?: Hist; fanOut?: Hist } | undefined) ?? {};
  const bh = b?.extra?.['history'] as Hist | undefined;
  if (hd.delivery && bh) {
    const starts = hd.fanOut && !('error' in hd.fanOut) ? 2 : 1;
    const perDelivery = (hd.delivery.workflowTasks ?? 0) + (starts === 2 ? (hd.fanOut?.workflowTasks ?? 0) : 0);
    out.push(
      `History per delivery (publish path): delivery workflow ${hd.delivery.events} events / ${hd.delivery.bytes} B, ${hd.delivery.workflowTasks} workflow tasks, ${hd.delivery.activities} activity tasks, ${hd.delivery.markers} local-activity markers; ` +
        (starts === 2 ? `fan-out workflow ${hd.fanOut?.events} events, ${hd.fanOut?.workflowTasks} workflow tasks. ` : 'no fan-out workflow (publish started the delivery itself). ') +
        `Total ${perDelivery} workflow tasks and ${starts} workflow start${starts === 2 ? 's' : ''} per delivery vs the bare workflow's ${bh.workflowTasks} tasks / ${bh.events} events / 1 start.`,
    );
  }
  if (h?.cpuMsPerDelivery && b?.cpuMsPerDelivery) {
    out.push(
      `CPU per delivery: Temporal server ${h.cpuMsPerDelivery.server} ms (bare: ${b.cpuMsPerDelivery.server} ms, ${ratio(h.cpuMsPerDelivery.server, b.cpuMsPerDelivery.server)}×); worker ${h.cpuMsPerDelivery.workers} ms (bare: ${b.cpuMsPerDelivery.workers} ms). ` +
        `Server ${h.usage.server?.cores} cores + worker ${h.usage.workers?.cores} + receiver ${h.usage.receiver?.cores} + bench/publisher ${h.usage.bench?.cores} of 2.`,
    );
  }
  const d = get('direct');
  if (d && h) out.push(`Fan-out cost: deliveries.deliver (no fan-out workflow) ${d.throughput}/s vs events.publish ${h.throughput}/s on ${h.attempted === d.attempted ? 'the same' : 'a different'} event count (${ratio(d.throughput, h.throughput)}×).`);
  const is = get('inproc-sqlite');
  const im = get('inproc-memory');
  if (is && im) out.push(`Mirror/store cost (client + worker in one process): SQLite delivery table ${is.throughput}/s vs memory ${im.throughput}/s (${ratio(im.throughput, is.throughput)}×); server cores ${is.usage.server?.cores} vs ${im.usage.server?.cores}.`);
  const pg = get('postgres');
  const ref = results.find((r) => r.name === 'herald-w1-ref') ?? get('herald-1');
  if (pg && ref) out.push(`Postgres delivery table: ${pg.throughput}/s (p99 ${pg.latency?.p99} ms) vs SQLite ${ref.throughput}/s (${ref.name}).`);
  for (const r of results.filter((x) => x.name.startsWith('tuning'))) out.push(`Tuning ${r.name}: ${r.throughput}/s, p99 ${r.latency?.p99} ms — ${r.description}`);
  return out;
}


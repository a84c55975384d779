/**
 * The benchmark chart: throughput and publish→receipt latency of every phase, drawn as an SVG here (no chart
 * library) and turned into a PNG by headless Chromium (/usr/bin/chromium through playwright-core, both already
 * used by the Web UI test). If Chromium is missing the SVG is still written.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { PhaseResult } from './bench-runtime.js';

interface ChartInput {
  date: string;
  machine: Record<string, string | number>;
  results: PhaseResult[];
}

const CHROMIUM = process.env['HERALD_CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', '--metrics-recording-only', '--disable-features=Translate,OptimizationHints,MediaRouter'];

const COLORS: Record<PhaseResult['kind'], string> = { raw: '#9aa5b1', bare: '#7b8794', herald: '#2f6fed', objectstack: '#e07a1f' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** x position of `v` on a log axis from `lo` to `hi` over `width` px. */
function logX(v: number, lo: number, hi: number, width: number): number {
  const c = Math.min(Math.max(v, lo), hi);
  return ((Math.log10(c) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * width;
}

function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out.filter((v) => v >= lo && v <= hi);
}

export function chartSvg(input: ChartInput): string {
  // Phases that count rather than time (cost) have no throughput to draw.
  const rows = input.results.filter((r) => !r.error && r.delivered > 0 && r.throughput > 0);
  const rowH = 26;
  const top = 70;
  const labelW = 150;
  const panelW = 520;
  const gap = 90;
  const height = top + rows.length * rowH + 60;
  const width = labelW + panelW + gap + labelW * 0 + panelW + 40;
  const tMax = Math.max(10, ...rows.map((r) => r.throughput)) * 1.5;
  const tLo = 1;
  const latencies = rows.flatMap((r) => (r.latency ? [r.latency.p50, r.latency.p99] : []));
  const lLo = Math.max(0.1, Math.min(...latencies, 1) / 2);
  const lHi = Math.max(...latencies, 10) * 1.5;
  const x1 = labelW;
  const x2 = labelW + panelW + gap;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(
    `<text x="16" y="24" font-size="16" font-weight="bold">Herald benchmark ${esc(input.date)}</text>` +
      `<text x="16" y="44" fill="#52606d">${esc(`${input.machine['cpus']} cores, ${input.machine['memGiB']} GiB, Node ${input.machine['node']}; log scales; same run, same machine`)}</text>`,
  );
  parts.push(`<text x="${x1}" y="${top - 8}" font-weight="bold">deliveries / s (end to end)</text>`);
  parts.push(`<text x="${x2}" y="${top - 8}" font-weight="bold">publish → receipt latency, ms (p50 bar, p95 │, p99 ●)</text>`);
  const axisY = top + rows.length * rowH + 4;
  for (const [x0, lo, hi] of [[x1, tLo, tMax], [x2, lLo, lHi]] as const) {
    for (const t of decades(lo, hi)) {
      const x = x0 + logX(t, lo, hi, panelW);
      parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${axisY}" stroke="#e4e7eb"/>`);
      parts.push(`<text x="${x}" y="${axisY + 16}" text-anchor="middle" fill="#52606d">${t >= 1000 ? `${t / 1000}k` : t}</text>`);
    }
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const color = COLORS[r.kind];
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(r.name)}</text>`);
    const w = logX(Math.max(r.throughput, tLo), tLo, tMax, panelW);
    parts.push(`<rect x="${x1}" y="${y + 4}" width="${w}" height="${rowH - 8}" fill="${color}"/>`);
    parts.push(`<text x="${x1 + w + 4}" y="${y + 16}">${r.throughput}</text>`);
    if (r.latency) {
      parts.push(`<text x="${x2 - 8}" y="${y + 16}" text-anchor="end">${esc(r.name)}</text>`);
      const p50 = logX(r.latency.p50, lLo, lHi, panelW);
      const p95 = logX(r.latency.p95, lLo, lHi, panelW);
      const p99 = logX(r.latency.p99, lLo, lHi, panelW);
      parts.push(`<rect x="${x2}" y="${y + 6}" width="${p50}" height="${rowH - 12}" fill="${color}" opacity="0.75"/>`);
      parts.push(`<line x1="${x2 + p50}" y1="${y + rowH / 2}" x2="${x2 + p99}" y2="${y + rowH / 2}" stroke="${color}"/>`);
      parts.push(`<line x1="${x2 + p95}" y1="${y + 5}" x2="${x2 + p95}" y2="${y + rowH - 5}" stroke="${color}" stroke-width="2"/>`);
      parts.push(`<circle cx="${x2 + p99}" cy="${y + rowH / 2}" r="4" fill="${color}"/>`);
      parts.push(`<text x="${x2 + p99 + 8}" y="${y + 16}" fill="#52606d">${r.latency.p99 >= 1000 ? `${(r.latency.p99 / 1000).toFixed(1)} s` : `${Math.round(r.latency.p99)} ms`}</text>`);
    }
  });
  const legendY = height - 14;
  let lx = 16;
  for (const [kind, label] of [['herald', 'Herald'], ['objectstack', 'ObjectStack outbox'], ['bare', 'bare workflow'], ['raw', 'raw undici']] as const) {
    parts.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[kind]}"/><text x="${lx + 18}" y="${legendY}">${label}</text>`);
    lx += 40 + label.length * 7;
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes the SVG, then the PNG through headless Chromium; returns a description of what was written. */
export async function renderChart(input: ChartInput, pngPath: string, svgPath: string): Promise<string> {
  const svg = chartSvg(input);
  writeFileSync(svgPath, svg);
  if (!existsSync(CHROMIUM)) return `${svgPath} only (no Chromium at ${CHROMIUM} for the PNG: bash scripts/install-chromium.sh)`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  try {
    const size = /width="(\d+)" height="(\d+)"/.exec(svg)!;
    const page = await browser.newPage({ viewport: { width: Number(size[1]), height: Number(size[2]) }, deviceScaleFactor: 2 });
    // Nothing to fetch: the page is the inline SVG.
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: pngPath });
  } finally {
    await browser.close();
  }
  return `${pngPath} (+ ${svgPath})`;
}

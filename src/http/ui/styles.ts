import { createHash } from 'node:crypto';

/**
 * The operator page's one stylesheet, inlined in every page (no static files to serve, no build step). The
 * Content-Security-Policy allows exactly this text by its hash, and nothing else: no scripts, no other styles.
 */
export const STYLESHEET = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5d6878; --line: #dde2ea; --bg: #f6f8fb; --accent: #2456c9;
  --ok: #147a3d; --ok-bg: #e3f5ea; --bad: #b3261e; --bad-bg: #fde7e5; --wait: #8a5a00; --wait-bg: #fff1d6; --off: #4f5866; --off-bg: #eceff3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #14213d; color: #fff; }
header .brand { font-weight: 700; font-size: 16px; letter-spacing: .3px; }
header nav { display: flex; gap: 16px; flex: 1; }
header a { color: #d6e0ff; text-decoration: none; }
header a[aria-current="page"] { color: #fff; font-weight: 600; border-bottom: 2px solid #7aa2ff; }
header .who { color: #c3cde4; font-size: 13px; }
header form { margin: 0; }
header button { background: transparent; color: #d6e0ff; border: 1px solid #51618a; border-radius: 4px; padding: 3px 10px; cursor: pointer; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 20px; margin: 4px 0 16px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
a { color: var(--accent); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .4px; color: var(--muted); background: #fafbfd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.s-success, .h-healthy, .s-active { color: var(--ok); background: var(--ok-bg); }
.s-dead, .h-open, .h-failing, .o-dead, .o-gone, .o-refused { color: var(--bad); background: var(--bad-bg); }
.s-pending, .s-in_flight, .o-retry { color: var(--wait); background: var(--wait-bg); }
.s-cancelled, .s-skipped, .s-disabled, .h-disabled, .h-unknown { color: var(--off); background: var(--off-bg); }
.o-success { color: var(--ok); background: var(--ok-bg); }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; margin: 0 0 14px; padding: 12px; background: #fff; border: 1px solid var(--line); }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 3px; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #c5ccd8; border-radius: 4px; background: #fff; min-width: 160px; }
button.primary { font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: 6px 14px; cursor: pointer; }
button.primary:hover { background: #1b45a6; }
.pager { display: flex; gap: 16px; margin-top: 12px; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0; padding: 14px 16px; background: #fff; border: 1px solid var(--line); }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; gap: 12px; align-items: center; margin: 14px 0; }
.notice { padding: 10px 14px; border-radius: 4px; margin: 0 0 14px; background: var(--ok-bg); color: var(--ok); }
.error { padding: 10px 14px; border-radius: 4px; margin: 0 0 14px; background: var(--bad-bg); color: var(--bad); }
pre { margin: 0; padding: 10px 12px; background: #fff; border: 1px solid var(--line); overflow: auto; max-height: 320px; }
td pre { max-height: 120px; padding: 4px 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
.login { max-width: 420px; margin: 80px auto; padding: 24px; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.login h1 { margin-top: 0; }
.login label { display: flex; flex-direction: column; gap: 4px; margin: 14px 0; color: var(--muted); }
.login input { width: 100%; }
.empty { padding: 18px; background: #fff; border: 1px solid var(--line); color: var(--muted); }
`;

/** The CSP source that allows the stylesheet above (and only it). */
export const STYLESHEET_CSP_SOURCE = `'sha256-${createHash('sha256').update(STYLESHEET, 'utf8').digest('base64')}'`;

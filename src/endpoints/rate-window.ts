/**
 * The per-endpoint rate limit: a sliding window of small counters, not a token bucket.
 *
 * Why not a token bucket: a bucket of burst N refilled at N/s admits N at once and N more during the next
 * second — up to 2N requests in one 1-second window, and "at most N in any second" is what an endpoint's
 * operator means by 5/s (and what issue #11's proof measures). A sliding log of the last N grant times would be
 * exact but holds up to 10,000 timestamps per endpoint. So grants are counted in 50 ms sub-windows, and a grant
 * is allowed only while the sub-windows covering at least the last RATE_WINDOW_MS + RATE_GUARD_MS hold fewer
 * than N. Every grant then has every other grant of the preceding 1.1 s counted, so no window of that length
 * — let alone of one second — ever holds more than N. It still allows a burst of N, and sustains between
 * N/1.15 and N/1.1 per second under constant demand.
 *
 * RATE_GUARD_MS absorbs the time between a grant and the request reaching the endpoint (signing, connecting,
 * a GC pause): two grants 1000 ms apart may arrive 990 ms apart, which a receiver would count in one second.
 *
 * The counters live in the endpoint's state row as JSON (`[newest sub-window index, count, count of the one
 * before, …]`) and change by compare-and-set with the row, so they hold across workers. Worker clocks are
 * assumed synchronised (NTP); a worker whose clock runs behind sees the others' newer sub-windows as "now",
 * which only makes it stricter.
 */

export const RATE_WINDOW_MS = 1_000;
export const RATE_GUARD_MS = 100;
export const RATE_SUBWINDOW_MS = 50;
/** Sub-windows counted: the current one plus enough before it to reach back RATE_WINDOW_MS + RATE_GUARD_MS. */
export const RATE_SUBWINDOWS = Math.ceil((RATE_WINDOW_MS + RATE_GUARD_MS) / RATE_SUBWINDOW_MS) + 1;

/** `counts[i]` is the number of grants in sub-window `newest - i`. */
export interface RateWindow {
  readonly newest: number;
  readonly counts: readonly number[];
}

export type RateAdmission = { allowed: true } | { allowed: false; untilMs: number };

function subwindowOf(now: number): number {
  return Math.floor(now / RATE_SUBWINDOW_MS);
}

/** The window as seen at `now`: counts older than the span dropped, the newest index moved up to now. */
function current(window: RateWindow | null, now: number): RateWindow {
  const index = subwindowOf(now);
  if (window === null) return { newest: index, counts: [] };
  // A clock behind another worker's: treat that worker's newest sub-window as now (stricter, never looser).
  if (window.newest >= index) return { newest: window.newest, counts: window.counts.slice(0, RATE_SUBWINDOWS) };
  const shift = index - window.newest;
  if (shift >= RATE_SUBWINDOWS) return { newest: index, counts: [] };
  const counts = [...new Array<number>(shift).fill(0), ...window.counts].slice(0, RATE_SUBWINDOWS);
  return { newest: index, counts };
}

function total(counts: readonly number[]): number {
  return counts.reduce((a, b) => a + b, 0);
}

/** Whether a request may start at `now` under `limit` per second, and if not, the first time one may. */
export function rateAdmission(window: RateWindow | null, limit: number, now: number): RateAdmission {
  const w = current(window, now);
  let sum = total(w.counts);
  if (sum < limit) return { allowed: true };
  // Walk from the oldest counted sub-window: each leaves the span at (its index + RATE_SUBWINDOWS) × width.
  for (let i = w.counts.length - 1; i >= 0; i--) {
    sum -= w.counts[i]!;
    if (sum < limit) return { allowed: false, untilMs: (w.newest - i + RATE_SUBWINDOWS) * RATE_SUBWINDOW_MS };
  }
  return { allowed: true }; // unreachable: an empty window admits
}

/** The window after one grant at `now` (call only after `rateAdmission` allowed it). */
export function recordGrant(window: RateWindow | null, now: number): RateWindow {
  const w = current(window, now);
  const counts = w.counts.length === 0 ? [1] : [w.counts[0]! + 1, ...w.counts.slice(1)];
  return { newest: w.newest, counts };
}

/** JSON text for the state row, trailing zero counts trimmed. */
export function encodeRateWindow(window: RateWindow): string {
  const counts = [...window.counts];
  while (counts.length > 0 && counts[counts.length - 1] === 0) counts.pop();
  return JSON.stringify([window.newest, ...counts]);
}

/** The stored window, or null for none or for text this code did not write (which then starts afresh). */
export function decodeRateWindow(json: string | null): RateWindow | null {
  if (json === null) return null;
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((n) => Number.isInteger(n) && n >= 0)) return null;
  const [newest, ...counts] = parsed as number[];
  return { newest: newest!, counts };
}

/**
 * "Latency rising well above the endpoint's recent baseline", the adaptive limit's second congestion signal
 * (the first is a 429/503).
 *
 * Two exponentially weighted moving averages of successful sends' latency: a slow `baseline`
 * (BASELINE_ALPHA = 0.05: roughly the last 20–40 sends) and a fast `recent` (RECENT_ALPHA = 0.5: the last two
 * or three). Latency is rising when, after at least MIN_BASELINE_SAMPLES sends, `recent` exceeds
 * RISE_FACTOR × `baseline` and by at least RISE_MIN_MS (so a 5 ms endpoint going to 12 ms is noise, not
 * congestion). One slow outlier does not trip it (it moves `recent` half way); two or three do. The baseline
 * keeps learning while latency is high, so an endpoint that became slower for good stops looking congested
 * after a few dozen sends and its limit grows back.
 *
 * Kept per worker process, in memory: latency is a statistic each worker can measure for itself, and sharing it
 * would cost a database write per successful send. The decision it feeds (halve the limit) is shared.
 */

export const BASELINE_ALPHA = 0.05;
export const RECENT_ALPHA = 0.5;
export const MIN_BASELINE_SAMPLES = 10;
export const RISE_FACTOR = 2;
export const RISE_MIN_MS = 50;

export class LatencyBaseline {
  #baseline: number | null = null;
  #recent: number | null = null;
  #samples = 0;

  /** Adds one successful send's latency; returns whether latency is now rising above the baseline. */
  observe(latencyMs: number): boolean {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return this.rising;
    this.#recent = this.#recent === null ? latencyMs : this.#recent + RECENT_ALPHA * (latencyMs - this.#recent);
    // The baseline is compared before it takes in this sample, so a sudden jump shows at once.
    const rising = this.#isRising();
    this.#baseline = this.#baseline === null ? latencyMs : this.#baseline + BASELINE_ALPHA * (latencyMs - this.#baseline);
    this.#samples++;
    return rising;
  }

  get rising(): boolean {
    return this.#isRising();
  }

  get baselineMs(): number | null {
    return this.#baseline;
  }

  get recentMs(): number | null {
    return this.#recent;
  }

  #isRising(): boolean {
    if (this.#samples < MIN_BASELINE_SAMPLES || this.#baseline === null || this.#recent === null) return false;
    return this.#recent > RISE_FACTOR * this.#baseline && this.#recent - this.#baseline >= RISE_MIN_MS;
  }
}

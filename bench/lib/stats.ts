/** Latency figures in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Growable buffer of samples. A phase can produce ~10^5-10^6 samples, and the
 * buffer lives in the load-generating process, so a Float64Array keeps its
 * memory and GC cost well below a number[] (which would steal CPU from the
 * load generator on a 2-core box).
 */
export class Samples {
  private buf = new Float64Array(1 << 16);
  private n = 0;

  add(value: number): void {
    if (this.n === this.buf.length) {
      const grown = new Float64Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.n++] = value;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    const sorted = this.buf.slice(0, this.n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.n,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[this.n - 1] ?? Number.NaN,
      mean: this.n === 0 ? Number.NaN : sum / this.n,
    };
  }
}

/**
 * Nearest-rank percentile of an ascending array. Nearest-rank (rather than
 * interpolation) always reports a latency that was actually observed.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  const index = Math.min(sorted.length, Math.max(1, rank)) - 1;
  return sorted[index] ?? Number.NaN;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

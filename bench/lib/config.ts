export interface BenchConfig {
  /** Entries stored in the big dataset (BENCH_ENTRIES). */
  readonly bigEntries: number;
  /** Entries stored in the small dataset. */
  readonly smallEntries: number;
  /** Measured seconds per load phase (BENCH_DURATION). */
  readonly durationS: number;
  /** Unmeasured seconds before each phase, so JIT and connection setup are excluded. */
  readonly warmupS: number;
  readonly postConnections: readonly number[];
  readonly getConnections: number;
  readonly wakeRounds: number;
}

function positiveNumber(name: string, fallback: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return value;
}

export function readConfig(): BenchConfig {
  const bigEntries = positiveNumber('BENCH_ENTRIES', 1_000_000, true);
  if (bigEntries < 200) throw new Error('BENCH_ENTRIES must be at least 200 to hold several 50-entry pages');
  return {
    bigEntries,
    smallEntries: 1_000,
    durationS: positiveNumber('BENCH_DURATION', 6, false),
    warmupS: 1,
    postConnections: [1, 32],
    getConnections: 8,
    wakeRounds: 500,
  };
}

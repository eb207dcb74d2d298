/**
 * The load the targets against the durable floor are stated for, and the throughput ones:
 * `ratios.ts` measures them, `budget.ts` prices what reaching them leaves AtomMQ.
 */
export const TARGET_LOAD = {
  postConnections: 32,
  getConnections: 8,
  /** Entries both servers hold before the GET phase, POSTed to each. */
  entries: 1_000,
} as const;

/** The least req/s AtomMQ must reach, as a share of the floor's. */
export const MIN_RATIO = { post: 0.85, get: 0.8 } as const;

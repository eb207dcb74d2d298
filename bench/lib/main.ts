import { killStartedChildren } from './child.js';

/** A positive whole number from the environment variable `name`, or `fallback` when it is not set. */
export function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** Progress lines on stderr, tagged with the benchmark's name, so stdout carries the report alone. */
export function benchLog(tag: string): (message: string) => void {
  return (message) => {
    process.stderr.write(`[${tag}] ${message}\n`);
  };
}

/** Runs a benchmark's main; a failure kills the servers it started, is logged, and exits 1. */
export function runBench(log: (message: string) => void, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    killStartedChildren();
    log(`FAILED: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  });
}

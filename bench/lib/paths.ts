import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// This module runs from dist/bench/lib/, so everything is located relative to
// the compiled tree rather than the current working directory.
const distDir = fileURLToPath(new URL('../../', import.meta.url));

export const repoRoot = dirname(distDir.replace(/[\\/]$/, ''));
/** BENCH_ATOMMQ_CLI: another build's dist/src/cli.js, to measure it against the same floor and load. */
export const atomMqCli = process.env.BENCH_ATOMMQ_CLI ?? join(distDir, 'src', 'cli.js');
export const expressBaselineScript = join(distDir, 'bench', 'baselines', 'express-server.js');
export const nodeBaselineScript = join(distDir, 'bench', 'baselines', 'node-server.js');
export const durableBaselineScript = join(distDir, 'bench', 'baselines', 'durable-express-server.js');

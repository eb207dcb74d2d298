/**
 * What the access check costs (`npm run bench:access`, and part of `npm run bench`): POST
 * throughput at 32 connections of an open server beside one with an access file and a Bearer token
 * on every request, both in the same run, measured in alternating rounds so that drift in the
 * machine's load falls on both alike.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessControl } from '../src/access/access-control.js';
import { newToken, tokenDigest } from '../src/access/secrets.js';
import { benchWorkDir, killStartedChildren, type ChildServer } from './lib/child.js';
import { readConfig } from './lib/config.js';
import { runLoad, type LoadSpec } from './lib/load.js';
import { startAtomMq } from './lib/servers.js';
import { median } from './lib/stats.js';
import { fmtInt } from './lib/table.js';
import { postLoad } from './lib/workload.js';

const CONNECTIONS = 32;
const ROUNDS = 3;
/** The budget the issue sets for the check, as a share of open POST throughput. */
const BUDGET = 0.05;

const log = (message: string): void => {
  process.stderr.write(`[bench:access] ${message}\n`);
};

/** Several principals, as a real file has: a token is looked for among all of them the first time it is seen. */
function accessFile(dir: string, token: string): string {
  const principals: Record<string, object> = {
    producer: { tokenHashes: [tokenDigest(token)], grants: { bench: ['publish', 'read'] } },
  };
  for (let i = 0; i < 4; i++) principals[`other-${i}`] = { tokenHashes: [tokenDigest(newToken())], grants: { [`feed-${i}`]: ['read'] } };
  const path = join(dir, 'access.json');
  writeFileSync(path, JSON.stringify({ principals }));
  return path;
}

async function measure(spec: LoadSpec, durationS: number, warmupS: number): Promise<number> {
  await runLoad({ ...spec, durationS: warmupS, recordLatency: false });
  const result = await runLoad({ ...spec, durationS, recordLatency: false });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${fmtInt(result.non2xx)} non-2xx answers, ${fmtInt(result.errors)} errors`);
  return result.rps;
}

/** The check alone, in this process, once the token's verdict is cached: microseconds per request. */
async function checkMicros(path: string, token: string): Promise<number> {
  const access = new AccessControl(path);
  const authorization = `Bearer ${token}`;
  await access.require(authorization, 'bench', 'publish');
  const calls = 200_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) access.require(authorization, 'bench', 'publish');
  return Number(process.hrtime.bigint() - started) / 1000 / calls;
}

async function main(): Promise<void> {
  const config = readConfig();
  const { workDir, cleanUp } = benchWorkDir('atommq-bench-access-');
  const servers: ChildServer[] = [];
  try {
    const token = newToken();
    const open = await startAtomMq(workDir, 'atommq-open');
    servers.push(open);
    const path = accessFile(workDir, token);
    const guarded = await startAtomMq(workDir, 'atommq-access', undefined, ['--access', path]);
    servers.push(guarded);
    const openSpec = postLoad(open.baseUrl, CONNECTIONS);
    const base = postLoad(guarded.baseUrl, CONNECTIONS);
    const guardedSpec: LoadSpec = { ...base, headers: { ...base.headers, authorization: `Bearer ${token}` } };
    const rps = { open: [] as number[], access: [] as number[] };
    for (let round = 1; round <= ROUNDS; round++) {
      rps.open.push(await measure(openSpec, config.durationS, config.warmupS));
      rps.access.push(await measure(guardedSpec, config.durationS, config.warmupS));
      log(`round ${round}: open ${fmtInt(rps.open.at(-1) as number)} req/s, with access file and token ${fmtInt(rps.access.at(-1) as number)} req/s`);
    }
    // Each round's pair ran back to back: the median of their ratios is what drift in the machine's load disturbs least.
    const cost = median(rps.open.map((o, i) => (o - (rps.access[i] as number)) / o));
    const micros = await checkMicros(path, token);
    process.stdout.write(`\nAccess check, POST at c=${CONNECTIONS} (${ROUNDS} alternating rounds of ${config.durationS} s)\n` +
      `  open server                    ${rps.open.map(fmtInt).join(' / ')} req/s\n` +
      `  access file + Bearer token     ${rps.access.map(fmtInt).join(' / ')} req/s\n` +
      `  cost, median of the rounds     ${(cost * 100).toFixed(1)} % (budget ${BUDGET * 100} %)\n` +
      `  the check alone, cached token  ${micros.toFixed(2)} µs per request\n`);
    if (cost > BUDGET) process.exitCode = 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    cleanUp();
  }
}

main().catch((err: unknown) => {
  killStartedChildren();
  process.stderr.write(`[bench:access] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

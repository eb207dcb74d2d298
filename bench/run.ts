/**
 * AtomMQ benchmark orchestrator (`npm run bench`).
 *
 * Every server under test runs as a child process; this process only
 * generates load (autocannon) and measures. Progress goes to stderr, the
 * final report to stdout.
 */
import { DEFAULT_PAGE_BYTES } from './baselines/payloads.js';
import { benchWorkDir, killStartedChildren, type ChildServer } from './lib/child.js';
import { readConfig, type BenchConfig } from './lib/config.js';
import { runLoad, type LoadResult, type LoadSpec } from './lib/load.js';
import { measureFsync } from './lib/fsync.js';
import { measureWakeLatency } from './lib/longpoll.js';
import { postKey, renderReport, SERVER_LABEL, type Report } from './lib/report.js';
import { seedDatabase } from './lib/seed.js';
import { atomMqBuilt, atomMqPaths, startAtomMq, startBaseline, type BaselineKind } from './lib/servers.js';
import { fmtInt, fmtMs } from './lib/table.js';
import { PAGE_LIMIT, pageLoad, postLoad, probePage, seqRange, type SeqRange } from './lib/workload.js';

/** Pause between a parked long-poll and the POST that wakes it (and between fsync probes). */
const WAKE_SETTLE_MS = 10;

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs `fn` against a freshly started server and always stops it afterwards. */
async function withServer<T>(start: () => Promise<ChildServer>, fn: (server: ChildServer) => Promise<T>): Promise<T> {
  const server = await start();
  log(`started ${server.name} (pid ${server.pid}) at ${server.baseUrl}`);
  try {
    return await fn(server);
  } catch (err) {
    const tail = server.logTail();
    throw new Error(`${errorMessage(err)}${tail ? `\n    ${server.name} log tail:\n${tail}` : ''}`);
  } finally {
    await server.stop();
  }
}

class Bench {
  private failed = false;

  constructor(
    private readonly config: BenchConfig,
    private readonly workDir: string,
    readonly report: Report,
  ) {}

  get anyFailed(): boolean {
    return this.failed;
  }

  /** Records a failed step as a note so the remaining sections still run and report. */
  async attempt(step: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.failed = true;
      log(`FAILED ${step}: ${errorMessage(err)}`);
      this.report.notes.push(`${step} failed: ${errorMessage(err).split('\n')[0]}`);
    }
  }

  private async measure(label: string, spec: LoadSpec): Promise<LoadResult> {
    await runLoad({ ...spec, durationS: this.config.warmupS, recordLatency: false });
    const r = await runLoad({ ...spec, durationS: this.config.durationS });
    log(
      `${label}: ${fmtInt(r.rps)} req/s, p50 ${fmtMs(r.latency?.p50)} ms, p99 ${fmtMs(r.latency?.p99)} ms` +
        ` (non-2xx ${r.non2xx}, errors ${r.errors})`,
    );
    if (r.non2xx > 0 || r.errors > 0) {
      this.report.notes.push(`${label}: ${fmtInt(r.non2xx)} non-2xx responses, ${fmtInt(r.errors)} errors`);
    }
    return r;
  }

  /** POSTs `count` entries through the public API, as producers would. */
  private async seed(server: ChildServer, count: number, connections: number): Promise<{ stored: number; elapsedS: number }> {
    log(`${server.name}: seeding ${fmtInt(count)} entries with ${connections} connections`);
    const started = Date.now();
    const r = await runLoad({
      ...postLoad(server.baseUrl, connections),
      amount: count,
      recordLatency: false,
      // Group commit under 64 writers can queue; a slow fsync is not a failure here.
      timeoutS: 60,
      onProgress: (done) => {
        const rate = done / ((Date.now() - started) / 1000);
        const eta = rate > 0 ? `, ~${Math.ceil((count - done) / rate)} s to go` : '';
        log(`${server.name}: seeded ${fmtInt(done)} / ${fmtInt(count)} (${fmtInt(rate)}/s${eta})`);
      },
    });
    if (r.ok < count) {
      this.report.notes.push(
        `${server.name}: seeding stored ${fmtInt(r.ok)} of ${fmtInt(count)} (${r.non2xx} non-2xx, ${r.errors} errors)`,
      );
    }
    log(`${server.name}: seeded ${fmtInt(r.ok)} entries in ${r.elapsedS.toFixed(1)} s`);
    return { stored: r.ok, elapsedS: r.elapsedS };
  }

  /** Checks one real page before measuring, so a broken cursor view is not benchmarked as a fast one. */
  private async checkPage(server: ChildServer, range: SeqRange): Promise<number> {
    const cursor = range.first - 1 + Math.floor((range.last - range.first - PAGE_LIMIT) / 2);
    const page = await probePage(server.baseUrl, Math.max(range.first - 1, cursor));
    if (page.status !== 200) throw new Error(`${server.name}: cursor page answered ${page.status}`);
    if (page.entries !== PAGE_LIMIT) {
      this.report.notes.push(`${server.name}: probe page held ${page.entries} entries, expected ${PAGE_LIMIT}`);
    }
    return page.bytes;
  }

  /** Small database: GET at 1k entries, then POST throughput and long-poll on the same instance. */
  async atomMqSmall(): Promise<void> {
    const { config, report } = this;
    await withServer(
      () => startAtomMq(this.workDir, 'atommq-small'),
      async (server) => {
        const { stored } = await this.seed(server, config.smallEntries, 16);
        const range = await seqRange(server.baseUrl);
        report.stored.small = stored + 1; // +1: seqRange's probe POST
        report.pageBytes = await this.checkPage(server, range);
        report.pageBytesSource = 'measured from AtomMQ';

        // GET runs before the POST phases, which would grow this database well past 1k.
        await this.attempt('AtomMQ GET (small db)', async () => {
          report.get.small = await this.measure('AtomMQ GET small db', pageLoad(server.baseUrl, config.getConnections, range));
        });
        for (const c of config.postConnections) {
          await this.attempt(`AtomMQ POST c=${c}`, async () => {
            report.post.set(postKey('atommq', c), await this.measure(`AtomMQ POST c=${c}`, postLoad(server.baseUrl, c)));
          });
        }
        await this.attempt('AtomMQ long-poll', async () => {
          log(`long-poll wake latency: ${config.wakeRounds} rounds`);
          report.wake = await measureWakeLatency(server.baseUrl, { iterations: config.wakeRounds, settleMs: WAKE_SETTLE_MS });
          log(`long-poll: p50 ${fmtMs(report.wake.latency.p50)} ms, p99 ${fmtMs(report.wake.latency.p99)} ms`);
          report.fsync = await measureFsync(this.workDir, config.wakeRounds, WAKE_SETTLE_MS);
          log(`fsync floor: p50 ${fmtMs(report.fsync.p50)} ms, p99 ${fmtMs(report.fsync.p99)} ms`);
        });
      },
    );
  }

  /** Big database in its own instance, seeded through the store before the server starts, then the same GET phase. */
  async atomMqBig(): Promise<void> {
    const { config, report } = this;
    const paths = atomMqPaths(this.workDir, 'atommq-big');
    log(`atommq-big: seeding ${fmtInt(config.bigEntries)} entries into ${paths.dbPath}`);
    const seeded = await seedDatabase(paths.dbPath, paths.feedFile, config.bigEntries, (done) => {
      if (done % 100_000 === 0) log(`atommq-big: seeded ${fmtInt(done)}`);
    });
    report.seed = { requested: config.bigEntries, ...seeded };
    await withServer(
      () => startAtomMq(this.workDir, 'atommq-big'),
      async (server) => {
        const range = await seqRange(server.baseUrl);
        report.stored.big = seeded.stored + 1;
        await this.checkPage(server, range);
        report.get.big = await this.measure('AtomMQ GET big db', pageLoad(server.baseUrl, config.getConnections, range));
        // Cursors among the newest entries: the working set of the small database, in the big one.
        const recent = { first: range.last - config.smallEntries + 1, last: range.last };
        report.get.bigRecent = await this.measure('AtomMQ GET big db, newest entries', pageLoad(server.baseUrl, config.getConnections, recent));
      },
    );
  }

  async baseline(kind: BaselineKind): Promise<void> {
    const { config, report } = this;
    const label = SERVER_LABEL[kind];
    await withServer(
      () => startBaseline(this.workDir, kind, report.pageBytes),
      async (server) => {
        for (const c of config.postConnections) {
          report.post.set(postKey(kind, c), await this.measure(`${label} POST c=${c}`, postLoad(server.baseUrl, c)));
        }
        // Here the durable floor is about what a durable commit costs: POST and a long-poll it wakes.
        // Its page GET is measured against AtomMQ's by bench:ratios.
        if (kind === 'durable') {
          report.wakeFloor = await measureWakeLatency(server.baseUrl, { iterations: config.wakeRounds, settleMs: WAKE_SETTLE_MS });
          log(`${label} long-poll: p50 ${fmtMs(report.wakeFloor.latency.p50)} ms, p99 ${fmtMs(report.wakeFloor.latency.p99)} ms`);
          return;
        }
        // Baselines ignore the cursor; a plausible range keeps request bytes like AtomMQ's.
        const range = { first: 1, last: 1_000 };
        const size = (await probePage(server.baseUrl, 0)).bytes;
        if (size !== report.pageBytes) report.notes.push(`${label}: page is ${size} B, expected ${report.pageBytes} B`);
        report.get[kind] = await this.measure(`${label} GET`, pageLoad(server.baseUrl, config.getConnections, range));
      },
    );
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const { workDir, cleanUp } = benchWorkDir('atommq-bench-');

  const report: Report = {
    post: new Map(),
    get: {},
    stored: {},
    pageBytes: DEFAULT_PAGE_BYTES,
    pageBytesSource: 'default size, AtomMQ page not measured',
    notes: [],
  };
  const bench = new Bench(config, workDir, report);
  let atomMqMissing = false;
  try {
    if (atomMqBuilt()) {
      await bench.attempt('AtomMQ small-db section', () => bench.atomMqSmall());
    } else {
      atomMqMissing = true;
      report.notes.push('dist/src/cli.js not found (run `npm run build`): AtomMQ sections skipped');
    }
    // Baselines come after the small AtomMQ run because they serve a page of AtomMQ's measured size.
    await bench.attempt('Express baseline', () => bench.baseline('express'));
    await bench.attempt('node:http baseline', () => bench.baseline('node'));
    await bench.attempt('durable Express baseline', () => bench.baseline('durable'));
    if (!atomMqMissing) await bench.attempt('AtomMQ big-db section', () => bench.atomMqBig());
  } finally {
    cleanUp();
  }

  process.stdout.write(`\n${renderReport(report, config)}\n`);
  if (atomMqMissing || bench.anyFailed) process.exitCode = 1;
}

main().catch((err: unknown) => {
  killStartedChildren();
  process.stderr.write(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

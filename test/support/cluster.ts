/**
 * Several AtomMQ server processes on one PostgreSQL schema, as a team behind a load balancer runs
 * them: each started with `atommq serve` exactly as a user would, each with its own feeds folder
 * holding the same files.
 */
import assert from 'node:assert/strict';
import { freshSchema, pgQuery, type TestSchema } from './postgres.js';
import { entryXml, postAtom, ProcessScope, spawnServer, type ChildServer, type SpawnArgs } from './server.js';
import { StreamClient } from './streams.js';

export class Cluster {
  readonly scope = new ProcessScope();
  schema: TestSchema | undefined;
  servers: ChildServer[] = [];
  readonly args: SpawnArgs[] = [];

  constructor(private readonly feeds: Record<string, object>) {}

  /** Creates the schema and starts `count` servers on it at once. */
  async start(count: number): Promise<ChildServer[]> {
    this.schema = await freshSchema();
    for (let i = 0; i < count; i++) this.args.push({ ...await this.scope.serverArgs(`atommq-cluster-${i}-`, this.feeds), db: this.schema.url });
    this.servers = await Promise.all(this.args.map((args) => this.spawn(args)));
    return this.servers;
  }

  /** Starts a server again (on the same port and database). */
  async restart(index: number): Promise<ChildServer> {
    const server = await this.spawn(this.args[index]!);
    this.servers[index] = server;
    return server;
  }

  feedUrl(index: number, feed: string): string {
    return `${this.servers[index]!.url}/feeds/${feed}`;
  }

  /** Rows of the schema's entries table, through an administrator's connection. */
  rows<R extends Record<string, unknown>>(select: string): Promise<R[]> {
    return pgQuery<R>(select.replaceAll('atommq_entries', `${this.schema!.name}.atommq_entries`));
  }

  readonly cleanUp = async (): Promise<void> => {
    await this.scope.cleanUp();
    await this.schema?.drop();
  };

  private async spawn(args: SpawnArgs): Promise<ChildServer> {
    return this.scope.track(await spawnServer(args));
  }
}

/** The outcome of one publish with retries: the status that acknowledged it, and its seq. */
export interface Acknowledged {
  readonly key: string;
  readonly status: number;
  readonly seq: number;
}

export interface PublishOptions {
  /** Requests in flight at once. @defaultValue 1 */
  readonly inFlight?: number;
  /** Sees each refused attempt. */
  readonly onRetry?: (status: number, body: string) => void;
}

/**
 * Publishes `count` entries under Idempotency-Keys `<prefix><n>`, each to `urls()[0]` first and
 * to the next URL on each retry, retrying what a client should retry (a lost connection, 503)
 * until it is acknowledged.
 */
export async function publishWithRetries(urls: () => readonly string[], prefix: string, count: number,
  options: PublishOptions = {}): Promise<Acknowledged[]> {
  const done: Acknowledged[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: options.inFlight ?? 1 }, async () => {
    while (next < count) done.push(await publishOne(urls, `${prefix}${next++}`, options.onRetry));
  }));
  return done;
}

async function publishOne(urls: () => readonly string[], key: string, onRetry: PublishOptions['onRetry']): Promise<Acknowledged> {
  for (let attempt = 0; ; attempt++) {
    const list = urls();
    const url = list[attempt % list.length]!;
    let status = 0;
    let body = '';
    let seq = 0;
    try {
      const res = await postAtom(url, entryXml(key), { 'Idempotency-Key': key });
      body = await res.text();
      status = res.status;
      seq = Number(res.headers.get('xlastid'));
    } catch (error) {
      body = (error as Error).message;
    }
    if (status === 201 || status === 200) return { key, status, seq };
    assert.ok(status === 0 || status === 503, `POST ${key}: only a lost connection or a 503 may refuse it, got ${status} ${body}`);
    onRetry?.(status, body);
    assert.ok(attempt < 300, `POST ${key} was never acknowledged: ${status} ${body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Far enough for any test: a reader still short of its target by then stops, and the test's comparison fails. */
const READ_DEADLINE_MS = 120_000;

/**
 * A worker following a feed by its cursor, as the README tells workers to: long-polls with Xlastid,
 * or an SSE stream resumed from its last event id whenever it ends. It reads until it has passed
 * `target()` (undefined while publishing goes on); what a server answers while the database is
 * down (503), or a lost connection, is retried from the same cursor.
 */
export class CursorReader {
  readonly seqs: number[] = [];

  constructor(private readonly feedUrl: string, private readonly how: 'long-poll' | 'sse') {}

  get cursor(): number {
    return this.seqs.at(-1) ?? 0;
  }

  async run(target: () => number | undefined): Promise<number[]> {
    const deadline = Date.now() + READ_DEADLINE_MS;
    const reached = (seq: number): boolean => {
      const t = target();
      return (t !== undefined && seq >= t) || Date.now() > deadline;
    };
    while (!reached(this.cursor)) {
      try {
        if (this.how === 'long-poll') await this.poll();
        else await this.stream(reached);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return this.seqs;
  }

  private async poll(): Promise<void> {
    const res = await fetch(`${this.feedUrl}?format=json&wait=2&limit=250`, { headers: { Xlastid: String(this.cursor) } });
    if (res.status !== 200) {
      await res.arrayBuffer();
      throw new Error(`long-poll: ${res.status}`);
    }
    const page = (await res.json()) as { entries: Array<{ seq: number }> };
    this.seqs.push(...page.entries.map((e) => e.seq));
  }

  /** One SSE connection from the cursor, until it ends or has reached the target. */
  private async stream(reached: (seq: number) => boolean): Promise<void> {
    const client = await StreamClient.open(`${this.feedUrl}?lastid=${this.cursor}`, { headers: { Accept: 'text/event-stream' } });
    let closed = false;
    void client.closed.then(() => { closed = true; });
    try {
      while (!closed && !reached(client.seqs().at(-1) ?? this.cursor)) await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.destroy();
      this.seqs.push(...client.seqs());
    }
  }
}

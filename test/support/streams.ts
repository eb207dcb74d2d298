/**
 * Test clients for live streams over raw TCP, so a test controls the socket: it can stop reading
 * (a slow consumer), half-close it (a consumer leaving cleanly, still reading what the server had
 * written) or cut it. They decode chunked HTTP and parse server-sent events or JSON lines.
 */
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

type Parse = 'sse' | 'lines';

/** One streaming GET on its own connection. */
export class StreamClient {
  status = 0;
  headers: Record<string, string> = {};
  /** Server-sent events received (parse 'sse'). */
  readonly events: SseEvent[] = [];
  /** Non-blank lines received (parse 'lines'). */
  readonly lines: string[] = [];
  /** SSE comments or blank JSON lines: keep-alives. */
  heartbeats = 0;
  /** `retry:` fields received. */
  readonly retries: number[] = [];
  /** The whole body, for error answers. */
  body = '';
  /** True once the last chunk of a chunked body arrived: the server ended the response cleanly. */
  ended = false;
  /** Resolves when the connection closes, whichever side closed it. */
  readonly closed: Promise<void>;

  private head = Buffer.alloc(0);
  private chunked = false;
  private raw = Buffer.alloc(0);
  private readonly decoder = new StringDecoder('utf8');
  private text = '';
  private event: { id?: string; event?: string; data: string[] } = { data: [] };
  private lastId: string | undefined;
  private readonly watchers = new Set<() => void>();
  private readonly socket: Socket;
  private onHead!: () => void;
  private readonly headReceived = new Promise<void>((resolve) => { this.onHead = resolve; });

  private constructor(url: URL, private readonly parse: Parse, headers: Record<string, string>) {
    this.socket = connect({ host: url.hostname, port: Number(url.port), allowHalfOpen: true });
    this.socket.setNoDelay(true);
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
    this.socket.write(lines.join('\r\n'));
    this.socket.on('data', (data: Buffer) => this.receive(data));
    this.socket.on('error', () => {});
    // Half-open only while this side chooses to be: when the server ends, so does the client.
    this.socket.on('end', () => this.socket.end());
    this.closed = new Promise((resolve) => this.socket.once('close', () => {
      this.notify();
      resolve();
    }));
  }

  /** Connects and resolves once the response head arrived. */
  static async open(url: string, options: { parse?: Parse; headers?: Record<string, string> } = {}): Promise<StreamClient> {
    const client = new StreamClient(new URL(url), options.parse ?? 'sse', options.headers ?? {});
    await Promise.race([client.headReceived, client.closed.then(() => {
      if (client.status === 0) throw new Error(`connection closed before a response head: ${client.head.toString()}`);
    })]);
    return client;
  }

  /** Event ids as numbers (SSE), or the seq of each JSON line. */
  seqs(): number[] {
    return this.parse === 'sse'
      ? this.events.filter((e) => e.event === 'message').map((e) => Number(e.id))
      : this.lines.map((l) => JSON.parse(l) as { seq?: number }).filter((m) => m.seq !== undefined).map((m) => m.seq as number);
  }

  /** Waits until `condition` holds, checked after every bit of data. */
  waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        this.watchers.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${this.parse === 'sse' ? this.events.length : this.lines.length} messages`));
      }, timeoutMs);
      this.watchers.add(check);
    });
  }

  /** Stops reading: the server's writes back up into the socket buffers. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Sends FIN but keeps reading until the server closes: a consumer leaving cleanly. */
  halfClose(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }

  private receive(data: Buffer): void {
    if (this.status === 0) {
      this.head = Buffer.concat([this.head, data]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...fields] = this.head.subarray(0, end).toString('latin1').split('\r\n');
      this.status = Number(statusLine.split(' ')[1]);
      for (const field of fields) {
        const colon = field.indexOf(':');
        this.headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
      }
      this.chunked = /chunked/i.test(this.headers['transfer-encoding'] ?? '');
      const rest = this.head.subarray(end + 4);
      this.onHead();
      if (rest.length) this.body_(rest);
    } else {
      this.body_(data);
    }
    this.notify();
  }

  private body_(data: Buffer): void {
    if (!this.chunked) {
      this.consume(this.decoder.write(data));
      return;
    }
    this.raw = Buffer.concat([this.raw, data]);
    for (;;) {
      const lineEnd = this.raw.indexOf('\r\n');
      if (lineEnd < 0) return;
      const size = parseInt(this.raw.subarray(0, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        this.ended = true;
        this.raw = Buffer.alloc(0);
        return;
      }
      if (this.raw.length < lineEnd + 2 + size + 2) return;
      this.consume(this.decoder.write(this.raw.subarray(lineEnd + 2, lineEnd + 2 + size)));
      this.raw = this.raw.subarray(lineEnd + 2 + size + 2);
    }
  }

  private consume(text: string): void {
    this.body += text;
    this.text += text;
    let newline: number;
    while ((newline = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, newline).replace(/\r$/, '');
      this.text = this.text.slice(newline + 1);
      if (this.parse === 'lines') {
        if (line === '') this.heartbeats++;
        else this.lines.push(line);
      } else {
        this.sseLine(line);
      }
    }
  }

  /** The event-stream grammar (HTML 9.2.6), enough of it for these tests. */
  private sseLine(line: string): void {
    if (line === '') {
      if (this.event.data.length) {
        if (this.event.id !== undefined) this.lastId = this.event.id;
        this.events.push({ id: this.lastId, event: this.event.event ?? 'message', data: this.event.data.join('\n') });
      }
      this.event = { data: [] };
      return;
    }
    if (line.startsWith(':')) {
      this.heartbeats++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.event.data.push(value);
    else if (field === 'id') this.event.id = value;
    else if (field === 'event') this.event.event = value;
    else if (field === 'retry') this.retries.push(Number(value));
  }
}

/** Resolves when `condition` holds, polling; for state that no event announces. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How many consumers the server's hub has registered (GET /healthz). */
export async function consumers(serverUrl: string): Promise<number> {
  const res = await fetch(`${serverUrl}/healthz`);
  return ((await res.json()) as { consumers: number }).consumers;
}

/** Publishes `count` entries with `concurrency` publishers; resolves with their seqs, ascending. */
export async function publishMany(feedUrl: string, count: number, concurrency = 4, title = 'm', content?: string): Promise<number[]> {
  const seqs: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const n = next++;
      const res = await fetch(feedUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/atom+xml' },
        body: `<entry xmlns="http://www.w3.org/2005/Atom"><title>${title}${n}</title><content>${content ?? n}</content></entry>`,
      });
      if (res.status !== 201) throw new Error(`POST ${n}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      seqs.push(Number(res.headers.get('xlastid')));
    }
  }));
  return seqs.sort((a, b) => a - b);
}

/** Asserts nothing is missing, repeated or out of order. */
export function describeSeqs(got: readonly number[], expected: readonly number[]): string {
  const seen = new Set<number>();
  const dupes = got.filter((s) => (seen.has(s) ? true : (seen.add(s), false)));
  const missing = expected.filter((s) => !seen.has(s));
  const disorder = got.findIndex((s, i) => i > 0 && s <= (got[i - 1] as number));
  return `got ${got.length}, expected ${expected.length}; duplicates [${dupes.slice(0, 10).join(',')}], missing [${missing.slice(0, 10).join(',')}]` +
    (disorder >= 0 ? `, out of order at index ${disorder}` : '');
}

/** A backlog already published, and more being published while a reader starts. */
export interface PublishingUnderWay {
  readonly backlog: number[];
  /** Resolves with the seqs of the entries published during the read. */
  readonly during: Promise<number[]>;
  /** Whether the publishing that started with the read has finished yet. */
  finished(): boolean;
}

/**
 * Publishes a backlog of 300 entries, then starts publishing 400 more and resolves once those are
 * under way, so a reader opened next sees its backlog and the live stream overlap.
 */
export async function publishingUnderWay(url: string): Promise<PublishingUnderWay> {
  const backlog = await publishMany(url, 300, 4, 'before-');
  let done = false;
  const during = publishMany(url, 400, 4, 'during-').then((seqs) => { done = true; return seqs; });
  await eventually(async () => ((await fetch(`${url}?lastid=${backlog.at(-1)}&format=json&limit=50`).then((r) => r.json())) as { entries: unknown[] }).entries.length >= 30, 'publishing to be under way');
  return { backlog, during, finished: () => done };
}

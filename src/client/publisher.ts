/**
 * Publishing: one entry, or a batch, each with an idempotency key so that retries store nothing twice.
 */
import { randomUUID } from 'node:crypto';
import { checkFeed } from './checks.js';
import { InvalidArgumentError, PublishBatchError, ResponseError } from './errors.js';
import { callOptions, header, readJson, type CallOptions, type Transport } from './transport.js';
import { isEntry, type LiveEntry, type NewEntry, type PublishResult } from './types.js';

/** Options of {@link AtomMQClient.publishBatch}. */
export interface PublishBatchOptions extends CallOptions {
  /**
   * Entries in flight at once. 1 publishes them one after the other, so their seqs follow the
   * batch's order; more is faster and gives up that order.
   * @defaultValue 1
   */
  readonly concurrency?: number;
}

/** Options of {@link AtomMQClient.publishAtom}. */
export interface PublishAtomOptions extends CallOptions {
  /** As {@link NewEntry.idempotencyKey}. @defaultValue a fresh UUID */
  readonly idempotencyKey?: string;
  /** As {@link NewEntry.slug}. */
  readonly slug?: string;
}

/** What a publish POSTs. */
interface EntryBody {
  readonly type: string;
  readonly text: string;
  readonly slug: string | undefined;
}

/** A NewEntry as the JSON body the server reads; the key and the slug travel as headers. */
function jsonBody(entry: NewEntry): EntryBody {
  const { idempotencyKey: _key, slug, ...fields } = entry;
  return { type: 'application/json', text: JSON.stringify(fields), slug };
}

/** What the server accepts as an Idempotency-Key. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;

/**
 * The key a publish sends: the caller's, else the entry's own atom:id (the server would use it
 * anyway), else a fresh UUID. Undefined when the atom:id cannot travel in a header: the server then
 * recognises retries by the atom:id in the body.
 */
function idempotencyKeyOf(entry: NewEntry): string | undefined {
  if (entry.idempotencyKey !== undefined) {
    if (!IDEMPOTENCY_KEY.test(entry.idempotencyKey)) throw new InvalidArgumentError('idempotencyKey must be 1 to 255 printable ASCII characters');
    return entry.idempotencyKey;
  }
  if (entry.id !== undefined) return IDEMPOTENCY_KEY.test(entry.id) ? entry.id : undefined;
  return randomUUID();
}

/** `POST /feeds/<name>` over a transport. */
export class Publisher {
  constructor(private readonly transport: Transport) {}

  async publish(feed: string, entry: NewEntry, options: CallOptions = {}): Promise<PublishResult> {
    checkFeed(feed);
    return this.publishWithKey(feed, jsonBody(entry), idempotencyKeyOf(entry), options);
  }

  /** An Atom entry document, posted as it is; the key is the caller's or a fresh UUID. */
  async publishAtom(feed: string, xml: string, options: PublishAtomOptions = {}): Promise<PublishResult> {
    checkFeed(feed);
    const key = idempotencyKeyOf({ idempotencyKey: options.idempotencyKey });
    return this.publishWithKey(feed, { type: 'application/atom+xml;type=entry', text: xml, slug: options.slug }, key, options);
  }

  /** Publishes with `concurrency` workers; a failure stops the batch and names its earliest failed entry. */
  async publishBatch(feed: string, entries: readonly NewEntry[], options: PublishBatchOptions = {}): Promise<PublishResult[]> {
    checkFeed(feed);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be an integer >= 1, not ${concurrency}`);
    const keys = entries.map(idempotencyKeyOf);
    const results: Array<PublishResult | undefined> = new Array(entries.length).fill(undefined);
    const state: { next: number; failure?: { index: number; error: unknown } } = { next: 0 };
    const worker = async (): Promise<void> => {
      while (state.failure === undefined && state.next < entries.length) {
        const index = state.next++;
        try {
          results[index] = await this.publishWithKey(feed, jsonBody(entries[index] as NewEntry), keys[index], options);
        } catch (error) {
          // Another worker may have failed meanwhile; the batch reports the earliest failed entry.
          const earlier = state.failure as { index: number } | undefined;
          if (earlier === undefined || index < earlier.index) state.failure = { index, error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
    const { failure } = state;
    if (failure) throw new PublishBatchError(failure.index, results, keys.map((k) => k ?? ''), failure.error);
    return results as PublishResult[];
  }

  /** POSTs one entry's body; the answer is asked for as JSON whatever the body's type. */
  private async publishWithKey(feed: string, body: EntryBody, key: string | undefined, options: CallOptions): Promise<PublishResult> {
    const headers: Record<string, string> = { 'content-type': body.type, accept: 'application/json' };
    if (key !== undefined) headers['idempotency-key'] = key;
    if (body.slug !== undefined) headers.slug = encodeURIComponent(body.slug);
    const { baseUrl } = this.transport;
    const path = `/feeds/${feed}`;
    return this.transport.request({ method: 'POST', path, headers, body: body.text, ...callOptions(options) }, async (answer) => {
      const stored = await readJson<LiveEntry>(answer);
      if (!isEntry(stored)) throw new ResponseError(`POST ${baseUrl}${path}: the answer is not an entry`);
      return {
        seq: stored.seq,
        id: stored.id,
        key: stored.key,
        location: header(answer, 'location') ?? `${baseUrl}/feeds/${feed}/entries/${stored.key}`,
        created: answer.status === 201,
        entry: stored,
      };
    });
  }
}

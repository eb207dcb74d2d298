/**
 * QST v2 over a transport (DESIGN.md section 11): pushing batches of messages, and pulling them
 * page by page, each page acknowledged by the request for the next.
 */
import { randomUUID } from 'node:crypto';
import { checkFeed, checkGroup, checkLimit, checkWait } from './checks.js';
import { AbortedError, InvalidArgumentError, ResponseError } from './errors.js';
import { callOptions, header, readJson, type CallOptions, type Transport } from './transport.js';

/** A QST message as JSON carries it: its fields, and any other member a property. */
export interface QstMessage {
  readonly id?: string;
  readonly from?: string;
  readonly to?: string;
  /** RFC 3339. */
  readonly when?: string;
  readonly subject?: string;
  readonly body?: string;
  readonly [property: string]: string | number | boolean | undefined;
}

/** What a push stored: `repeated` messages had ids the feed already held. */
export interface QstPushResult {
  readonly feed: string;
  readonly stored: number;
  readonly repeated: number;
}

/** Options of {@link AtomMQClient.qstPull}. */
export interface QstPullOptions extends CallOptions {
  /** Whose position the pulls move (a consumer group of the feed). @defaultValue 'qst' */
  readonly group?: string;
  /** Most messages per page, 1 to 1000. @defaultValue the feed's pageSize */
  readonly max?: number;
  /** Seconds an empty pull is held for news (the server caps it at the feed's maxWait). @defaultValue 30 */
  readonly wait?: number;
}

export class QstApi {
  constructor(private readonly transport: Transport) {}

  /**
   * One push, all or nothing. A message without an id is given a fresh UUID first, so that the
   * retries of the transport can never store it twice.
   */
  async push(feed: string, messages: readonly QstMessage[], options: CallOptions = {}): Promise<QstPushResult> {
    checkFeed(feed);
    if (!Array.isArray(messages)) throw new InvalidArgumentError('messages must be an array');
    const body = JSON.stringify(messages.map((m) => (m.id === undefined ? { id: randomUUID(), ...m } : m)));
    return this.transport.request({
      method: 'POST', path: `/qst/${feed}`, headers: { 'content-type': 'application/json', accept: 'application/json' }, body, ...callOptions(options),
    }, (answer) => readJson<QstPushResult>(answer));
  }

  /**
   * Pages of messages, oldest first, waiting for news when there is none. Asking for the next page
   * acknowledges the one before, so a consumer that handles a page before it asks for the next
   * gets every message once; one that stops (or fails) in the middle of a page gets it again.
   * Ends when `signal` aborts.
   */
  async *pull(feed: string, options: QstPullOptions = {}): AsyncGenerator<QstMessage[]> {
    checkFeed(feed);
    if (options.group !== undefined) checkGroup(options.group);
    checkLimit(options.max);
    checkWait(options.wait);
    const wait = options.wait ?? 30;
    let etag: string | undefined;
    for (;;) {
      let page: { messages: QstMessage[]; etag: string | undefined };
      try {
        page = await this.transport.request({
          method: 'GET', path: `/qst/${feed}`, holdMs: wait * 1000, ...callOptions(options),
          query: { format: 'json', etag, group: options.group, max: options.max, wait: wait > 0 ? wait : undefined },
        }, async (answer) => ({ messages: await readJson<QstMessage[]>(answer), etag: header(answer, 'etag') }));
      } catch (error) {
        if (error instanceof AbortedError && options.signal?.aborted) return;
        throw error;
      }
      if (!Array.isArray(page.messages) || page.etag === undefined) throw new ResponseError(`GET ${this.transport.baseUrl}/qst/${feed}: not a QST page`);
      etag = page.etag;
      if (page.messages.length > 0) yield page.messages;
    }
  }
}
